"""The report conversation at the service level: its typed draft reads and writes the very rows
Sanad has always stored, so a report open across an upgrade carries on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from bot.services import edits, flows, intake, report
from bot.services.edits import Edited
from bot.services.family_outcome import Reply
from bot.services.flows import FlowName
from bot.services.report import ReportDraft, ReportStep
from bot.services.tickets import Part
from storage.db import Database
from storage.models import Flow, Ticket, TicketMessage
from tests.services.test_safeguarding_alerts import CHAT, HARMLESS_AR, World
from tests.services.test_safeguarding_alerts import world as _world  # noqa: F401  (fixture)

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def place(request: pytest.FixtureRequest) -> World:
    """The safeguarding tests' world: a caseworker, a coordinator, one family member."""
    found: World = request.getfixturevalue("_world")
    return found


def _old_part(text: str, message_id: int) -> dict[str, Any]:
    """A kept message exactly as rows written before the typed draft hold it."""
    return {
        "kind": "text",
        "text": text,
        "file_id": None,
        "source_chat_id": CHAT,
        "source_message_id": message_id,
    }


def _data(db: Database) -> tuple[str, dict[str, Any]]:
    """The family member's flow row as stored: its name and data."""
    with db.session() as session:
        flow = session.get(Flow, CHAT)
        assert flow is not None
        return flow.name, dict(flow.data)


def _message(db: Database, world: World, text: str, message_id: int) -> intake.Outcome:
    """A family text arriving as message ``message_id``."""
    part = Part(text=text, source_chat_id=CHAT, source_message_id=message_id)
    with db.session() as session:
        return intake.family_message(
            session, person=world.family, part=part, text=text, source=(CHAT, message_id)
        )


def test_a_draft_writes_the_keys_and_values_sanad_always_stored() -> None:
    fresh = ReportDraft(parts=[Part(text="أ", source_chat_id=CHAT, source_message_id=1)])
    # No category key until one is chosen, as before.
    assert fresh.to_data() == {"step": "category", "parts": [_old_part("أ", 1)]}
    chosen = ReportDraft(ReportStep.DESCRIBE, "housing", fresh.parts)
    assert chosen.to_data() == {
        "step": "describe",
        "category": "housing",
        "parts": [_old_part("أ", 1)],
    }
    for draft in (fresh, chosen, ReportDraft()):
        assert ReportDraft.from_data(draft.to_data()) == draft
    old = {"step": "confirm", "parts": [_old_part("ب", 2)], "category": "health"}
    assert ReportDraft.from_data(old) == ReportDraft(
        ReportStep.CONFIRM, "health", [Part(text="ب", source_chat_id=CHAT, source_message_id=2)]
    )
    assert ReportDraft.from_data(old).to_data() == old
    # A step Sanad never wrote reads as describing rather than failing every message.
    assert ReportDraft.from_data({"step": "mystery", "parts": []}).step == ReportStep.DESCRIBE


def test_a_report_stored_before_the_upgrade_is_continued_and_sent(
    db: Database, place: World
) -> None:
    # Written as the old code wrote it: a category chosen, one message kept.
    old = {"step": "describe", "parts": [_old_part(HARMLESS_AR, 40)], "category": "housing"}
    with db.session() as session:
        session.add(Flow(telegram_user_id=CHAT, name="report", data=old))
    added = _message(db, place, "ولا يوجد ماء ساخن", 41)
    assert added.reply is Reply.KEPT_IN_DRAFT and added.in_report
    assert _data(db) == (
        "report",
        {**old, "parts": [_old_part(HARMLESS_AR, 40), _old_part("ولا يوجد ماء ساخن", 41)]},
    )
    with db.session() as session:
        asked = report.review(session, person=place.family)
    assert asked.reply is Reply.CONFIRM and asked.parts == 2
    assert asked.category is not None and asked.category.code == "housing"
    assert _data(db)[1]["step"] == "confirm"
    with db.session() as session:
        opened = report.confirm(session, person=place.family, now=T0)
    assert opened.reply is Reply.OPENED and opened.ticket_id is not None
    with db.session() as session:
        assert session.get(Flow, CHAT) is None  # the draft is gone
        ticket = session.get(Ticket, opened.ticket_id)
        assert ticket is not None
        texts = session.exec(
            select(TicketMessage.text)
            .where(TicketMessage.ticket_id == opened.ticket_id)
            .order_by(col(TicketMessage.id))
        ).all()
    assert list(texts) == [HARMLESS_AR, "ولا يوجد ماء ساخن"]


