"""Routing as data: where a ticket goes (caseworker, rule, Lot, coordinators) and who hears."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import (
    District,
    Household,
    Lot,
    Member,
    RoutingDecision,
    RoutingRule,
    Staff,
    StaffRole,
    Ticket,
    TicketStatus,
)


def route(
    session: Session, ticket: Ticket, household: Household, now: datetime
) -> RoutingDecision:
    """Chooses where a ticket goes and records why: caseworker, rule, Lot, or coordinators."""
    caseworker = session.get(Staff, household.caseworker_id) if household.caseworker_id else None
    decision: RoutingDecision
    if caseworker is not None and caseworker.active and caseworker.role == StaffRole.CASEWORKER:
        ticket.assignee_id = caseworker.id
        ticket.provider_id = caseworker.provider_id
        ticket.status = TicketStatus.WITH_CASEWORKER
        decision = RoutingDecision(
            ticket_id=ticket.id or 0,
            at=now,
            reason="assigned caseworker",
            provider_id=caseworker.provider_id,
            staff_id=caseworker.id,
        )
    else:
        rule = session.exec(
            select(RoutingRule)
            .where(
                RoutingRule.district_id == household.district_id,
                col(RoutingRule.active).is_(True),
                (col(RoutingRule.category_id) == ticket.category_id)
                | col(RoutingRule.category_id).is_(None),
            )
            .order_by(col(RoutingRule.category_id).is_(None), col(RoutingRule.id).desc())
        ).first()
        district = session.get(District, household.district_id)
        lot = session.get(Lot, district.lot_id) if district and district.lot_id else None
        if rule is not None:
            ticket.provider_id = rule.provider_id
            reason, rule_id = "routing rule", rule.id
        elif lot is not None and lot.provider_id is not None:
            ticket.provider_id = lot.provider_id
            reason, rule_id = "provider holding the district's Lot", None
        else:
            ticket.provider_id = None
            reason, rule_id = "no provider for the district: coordinators", None
        if caseworker is not None:
            reason += " (assigned caseworker inactive)"
        ticket.assignee_id = None
        ticket.status = TicketStatus.RECEIVED
        decision = RoutingDecision(
            ticket_id=ticket.id or 0,
            at=now,
            reason=reason,
            provider_id=ticket.provider_id,
            rule_id=rule_id,
        )
    session.add(ticket)
    session.add(decision)
    return decision


def add_routing_rule(
    session: Session, *, district_id: int, provider_id: int, category_id: int | None
) -> RoutingRule:
    """Adds a rule (newest matching rule wins; a category rule beats a district-wide one)."""
    rule = RoutingRule(district_id=district_id, provider_id=provider_id, category_id=category_id)
    session.add(rule)
    session.flush()
    return rule


def _linked(staff: list[Staff]) -> list[Staff]:
    """Staff who can be messaged on Telegram."""
    return [s for s in staff if s.active and s.telegram_user_id]


def coordinators(session: Session) -> list[Staff]:
    """Every active, linked coordinator."""
    return _linked(list(session.exec(select(Staff).where(Staff.role == StaffRole.COORDINATOR))))


def provider_staff(session: Session, provider_id: int, *roles: StaffRole) -> list[Staff]:
    """Active, linked staff of a provider with the given roles."""
    return _linked(
        list(
            session.exec(
                select(Staff).where(
                    Staff.provider_id == provider_id, col(Staff.role).in_(list(roles))
                )
            )
        )
    )


def staff_recipients(session: Session, ticket: Ticket) -> list[Staff]:
    """Who hears about a ticket: its assignee, else its provider's queue, else coordinators."""
    if ticket.assignee_id is not None:
        assignee = session.get(Staff, ticket.assignee_id)
        if assignee is not None and assignee.active and assignee.telegram_user_id:
            return [assignee]
    if ticket.provider_id is not None:
        queue = provider_staff(session, ticket.provider_id, StaffRole.CASEWORKER, StaffRole.LEAD)
        if queue:
            return queue
    return coordinators(session)


def family_members(session: Session, household_id: int) -> list[Member]:
    """Linked members of a household."""
    return [
        m
        for m in session.exec(select(Member).where(Member.household_id == household_id))
        if m.telegram_user_id
    ]
