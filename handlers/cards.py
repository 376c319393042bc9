"""What a staff card shows about a ticket, loaded once for notices and for fresh cards."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.services import safeguarding_alerts, tickets
from handlers.render import CardContext
from storage.models import (
    Category,
    District,
    Household,
    SafeguardingFinding,
    Staff,
    Ticket,
    TicketMessage,
)


def card_context(
    session: Session,
    ticket: Ticket,
    *,
    include_notes: bool,
    messages: list[TicketMessage] | None = None,
) -> CardContext:
    """Loads what a staff card shows about a ticket: the whole history, unless ``messages``
    gives the only ones it shows (a notice about one message, an alert that shows none)."""
    household = session.get(Household, ticket.household_id)
    assert household is not None
    district = session.get(District, household.district_id)
    assignee = session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
    return CardContext(
        ticket=ticket,
        household_ref=household.reference,
        district=district.name if district else "?",
        category=session.get(Category, ticket.category_id),
        assignee=assignee.name if assignee else None,
        messages=(
            tickets.messages_of(session, ticket.id or 0, include_notes=include_notes)
            if messages is None
            else messages
        ),
        **danger(safeguarding_alerts.ticket_findings(session, ticket.id or 0)),
    )


def danger(findings: list[SafeguardingFinding]) -> dict[str, Any]:
    """The safeguarding level and (category, words) pairs a card shows for some findings."""
    pairs = {(s["category"], s["matched"]): None for f in findings for s in f.signals}
    return {
        "danger_level": str(safeguarding_alerts.ticket_level(findings)),
        "danger": tuple(pairs),
    }