def test_an_old_row_still_choosing_a_category_gets_one(db: Database, place: World) -> None:
    with db.session() as session:
        session.add(
            Flow(telegram_user_id=CHAT, name="report", data={"step": "category", "parts": []})
        )
    kept = _message(db, place, HARMLESS_AR, 42)
    assert kept.reply is Reply.KEPT_AT_CATEGORY and kept.at_category and kept.options
    with db.session() as session:
        chosen = report.choose_category(session, person=place.family, code="housing")
    assert chosen.reply is Reply.DESCRIBE and chosen.parts == 1
    assert _data(db) == (
        "report",
        {"step": "describe", "parts": [_old_part(HARMLESS_AR, 42)], "category": "housing"},
    )


def test_the_steps_guard_every_button(db: Database, place: World) -> None:
    with db.session() as session:
        assert report.review(session, person=place.family).reply is Reply.STALE  # no report
        started = report.start_report(session, person=place.family)
    assert started.reply is Reply.ASK_CATEGORY and started.parts == 0
    assert _data(db) == (FlowName.REPORT, {"step": "category", "parts": []})
    with db.session() as session:
        # Send and Yes only work at their own step; an unknown category is a stale button.
        assert report.review(session, person=place.family).reply is Reply.STALE
        assert report.confirm(session, person=place.family, now=T0).reply is Reply.STALE
        assert report.choose_category(session, person=place.family, code="nope").reply is (
            Reply.STALE
        )
        assert report.choose_category(session, person=place.family, code="housing").reply is (
            Reply.DESCRIBE
        )
    with db.session() as session:
        assert report.review(session, person=place.family).reply is Reply.EMPTY
    _message(db, place, HARMLESS_AR, 43)
    with db.session() as session:
        assert report.review(session, person=place.family).reply is Reply.CONFIRM
    with db.session() as session:
        assert report.describe_more(session, person=place.family).reply is Reply.DESCRIBE
    assert _data(db)[1]["step"] == "describe"


def test_an_edit_corrects_the_draft_in_the_stored_shape(db: Database, place: World) -> None:
    old = {"step": "describe", "parts": [_old_part("أولاً", 44)], "category": "housing"}
    with db.session() as session:
        session.add(Flow(telegram_user_id=CHAT, name="report", data=old))
        done = edits.family_edit(
            session, person=place.family, text="أولاً، مصحح", source=(CHAT, 44), edited_at=T0
        )
    assert done.edited is Edited.IN_REPORT
    assert _data(db) == ("report", {**old, "parts": [_old_part("أولاً، مصحح", 44)]})


def test_which_request_and_write_about_keep_their_stored_shape(db: Database, place: World) -> None:
    waiting = intake.Waiting([Part(text="أ", source_chat_id=CHAT, source_message_id=45)])
    assert waiting.to_data() == {"parts": [_old_part("أ", 45)]}
    assert intake.Waiting.from_data(waiting.to_data()) == waiting
    assert intake.Adding.from_data({"ticket_id": 7}).to_data() == {"ticket_id": 7}
    with db.session() as session:
        flows.start(session, CHAT, "attach", parts=[_old_part("أ", 45)])
        # "A new problem": the waiting message becomes the first of a report.
        begun = intake.attach(session, person=place.family, target="new")
    assert begun.reply is Reply.ASK_CATEGORY and begun.parts == 1
    assert _data(db) == ("report", {"step": "category", "parts": [_old_part("أ", 45)]})
