"""Tickets: open, route, claim, reply, note, reassign, resolve, reopen, escalate; who may do what.

Every change queues its notices in the same transaction (see :mod:`bot.services.outbox`)
and every staff action is written to the audit trail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, update
from sqlmodel import Session, col, select

from bot.services import audit, outbox, safeguarding_alerts
from bot.services.categories import by_code, response_hours
from bot.services.errors import (
    Conflict,
    EmptyMessage,
    Forbidden,
    NotFound,
    ReopenTooLate,
    TicketClaimed,
    TicketResolved,
)
from bot.services.people import Person
from bot.services.routing import coordinators, family_members, route, staff_recipients
from bot.services.safeguarding import DangerLevel, triage
from bot.services.safeguarding_alerts import categories_of, level_of, ticket_level
from bot.services.translation import Translation, detect_language
from bot.services.working_hours import WorkingHours
from storage.models import (
    AuditEvent,
    Category,
    Direction,
    Household,
    MessageLink,
    NoticeKind,
    Priority,
    PriorityCode,
    RoutingDecision,
    SafeguardingFinding,
    Staff,
    StaffRole,
    Ticket,
    TicketMessage,
    TicketStatus,
    TranslationStatus,
)
from storage.types import utcnow

REOPEN_WINDOW = timedelta(days=7)
REFERENCE = re.compile(r"^\s*K[-\s]?0*(\d{1,9})\s*$", re.IGNORECASE)
OPEN_STATUSES = (TicketStatus.RECEIVED, TicketStatus.WITH_CASEWORKER, TicketStatus.WAITING_FAMILY)
WORKING_HOURS = WorkingHours()


@dataclass(frozen=True)
class Part:
    """One piece of what a family sends: text, or a file with an optional caption."""

    kind: str = "text"
    text: str = ""
    file_id: str | None = None
    source_chat_id: int | None = None
    source_message_id: int | None = None


@dataclass
class Opened:
    """The outcome of opening a ticket."""

    ticket: Ticket
    decision: RoutingDecision
    level: DangerLevel = DangerLevel.NONE
    categories: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Checked:
    """What triage found in one family message as it arrived."""

    level: DangerLevel
    categories: tuple[str, ...] = ()
    alerted: bool = False  # this call queued the urgent alert (False for a redelivery)

    @property
    def urgent(self) -> bool:
        """Whether the family must be shown the emergency guidance."""
        return self.level is DangerLevel.URGENT


def reference(ticket_id: int) -> str:
    """The reference of a ticket id (K-0042)."""
    return f"K-{ticket_id:04d}"


def parse_reference(text: str) -> int:
    """The ticket id in a reference as people type it (K-0042, k42, K 42)."""
    match = REFERENCE.match(text)
    if match is None:
        raise NotFound(f"not a ticket reference: {text!r}")
    return int(match.group(1))


def _actor(person: Person) -> str:
    """The audit name of a person."""
    if person.is_staff:
        return f"staff:{person.staff_id}"
    return f"member:{person.member_id}"


# ---------------------------------------------------------------- who sees what


def can_see(person: Person, ticket: Ticket, household: Household) -> bool:
    """Whether a person may see (and act on) a ticket."""
    if person.is_member:
        return _family_sees(person, ticket)
    if not person.is_staff:
        return False
    if person.role == StaffRole.COORDINATOR:
        return True
    if person.role == StaffRole.LEAD:
        return ticket.provider_id is not None and ticket.provider_id == person.provider_id
    return (
        ticket.assignee_id == person.staff_id
        or household.caseworker_id == person.staff_id
        or (
            ticket.assignee_id is None
            and ticket.provider_id is not None
            and ticket.provider_id == person.provider_id
        )
    )


def _family_sees(person: Person, ticket: Ticket) -> bool:
    """A family member sees their own household's tickets (no household row needed)."""
    return ticket.household_id == person.household_id


def visible_ticket(session: Session, person: Person, ticket_id: int) -> Ticket:
    """The ticket of :func:`get_visible` alone; for a family, without loading the household."""
    if not person.is_member:
        return get_visible(session, person, ticket_id)[0]
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or not _family_sees(person, ticket):
        raise NotFound("ticket", ticket=ticket_id)
    return ticket


