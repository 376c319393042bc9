"""ESOL classes as data: adding them with validation, enrolment, timetables and attendance."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from bot.services import appointments, audit, class_calendar, outbox, registry, reminders
from bot.services.class_calendar import ClassSession
from bot.services.errors import Conflict, InvalidInput, NotFound
from bot.services.people import Person
from bot.services.reminder_times import ReminderPolicy
from storage.models import (
    Attendance,
    AttendanceStatus,
    Enrolment,
    EsolClass,
    Household,
    Member,
    NoticeKind,
    StaffRole,
)
from storage.types import utcnow

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS = tuple(name[:3] for name in DAY_NAMES)
MAX_MINUTES = 600
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_weekday(text: str) -> int:
    """``mon`` … ``sun`` (or the full English name) as 0 … 6."""
    key = text.strip().lower()
    for number, name in enumerate(DAY_NAMES):
        if key in (name, name[:3]):
            return number
    raise InvalidInput(f"unknown weekday {text!r} (valid: {', '.join(WEEKDAYS)})")


def parse_clock(text: str) -> str:
    """A 24-hour ``HH:MM`` time, normalised to two-digit hours."""
    match = _CLOCK.match(text.strip())
    if match is None:
        raise InvalidInput(f"bad time {text!r} (expected HH:MM, 24-hour)")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def parse_day(text: str, what: str) -> date:
    """A YYYY-MM-DD date, or InvalidInput naming the option."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"bad {what} date {text!r} (expected YYYY-MM-DD)") from None


def parse_break(text: str, term_from: date, term_to: date) -> list[str]:
    """A ``FROM:TO`` break inside the term, as stored ([from, to] ISO dates)."""
    pieces = text.split(":")
    if len(pieces) != 2:
        raise InvalidInput(f"bad break {text!r} (expected YYYY-MM-DD:YYYY-MM-DD)")
    first, last = parse_day(pieces[0], "break"), parse_day(pieces[1], "break")
    if last < first:
        raise InvalidInput(f"break {text!r} ends before it starts")
    if first < term_from or last > term_to:
        raise InvalidInput(
            f"break {text!r} is outside the term ({term_from.isoformat()} to "
            f"{term_to.isoformat()})"
        )
    return [first.isoformat(), last.isoformat()]


def add_class(
    session: Session,
    *,
    name: str,
    venue: str,
    weekday: str,
    time: str,
    minutes: int,
    term_from: str,
    term_to: str,
    breaks: list[str] | None = None,
    provider: str | None = None,
    actor: str = "admin",
) -> EsolClass:
    """Registers a weekly class after checking every value; nothing is stored on a refusal."""
    if not name.strip() or not venue.strip():
        raise InvalidInput("a class needs a name and a venue")
    day = parse_weekday(weekday)
    clock = parse_clock(time)
    if not 0 < minutes <= MAX_MINUTES:
        raise InvalidInput(f"--minutes must be between 1 and {MAX_MINUTES}, not {minutes}")
    first, last = parse_day(term_from, "--from"), parse_day(term_to, "--to")
    if last < first:
        raise InvalidInput(
            f"the term ends ({last.isoformat()}) before it starts ({first.isoformat()})"
        )
    stored = [parse_break(item, first, last) for item in breaks or []]
    provider_id = registry.find_provider(session, provider).id if provider else None
    esol = EsolClass(
        name=name.strip(),
        venue=venue.strip(),
        weekday=day,
        start_time=clock,
        minutes=minutes,
        term_from=first,
        term_to=last,
        breaks=stored,
        provider_id=provider_id,
    )
    session.add(esol)
    session.flush()
    audit.record(session, actor=actor, action="class.add", subject=f"class:{esol.id}")
    return esol


def get_class(session: Session, class_id: int) -> EsolClass:
    """An active class by id."""
    esol = session.get(EsolClass, class_id)
    if esol is None or not esol.active:
        raise NotFound(f"no class {class_id} (see admin classes)", class_id=class_id)
    return esol


def enrolled_ids(session: Session, class_id: int) -> list[int]:
    """Members currently enrolled in a class."""
    return list(
        session.exec(
            select(Enrolment.member_id).where(
                Enrolment.class_id == class_id, col(Enrolment.ended_at).is_(None)
            )
        )
    )


@dataclass(frozen=True)
class ClassRow:
    """A class as the admin listing shows it."""

    esol: EsolClass
    enrolled: int
    next_session: ClassSession | None


