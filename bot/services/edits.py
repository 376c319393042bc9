"""A family member edits a message they sent: the stored words follow, or they are told why not.

One transaction per edit (run it with ``Database.run``); nothing is sent from here: staff hear
through the outbox, and the handler renders the :class:`EditOutcome` to the family.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, select

from bot.services import audit, flows, intake, outbox, report, tickets
from bot.services.flows import FlowName
from bot.services.people import Person
from bot.services.routing import staff_recipients
from bot.services.tickets import Checked
from bot.services.translation import detect_language
from storage.models import Direction, NoticeKind, Ticket, TicketMessage, TicketStatus

Source = tuple[int, int]  # (chat id, message id) of the edited Telegram message


class Edited(StrEnum):
    """What became of a family's edit."""

    NOTHING = "nothing"  # the same words again (a redelivered edit) or an older edit
    PASSED_ON = "passed_on"  # a message of a request now reads as edited; staff are told
    IN_REPORT = "in_report"  # corrected in the report being written (nothing sent yet)
    IN_WAIT = "in_wait"  # corrected while "which request?" waits for an answer
    CLOSED = "closed"  # the request is resolved: the correction was not passed on
    NOT_KEPT = "not_kept"  # no message of theirs holds it: send the correction as a new one


@dataclass(frozen=True)
class EditOutcome:
    """The result of an edit, with what rendering it needs."""

    edited: Edited
    checked: Checked
    ticket_id: int | None = None
    reference: str = ""


def family_edit(
    session: Session, *, person: Person, text: str, source: Source, edited_at: datetime
) -> EditOutcome:
    """A family member's edited text or caption: the new words are checked for danger first
    (as any message is), then replace the words kept in their request, draft or waiting
    message; anything else is answered, never acted on as a new message."""
    stored = _stored(session, source)
    ticket_id = stored.ticket_id if stored is not None else None
    checked = intake.triage(session, person=person, text=text, source=source, ticket_id=ticket_id)
    if stored is None:
        return EditOutcome(_in_flow(session, person, text, source), checked)
    ticket = session.get(Ticket, stored.ticket_id)
    if ticket is None or ticket.household_id != person.household_id or stored.purged_at:
        return EditOutcome(Edited.NOT_KEPT, checked)
    reference = tickets.reference(ticket.id or 0)
    if stored.text == text or (stored.edited_at is not None and edited_at < stored.edited_at):
        return EditOutcome(Edited.NOTHING, checked, ticket.id, reference)
    if ticket.status == TicketStatus.RESOLVED:
        return EditOutcome(Edited.CLOSED, checked, ticket.id, reference)
    _correct(session, stored, text, edited_at)
    audit.record(
        session,
        actor=f"member:{person.member_id}",
        action="message.edit",
        subject=f"ticket:{ticket.id}",
        message=stored.id,
    )
    stamp = int(edited_at.timestamp())
    for staff in staff_recipients(session, ticket):
        assert staff.telegram_user_id is not None
        outbox.enqueue(
            session,
            key=f"edit:{stored.id}:{stamp}:staff:{staff.id}",
            chat_id=staff.telegram_user_id,
            kind=NoticeKind.STAFF_MESSAGE_EDITED,
            ticket_id=ticket.id,
            message_id=stored.id,
        )
    return EditOutcome(Edited.PASSED_ON, checked, ticket.id, reference)


def _stored(session: Session, source: Source) -> TicketMessage | None:
    """The family message of a request that this Telegram message became, if any."""
    return session.exec(
        select(TicketMessage).where(
            TicketMessage.source_chat_id == source[0],
            TicketMessage.source_message_id == source[1],
            TicketMessage.direction == Direction.IN,
        )
    ).first()


def _correct(session: Session, message: TicketMessage, text: str, edited_at: datetime) -> None:
    """New words for a stored message: the first wording is kept, the translation redone."""
    if message.original_text is None:
        message.original_text = message.text
    message.text, message.edited_at = text, edited_at
    message.language = detect_language(text) if text.strip() else None
    # Translated again into each reader's language when the notice about the edit is sent.
    message.translation = message.translation_status = None
    message.translation_model = message.translation_target = None
    message.translation_flagged = False
    session.add(message)


def _in_flow(session: Session, person: Person, text: str, source: Source) -> Edited:
    """Corrects a message still kept in the person's draft or "which request?" wait."""
    flow = flows.current(session, person.telegram_user_id)
    draft: report.ReportDraft | intake.Waiting
    if flow is not None and flow.name == FlowName.REPORT:
        draft = report.ReportDraft.from_data(flow.data)
    elif flow is not None and flow.name == FlowName.ATTACH:
        draft = intake.Waiting.from_data(flow.data)
    else:
        return Edited.NOT_KEPT
    found = {
        i for i, p in enumerate(draft.parts) if (p.source_chat_id, p.source_message_id) == source
    }
    if not found:
        return Edited.NOT_KEPT
    if all(draft.parts[i].text == text for i in found):
        return Edited.NOTHING
    draft.parts = [replace(p, text=text) if i in found else p for i, p in enumerate(draft.parts)]
    flows.update(session, flow, **draft.to_data())
    return Edited.IN_REPORT if flow.name == FlowName.REPORT else Edited.IN_WAIT