def get_visible(session: Session, person: Person, ticket_id: int) -> tuple[Ticket, Household]:
    """A ticket the person may see; NotFound otherwise (no hint that it exists)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket", ticket=ticket_id)
    household = session.get(Household, ticket.household_id)
    assert household is not None
    if not can_see(person, ticket, household):
        raise NotFound("ticket", ticket=ticket_id)
    return ticket, household


def _staff_only(person: Person) -> None:
    """Refuses family members and strangers."""
    if not person.is_staff:
        raise Forbidden("staff only")


def _open_only(ticket: Ticket) -> None:
    """Refuses changes to a resolved ticket."""
    if ticket.status == TicketStatus.RESOLVED:
        raise TicketResolved("resolved", ticket=ticket.id)


def _notify_staff(
    session: Session, ticket: Ticket, kind: NoticeKind, key: str, *, extra: list[Staff] = (),  # type: ignore[assignment]
    message_id: int | None = None, exclude: int | None = None,
) -> None:  # fmt: skip
    """Queues one notice per staff recipient (plus ``extra``), each once."""
    seen: set[int] = set()
    for staff in [*staff_recipients(session, ticket), *extra]:
        if staff.id in seen or staff.id == exclude or not staff.telegram_user_id:
            continue
        seen.add(staff.id or 0)
        outbox.enqueue(
            session,
            key=f"{key}:staff:{staff.id}",
            chat_id=staff.telegram_user_id,
            kind=kind,
            ticket_id=ticket.id,
            message_id=message_id,
        )


def _notify_family(
    session: Session, ticket: Ticket, kind: NoticeKind, key: str, *, message_id: int | None = None
) -> None:
    """Queues one notice per linked member of the ticket's household."""
    for member in family_members(session, ticket.household_id):
        assert member.telegram_user_id is not None
        outbox.enqueue(
            session,
            key=f"{key}:member:{member.id}",
            chat_id=member.telegram_user_id,
            kind=kind,
            ticket_id=ticket.id,
            message_id=message_id,
        )


def _urgent_alert(session: Session, ticket: Ticket) -> None:
    """A ticket staff mark urgent reaches every coordinator at once (and the assignee or queue)."""
    _notify_staff(
        session,
        ticket,
        NoticeKind.STAFF_URGENT,
        f"urgent:{ticket.id}",
        extra=coordinators(session),
    )


# ---------------------------------------------------------------- danger at arrival


def _priority_rank(session: Session, code: str) -> int:
    """A priority's rank (0 is the most pressing); unknown codes rank last."""
    found = session.get(Priority, code)
    return found.rank if found is not None else 99


def _raise_for_danger(session: Session, ticket: Ticket, level: DangerLevel) -> bool:
    """Urgent danger flags a request urgent; high danger raises it to high priority (never
    lowers it). The first-response deadline tightens to the new priority's. A resolved request
    is left as it is."""
    if ticket.status == TicketStatus.RESOLVED or level is DangerLevel.NONE:
        return False
    target = PriorityCode.URGENT if level is DangerLevel.URGENT else PriorityCode.HIGH
    changed = False
    if level is DangerLevel.URGENT and not ticket.urgent:
        ticket.urgent = changed = True
    if _priority_rank(session, target) < _priority_rank(session, ticket.priority):
        ticket.priority, changed = target, True
        if ticket.first_response_at is None:
            due = WORKING_HOURS.add_working_hours(
                ticket.created_at, response_hours(session, target)
            )
            ticket.due_at = min(ticket.due_at, due)
    if changed:
        session.add(ticket)
    return changed


def _take_finding(
    session: Session, ticket: Ticket | None, finding: SafeguardingFinding, changed: bool
) -> bool:
    """Links a finding to the request its message joined, raises that request, and queues the
    urgent alert unless it was already queued for this message; True when it was queued now."""
    if ticket is not None and finding.ticket_id is None:
        finding.ticket_id, changed = ticket.id, True
        session.add(finding)
    if ticket is not None and changed and _raise_for_danger(session, ticket, level_of(finding)):
        # Why the request went up, for the trail: categories and rules, never the words.
        audit.record(
            session,
            actor=f"member:{finding.member_id}",
            action="ticket.danger",
            subject=f"ticket:{ticket.id}",
            level=finding.level,
            categories=list(categories_of([finding])),
            rules=[s["rule"] for s in finding.signals],
        )
    if level_of(finding) is DangerLevel.URGENT and not finding.alerted:
        session.flush()
        safeguarding_alerts.alert(session, finding, ticket)
        return True
    return False