def list_classes(session: Session, *, now: datetime | None = None) -> list[ClassRow]:
    """Every active class with its enrolled count and next session."""
    now = now or utcnow()
    counts = dict(
        session.exec(
            select(Enrolment.class_id, func.count())
            .where(col(Enrolment.ended_at).is_(None))
            .group_by(col(Enrolment.class_id))
        ).all()
    )
    rows = []
    for esol in session.exec(
        select(EsolClass).where(col(EsolClass.active)).order_by(col(EsolClass.id))
    ):
        upcoming = class_calendar.next_sessions(esol, now, 1)
        rows.append(ClassRow(esol, counts.get(esol.id or 0, 0), upcoming[0] if upcoming else None))
    return rows


# ---------------------------------------------------------------- enrolment


@dataclass(frozen=True)
class Enrolled:
    """The outcome of an enrolment."""

    class_id: int
    member_id: int
    reopened: bool
    reminders: int
    told: bool


def enrol(
    session: Session,
    *,
    class_id: int,
    member_id: int,
    policy: ReminderPolicy,
    actor: str = "admin",
    now: datetime | None = None,
) -> Enrolled:
    """Puts a member in a class (reopening an ended enrolment), plans their reminders and
    sends them the timetable."""
    now = now or utcnow()
    esol = get_class(session, class_id)
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"no member {member_id}", member_id=member_id)
    if esol.term_to < appointments.local_day(now):
        raise Conflict(f"class {class_id}'s term is over ({esol.term_to.isoformat()})")
    existing = session.exec(
        select(Enrolment).where(Enrolment.class_id == class_id, Enrolment.member_id == member_id)
    ).first()
    if existing is not None and existing.ended_at is None:
        raise Conflict(f"{member.name} is already in class {class_id}", member_id=member_id)
    reopened = existing is not None
    if existing is None:
        existing = Enrolment(class_id=class_id, member_id=member_id, created_at=now)
    existing.ended_at = None
    session.add(existing)
    session.flush()
    planned = reminders.plan_enrolment(session, esol, member_id, policy, now=now)
    told = False
    if member.telegram_user_id is not None and member.consent_at is not None:
        told = outbox.enqueue(
            session,
            key=f"enrolled:{class_id}:m{member_id}:{now.isoformat()}",
            chat_id=member.telegram_user_id,
            kind=NoticeKind.FAMILY_ENROLLED,
            now=now,
            class_id=class_id,
            member_id=member_id,
        )
    audit.record(
        session, actor=actor, action="class.enrol", subject=f"class:{class_id}", member=member_id
    )
    return Enrolled(class_id, member_id, reopened, planned, told)


def unenrol(
    session: Session,
    *,
    class_id: int,
    member_id: int,
    actor: str = "admin",
    now: datetime | None = None,
) -> int:
    """Ends a member's enrolment and cancels their pending reminders; returns how many."""
    now = now or utcnow()
    get_class(session, class_id)
    existing = session.exec(
        select(Enrolment).where(
            Enrolment.class_id == class_id,
            Enrolment.member_id == member_id,
            col(Enrolment.ended_at).is_(None),
        )
    ).first()
    if existing is None:
        raise NotFound(
            f"member {member_id} is not enrolled in class {class_id}", member_id=member_id
        )
    existing.ended_at = now
    session.add(existing)
    cancelled = reminders.cancel_for_enrolment(session, class_id, member_id, now=now)
    audit.record(
        session, actor=actor, action="class.unenrol", subject=f"class:{class_id}", member=member_id
    )
    return cancelled


def timetable(session: Session, member_id: int) -> list[EsolClass]:
    """The active classes a member is enrolled in, by weekday and time."""
    return list(
        session.exec(
            select(EsolClass)
            .join(Enrolment, col(Enrolment.class_id) == col(EsolClass.id))
            .where(
                Enrolment.member_id == member_id,
                col(Enrolment.ended_at).is_(None),
                col(EsolClass.active),
            )
            .order_by(col(EsolClass.weekday), col(EsolClass.start_time), col(EsolClass.id))
        )
    )


# ---------------------------------------------------------------- staff on Telegram


def staff_classes(session: Session, person: Person) -> list[EsolClass]:
    """Classes a member of staff may enrol into: their provider's and those open to all."""
    appointments.held_households(session, person, limit=1)  # refuses non-staff
    query = select(EsolClass).where(col(EsolClass.active)).order_by(col(EsolClass.id))
    if person.role != StaffRole.COORDINATOR:
        query = query.where(
            (col(EsolClass.provider_id).is_(None))
            | (col(EsolClass.provider_id) == person.provider_id)
        )
    return list(session.exec(query))


def staff_class(session: Session, person: Person, class_id: int) -> EsolClass:
    """One class the person may work with; NotFound otherwise."""
    for esol in staff_classes(session, person):
        if esol.id == class_id:
            return esol
    raise NotFound("class", class_id=class_id)


@dataclass(frozen=True)
class Candidate:
    """A member of one of the person's families, and whether they are in the class."""

    member_id: int
    name: str
    reference: str
    enrolled: bool


