"""SIGKILLs during a broadcast: after each restart it resumes where it stopped, every family
gets the notice, and only a copy in flight at a kill may arrive twice. The report is right.

The bot polls the local Bot API of this test from a child process, which is killed with SIGKILL
several times while the broadcaster queues copies and the dispatcher sends them.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from bot.services import registry
from localapi import LocalBotAPI
from storage.db import Database
from storage.models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastState,
    District,
    Household,
    Member,
    NoticeKind,
    NoticeState,
    Notification,
    Scheme,
)
from tests.e2e.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
FAMILIES, KILLS = 600, 4  # several batches of copies (broadcasts.BATCH)
KIM = 7_200_000_000
FAMILY_BASE = 7_200_000_001
NOTICE = "The council offices are closed on Friday. Call 0300 041 2000 if it is urgent."
CHILD = """
import asyncio, sys
from bot.app import build_application
from bot.settings import Settings
from storage.db import Database

async def main(url, base, files, models, token, rate):
    settings = Settings(bot_token=token, api_base_url=base, api_base_file_url=files,
                        database_url=url, models_dir=models, outbox_interval=3600.0,
                        send_rate=float(rate), send_rate_per_chat=1000.0)
    app = build_application(settings, Database(url))
    await app.initialize()
    await app.post_init(app)
    await app.start()
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    await asyncio.Event().wait()

asyncio.run(main(*sys.argv[1:7]))
"""


def _world(db: Database) -> list[int]:
    """A coordinator and FAMILIES linked, consented members; a broadcast to all of them,
    confirmed and sending, as a coordinator's confirm leaves it. Returns the families' chats."""
    now = datetime.now(UTC)
    with db.session() as session:
        registry.seed(session)
        kim = registry.add_staff(session, role="coordinator", name="Kim", language="en")
        kim.telegram_user_id = KIM
        session.add(kim)
        dover = session.exec(select(District).where(District.name == "Dover")).one()
        vprs = session.exec(select(Scheme).where(Scheme.code == "VPRS")).one()
        for i in range(FAMILIES):
            household = Household(
                reference=f"BK-{i:05d}", district_id=dover.id or 0, scheme_id=vprs.id or 0,
                arrived_on=date(2024, 1, 1), support_ends_on=date(2029, 1, 1),
                language="en" if i % 3 == 0 else "ar",
            )  # fmt: skip
            session.add(household)
            session.flush()
            member = Member(
                household_id=household.id or 0, name="M", telegram_user_id=FAMILY_BASE + i,
                consent_at=now, linked_at=now,
            )  # fmt: skip
            session.add(member)
        session.flush()
        broadcast = Broadcast(
            key="kill-test", created_by=kim.id or 0, text=NOTICE, language="en",
            state=BroadcastState.SENDING, recipients=FAMILIES, confirmed_at=now,
            started_at=now, progress_chat_id=KIM,
        )  # fmt: skip
        session.add(broadcast)
    return [FAMILY_BASE + i for i in range(FAMILIES)]


def _child(db_url: str, api: LocalBotAPI, models: Path) -> subprocess.Popen[bytes]:
    """The polling bot in a child process, sending 200 messages a second."""
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, api.base_url, api.base_file_url, str(models),
         TOKEN, "200"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _copies(api: LocalBotAPI, chats: list[int]) -> Counter[int]:
    """How many copies of the notice each family's chat holds."""
    return Counter(
        {chat: sum(NOTICE in m.content for m in api.user(chat).messages) for chat in chats}
    )


def _in_flight(db: Database) -> set[int]:
    """The chats whose copy was claimed (possibly in Telegram's hands) when the bot died."""
    with db.session() as session:
        rows = session.exec(
            select(Notification.chat_id).where(Notification.state == NoticeState.SENDING)
        ).all()
    return set(rows)


def _queued(db: Database) -> int:
    """Copies queued by the broadcaster so far."""
    with db.session() as session:
        return int(session.exec(select(func.count()).select_from(BroadcastDelivery)).one())


def _broadcast(db: Database) -> Broadcast:
    """The broadcast row as it is now."""
    with db.session() as session:
        found = session.exec(select(Broadcast)).one()
        session.expunge(found)
    return found


async def test_kills_during_a_broadcast_miss_nobody(api: LocalBotAPI, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'broadcast.db'}"
    db = Database(db_url)
    db.create_all()
    chats = _world(db)
    kim = api.user(KIM, first_name="Kim", language_code="en")
    for i, chat in enumerate(chats):
        api.user(chat, first_name="F", language_code="en" if i % 3 == 0 else "ar")

    rng = random.Random(20261202)
    in_flight: set[int] = set()
    delivered_at_kills: list[int] = []
    child = _child(db_url, api, tmp_path / "models")
    try:
        for kill in range(KILLS):
            # The first kill as soon as copies are queued; the others spread over the sending.
            target = FAMILIES * kill // (KILLS + 1)
            for _ in range(1200):
                if (_queued(db) > 0 and kill == 0) or (
                    kill > 0 and sum(_copies(api, chats).values()) > target
                ):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
            delivered_at_kills.append(sum(_copies(api, chats).values()))
            in_flight |= _in_flight(db)
            child = _child(db_url, api, tmp_path / "models")
        report = await kim.wait_for("The notice has been sent.", timeout=120)
    finally:
        child.kill()
        child.wait(10)

    # The kills really fell during the sending.
    assert 0 < delivered_at_kills[-1] < FAMILIES
    copies = _copies(api, chats)
    assert not [chat for chat in chats if copies[chat] == 0], "a family was missed"
    twice = {chat for chat, n in copies.items() if n > 1}
    assert twice <= in_flight, "a copy not in flight at a kill arrived twice"
    assert all(copies[chat] <= 1 + KILLS for chat in twice)
    with db.session() as session:
        deliveries = session.exec(select(BroadcastDelivery)).all()
        notices = session.exec(
            select(Notification).where(Notification.kind == NoticeKind.FAMILY_BROADCAST)
        ).all()
        members = session.exec(select(Member.id)).all()
        unique = session.exec(
            select(func.count(func.distinct(col(BroadcastDelivery.member_id))))
        ).one()
    assert len(deliveries) == unique == FAMILIES  # one row per member, each queued once
    assert sorted(d.member_id for d in deliveries) == sorted(members)
    assert len(notices) == FAMILIES
    assert all(n.state == NoticeState.SENT for n in notices)
    assert sorted(n.chat_id for n in notices) == chats
    done = _broadcast(db)
    assert done.state == BroadcastState.DONE
    assert (done.delivered, done.failed, done.blocked) == (FAMILIES, 0, 0)
    assert f"Delivered: {FAMILIES} people." in report.content
    db.dispose()