def _source(part: Part) -> tuple[int, int] | None:
    """The Telegram message a part came from, when known."""
    if part.source_chat_id is None or part.source_message_id is None:
        return None
    return part.source_chat_id, part.source_message_id


def check_arrival(
    session: Session,
    *,
    person: Person,
    text: str,
    source: tuple[int, int] | None,
    ticket_id: int | None = None,
) -> Checked:
    """Triages one family message the moment it arrives, whatever step the conversation is
    in: keeps what was found, raises the request the message joins (if known), and queues the
    urgent alert to the coordinators and the caseworker once per message."""
    if not person.is_member or person.household_id is None:
        raise Forbidden("families only")
    ticket = visible_ticket(session, person, ticket_id) if ticket_id is not None else None
    finding, changed = safeguarding_alerts.record(
        session, person=person, result=triage(text), text=text, source=source
    )
    if finding is None:
        return Checked(DangerLevel.NONE)
    alerted = _take_finding(session, ticket, finding, changed)
    return Checked(level_of(finding), categories_of([finding]), alerted)


# ---------------------------------------------------------------- lifecycle


def _store_part(session: Session, ticket: Ticket, author: str, part: Part) -> TicketMessage:
    """Adds one family message to a ticket."""
    message = TicketMessage(
        ticket_id=ticket.id or 0,
        author=author,
        direction=Direction.IN,
        kind=part.kind,
        text=part.text,
        language=detect_language(part.text) if part.text.strip() else None,
        file_id=part.file_id,
        source_chat_id=part.source_chat_id,
        source_message_id=part.source_message_id,
    )
    session.add(message)
    return message


# Built once (every family message runs it): building costs more than running it.
_STORED = select(TicketMessage.id).where(
    col(TicketMessage.source_chat_id) == bindparam("chat"),
    col(TicketMessage.source_message_id) == bindparam("message"),
)


def already_stored(session: Session, chat_id: int, message_id: int) -> bool:
    """Whether a Telegram message was already taken into a ticket (a redelivered update)."""
    found = session.exec(_STORED, params={"chat": chat_id, "message": message_id}).first()
    return found is not None


def open_ticket(
    session: Session,
    *,
    person: Person,
    category: str,
    parts: list[Part],
    now: datetime | None = None,
) -> Opened:
    """Opens a family's request, routes it and queues the staff notices."""
    if not person.is_member or person.household_id is None or person.member_id is None:
        raise Forbidden("families only")
    if not any(p.text.strip() or p.file_id for p in parts):
        raise EmptyMessage("empty")
    now = now or utcnow()
    found: Category = by_code(session, category)
    household = session.get(Household, person.household_id)
    assert household is not None
    # Each message was triaged as it arrived (check_arrival); what was found then is reused
    # here, so a message already alerted on is never alerted on again.
    findings: list[SafeguardingFinding] = []
    changed: list[bool] = []
    for part in parts:
        finding, is_new = safeguarding_alerts.record(
            session, person=person, result=triage(part.text), text=part.text, source=_source(part)
        )
        if finding is not None and finding.id not in {f.id for f in findings}:
            findings.append(finding)
            changed.append(is_new)
    level = ticket_level(findings)
    priority = found.priority
    if level is DangerLevel.URGENT:
        priority = PriorityCode.URGENT
    elif level is DangerLevel.HIGH:  # raised to high, never lowered (a tie keeps the category's)
        priority = min(priority, PriorityCode.HIGH, key=lambda code: _priority_rank(session, code))
    ticket = Ticket(
        household_id=household.id or 0,
        member_id=person.member_id,
        category_id=found.id or 0,
        priority=priority,
        urgent=level is DangerLevel.URGENT,
        created_at=now,
        due_at=WORKING_HOURS.add_working_hours(now, response_hours(session, priority)),
    )
    session.add(ticket)
    session.flush()
    for part in parts:
        _store_part(session, ticket, _actor(person), part)
    decision = route(session, ticket, household, now)
    session.flush()
    _notify_staff(session, ticket, NoticeKind.STAFF_NEW_TICKET, f"new:{ticket.id}")
    alerted_before = [f for f in findings if f.alerted]
    for finding, is_new in zip(findings, changed, strict=True):
        _take_finding(session, ticket, finding, is_new)
    told = {s.id or 0 for s in staff_recipients(session, ticket)}
    safeguarding_alerts.tell_alerted_staff_of_ticket(session, ticket, alerted_before, told)
    categories = categories_of(findings)
    audit.record(
        session,
        actor=_actor(person),
        action="ticket.open",
        subject=f"ticket:{ticket.id}",
        routed=decision.reason,
        urgent=ticket.urgent,
        level=str(level),
        signals=list(categories),
    )
    return Opened(ticket=ticket, decision=decision, level=level, categories=categories)


