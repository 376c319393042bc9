"""A job that catches its own errors and retries soon (the reminder clock, the broadcaster, the
outbox tick) tells the staff chat once its outage lasts, once per outage, by reference only.

Each run is driven by calling the job directly; the job queue's own retry is pushed an hour
away, so only the runs the test makes count.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot.delivery import broadcaster, heartbeat, periodic, reminder_clock
from bot.delivery.job_health import FAILED_RUNS
from localapi import GroupHandle
from storage.models import NoticeKind, Notification
from tests.e2e.conftest import Harness

SECRET = "المدفأة معطلة"  # a value the failing statement carried: never in a report
ERROR_CHAT = -1001234567899
REFERENCE = re.compile(r"E-[A-Z0-9]{6}")


def unavailable() -> OperationalError:
    """What SQLAlchemy raises when the database file cannot be opened (not retried by run)."""
    return OperationalError(
        "SELECT reminder.id FROM reminder WHERE reminder.note = ?",
        (SECRET,),
        sqlite3.OperationalError("unable to open database file"),
    )


class Outage:
    """A service function that fails while ``down``, and works as before otherwise."""

    def __init__(self, real: Callable[..., Any]) -> None:
        """Wraps the real function."""
        self.real = real
        self.down = True
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Fails like an unavailable database, or runs the real function."""
        if self.down:
            self.calls += 1
            raise unavailable()
        return self.real(*args, **kwargs)


async def with_error_chat(harness: Harness) -> GroupHandle:
    """The bot restarted with ERROR_CHAT_ID set to a staff group; returns the group."""
    errors = harness.api.group(ERROR_CHAT, "Sanad errors", chat_type="supergroup")
    harness.settings = dataclasses.replace(harness.settings, error_chat_id=ERROR_CHAT)
    await harness.restart()
    assert harness.app is not None
    return errors


def reports(harness: Harness) -> list[Notification]:
    """The staff error reports queued so far."""
    with harness.db.session() as session:
        rows = session.exec(select(Notification))
        return [n for n in rows if n.kind == NoticeKind.STAFF_ERROR_REPORT]


def assert_no_content(text: str) -> None:
    """A report names the job and the error's class, never the statement or its values."""
    assert SECRET not in text and "unable to open" not in text and "SELECT" not in text


async def test_a_reminder_clock_that_keeps_failing_is_reported_once_per_outage(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors = await with_error_chat(harness)
    assert harness.app is not None
    await reminder_clock.wait_armed(harness.app, timeout=10)  # the start-up run is done
    monkeypatch.setattr(reminder_clock, "RETRY_SLEEP", 3600.0)
    outage = Outage(reminder_clock.reminders.claim_due)
    monkeypatch.setattr("bot.services.reminders.claim_due", outage)
    context = SimpleNamespace(application=harness.app)

    beats = harness.app.bot_data.extras[heartbeat.BEATS]
    last_beat = beats.get("reminders_at")
    for _ in range(FAILED_RUNS - 1):
        await reminder_clock.reminder_job(context)
    assert outage.calls == FAILED_RUNS - 1
    assert beats.get("reminders_at") == last_beat  # failed runs do not look alive to health
    await harness.api.quiet()
    assert reports(harness) == [] and errors.messages == []  # a short outage: nobody told

    await reminder_clock.reminder_job(context)
    report = await errors.wait_for("A scheduled job failed", timeout=10)
    assert "reminders" in report.text and "OperationalError" in report.text
    [reference] = REFERENCE.findall(report.text)
    assert_no_content(report.text)
    for _ in range(3 * FAILED_RUNS):  # the same outage goes on: told once
        await reminder_clock.reminder_job(context)
    await harness.api.quiet()
    assert len(reports(harness)) == 1 and len(errors.messages) == 1

    outage.down = False  # the database is back for one run: the report is re-armed
    await reminder_clock.reminder_job(context)
    outage.down = True
    for _ in range(FAILED_RUNS - 1):
        await reminder_clock.reminder_job(context)
    await harness.api.quiet()
    assert len(errors.messages) == 1
    await reminder_clock.reminder_job(context)
    second = await errors.wait_for(lambda m: m.message_id != report.message_id, timeout=10)
    [again] = REFERENCE.findall(second.text)
    assert again != reference and "reminders" in second.text
    assert_no_content(second.text)
    assert outage.calls == 2 * FAILED_RUNS + 3 * FAILED_RUNS


async def test_a_broadcaster_that_keeps_failing_is_reported_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors = await with_error_chat(harness)
    monkeypatch.setattr(broadcaster, "RETRY_SLEEP", 3600.0)
    outage = Outage(broadcaster.broadcasts.start_due)
    monkeypatch.setattr("bot.services.broadcasts.start_due", outage)
    context = SimpleNamespace(application=harness.app)
    for _ in range(3 * FAILED_RUNS):
        await broadcaster.broadcast_job(context)
    report = await errors.wait_for("A scheduled job failed", timeout=10)
    await harness.api.quiet()
    assert len(errors.messages) == 1 and len(reports(harness)) == 1
    assert "broadcasts" in report.text and "OperationalError" in report.text
    assert REFERENCE.search(report.text) is not None
    assert_no_content(report.text)


async def test_an_outbox_tick_that_keeps_failing_is_reported_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors = await with_error_chat(harness)
    outage = Outage(periodic.undelivered.expire)
    monkeypatch.setattr("bot.services.undelivered.expire", outage)
    context = SimpleNamespace(application=harness.app)
    for _ in range(FAILED_RUNS - 1):
        await periodic.outbox_job(context)  # each failed tick is contained, not raised
    await harness.api.quiet()
    assert errors.messages == []
    for _ in range(2 * FAILED_RUNS):
        await periodic.outbox_job(context)
    report = await errors.wait_for("A scheduled job failed", timeout=10)
    await harness.api.quiet()
    assert len(errors.messages) == 1 and "outbox-tick" in report.text
    assert_no_content(report.text)
