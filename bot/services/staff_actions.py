"""What a member of staff's tap or message does, one transaction per intent.

Each function takes a session (run it with ``Database.run``) and returns what the Telegram
handler renders; none of them sends anything, so a retry is always safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from bot.services import flows, saved_replies, tickets
from bot.services.errors import DomainError, InvalidInput, TicketResolved
from bot.services.flows import FlowName
from bot.services.people import Person
from bot.services.translation import Translation
from storage.models import Staff, Ticket, TicketMessage, TicketStatus

Source = tuple[int, int]  # (chat id, message id) of a member of staff's Telegram message


class Writing(StrEnum):
    """What the next message of a member of staff is (the name of their flow)."""

    REPLY = FlowName.STAFF_REPLY.value  # an answer to the family
    NOTE = FlowName.STAFF_NOTE.value  # an internal note, never sent to the family


@dataclass(frozen=True)
class WritingDraft:
    """A reply or note flow's draft, as kept in ``Flow.data`` (key ``ticket_id``, unchanged so
    a reply begun before an upgrade is still sent to its ticket)."""

    ticket_id: int

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> WritingDraft:
        """Reads the stored draft."""
        return cls(int(data["ticket_id"]))

    def to_data(self) -> dict[str, Any]:
        """The draft as stored."""
        return {"ticket_id": self.ticket_id}


class Written(StrEnum):
    """What a member of staff is told after writing to a ticket."""

    NOTE_KEPT = "note_kept"  # the note is on the ticket
    SENT = "sent"  # the reply is queued for the family
    UNREACHABLE = "unreachable"  # the reply is saved, but the family blocked Sanad
    REFUSED = "refused"  # nothing happened: see the error
    NOT_A_TICKET = "not_a_ticket"  # a Telegram reply to a message that is no ticket's
    HINT = "hint"  # plain text outside any flow: how to answer a family


@dataclass
class Outcome:
    """The result of writing to a ticket, with what rendering it needs."""

    written: Written
    ticket_id: int | None = None
    error: DomainError | None = None


def start_writing(session: Session, *, person: Person, ticket_id: int, kind: Writing) -> None:
    """Reply or Internal note pressed: the next message is the text (refused when it can't be)."""
    ticket, _ = tickets.get_visible(session, person, ticket_id)
    if kind is Writing.REPLY and ticket.status == TicketStatus.RESOLVED:
        raise TicketResolved("resolved")
    flows.start(session, person.telegram_user_id, kind.value, **WritingDraft(ticket_id).to_data())


def write(
    session: Session, *, person: Person, ticket_id: int, text: str, note: bool, source: Source
) -> Outcome:
    """Keeps a note or sends a reply on a ticket, ending the flow that asked for it."""
    try:
        # A savepoint: a refused action leaves nothing behind, yet the flow can still end.
        with session.begin_nested():
            if note:
                tickets.note(session, person=person, ticket_id=ticket_id, text=text, source=source)
            else:
                tickets.reply(
                    session, person=person, ticket_id=ticket_id, text=text, source=source
                )
    except DomainError as exc:
        if not isinstance(exc, InvalidInput):  # the ticket itself is the problem: leave the flow
            flows.clear(session, person.telegram_user_id)
        return Outcome(Written.REFUSED, ticket_id, exc)
    flows.clear(session, person.telegram_user_id)
    if note:
        return Outcome(Written.NOTE_KEPT, ticket_id)
    ticket = session.get(Ticket, ticket_id)
    unreachable = ticket is not None and ticket.family_unreachable
    return Outcome(Written.UNREACHABLE if unreachable else Written.SENT, ticket_id)


def staff_message(
    session: Session, *, person: Person, text: str, source: Source, reply_to: int | None
) -> Outcome:
    """Staff text: a reply or note in progress, a Telegram reply to a ticket, or neither."""
    flow = flows.current(session, person.telegram_user_id)
    if flow is not None and flow.name in (Writing.REPLY, Writing.NOTE):
        ticket_id = WritingDraft.from_data(flow.data).ticket_id
        note = flow.name == Writing.NOTE
        return write(
            session, person=person, ticket_id=ticket_id, text=text, note=note, source=source
        )
    if reply_to is None:
        return Outcome(Written.HINT)
    linked = tickets.ticket_for_message(session, chat_id=source[0], message_id=reply_to)
    if linked is None:
        return Outcome(Written.NOT_A_TICKET)
    return write(session, person=person, ticket_id=linked, text=text, note=False, source=source)


def reassign(
    session: Session, *, person: Person, ticket_id: int, to_staff_id: int | None
) -> str | None:
    """Hands a ticket to a colleague (their name is returned) or back to the queue (None)."""
    tickets.reassign(session, person=person, ticket_id=ticket_id, to_staff_id=to_staff_id)
    colleague = session.get(Staff, to_staff_id) if to_staff_id is not None else None
    return colleague.name if colleague is not None else None


def send_saved(
    session: Session, *, person: Person, ticket_id: int, reply_id: int
) -> TicketMessage:
    """Sends one of my saved replies; the family reads the version in their language."""
    saved = saved_replies.get(session, person=person, reply_id=reply_id)
    return tickets.reply(
        session, person=person, ticket_id=ticket_id, text=saved.text_en, arabic=saved.text_ar
    )


@dataclass(frozen=True)
class ToTranslate:
    """A family message to translate again into the reader's language."""

    message_id: int
    text: str
    language: str | None


def to_translate_again(session: Session, *, person: Person, ticket_id: int) -> list[ToTranslate]:
    """The family's messages on a ticket that are not in the reader's language."""
    return [
        ToTranslate(m.id or 0, m.text, m.language)
        for m in tickets.translated_messages(session, person=person, ticket_id=ticket_id)
        if m.language != person.language
    ]


def store_translations(session: Session, results: list[tuple[int, Translation]]) -> None:
    """Keeps fresh translations beside their originals, all in one transaction."""
    for message_id, result in results:
        tickets.store_translation(session, message_id=message_id, result=result)