def add_family_message(
    session: Session,
    *,
    person: Person,
    ticket_id: int,
    part: Part,
    now: datetime | None = None,
    harmless: bool = False,
) -> TicketMessage:
    """A follow-up from the family on one of their open tickets; reaches the same staff.

    ``harmless``: the caller triaged this very part in this transaction (check_arrival) and
    nothing was found, so there is no finding to link and the check is not run twice."""
    ticket = visible_ticket(session, person, ticket_id)
    if not person.is_member:
        raise Forbidden("families only")
    _open_only(ticket)
    if not (part.text.strip() or part.file_id):
        raise EmptyMessage("empty")
    message = _store_part(session, ticket, _actor(person), part)
    if ticket.status == TicketStatus.WAITING_FAMILY:
        ticket.status = (
            TicketStatus.WITH_CASEWORKER if ticket.assignee_id else TicketStatus.RECEIVED
        )
    session.add(ticket)
    session.flush()
    _notify_staff(
        session,
        ticket,
        NoticeKind.STAFF_FAMILY_MESSAGE,
        f"msg:{message.id}",
        message_id=message.id,
    )
    if harmless:
        return message
    # Usually triaged at arrival already (check_arrival): then this only links the finding.
    finding, changed = safeguarding_alerts.record(
        session, person=person, result=triage(part.text), text=part.text, source=_source(part)
    )
    if finding is not None:
        _take_finding(session, ticket, finding, changed)
    return message


def claim(
    session: Session, *, person: Person, ticket_id: int, now: datetime | None = None
) -> Ticket:
    """Takes an unclaimed ticket; exactly one of two simultaneous claims wins."""
    _staff_only(person)
    ticket = session.get(Ticket, ticket_id)
    same_provider = ticket is not None and ticket.provider_id == person.provider_id
    if ticket is None or not (same_provider or person.role == StaffRole.COORDINATOR):
        raise NotFound("ticket", ticket=ticket_id)
    _open_only(ticket)
    won = session.execute(
        update(Ticket)
        .where(col(Ticket.id) == ticket_id, col(Ticket.assignee_id).is_(None))
        .values(assignee_id=person.staff_id, status=TicketStatus.WITH_CASEWORKER)
    )
    session.refresh(ticket)
    if not won.rowcount:  # type: ignore[attr-defined]
        if ticket.assignee_id == person.staff_id:
            return ticket
        holder = session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
        raise TicketClaimed("claimed", holder=holder.name if holder else "")
    audit.record(
        session, actor=_actor(person), action="ticket.claim", subject=f"ticket:{ticket_id}"
    )
    return ticket


def _by_source(session: Session, source: tuple[int, int]) -> TicketMessage | None:
    """The ticket message a Telegram message already became, if any."""
    return session.exec(
        select(TicketMessage).where(
            TicketMessage.source_chat_id == source[0],
            TicketMessage.source_message_id == source[1],
        )
    ).first()


