"""Danger found at arrival: one finding per family message, and the alert it owes, queued once.

A finding is keyed by the Telegram message it came from, so a redelivered update, an edit, or a
draft message that later becomes part of a request never alerts a second time.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services import audit, outbox
from bot.services.people import Person
from bot.services.routing import coordinators, staff_recipients
from bot.services.safeguarding import DangerLevel, Triage, max_level
from storage.models import (
    Household,
    NoticeKind,
    SafeguardingFinding,
    Staff,
    StaffRole,
    Ticket,
)

ALERT_TEMPLATE = NoticeKind.STAFF_SAFEGUARDING
OPENED_TEMPLATE = NoticeKind.STAFF_ALERT_TICKET


def level_of(finding: SafeguardingFinding) -> DangerLevel:
    """A finding's level as the enum."""
    return DangerLevel(finding.level)


def categories_of(findings: Iterable[SafeguardingFinding]) -> tuple[str, ...]:
    """The danger categories of some findings, each once, in the order first found."""
    seen: dict[str, None] = {}
    for finding in findings:
        for signal in finding.signals:
            seen.setdefault(signal["category"], None)
    return tuple(seen)


def _signals(result: Triage) -> list[dict[str, str]]:
    """A triage's signals as stored: category, the words matched, the rule and its level."""
    return [
        {
            "category": str(s.category),
            "matched": s.matched,
            "rule": s.rule,
            "level": str(s.level),
        }
        for s in result.signals
    ]


# Built once (every family message is checked): building costs more than running it.
_BY_SOURCE = select(SafeguardingFinding).where(
    col(SafeguardingFinding.source_chat_id) == bindparam("chat"),
    col(SafeguardingFinding.source_message_id) == bindparam("message"),
)


def find(session: Session, chat_id: int, message_id: int) -> SafeguardingFinding | None:
    """The finding recorded for one Telegram message, if any."""
    return session.exec(_BY_SOURCE, params={"chat": chat_id, "message": message_id}).first()


def record(
    session: Session,
    *,
    person: Person,
    result: Triage,
    text: str,
    source: tuple[int, int] | None,
) -> tuple[SafeguardingFinding | None, bool]:
    """Keeps what triage found in one message; returns the finding and whether it is new or
    worse than before (an edit that added danger). Nothing is kept for a harmless message."""
    assert person.household_id is not None and person.member_id is not None
    finding = find(session, *source) if source else None
    if finding is not None:
        if result.level <= level_of(finding):
            return finding, False
        finding.level, finding.signals, finding.text = result.level, _signals(result), text
        session.add(finding)
        return finding, True
    if result.level is DangerLevel.NONE:
        return None, False
    finding = SafeguardingFinding(
        household_id=person.household_id,
        member_id=person.member_id,
        level=result.level,
        signals=_signals(result),
        text=text,
        source_chat_id=source[0] if source else None,
        source_message_id=source[1] if source else None,
    )
    try:
        with session.begin_nested():  # the same message handled twice at once: one row wins
            session.add(finding)
    except IntegrityError:
        assert source is not None
        existing = find(session, *source)
        assert existing is not None
        return existing, False
    return finding, True


def alert_recipients(session: Session, household: Household, ticket: Ticket | None) -> list[Staff]:
    """Who an urgent finding reaches: every coordinator, the household's caseworker, and the
    request's assignee (or its queue) when there is a request."""
    found: list[Staff] = [*coordinators(session)]
    caseworker = session.get(Staff, household.caseworker_id) if household.caseworker_id else None
    if caseworker is not None and caseworker.active and caseworker.telegram_user_id:
        found.append(caseworker)
    if ticket is not None:
        found.extend(staff_recipients(session, ticket))
    unique: dict[int, Staff] = {}
    for staff in found:
        if staff.id is not None and staff.telegram_user_id:
            unique.setdefault(staff.id, staff)
    return list(unique.values())


def alert(session: Session, finding: SafeguardingFinding, ticket: Ticket | None) -> int:
    """Queues the urgent alert for a finding, once per recipient; returns how many were new."""
    household = session.get(Household, finding.household_id)
    assert household is not None and finding.id is not None
    queued = 0
    for staff in alert_recipients(session, household, ticket):
        assert staff.telegram_user_id is not None
        queued += outbox.enqueue(
            session,
            key=f"danger:{finding.id}:staff:{staff.id}",
            chat_id=staff.telegram_user_id,
            kind=ALERT_TEMPLATE,
            ticket_id=ticket.id if ticket is not None else None,
            finding=finding.id,
        )
    finding.alerted = True
    session.add(finding)
    audit.record(
        session,
        actor=f"member:{finding.member_id}",
        action="safeguarding.alert",
        subject=f"ticket:{ticket.id}" if ticket is not None else f"household:{household.id}",
        finding=finding.id,
        categories=list(categories_of([finding])),
        rules=[s["rule"] for s in finding.signals],
    )
    return queued


def tell_alerted_staff_of_ticket(
    session: Session, ticket: Ticket, findings: list[SafeguardingFinding], already: set[int]
) -> None:
    """Once a request exists for findings alerted before it did, the staff alerted then (who do
    not get the new-request card anyway) get the request card, so they can act on it."""
    household = session.get(Household, ticket.household_id)
    assert household is not None
    if not any(f.alerted for f in findings):
        return
    for staff in alert_recipients(session, household, None):
        if staff.id in already:
            continue
        assert staff.telegram_user_id is not None
        outbox.enqueue(
            session,
            key=f"alertticket:{ticket.id}:staff:{staff.id}",
            chat_id=staff.telegram_user_id,
            kind=OPENED_TEMPLATE,
            ticket_id=ticket.id,
        )


def ticket_findings(session: Session, ticket_id: int) -> list[SafeguardingFinding]:
    """What was found in a request's messages, oldest first."""
    return list(
        session.exec(
            select(SafeguardingFinding)
            .where(SafeguardingFinding.ticket_id == ticket_id)
            .order_by(col(SafeguardingFinding.id))
        )
    )


def ticket_level(findings: Iterable[SafeguardingFinding]) -> DangerLevel:
    """The highest level found in a request's messages."""
    return max_level(level_of(f) for f in findings)


def may_see_household(person: Person, household: Household, provider_id: int | None) -> bool:
    """Whether staff may read a household's words before any request exists: coordinators, the
    household's caseworker, and leads of the provider that supports the household."""
    if not person.is_staff:
        return False
    if person.role == StaffRole.COORDINATOR:
        return True
    if household.caseworker_id is not None and household.caseworker_id == person.staff_id:
        return True
    return (
        person.role == StaffRole.LEAD
        and provider_id is not None
        and provider_id == person.provider_id
    )
