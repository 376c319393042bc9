"""Staff intents, each one transaction through ``Database.run``: writing a reply or a note
ends its flow, a refused action leaves nothing behind, and a Telegram reply finds its ticket."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import select

from bot.services import flows, people, registry, staff_actions, tickets
from bot.services.errors import EmptyMessage, NotFound, TicketResolved
from bot.services.people import Person
from bot.services.staff_actions import Writing, Written
from bot.services.tickets import Part
from storage.db import Database
from storage.models import Flow, TicketMessage

SAM = 100  # Telegram id of the caseworker
CHAT = (SAM, 7)  # the caseworker's message that carries the text


@dataclass
class Desk:
    """A caseworker and one open ticket of their family."""

    sam: Person
    ticket_id: int


@pytest.fixture
def desk(db: Database) -> Desk:
    with db.session() as session:
        registry.add_provider(session, name="A", districts=["Dover"])
        sam = registry.add_staff(session, role="caseworker", name="Sam", provider="A")
        sam.telegram_user_id = SAM
        registry.add_family(
            session, ref="HA", district="Dover", scheme="VPRS", arrived="2024-01-01"
        )
        member = registry.add_member(session, family="HA", name="Amina")
        member.telegram_user_id = 200
        session.add_all([sam, member])
        session.flush()
        family = people.identify(session, telegram_user_id=200, language_code="ar")
        family = Person(**{**family.__dict__, "consented": True})
        opened = tickets.open_ticket(
            session, person=family, category="housing", parts=[Part(text="المدفأة معطلة")]
        )
        staff = people.identify(session, telegram_user_id=SAM, language_code="en")
    return Desk(sam=staff, ticket_id=opened.ticket.id or 0)


def _flow(db: Database) -> str | None:
    with db.session() as session:
        flow = session.exec(select(Flow).where(Flow.telegram_user_id == SAM)).first()
        return flow.name if flow else None


def _texts(db: Database, ticket_id: int) -> list[tuple[str, str]]:
    with db.session() as session:
        rows = session.exec(
            select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
        ).all()
        return [(m.direction, m.text) for m in rows]


async def test_a_note_pressed_then_written_is_kept_and_ends_the_flow(
    db: Database, desk: Desk
) -> None:
    await db.run(
        staff_actions.start_writing, person=desk.sam, ticket_id=desk.ticket_id, kind=Writing.NOTE
    )
    assert _flow(db) == "staff_note"
    outcome = await db.run(
        staff_actions.staff_message, person=desk.sam, text="Called the landlord.", source=CHAT,
        reply_to=None,
    )  # fmt: skip
    assert outcome.written is Written.NOTE_KEPT and outcome.ticket_id == desk.ticket_id
    assert ("note", "Called the landlord.") in _texts(db, desk.ticket_id)
    assert _flow(db) is None


async def test_empty_text_keeps_the_flow_so_the_answer_can_follow(
    db: Database, desk: Desk
) -> None:
    await db.run(
        staff_actions.start_writing, person=desk.sam, ticket_id=desk.ticket_id, kind=Writing.REPLY
    )
    outcome = await db.run(
        staff_actions.staff_message, person=desk.sam, text="   ", source=CHAT, reply_to=None
    )
    assert outcome.written is Written.REFUSED and isinstance(outcome.error, EmptyMessage)
    assert _flow(db) == "staff_reply"
    outcome = await db.run(
        staff_actions.staff_message, person=desk.sam, text="An engineer comes tomorrow.",
        source=(SAM, 8), reply_to=None,
    )  # fmt: skip
    assert outcome.written is Written.SENT
    assert ("out", "An engineer comes tomorrow.") in _texts(db, desk.ticket_id)
    assert _flow(db) is None


async def test_a_reply_to_a_resolved_ticket_changes_nothing_but_ends_the_flow(
    db: Database, desk: Desk
) -> None:
    await db.run(
        staff_actions.start_writing, person=desk.sam, ticket_id=desk.ticket_id, kind=Writing.REPLY
    )
    await db.run(tickets.resolve, person=desk.sam, ticket_id=desk.ticket_id)
    before = _texts(db, desk.ticket_id)
    outcome = await db.run(
        staff_actions.staff_message, person=desk.sam, text="Too late.", source=CHAT, reply_to=None
    )
    assert outcome.written is Written.REFUSED and isinstance(outcome.error, TicketResolved)
    assert _texts(db, desk.ticket_id) == before
    assert _flow(db) is None
    with pytest.raises(TicketResolved):
        await db.run(
            staff_actions.start_writing, person=desk.sam, ticket_id=desk.ticket_id,
            kind=Writing.REPLY,
        )  # fmt: skip
    assert _flow(db) is None


async def test_a_telegram_reply_finds_its_ticket_or_is_told_it_is_none(
    db: Database, desk: Desk
) -> None:
    outcome = await db.run(
        staff_actions.staff_message, person=desk.sam, text="Hello", source=CHAT, reply_to=55
    )
    assert outcome.written is Written.NOT_A_TICKET
    await db.run(tickets.link_message, chat_id=SAM, message_id=55, ticket_id=desk.ticket_id)
    outcome = await db.run(
        staff_actions.staff_message, person=desk.sam, text="Hello", source=CHAT, reply_to=55
    )
    assert outcome.written is Written.SENT and outcome.ticket_id == desk.ticket_id
    outcome = await db.run(
        staff_actions.staff_message, person=desk.sam, text="Hi", source=(SAM, 9), reply_to=None
    )
    assert outcome.written is Written.HINT
    with db.session() as session:
        assert flows.current(session, SAM) is None


async def test_translate_again_lists_only_messages_not_in_the_readers_language(
    db: Database, desk: Desk
) -> None:
    todo = await db.run(
        staff_actions.to_translate_again, person=desk.sam, ticket_id=desk.ticket_id
    )
    assert [item.text for item in todo] == ["المدفأة معطلة"]
    with pytest.raises(NotFound):
        await db.run(staff_actions.to_translate_again, person=desk.sam, ticket_id=999)
