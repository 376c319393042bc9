"""Escalation: tickets without a first response past their deadline go up, once per level."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.services import audit, outbox
from bot.services.categories import response_hours
from bot.services.routing import coordinators, provider_staff
from bot.services.tickets import OPEN_STATUSES, WORKING_HOURS
from storage.models import StaffRole, Ticket
from storage.types import utcnow


def escalate_overdue(session: Session, *, now: datetime | None = None) -> list[int]:
    """Escalates tickets with no first response past their deadline: lead, then coordinators."""
    now = now or utcnow()
    escalated: list[int] = []
    overdue = session.exec(
        select(Ticket).where(
            col(Ticket.status).in_(list(OPEN_STATUSES)),
            col(Ticket.first_response_at).is_(None),
            col(Ticket.due_at) <= now,
            col(Ticket.escalation_level) < 2,
        )
    ).all()
    for ticket in overdue:
        window = response_hours(session, ticket.priority)
        second_deadline = WORKING_HOURS.add_working_hours(ticket.due_at, window)
        leads = (
            provider_staff(session, ticket.provider_id, StaffRole.LEAD)
            if ticket.provider_id
            else []
        )
        if ticket.escalation_level == 0 and leads:
            targets, level = leads, 1
        elif ticket.escalation_level < 2 and (not leads or now >= second_deadline):
            targets, level = coordinators(session), 2
        else:
            continue
        for staff in targets:
            assert staff.telegram_user_id is not None
            outbox.enqueue(
                session,
                key=f"escalate:{ticket.id}:{level}:staff:{staff.id}",
                chat_id=staff.telegram_user_id,
                kind=outbox.NoticeKind.STAFF_ESCALATED,
                ticket_id=ticket.id,
                level=level,
            )
        ticket.escalation_level = level
        session.add(ticket)
        audit.record(
            session, actor="system", action="ticket.escalate", subject=f"ticket:{ticket.id}",
            level=level,
        )  # fmt: skip
        escalated.append(ticket.id or 0)
    return escalated
