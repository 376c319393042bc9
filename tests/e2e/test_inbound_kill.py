"""Twenty SIGKILLs while hundreds of families write: every update is stored before it is
acknowledged and handled exactly once — nothing lost, no ticket message, note or notice twice.

The bot polls the local Bot API of this test from a child process, which is killed at a random
moment of its work and started again, twenty times.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from bot.services import people, registry, tickets
from bot.services.people import Person
from bot.services.tickets import Part
from localapi import LocalBotAPI
from storage.db import Database
from storage.models import (
    InboundState,
    InboundUpdate,
    Member,
    NoticeKind,
    Notification,
    Staff,
    TicketMessage,
)
from tests.e2e.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
FAMILIES, MESSAGES, NOTES, KILLS = 120, 16, 80, 20
SAM = 7_100_000_000
CHILD = """
import asyncio, sys
from bot.app import build_application
from bot.settings import Settings
from storage.db import Database

async def main(url, base, files, models, token):
    settings = Settings(bot_token=token, api_base_url=base, api_base_file_url=files,
                        database_url=url, models_dir=models, outbox_interval=3600.0,
                        send_rate=1000.0, send_rate_per_chat=1000.0)
    app = build_application(settings, Database(url))
    await app.initialize()
    await app.post_init(app)
    await app.start()
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    await asyncio.Event().wait()

import logging
logging.basicConfig(level=logging.WARNING)
asyncio.run(main(*sys.argv[1:6]))
"""


def _world(db: Database) -> list[int]:
    """A caseworker and FAMILIES households, each with a linked member and one open request."""
    with db.session() as session:
        registry.seed(session)
        registry.add_provider(session, name="Kent Refugee Action", districts=["Dover"])
        sam = registry.add_staff(
            session, role="caseworker", name="Sam", provider="Kent Refugee Action"
        )
        sam.telegram_user_id = SAM
        for n in range(FAMILIES):
            registry.add_family(
                session, ref=f"KH-{n:04d}", district="Dover", scheme="VPRS",
                arrived="2024-05-01", caseworker_id=sam.id,
            )  # fmt: skip
            member = registry.add_member(session, family=f"KH-{n:04d}", name=f"M{n}")
            member.telegram_user_id = SAM + 1 + n
        session.flush()
        for n in range(FAMILIES):
            person = people.identify(session, telegram_user_id=SAM + 1 + n, language_code="ar")
            person = Person(**{**person.__dict__, "consented": True})
            tickets.open_ticket(session, person=person, category="housing", parts=[Part(text="x")])
        for member in session.exec(select(Member)):
            member.consent_at = member.created_at
            session.add(member)
    return [SAM + 1 + n for n in range(FAMILIES)]


def _child(db_url: str, api: LocalBotAPI, models: Path) -> subprocess.Popen[bytes]:
    """The polling bot in a child process; its log (no names or words) beside the models."""
    models.mkdir(exist_ok=True)
    with open(models / "child.log", "ab") as log:  # the child keeps its own copy of the file
        return subprocess.Popen(
            [sys.executable, "-c", CHILD, db_url, api.base_url, api.base_file_url, str(models),
             TOKEN],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip


def _stored(db: Database) -> tuple[int, int]:
    """(updates stored, updates handled)."""
    with db.session() as session:
        stored = session.exec(select(func.count()).select_from(InboundUpdate)).one()
        done = session.exec(
            select(func.count())
            .select_from(InboundUpdate)
            .where(InboundUpdate.state == InboundState.DONE)
        ).one()
    return int(stored), int(done)


async def test_twenty_kills_lose_nothing_and_repeat_nothing(
    api: LocalBotAPI, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'inbound.db'}"
    db = Database(db_url)
    db.create_all()
    chats = _world(db)
    sam = api.user(SAM, first_name="Sam", language_code="en")
    families = [api.user(chat, first_name="F", language_code="ar") for chat in chats]
    sent: list[tuple[int, int]] = []
    for i in range(MESSAGES):
        for person in families:
            message = person.send_text(f"رسالة {i} من {person.id}")
            sent.append((person.id, message["message_id"]))
    notes: list[tuple[int, int]] = []
    for i in range(NOTES):
        message = sam.send_text(f"/note K-{1 + i % FAMILIES:04d} note {i}")
        notes.append((SAM, message["message_id"]))
    total = len(sent) + len(notes)

    rng = random.Random(20261201)
    child = _child(db_url, api, tmp_path / "models")
    kills = 0
    try:
        while kills < KILLS:
            before = _stored(db)
            for _ in range(400):  # until this run has visibly started working
                await asyncio.sleep(0.05)
                if _stored(db) != before:
                    break
            await asyncio.sleep(rng.uniform(0.0, 0.4))
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
            kills += 1
            child = _child(db_url, api, tmp_path / "models")
        for _ in range(4000):  # the last run handles what is left (minutes on a slow machine)
            if _stored(db) == (total, total):
                break
            await asyncio.sleep(0.1)
    finally:
        child.kill()
        child.wait(10)

    assert _stored(db) == (total, total), "an update was lost or never handled"
    with db.session() as session:
        assert not session.exec(
            select(InboundUpdate).where(InboundUpdate.state == InboundState.FAILED)
        ).first()
        kept = session.exec(
            select(TicketMessage.source_chat_id, TicketMessage.source_message_id).where(
                col(TicketMessage.source_message_id).is_not(None)
            )
        ).all()
        relayed = session.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.kind == NoticeKind.STAFF_FAMILY_MESSAGE)
        ).one()
        staff = session.exec(select(Staff)).one()
    assert sorted(kept) == sorted(sent + notes)  # each message kept exactly once
    assert relayed == len(sent)  # one notice to the caseworker per family message
    assert staff.telegram_user_id == SAM
    db.dispose()
