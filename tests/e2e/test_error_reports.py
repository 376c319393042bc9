"""A failure that ends for good is told to the staff chat by reference, never by its content.

The person who hit it is given the same reference; without ``ERROR_CHAT_ID`` only the log has
it. Each test drives the real Application against the local Bot API.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import select

from bot.delivery import retention_job
from localapi import UserHandle
from storage.models import InboundState, InboundUpdate, NoticeKind, Notification
from tests.e2e.conftest import Harness

SECRET = "المدفأة معطلة"  # the family's words: never in a report or a log line
ERROR_CHAT = -1001234567890
REFERENCE = re.compile(r"E-[A-Z0-9]{6}")


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed update is retried at once (the real pause doubles from a second)."""
    monkeypatch.setattr("bot.inbound.tracker.RETRY_AFTER", 0.01)


def break_family_messages(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every family text now fails with an error whose message quotes the words; returns a
    list that counts the attempts."""
    attempts: list[int] = []

    def broken(*_: Any, text: str = "", **__: Any) -> Any:
        attempts.append(1)
        raise RuntimeError(f"could not keep {text!r}")

    monkeypatch.setattr("bot.services.intake.family_message", broken)
    return attempts


async def with_error_chat(harness: Harness) -> None:
    """The bot restarted with ERROR_CHAT_ID set to a staff group."""
    harness.settings = dataclasses.replace(harness.settings, error_chat_id=ERROR_CHAT)
    await harness.restart()


async def failed_once(harness: Harness, amina: UserHandle) -> str:
    """Amina's message fails every attempt; returns the reference she was given."""
    amina.send_text(SECRET)
    sorry = await amina.wait_for("عذراً، حدث خطأ", timeout=15)
    assert "مسؤول حالتك" in sorry.text
    found = REFERENCE.findall(sorry.text)
    assert len(found) == 1, sorry.text
    return found[0]


async def test_a_failed_update_reaches_the_staff_chat_with_the_persons_reference(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    errors = harness.api.group(ERROR_CHAT, "Sanad errors", chat_type="supergroup")
    await with_error_chat(harness)
    amina = await harness.join_family("KH-0200")
    attempts = break_family_messages(monkeypatch)
    caplog.set_level(logging.INFO)
    reference = await failed_once(harness, amina)
    report = await errors.wait_for(reference)
    assert report.text.startswith("⚠️ Error") and reference in report.text.splitlines()[0]
    assert "RuntimeError" in report.text and "could not be handled (update" in report.text
    assert SECRET not in report.text and "could not keep" not in report.text
    assert "Amina" not in report.text and str(amina.id) not in report.text
    await harness.api.quiet()
    assert len(attempts) == 3  # tried a bounded number of times, then reported once
    assert sum(reference in m.text for m in errors.messages) == 1
    assert sum("حدث خطأ" in m.text for m in amina.messages) == 1
    with harness.db.session() as session:
        failed = session.exec(
            select(InboundUpdate).where(InboundUpdate.state == InboundState.FAILED)
        ).one()
    assert f"(update {failed.update_id})" in report.text.replace("\u2068", "").replace(
        "\u2069", ""
    )
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.failures"]
    assert any(reference in line and "RuntimeError" in line for line in lines)
    assert not any(SECRET in line or "could not keep" in line for line in lines)


async def test_without_an_error_chat_only_the_log_and_the_person_have_the_reference(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    amina = await harness.join_family("KH-0201", language_code="en")
    break_family_messages(monkeypatch)
    caplog.set_level(logging.INFO)
    amina.send_text("The heating is broken")
    sorry = await amina.wait_for("Sorry, something went wrong", timeout=15)
    [reference] = REFERENCE.findall(sorry.text)
    assert "tell your caseworker this reference" in sorry.text
    await harness.api.quiet()
    with harness.db.session() as session:
        kinds = [n.kind for n in session.exec(select(Notification))]
    assert NoticeKind.STAFF_ERROR_REPORT not in kinds
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.failures"]
    assert [line for line in lines if reference in line] != []
    assert not any("heating" in line for line in lines)


async def test_a_failed_job_reaches_the_staff_chat(harness: Harness) -> None:
    errors = harness.api.group(ERROR_CHAT, "Sanad errors", chat_type="supergroup")
    await with_error_chat(harness)
    assert harness.app is not None and harness.app.job_queue is not None

    async def broken_job(_: Any) -> None:
        raise ValueError(f"the family wrote {SECRET}")

    harness.app.job_queue.run_once(broken_job, when=0.0, name="nightly-check")
    report = await errors.wait_for("A scheduled job failed", timeout=10)
    assert "nightly-check" in report.text and "ValueError" in report.text
    assert REFERENCE.search(report.text) is not None
    assert SECRET not in report.text and "the family wrote" not in report.text


async def test_a_failed_nightly_purge_reaches_the_staff_chat(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retention job catches its own errors (tomorrow's run catches up), and still tells
    the staff chat that a night's purge was missed."""
    errors = harness.api.group(ERROR_CHAT, "Sanad errors", chat_type="supergroup")
    await with_error_chat(harness)
    assert harness.app is not None

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"the family wrote {SECRET}")

    monkeypatch.setattr("bot.services.retention.run", broken)
    await retention_job.retention_job(SimpleNamespace(application=harness.app))
    report = await errors.wait_for("A scheduled job failed", timeout=10)
    assert "retention" in report.text and "RuntimeError" in report.text
    assert SECRET not in report.text and "the family wrote" not in report.text


async def test_a_staff_member_as_the_error_chat_reads_it_in_their_language(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.provider("Kent Refugee Action", "Dover,Thanet")
    _, kim = await harness.join_staff("coordinator", "Kim", language_code="ar")
    harness.settings = dataclasses.replace(harness.settings, error_chat_id=kim.id)
    await harness.restart()
    amina = await harness.join_family("KH-0202")
    break_family_messages(monkeypatch)
    reference = await failed_once(harness, amina)
    report = await kim.wait_for(reference, timeout=10)
    assert "⚠️ الخطأ" in report.text and "RuntimeError" in report.text
    assert SECRET not in report.text
