"""A SIGKILL in the middle of a multi-part notice: after a restart nothing is missing and at
most the one message in flight at the kill arrives twice. The bot runs in a child process
against the local Bot API of this test, and is killed with SIGKILL mid-sequence."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from bot.services import people, registry, tickets
from bot.services.outbox import NoticeState
from bot.services.tickets import Part
from localapi import LocalBotAPI
from storage.db import Database
from storage.models import Member, Notification, Staff
from tests.e2e.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import asyncio, sys
from bot.app import build_application
from bot.settings import Settings
from storage.db import Database

async def main(url, base, files, models):
    settings = Settings(bot_token=sys.argv[5], api_base_url=base, api_base_file_url=files,
                        database_url=url, models_dir=models, outbox_interval=3600.0,
                        send_rate_per_chat=float(sys.argv[6]))
    app = build_application(settings, Database(url))
    await app.initialize()
    await app.post_init(app)
    await app.start()
    await asyncio.Event().wait()

asyncio.run(main(*sys.argv[1:5]))
"""


def _world(db: Database) -> tuple[int, int]:
    """A caseworker and a family member, both linked; returns their Telegram ids."""
    with db.session() as session:
        registry.seed(session)
        registry.add_provider(session, name="Kent Refugee Action", districts=["Dover"])
        sam = registry.add_staff(
            session, role="caseworker", name="Sam", provider="Kent Refugee Action"
        )
        registry.add_family(
            session, ref="KH-0900", district="Dover", scheme="VPRS", arrived="2024-05-01",
            caseworker_id=sam.id,
        )  # fmt: skip
        registry.add_member(session, family="KH-0900", name="Amina")
    with db.session() as session:
        staff = session.exec(select(Staff)).one()
        member = session.exec(select(Member)).one()
        staff.telegram_user_id, member.telegram_user_id = 7_000_000_001, 7_000_000_002
        session.add(staff)
        session.add(member)
    return 7_000_000_001, 7_000_000_002


def _child(
    db_url: str, api: LocalBotAPI, models: Path, per_chat: float
) -> subprocess.Popen[bytes]:
    """The bot in a child process."""
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, api.base_url, api.base_file_url, str(models),
         TOKEN, str(per_chat)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def test_a_sigkill_during_a_multi_part_notice(api: LocalBotAPI, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'kill.db'}"
    db = Database(db_url)
    db.create_all()
    sam_chat, amina_chat = _world(db)
    sam = api.user(sam_chat, first_name="Sam", language_code="en")
    api.user(amina_chat, first_name="Amina", language_code="ar")
    words = [f"كلمة{i:05d}" for i in range(4000)]  # about 40,000 characters: ~10 messages
    with db.session() as session:
        person = people.identify(session, telegram_user_id=amina_chat, language_code="ar")
        tickets.open_ticket(
            session, person=person, category="housing", parts=[Part(text=" ".join(words))]
        )
    child = _child(db_url, api, tmp_path / "models", per_chat=2.0)
    try:
        for _ in range(600):  # until three parts are in, then the kill
            if len(sam.messages) >= 3:
                break
            await asyncio.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        at_kill = len(sam.messages)
        assert at_kill >= 3
        child = _child(db_url, api, tmp_path / "models", per_chat=100.0)
        for _ in range(600):
            with db.session() as session:
                notice = session.exec(select(Notification)).one()
            if notice.state == NoticeState.SENT:
                break
            await asyncio.sleep(0.1)
        await api.quiet(1.0)
    finally:
        child.kill()
        child.wait(10)
    texts = [m.text for m in sam.messages]
    assert notice.state == NoticeState.SENT and notice.parts_sent >= 4
    assert at_kill < notice.parts_sent  # the kill really was mid-sequence
    assert len(texts) - len(set(texts)) <= 1  # at most the message in flight, twice
    assert len(set(texts)) == notice.parts_sent  # nothing missing
    received = " ".join(texts)
    assert all(word in received for word in words)
    db.dispose()