def reply(
    session: Session,
    *,
    person: Person,
    ticket_id: int,
    text: str,
    source: tuple[int, int] | None = None,
    arabic: str | None = None,
    now: datetime | None = None,
) -> TicketMessage:
    """Staff answer the family; an unclaimed ticket becomes the replier's.

    ``arabic`` is a person-written Arabic version (a saved reply): families reading Arabic get
    it instead of a machine translation.
    """
    _staff_only(person)
    ticket, _ = get_visible(session, person, ticket_id)
    if source is not None:
        existing = _by_source(session, source)
        if existing is not None:
            return existing  # the same Telegram message again, redelivered after a restart
    _open_only(ticket)
    if not text.strip():
        raise EmptyMessage("empty")
    now = now or utcnow()
    if ticket.assignee_id is None and person.role == StaffRole.CASEWORKER:
        ticket.assignee_id = person.staff_id
    ticket.first_response_at = ticket.first_response_at or now
    ticket.status = TicketStatus.WAITING_FAMILY
    message = TicketMessage(
        ticket_id=ticket_id,
        author=_actor(person),
        direction=Direction.OUT,
        text=text.strip(),
        created_at=now,
        language=detect_language(text),
        translation=arabic.strip() if arabic else None,
        translation_status=TranslationStatus.HUMAN if arabic else None,
        translation_target="ar" if arabic else None,
        source_chat_id=source[0] if source else None,
        source_message_id=source[1] if source else None,
    )
    session.add(ticket)
    session.add(message)
    session.flush()
    _notify_family(
        session, ticket, NoticeKind.FAMILY_REPLY, f"reply:{message.id}", message_id=message.id
    )
    audit.record(
        session, actor=_actor(person), action="ticket.reply", subject=f"ticket:{ticket_id}"
    )
    return message


def note(
    session: Session,
    *,
    person: Person,
    ticket_id: int,
    text: str,
    source: tuple[int, int] | None = None,
) -> TicketMessage:
    """An internal note: staff only, never sent to the family; once per Telegram message."""
    _staff_only(person)
    ticket, _ = get_visible(session, person, ticket_id)
    if source is not None:
        existing = _by_source(session, source)
        if existing is not None:
            return existing  # the same Telegram message again, redelivered after a restart
    if not text.strip():
        raise EmptyMessage("empty")
    message = TicketMessage(
        ticket_id=ticket.id or 0,
        author=_actor(person),
        direction=Direction.NOTE,
        text=text.strip(),
        source_chat_id=source[0] if source else None,
        source_message_id=source[1] if source else None,
    )
    session.add(message)
    audit.record(
        session, actor=_actor(person), action="ticket.note", subject=f"ticket:{ticket_id}"
    )
    return message


def colleagues(session: Session, *, person: Person, ticket_id: int) -> list[Staff]:
    """Caseworkers a ticket can be reassigned to: its provider's active caseworkers."""
    _staff_only(person)
    ticket, _ = get_visible(session, person, ticket_id)
    if ticket.provider_id is None:
        return []
    return [
        s
        for s in session.exec(
            select(Staff)
            .where(
                Staff.provider_id == ticket.provider_id,
                Staff.role == StaffRole.CASEWORKER,
                col(Staff.active).is_(True),
            )
            .order_by(Staff.name)
        )
    ]


def reassign(
    session: Session, *, person: Person, ticket_id: int, to_staff_id: int | None
) -> Ticket:
    """Hands a ticket to a colleague of the same provider, or back to the queue (None)."""
    _staff_only(person)
    ticket, _ = get_visible(session, person, ticket_id)
    _open_only(ticket)
    if to_staff_id is not None:
        target = session.get(Staff, to_staff_id)
        allowed = {s.id for s in colleagues(session, person=person, ticket_id=ticket_id)}
        if target is None or target.id not in allowed:
            raise Forbidden("not a caseworker of this provider")
        ticket.assignee_id = target.id
        ticket.status = TicketStatus.WITH_CASEWORKER
    else:
        ticket.assignee_id = None
        ticket.status = TicketStatus.RECEIVED
    session.add(ticket)
    session.flush()
    count = len(audit_actions(session, ticket_id, "ticket.reassign"))
    _notify_staff(
        session,
        ticket,
        NoticeKind.STAFF_REASSIGNED,
        f"reassign:{ticket_id}:{count}",
        exclude=person.staff_id,
    )
    audit.record(
        session,
        actor=_actor(person),
        action="ticket.reassign",
        subject=f"ticket:{ticket_id}",
        to=to_staff_id,
    )
    return ticket


