"""No person waits for another: a locked database delays a family's message without losing it,
other people are answered meanwhile, one chat stays in order, and chats run side by side."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.i18n import texts
from bot.services import intake
from localapi import UserHandle
from storage.db import Database
from storage.models import Ticket, TicketMessage
from tests.e2e.conftest import Harness
from tests.e2e.test_tickets import HOUSING_AR, report

TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
AR = texts("ar")
SENT_AR = "تم الإرسال إلى مسؤول حالتك"  # "Sent to your caseworker, with your request …"
WENT_WRONG_AR = AR._("Sorry, something went wrong. Please try again.")
LONG = 60.0  # wait_for guard: long enough for a held lock, never reached when things work


@pytest.fixture(autouse=True)
def _office_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports are made on a Tuesday morning."""
    monkeypatch.setattr("handlers.report.utcnow", lambda: TUESDAY_10)


@pytest.fixture
def locker(harness: Harness) -> Iterator[sqlite3.Connection]:
    """A second connection to the bot's database, as a long admin import would hold."""
    path = harness.settings.database_url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    yield connection
    if connection.in_transaction:
        connection.execute("ROLLBACK")
    connection.close()


async def family_with_request(harness: Harness) -> tuple[UserHandle, UserHandle, str]:
    """A caseworker and a family with one open request: (family, caseworker, reference)."""
    harness.provider("Kent Refugee Action", "Dover,Thanet")
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    amina = await harness.join_family("KH-0001", caseworker_id=sam_id)
    reference = await report(amina, HOUSING_AR, "المدفأة معطلة")
    await sam.wait_for("📥 New request")
    return amina, sam, reference


def words_of(session: Session, ticket_id: int) -> list[str]:
    """A request's family messages, in the order they were stored."""
    return [
        m.text
        for m in session.exec(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket_id, TicketMessage.direction == "in")
            .order_by(col(TicketMessage.id))
        )
    ]


async def family_words(db: Database, ticket_id: int = 1) -> list[str]:
    """Read the way the bot reads (never waiting for a writer), even while the lock is held."""
    return await db.run(words_of, ticket_id)


async def test_a_locked_database_delays_messages_and_loses_none(
    harness: Harness, locker: sqlite3.Connection
) -> None:
    amina, sam, ref = await family_with_request(harness)
    # Another process takes SQLite's write lock and writes, as a long admin import does.
    locker.execute("BEGIN IMMEDIATE")
    locker.execute("INSERT INTO usersetting (telegram_user_id, language) VALUES (1, 'en')")
    amina.send_text("الماء يتسرب من السقف أيضاً")
    sam.send_text("/help")
    await asyncio.sleep(3.0)  # the lock stays held for seconds, as an import would hold it
    # Nothing can be stored, so nothing is acknowledged to Telegram nor answered: waiting,
    # not failed (every update is stored before it is acknowledged).
    assert not any(SENT_AR in m.text for m in amina.messages)
    assert not any(WENT_WRONG_AR in m.text for m in amina.messages)
    assert await family_words(harness.db) == ["المدفأة معطلة"]
    locker.execute("COMMIT")
    # Released: both are stored, acknowledged and handled, none lost.
    ack = await amina.wait_for(SENT_AR, timeout=LONG)
    assert ref in ack.text.replace("\u2068", "").replace("\u2069", "")
    assert await family_words(harness.db) == ["المدفأة معطلة", "الماء يتسرب من السقف أيضاً"]
    await sam.wait_for("الماء يتسرب من السقف أيضاً", timeout=LONG)
    await sam.wait_for(lambda m: "/tickets" in m.text, timeout=LONG)  # the /help answer
    assert not any(WENT_WRONG_AR in m.text for m in amina.messages)


async def test_a_lock_held_past_all_patience_is_waited_out_not_lost(
    harness: Harness, locker: sqlite3.Connection
) -> None:
    amina, _, _ = await family_with_request(harness)
    # The same bot with a short patience, so the test need not hold the lock for a minute.
    await harness.stop()
    harness.db.dispose()
    harness.db = Database(harness.settings.database_url, busy_timeout=0.2, retry_for=1.0)
    await harness.start()
    locker.execute("BEGIN IMMEDIATE")
    amina.send_text("أحتاج موعداً مع الطبيب")
    await asyncio.sleep(4.0)  # storing gives up several times; Telegram keeps the update
    locker.execute("ROLLBACK")
    await amina.wait_for(SENT_AR, timeout=LONG)
    assert await family_words(harness.db) == ["المدفأة معطلة", "أحتاج موعداً مع الطبيب"]
    assert not any(WENT_WRONG_AR in m.text for m in amina.messages)
    await harness.api.quiet(1.0)
    assert sum(SENT_AR in m.text for m in amina.messages) == 1  # acknowledged once


async def test_one_chat_stays_in_order_under_concurrency(harness: Harness) -> None:
    amina, _, _ = await family_with_request(harness)
    words = [f"رسالة رقم {n}" for n in range(20)]
    for text in words:
        amina.send_text(text)  # all at once, without waiting for answers
    # Answers to one chat are paced (about one a second), so twenty take a while.
    await amina.wait_for(
        lambda _m: sum(SENT_AR in m.text for m in amina.messages) >= 20, timeout=3 * LONG
    )
    assert await family_words(harness.db) == ["المدفأة معطلة", *words]
    with harness.db.session() as session:
        assert len(session.exec(select(Ticket)).all()) == 1  # every one joined the request


async def test_a_slow_chat_does_not_hold_up_another(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_member = await harness.join_family("KH-0001", member="Amina")
    quick_member = await harness.join_family("KH-0002", member="Omar")
    release = threading.Event()
    real: Callable[..., intake.Outcome] = intake.family_message

    def family_message(session: Any, **kwargs: Any) -> intake.Outcome:
        """The real service, held for the slow family until the test lets it go."""
        if kwargs["person"].telegram_user_id == slow_member.id:
            release.wait(LONG)
        return real(session, **kwargs)

    monkeypatch.setattr(intake, "family_message", family_message)
    prompt = AR._("What is this about? Tap the closest one.")
    slow_member.send_text("البيت بارد")
    quick_member.send_text("أحتاج مساعدة في المدرسة")
    await quick_member.wait_for(prompt, timeout=LONG)
    assert not any(prompt in m.text for m in slow_member.messages)  # still held
    release.set()
    await slow_member.wait_for(prompt, timeout=LONG)
