"""A SIGKILL between a reminder's claim and its send: after a restart the family gets exactly
one reminder. The bot runs in a child process (as in test_delivery_kill.py) against the local
Bot API of this test, which holds the first send so the kill lands mid-send."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from bot.services import reminders
from bot.services.reminder_times import ReminderPolicy
from localapi import LocalBotAPI
from storage.db import Database
from storage.models import (
    Appointment,
    AppointmentKind,
    AppointmentMode,
    Household,
    Member,
    NoticeState,
    Notification,
    Reminder,
    ReminderState,
)
from storage.types import utcnow
from tests.e2e.test_delivery_kill import _child, _world


def _plan(db: Database) -> None:
    """A phone meeting in two hours whose reminder falls due two seconds from now."""
    start = utcnow() + timedelta(hours=2)
    policy = ReminderPolicy(appointment=(timedelta(hours=2) - timedelta(seconds=2),), quiet=None)
    with db.session() as session:
        member = session.exec(select(Member)).one()
        member.consent_at = utcnow()
        session.add(member)
        household = session.exec(select(Household)).one()
        appointment = Appointment(
            household_id=household.id or 0, staff_id=household.caseworker_id,
            kind=AppointmentKind.BOOKING, mode=AppointmentMode.PHONE,
            starts_at=start, ends_at=start + timedelta(minutes=30),
        )  # fmt: skip
        session.add(appointment)
        assert reminders.plan_appointment(session, appointment, policy) == 1


def _state(db: Database) -> tuple[ReminderState, NoticeState | None]:
    """The reminder's state and its notice's, if it has one yet."""
    with db.session() as session:
        reminder = session.exec(select(Reminder)).one()
        notice = session.exec(select(Notification)).first()
        return ReminderState(reminder.state), None if notice is None else NoticeState(notice.state)


async def test_a_sigkill_mid_send_still_delivers_exactly_one_reminder(
    api: LocalBotAPI, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'kill.db'}"
    db = Database(db_url)
    db.create_all()
    _, amina_chat = _world(db)
    amina = api.user(amina_chat, first_name="Amina", language_code="ar")
    _plan(db)
    # Telegram holds the first send (never answering, never delivering): the kill lands there.
    held = api.inject("timeout", chat_id=amina_chat, hang=30.0)
    child = _child(db_url, api, tmp_path / "models", per_chat=100.0)
    try:
        for _ in range(400):  # claimed into the outbox, and being sent
            if _state(db) == (ReminderState.QUEUED, NoticeState.SENDING) and held.hits:
                break
            await asyncio.sleep(0.05)
        assert _state(db) == (ReminderState.QUEUED, NoticeState.SENDING)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        held.cancel()
        assert amina.messages == []
        child = _child(db_url, api, tmp_path / "models", per_chat=100.0)
        for _ in range(400):
            if _state(db)[1] == NoticeState.SENT:
                break
            await asyncio.sleep(0.05)
        await api.quiet(1.0)
    finally:
        child.kill()
        child.wait(10)
    assert _state(db) == (ReminderState.QUEUED, NoticeState.SENT)
    assert len(amina.messages) == 1  # exactly one reminder, after the restart
    assert "سيتصل بك مسؤول حالتك هاتفياً" in amina.messages[0].text
    db.dispose()