def set_urgent(session: Session, *, person: Person, ticket_id: int, urgent: bool) -> Ticket:
    """Staff mark or unmark a ticket urgent; marking alerts the coordinators."""
    _staff_only(person)
    ticket, _ = get_visible(session, person, ticket_id)
    _open_only(ticket)
    if ticket.urgent == urgent:
        return ticket
    ticket.urgent = urgent
    if urgent:
        ticket.priority = PriorityCode.URGENT
    else:
        category = session.get(Category, ticket.category_id)
        ticket.priority = category.priority if category else PriorityCode.NORMAL
    session.add(ticket)
    session.flush()
    if urgent:
        _urgent_alert(session, ticket)
    audit.record(
        session, actor=_actor(person), action="ticket.urgent", subject=f"ticket:{ticket_id}",
        urgent=urgent,
    )  # fmt: skip
    return ticket


def resolve(
    session: Session, *, person: Person, ticket_id: int, now: datetime | None = None
) -> Ticket:
    """Closes a ticket; the family is told and may reopen it for seven days."""
    _staff_only(person)
    ticket, _ = get_visible(session, person, ticket_id)
    _open_only(ticket)
    now = now or utcnow()
    ticket.status = TicketStatus.RESOLVED
    ticket.resolved_at = now
    ticket.helpful = None
    session.add(ticket)
    session.flush()
    _notify_family(
        session, ticket, NoticeKind.FAMILY_RESOLVED, f"resolved:{ticket_id}:{ticket.reopened}"
    )
    audit.record(
        session, actor=_actor(person), action="ticket.resolve", subject=f"ticket:{ticket_id}"
    )
    return ticket


def reopen(
    session: Session, *, person: Person, ticket_id: int, now: datetime | None = None
) -> Ticket:
    """The family reopens a resolved ticket within seven days."""
    if not person.is_member:
        raise Forbidden("families only")
    ticket, _ = get_visible(session, person, ticket_id)
    now = now or utcnow()
    if ticket.status != TicketStatus.RESOLVED:
        raise Conflict("not resolved")
    if ticket.resolved_at is None or now - ticket.resolved_at > REOPEN_WINDOW:
        raise ReopenTooLate("too late")
    ticket.status = TicketStatus.WITH_CASEWORKER if ticket.assignee_id else TicketStatus.RECEIVED
    ticket.resolved_at = None
    ticket.reopened += 1
    session.add(ticket)
    session.flush()
    _notify_staff(
        session, ticket, NoticeKind.STAFF_REOPENED, f"reopen:{ticket_id}:{ticket.reopened}"
    )
    audit.record(
        session, actor=_actor(person), action="ticket.reopen", subject=f"ticket:{ticket_id}"
    )
    return ticket


def record_feedback(session: Session, *, person: Person, ticket_id: int, helpful: bool) -> Ticket:
    """The family's answer to "did this help?" on a resolved ticket."""
    if not person.is_member:
        raise Forbidden("families only")
    ticket, _ = get_visible(session, person, ticket_id)
    if ticket.status != TicketStatus.RESOLVED:
        raise Conflict("not resolved")
    ticket.helpful = helpful
    session.add(ticket)
    return ticket


def mark_family_unreachable(session: Session, *, ticket_id: int) -> None:
    """Notes on a ticket that the family could not be reached on Telegram."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is not None and not ticket.family_unreachable:
        ticket.family_unreachable = True
        session.add(ticket)
        audit.record(
            session, actor="system", action="ticket.unreachable", subject=f"ticket:{ticket_id}"
        )


# ---------------------------------------------------------------- reading


def audit_actions(session: Session, ticket_id: int, action: str) -> list[int]:
    """Ids of a ticket's audit events of one kind."""
    return [
        e.id or 0
        for e in session.exec(
            select(AuditEvent).where(
                AuditEvent.subject == f"ticket:{ticket_id}", AuditEvent.action == action
            )
        )
    ]


