"""The update inbox: stored once, handled, retried a bounded number of times, then failed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.admin import run
from bot.services import inbox, people, registry, saved_replies, tickets
from bot.services.people import Person
from bot.services.tickets import Part
from bot.settings import Settings
from storage.db import Database
from storage.models import InboundUpdate, SavedReply, TicketMessage

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _incoming(update_id: int, chat: int = 42) -> inbox.Incoming:
    return inbox.Incoming(
        update_id=update_id, chat_id=chat, user_id=chat, payload={"update_id": update_id}
    )


def _states(db: Database) -> dict[int, tuple[str, int]]:
    with db.session() as session:
        return {
            row.update_id: (row.state, row.attempts) for row in session.exec(select(InboundUpdate))
        }


def test_a_redelivered_update_is_stored_once(db: Database) -> None:
    with db.session() as session:
        assert inbox.store(session, [_incoming(1), _incoming(2)], now=NOW) == {1, 2}
    with db.session() as session:  # Telegram sends 2 again (its acknowledgement was lost)
        assert inbox.store(session, [_incoming(2), _incoming(3), _incoming(3)], now=NOW) == {3}
    assert _states(db) == {1: ("pending", 1), 2: ("pending", 1), 3: ("pending", 1)}
    with db.session() as session:
        assert inbox.mark_done(session, [1, 3], now=NOW) == 2
        assert inbox.mark_done(session, [1], now=NOW) == 0  # already done
        assert inbox.counts(session) == {"pending": 1, "done": 2, "failed": 0}
        assert inbox.oldest_pending(session) == NOW


def test_failures_are_retried_a_bounded_number_of_times_crashes_always(db: Database) -> None:
    with db.session() as session:
        inbox.store(session, [_incoming(10), _incoming(11)], now=NOW)
    with db.session() as session:  # a handler raised on 10: it is tried again
        assert inbox.record_failure(session, 10, error="ValueError", now=NOW)
    for _ in range(5):  # crashes: both handed over again on every start, oldest first
        with db.session() as session:
            assert [row.update_id for row in inbox.take_pending(session)] == [10, 11]
    assert _states(db) == {10: ("pending", 2), 11: ("pending", 1)}
    with db.session() as session:  # 10 raises on its second and third attempts: no more
        assert inbox.record_failure(session, 10, error="KeyError", now=NOW)
        assert not inbox.record_failure(session, 10, error="KeyError", now=NOW)
    with db.session() as session:
        assert [row.update_id for row in inbox.take_pending(session)] == [11]
        failed = inbox.failed(session)
        assert [(row.update_id, row.last_error) for row in failed] == [(10, "KeyError")]
        assert not inbox.record_failure(session, 10, error="KeyError", now=NOW)  # already over
    assert _states(db) == {10: ("failed", 3), 11: ("pending", 1)}


def test_handled_updates_are_pruned_failed_ones_kept(db: Database) -> None:
    with db.session() as session:
        inbox.store(session, [_incoming(20), _incoming(21), _incoming(22)], now=NOW)
    with db.session() as session:
        inbox.mark_done(session, [20], now=NOW)
        inbox.mark_done(session, [21], now=NOW + timedelta(days=2))
        for _ in range(3):
            inbox.record_failure(session, 22, error="X", now=NOW)
    with db.session() as session:
        assert inbox.prune(session, now=NOW + timedelta(days=2, hours=1)) == 1
    assert set(_states(db)) == {21, 22}


def _staff_and_ticket(db: Database) -> tuple[Person, int]:
    with db.session() as session:
        registry.add_provider(session, name="A", districts=["Dover"])
        staff = registry.add_staff(session, role="caseworker", name="Sam", provider="A")
        staff.telegram_user_id = 600
        registry.add_family(
            session, ref="HA", district="Dover", scheme="VPRS", arrived="2024-01-01",
            caseworker_id=staff.id,
        )  # fmt: skip
        member = registry.add_member(session, family="HA", name="Amina")
        member.telegram_user_id = 500
        session.flush()
        family = people.identify(session, telegram_user_id=500, language_code="ar")
        family = Person(**{**family.__dict__, "consented": True})
        opened = tickets.open_ticket(
            session, person=family, category="housing", parts=[Part(text="x")]
        )
        sam = people.identify(session, telegram_user_id=600, language_code="en")
        return sam, opened.ticket.id or 0


def test_a_redelivered_note_or_saved_reply_is_kept_once(db: Database) -> None:
    sam, ticket_id = _staff_and_ticket(db)
    for _ in range(2):
        with db.session() as session:
            tickets.note(session, person=sam, ticket_id=ticket_id, text="called", source=(600, 7))
            saved_replies.add(
                session, person=sam, title="T", text_en="e", text_ar="ع", source=(600, 8)
            )
    with db.session() as session:
        notes = session.exec(select(TicketMessage).where(TicketMessage.direction == "note"))
        assert [n.text for n in notes] == ["called"]
        assert len(session.exec(select(SavedReply)).all()) == 1
        # A different message with the same words is a new note.
        tickets.note(session, person=sam, ticket_id=ticket_id, text="called", source=(600, 9))
    with db.session() as session:
        notes = session.exec(select(TicketMessage).where(TicketMessage.direction == "note"))
        assert len(notes.all()) == 2


def test_staff_see_failed_updates_in_the_admin_listing(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    database = Database(settings.database_url)
    database.upgrade()
    with database.session() as session:
        inbox.store(session, [_incoming(30, chat=77), _incoming(31)], now=NOW)
    with database.session() as session:
        for _ in range(3):
            inbox.record_failure(session, 30, error="ValueError", now=NOW)
    database.dispose()
    assert run(["inbox", "--failed", "--json"], settings=settings) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["states"] == {"pending": 1, "done": 0, "failed": 1}
    (row,) = answer["failed"]
    assert (row["update_id"], row["chat"], row["error"], row["attempts"]) == (
        30, 77, "ValueError", 3,
    )  # fmt: skip
    assert "payload" not in row  # never the update's content
