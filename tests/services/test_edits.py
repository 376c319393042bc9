"""A family's edit at the service level: the stored words follow, once, in order; or nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.services import edits, error_reports, flows, privacy, retention, tickets
from bot.services.edits import Edited
from bot.services.tickets import Part
from storage.db import Database
from storage.models import (
    AuditEvent,
    NoticeKind,
    Notification,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from tests.services.test_safeguarding_alerts import CHAT, World
from tests.services.test_safeguarding_alerts import world as _world  # noqa: F401  (fixture)

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def place(request: pytest.FixtureRequest) -> World:
    """The safeguarding tests' world: a caseworker, a coordinator, one family member."""
    found: World = request.getfixturevalue("_world")
    return found


def _ticket_with(db: Database, world: World, text: str, message_id: int) -> int:
    """A request holding one family text that came from Telegram message ``message_id``."""
    with db.session() as session:
        part = Part(text=text, source_chat_id=CHAT, source_message_id=message_id)
        opened = tickets.open_ticket(
            session, person=world.family, category="housing", parts=[part], now=T0
        )
        return opened.ticket.id or 0


def _edit(db: Database, world: World, text: str, message_id: int, at: datetime) -> Edited:
    with db.session() as session:
        return edits.family_edit(
            session, person=world.family, text=text, source=(CHAT, message_id), edited_at=at
        ).edited


def _stored(db: Database, message_id: int) -> TicketMessage:
    with db.session() as session:
        return session.exec(
            select(TicketMessage).where(TicketMessage.source_message_id == message_id)
        ).one()


def _edit_notices(db: Database) -> list[Notification]:
    with db.session() as session:
        kind = NoticeKind.STAFF_MESSAGE_EDITED
        return list(session.exec(select(Notification).where(Notification.kind == kind)))


def test_edits_replace_the_words_keep_the_first_and_tell_staff_once_each(
    db: Database, place: World
) -> None:
    _ticket_with(db, place, "الباب مكسور", 50)
    with db.session() as session:
        row = session.exec(select(TicketMessage)).one()
        row.translation, row.translation_status, row.translation_target = "x", "translated", "en"
        session.add(row)
    assert _edit(db, place, "الباب والنافذة مكسوران", 50, T0 + timedelta(minutes=1)) == (
        Edited.PASSED_ON
    )
    assert _edit(db, place, "النافذة مكسورة", 50, T0 + timedelta(minutes=2)) == Edited.PASSED_ON
    row = _stored(db, 50)
    assert row.text == "النافذة مكسورة" and row.original_text == "الباب مكسور"
    assert row.edited_at == T0 + timedelta(minutes=2)
    # The old translation is of the old words: it is redone when the notice is rendered.
    assert row.translation is None and row.translation_status is None
    assert len(_edit_notices(db)) == 2  # one per edit, to the one caseworker
    assert {n.chat_id for n in _edit_notices(db)} == {place.caseworker}
    with db.session() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "message.edit"))
        details = [e.detail for e in events]
    assert details == [{"message": row.id}] * 2  # which message, never its words


def test_a_repeated_or_older_edit_changes_nothing(db: Database, place: World) -> None:
    _ticket_with(db, place, "الباب مكسور", 51)
    later = T0 + timedelta(minutes=5)
    assert _edit(db, place, "النافذة مكسورة", 51, later) == Edited.PASSED_ON
    assert _edit(db, place, "النافذة مكسورة", 51, later) == Edited.NOTHING  # redelivered
    # An earlier edit delivered late never undoes the newer one.
    assert _edit(db, place, "الباب مكسور جداً", 51, T0 + timedelta(minutes=1)) == Edited.NOTHING
    assert _stored(db, 51).text == "النافذة مكسورة"
    assert len(_edit_notices(db)) == 1


def test_words_already_purged_are_never_brought_back(db: Database, place: World) -> None:
    _ticket_with(db, place, "الباب مكسور", 52)
    with db.session() as session:
        row = session.exec(select(TicketMessage)).one()
        row.text, row.purged_at = "", T0
        session.add(row)
    assert _edit(db, place, "الباب مكسور جداً", 52, T0 + timedelta(days=1)) == Edited.NOT_KEPT
    assert _stored(db, 52).text == ""
    assert _edit_notices(db) == []


def test_a_message_waiting_for_which_request_is_corrected_in_place(
    db: Database, place: World
) -> None:
    waiting = [
        {"kind": "text", "text": "أولاً", "source_chat_id": CHAT, "source_message_id": 60},
        {"kind": "text", "text": "ثانياً", "source_chat_id": CHAT, "source_message_id": 61},
    ]
    with db.session() as session:
        flows.start(session, CHAT, "attach", parts=waiting)
    assert _edit(db, place, "أولاً، مصحح", 60, T0) == Edited.IN_WAIT
    assert _edit(db, place, "أولاً، مصحح", 60, T0) == Edited.NOTHING
    assert _edit(db, place, "شيء آخر", 99, T0) == Edited.NOT_KEPT
    with db.session() as session:
        flow = flows.current(session, CHAT)
        assert flow is not None and flow.name == "attach"
        assert [p["text"] for p in flow.data["parts"]] == ["أولاً، مصحح", "ثانياً"]


def test_an_error_report_is_queued_once_with_no_content(db: Database) -> None:
    reference = error_reports.new_reference()
    assert reference.startswith("E-") and len(reference) == 8
    with db.session() as session:
        for _ in range(2):
            error_reports.queue_report(
                session, chat_id=-100, reference=reference, error="RuntimeError", at=T0,
                update_id=7,
            )  # fmt: skip
    with db.session() as session:
        [notice] = session.exec(select(Notification)).all()
    assert notice.kind == NoticeKind.STAFF_ERROR_REPORT and notice.chat_id == -100
    assert set(notice.payload) == {"reference", "error", "at", "update_id", "job"}
    assert notice.payload["error"] == "RuntimeError" and notice.payload["update_id"] == 7


def test_retention_and_erasure_empty_the_first_wording_too(db: Database, place: World) -> None:
    first = _ticket_with(db, place, "الباب مكسور", 70)
    second = _ticket_with(db, place, "النافذة مكسورة", 71)
    _edit(db, place, "الباب مكسور جداً", 70, T0 + timedelta(minutes=1))
    _edit(db, place, "النافذة مكسورة جداً", 71, T0 + timedelta(minutes=1))
    with db.session() as session:
        ticket = session.get(Ticket, first)
        assert ticket is not None
        ticket.status, ticket.resolved_at = TicketStatus.RESOLVED, T0
        session.add(ticket)
    with db.session() as session:
        retention.purge_closed(session, now=T0 + timedelta(days=100), days=90)
    purged, kept = _stored(db, 70), _stored(db, 71)
    assert purged.text == "" and purged.original_text is None
    assert kept.original_text == "النافذة مكسورة"
    with db.session() as session:
        household_id = place.family.household_id or 0
        privacy.erase(session, household_id=household_id, actor="admin", now=T0)
    with db.session() as session:
        row = session.exec(select(TicketMessage).where(TicketMessage.ticket_id == second)).one()
    assert row.text == "" and row.original_text is None