def messages_of(
    session: Session, ticket_id: int, *, include_notes: bool, until: datetime | None = None
) -> list[TicketMessage]:
    """A ticket's messages in order (only those written by ``until``); families never get
    notes."""
    query = select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
    if not include_notes:
        query = query.where(TicketMessage.direction != Direction.NOTE)
    if until is not None:
        query = query.where(col(TicketMessage.created_at) <= until)
    return list(session.exec(query.order_by(col(TicketMessage.id))))


def family_tickets(session: Session, *, person: Person, limit: int = 10) -> list[Ticket]:
    """A household's tickets, open first, newest first (only the ``limit`` shown are loaded)."""
    if not person.is_member:
        raise Forbidden("families only")
    return list(
        session.exec(
            select(Ticket)
            .where(Ticket.household_id == person.household_id)
            .order_by(col(Ticket.status) == TicketStatus.RESOLVED, col(Ticket.id).desc())
            .limit(limit)
        )
    )


# Built once (every family message runs it): building costs more than running it.
_OPEN_OF_HOUSEHOLD = (
    select(Ticket)
    .where(
        col(Ticket.household_id) == bindparam("household"),
        col(Ticket.status).in_(list(OPEN_STATUSES)),
    )
    .order_by(col(Ticket.id).desc())
    .limit(bindparam("limit"))
)


def open_family_tickets(session: Session, *, person: Person, limit: int = 50) -> list[Ticket]:
    """A household's open tickets, newest first."""
    if not person.is_member:
        raise Forbidden("families only")
    params = {"household": person.household_id, "limit": limit}
    return list(session.exec(_OPEN_OF_HOUSEHOLD, params=params))


def latest_replies(session: Session, ticket_ids: list[int]) -> dict[int, TicketMessage]:
    """The newest staff reply of each ticket, in one query (never a ticket's whole history)."""
    if not ticket_ids:
        return {}
    newest = (
        select(func.max(TicketMessage.id))
        .where(
            col(TicketMessage.ticket_id).in_(ticket_ids), TicketMessage.direction == Direction.OUT
        )
        .group_by(col(TicketMessage.ticket_id))
    )
    found = session.exec(select(TicketMessage).where(col(TicketMessage.id).in_(newest)))
    return {m.ticket_id: m for m in found}


@dataclass
class StaffView:
    """What a member of staff sees in /tickets: the first tickets of each list and the totals."""

    mine: list[Ticket]
    queue: list[Ticket]
    mine_total: int = 0
    queue_total: int = 0
    households: dict[int, Household] = field(default_factory=dict)
    categories: dict[int, Category] = field(default_factory=dict)


def _open() -> ColumnElement[bool]:
    """Open tickets (the leading condition of every queue index)."""
    return col(Ticket.status).in_(list(OPEN_STATUSES))


def _own_households(person: Person) -> Any:
    """Ids of the households whose caseworker the person is."""
    return select(Household.id).where(Household.caseworker_id == person.staff_id)


def staff_filters(person: Person) -> tuple[ColumnElement[bool], ColumnElement[bool]] | None:
    """SQL conditions for the caller's own open tickets and the queue they may take from.

    The same rules as :func:`can_see`: a coordinator sees everything, a lead their provider's
    tickets, a caseworker their own tickets and their provider's (or own families') unclaimed
    ones. None when the person sees nothing.
    """
    assigned, unassigned = col(Ticket.assignee_id).is_not(None), col(Ticket.assignee_id).is_(None)
    if person.role == StaffRole.COORDINATOR:
        return and_(_open(), assigned), and_(_open(), unassigned)
    if person.provider_id is None and person.role == StaffRole.LEAD:
        return None
    if person.role == StaffRole.LEAD:
        provider = col(Ticket.provider_id) == person.provider_id
        return and_(_open(), provider, assigned), and_(_open(), provider, unassigned)
    mine = and_(_open(), col(Ticket.assignee_id) == person.staff_id)
    # One whole condition per way in, so SQLite can answer each from its own index.
    queue = and_(_open(), unassigned, col(Ticket.household_id).in_(_own_households(person)))
    if person.provider_id is not None:
        provider = and_(_open(), unassigned, col(Ticket.provider_id) == person.provider_id)
        queue = or_(provider, queue)
    return mine, queue