def candidates(session: Session, person: Person, class_id: int) -> list[Candidate]:
    """Members of the households the person holds, for enrolling or the register."""
    staff_class(session, person, class_id)
    enrolled = set(enrolled_ids(session, class_id))
    found: list[Candidate] = []
    for household in appointments.held_households(session, person):
        for member in session.exec(
            select(Member).where(Member.household_id == household.id).order_by(col(Member.id))
        ):
            found.append(
                Candidate(member.id or 0, member.name, household.reference, member.id in enrolled)
            )
    return found


def _held_member(session: Session, person: Person, member_id: int) -> Member:
    """A member of a household the person holds; NotFound otherwise."""
    member = session.get(Member, member_id)
    household = session.get(Household, member.household_id) if member is not None else None
    if member is None or household is None or not appointments.holds(session, person, household):
        raise NotFound("member", member_id=member_id)
    return member


def enrol_as_staff(
    session: Session,
    *,
    person: Person,
    class_id: int,
    member_id: int,
    policy: ReminderPolicy,
    now: datetime | None = None,
) -> Enrolled:
    """A caseworker enrols a member of one of their families."""
    staff_class(session, person, class_id)
    _held_member(session, person, member_id)
    return enrol(
        session,
        class_id=class_id,
        member_id=member_id,
        policy=policy,
        actor=f"staff:{person.staff_id}",
        now=now,
    )


def unenrol_as_staff(
    session: Session, *, person: Person, class_id: int, member_id: int, now: datetime | None = None
) -> int:
    """A caseworker takes a member of one of their families out of a class."""
    staff_class(session, person, class_id)
    _held_member(session, person, member_id)
    return unenrol(
        session, class_id=class_id, member_id=member_id, actor=f"staff:{person.staff_id}", now=now
    )


def past_sessions(
    session: Session, person: Person, class_id: int, *, now: datetime | None = None, count: int = 4
) -> list[ClassSession]:
    """The latest sessions that happened and have started, newest first."""
    now = now or utcnow()
    esol = staff_class(session, person, class_id)
    done = [s for s in class_calendar.sessions(esol, end=now.date()) if s.happens]
    return [s for s in reversed(done) if s.starts_at <= now][:count]


def _session_of(esol: EsolClass, on: date, now: datetime) -> ClassSession:
    """The class's session on a date, if it happens and has started; InvalidInput otherwise."""
    for item in class_calendar.sessions(esol, on, on):
        if item.on == on and item.happens and item.starts_at <= now:
            return item
    raise InvalidInput("no_session", on=on.isoformat())


@dataclass(frozen=True)
class RegisterLine:
    """One enrolled member on a session's register."""

    member_id: int
    name: str
    reference: str
    status: AttendanceStatus | None


def register(
    session: Session, *, person: Person, class_id: int, on: date, now: datetime | None = None
) -> list[RegisterLine]:
    """A past session's register: the person's families' enrolled members and what is known."""
    now = now or utcnow()
    _session_of(staff_class(session, person, class_id), on, now)
    marks = {
        row.member_id: AttendanceStatus(row.status)
        for row in session.exec(
            select(Attendance).where(Attendance.class_id == class_id, Attendance.session_on == on)
        )
    }
    return [
        RegisterLine(c.member_id, c.name, c.reference, marks.get(c.member_id))
        for c in candidates(session, person, class_id)
        if c.enrolled
    ]


def record_session(
    session: Session,
    *,
    person: Person,
    class_id: int,
    on: date,
    member_id: int,
    attended: bool,
    now: datetime | None = None,
) -> AttendanceStatus:
    """Marks an enrolled member attended or absent at a past session (replacing an earlier
    mark or the answer given to a reminder)."""
    now = now or utcnow()
    _session_of(staff_class(session, person, class_id), on, now)
    member = _held_member(session, person, member_id)
    if member_id not in enrolled_ids(session, class_id):
        raise NotFound("member", member_id=member_id)
    status = AttendanceStatus.ATTENDED if attended else AttendanceStatus.ABSENT
    row = session.exec(
        select(Attendance).where(
            Attendance.class_id == class_id,
            Attendance.session_on == on,
            Attendance.member_id == member_id,
        )
    ).first()
    if row is None:
        row = Attendance(
            household_id=member.household_id,
            member_id=member_id,
            class_id=class_id,
            session_on=on,
            status=status,
        )
    row.status, row.source, row.recorded_at = status, f"staff:{person.staff_id}", now
    session.add(row)
    audit.record(
        session,
        actor=f"staff:{person.staff_id}",
        action=f"class.attendance.{status}",
        subject=f"class:{class_id}",
        member=member_id,
        on=on.isoformat(),
    )
    return status