def _first(session: Session, where: ColumnElement[bool], limit: int) -> tuple[list[Ticket], int]:
    """The first ``limit`` tickets matching, most pressing first, and how many match."""
    found = list(
        session.exec(
            select(Ticket)
            .where(where)
            .order_by(col(Ticket.urgent).desc(), col(Ticket.due_at), col(Ticket.id))
            .limit(limit)
        )
    )
    total = len(found)
    if total == limit:
        total = session.exec(select(func.count()).select_from(Ticket).where(where)).one()
    return found, total


def staff_tickets(session: Session, *, person: Person, limit: int = 15) -> StaffView:
    """The caller's open tickets and the unclaimed queue they may take from: the first
    ``limit`` of each (urgent first, then by deadline) with their households and categories,
    and the totals."""
    _staff_only(person)
    filters = staff_filters(person)
    if filters is None:
        return StaffView(mine=[], queue=[])
    mine, mine_total = _first(session, filters[0], limit)
    queue, queue_total = _first(session, filters[1], limit)
    shown = [*mine, *queue]
    if not shown:
        return StaffView(mine, queue, mine_total, queue_total)
    ids = {t.household_id for t in shown}
    households = session.exec(select(Household).where(col(Household.id).in_(ids)))
    codes = {t.category_id for t in shown}
    categories = session.exec(select(Category).where(col(Category.id).in_(codes)))
    return StaffView(
        mine,
        queue,
        mine_total,
        queue_total,
        {h.id or 0: h for h in households},
        {c.id or 0: c for c in categories},
    )


def link_message(session: Session, *, chat_id: int, message_id: int, ticket_id: int) -> None:
    """Remembers that a bot message belongs to a ticket."""
    if session.get(MessageLink, (chat_id, message_id)) is None:
        session.add(MessageLink(chat_id=chat_id, message_id=message_id, ticket_id=ticket_id))


def ticket_for_message(session: Session, *, chat_id: int, message_id: int) -> int | None:
    """The ticket a bot message in a chat belongs to, if any."""
    link = session.get(MessageLink, (chat_id, message_id))
    return link.ticket_id if link else None


# ---------------------------------------------------------------- translations


def needs_translation(message: TicketMessage, target: str) -> bool:
    """Whether a message should be (re)translated for readers of ``target``."""
    if not message.text.strip() or message.translation_status == TranslationStatus.HUMAN:
        return False
    if message.language in (None, "und", target):
        return False
    return not (message.translation_target == target and message.translation_status)


def store_translation(session: Session, *, message_id: int, result: Translation) -> TicketMessage:
    """Keeps a translation beside the original: text, source and target, status and model."""
    message = session.get(TicketMessage, message_id)
    if message is None:
        raise NotFound("message")
    message.language = result.source if result.source != "und" else message.language
    message.translation = result.text
    message.translation_status = result.status
    message.translation_model = result.model
    message.translation_target = result.target
    message.translation_flagged = False
    session.add(message)
    return message


def translated_messages(
    session: Session, *, person: Person, ticket_id: int
) -> list[TicketMessage]:
    """The family's machine-translated messages on a ticket the caller may see."""
    _staff_only(person)
    get_visible(session, person, ticket_id)
    return [
        m
        for m in messages_of(session, ticket_id, include_notes=False)
        if m.direction == Direction.IN and m.text.strip() and m.language not in (None, "und")
    ]


def flag_translation(session: Session, *, person: Person, ticket_id: int) -> int:
    """Staff mark the machine translations of a ticket as wrong; returns how many."""
    flagged = 0
    for message in translated_messages(session, person=person, ticket_id=ticket_id):
        if message.translation_status == TranslationStatus.TRANSLATED:
            message.translation_flagged = True
            session.add(message)
            flagged += 1
    audit.record(
        session, actor=_actor(person), action="translation.flag", subject=f"ticket:{ticket_id}",
        messages=flagged,
    )  # fmt: skip
    return flagged
