"""A caseworker's diary, external appointments, kept/missed outcomes and attendance figures.

Who may act on a household: a coordinator on any, a lead on their provider's (the provider
holding the household's district), a caseworker on the households assigned to them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_
from sqlmodel import Session, col, func, select

from bot.i18n import plain
from bot.services import audit, flows, outbox, reminders
from bot.services.errors import (
    AppointmentCancelled,
    AppointmentInFuture,
    BadAppointmentInput,
    Forbidden,
    NotFound,
    OutcomeRecorded,
)
from bot.services.people import Person
from bot.services.reminder_times import TIMEZONE, ReminderPolicy
from storage.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Attendance,
    AttendanceStatus,
    District,
    Household,
    Lot,
    NoticeKind,
    Notification,
    Reminder,
    Staff,
    StaffRole,
)
from storage.types import utcnow

DIARY_DAYS = 7
EXTERNAL_MINUTES = 60  # an external appointment's assumed length (only its start matters)
MAX_WHAT, MAX_WHERE, MAX_BRING = 200, 300, 300
ZONE = ZoneInfo(TIMEZONE)
_WHEN = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+(\d{1,2}):(\d{2})$")


class InputReason(StrEnum):
    """Why an ``/appointments add`` line was refused (``details["reason"]``)."""

    FORMAT = "format"  # not [REF] YYYY-MM-DD HH:MM | WHAT | WHERE [| WHAT TO BRING]
    DATE = "date"  # a date or time that does not exist
    TOO_LONG = "too_long"  # what, where or what to bring is too long
    PAST = "past"  # the time has already passed


def _staff_only(person: Person) -> None:
    """Refuses family members and strangers."""
    if not person.is_staff:
        raise Forbidden("staff only")


def local_day(at: datetime) -> date:
    """The London calendar date of a UTC instant."""
    return at.astimezone(ZONE).date()


def provider_of(session: Session, household: Household) -> int | None:
    """The provider holding the household's district (through its Lot), if any."""
    district = session.get(District, household.district_id)
    if district is None or district.lot_id is None:
        return None
    lot = session.get(Lot, district.lot_id)
    return lot.provider_id if lot is not None else None


def holds(session: Session, person: Person, household: Household) -> bool:
    """Whether a member of staff may add appointments and enrol members for a household."""
    if not person.is_staff:
        return False
    if person.role == StaffRole.COORDINATOR:
        return True
    if person.role == StaffRole.LEAD:
        return person.provider_id is not None and provider_of(session, household) == (
            person.provider_id
        )
    return household.caseworker_id == person.staff_id


def _provider_households(provider_id: int) -> Any:
    """Ids of the households in the districts of a provider's Lots (a SQL subquery)."""
    return (
        select(Household.id)
        .join(District, col(District.id) == col(Household.district_id))
        .join(Lot, col(Lot.id) == col(District.lot_id))
        .where(Lot.provider_id == provider_id)
    )


def held_households(session: Session, person: Person, *, limit: int = 50) -> list[Household]:
    """The households a member of staff holds, by reference (at most ``limit``)."""
    _staff_only(person)
    query = select(Household).order_by(col(Household.reference)).limit(limit)
    if person.role == StaffRole.LEAD:
        if person.provider_id is None:
            return []
        query = query.where(col(Household.id).in_(_provider_households(person.provider_id)))
    elif person.role != StaffRole.COORDINATOR:
        query = query.where(Household.caseworker_id == person.staff_id)
    return list(session.exec(query))


def find_held(session: Session, person: Person, reference: str) -> Household:
    """A household by reference that the person holds: NotFound or Forbidden otherwise."""
    _staff_only(person)
    ref = plain(reference).strip().upper()
    household = session.exec(select(Household).where(Household.reference == ref)).first()
    if household is None:
        raise NotFound("family", family=ref)
    if not holds(session, person, household):
        raise Forbidden("not_yours", family=ref)
    return household


# ---------------------------------------------------------------- the diary


@dataclass(frozen=True)
class DiaryEntry:
    """One appointment in a diary, with what the diary shows beside it."""

    id: int
    reference: str
    kind: AppointmentKind
    starts_at: datetime
    status: AppointmentStatus
    mode: str | None
    what: str
    place: str
    bring: str
    interpreter: bool | None
    markable: bool  # today or already started, and no outcome yet


def _diary_filter(person: Person) -> Any:
    """Appointments the person's diary shows (and whose outcome they may record)."""
    own = col(Appointment.staff_id) == person.staff_id
    if person.role == StaffRole.LEAD and person.provider_id is not None:
        return or_(
            own, col(Appointment.household_id).in_(_provider_households(person.provider_id))
        )
    if person.role == StaffRole.CASEWORKER:
        mine = select(Household.id).where(Household.caseworker_id == person.staff_id)
        external = and_(
            col(Appointment.kind) == AppointmentKind.EXTERNAL,
            col(Appointment.household_id).in_(mine),
        )
        return or_(own, external)
    return own


def _markable(appointment: Appointment, now: datetime) -> bool:
    """An outcome can be recorded for a booked appointment of today or that has started."""
    return appointment.status == AppointmentStatus.BOOKED and (
        appointment.starts_at <= now or local_day(appointment.starts_at) <= local_day(now)
    )


def diary(
    session: Session, person: Person, *, now: datetime | None = None, days: int = DIARY_DAYS
) -> list[DiaryEntry]:
    """The person's appointments from the start of today (London) for ``days`` days."""
    _staff_only(person)
    now = now or utcnow()
    today = local_day(now)
    start = datetime.combine(today, datetime.min.time(), ZONE)
    end = datetime.combine(today + timedelta(days=days), datetime.min.time(), ZONE)
    rows = session.exec(
        select(Appointment, Household)
        .join(Household, col(Household.id) == col(Appointment.household_id))
        .where(
            _diary_filter(person),
            col(Appointment.starts_at) >= start,
            col(Appointment.starts_at) < end,
            col(Appointment.status) != AppointmentStatus.CANCELLED,
        )
        .order_by(col(Appointment.starts_at), col(Appointment.id))
    ).all()
    return [
        DiaryEntry(
            id=a.id or 0,
            reference=h.reference,
            kind=AppointmentKind(a.kind),
            starts_at=a.starts_at,
            status=AppointmentStatus(a.status),
            mode=a.mode,
            what=a.what,
            place=a.place,
            bring=a.bring,
            interpreter=a.interpreter,
            markable=_markable(a, now),
        )
        for a, h in rows
    ]


def _visible(session: Session, person: Person, appointment_id: int) -> Appointment:
    """An appointment in the person's diary scope; NotFound otherwise (no hint it exists)."""
    _staff_only(person)
    found = session.exec(
        select(Appointment).where(
            Appointment.id == appointment_id,
            _diary_filter(person),
        )
    ).first()
    if found is None:
        raise NotFound("appointment", appointment=appointment_id)
    return found


def record_outcome(
    session: Session,
    *,
    person: Person,
    appointment_id: int,
    kept: bool,
    now: datetime | None = None,
) -> Appointment:
    """Marks an appointment kept or missed, once, with its attendance row."""
    now = now or utcnow()
    appointment = _visible(session, person, appointment_id)
    if appointment.status in (AppointmentStatus.KEPT, AppointmentStatus.MISSED):
        raise OutcomeRecorded("recorded", status=str(appointment.status))
    if appointment.status == AppointmentStatus.CANCELLED:
        raise AppointmentCancelled("cancelled")
    if not _markable(appointment, now):
        raise AppointmentInFuture("future")
    status = AppointmentStatus.KEPT if kept else AppointmentStatus.MISSED
    appointment.status, appointment.outcome_at = status, now
    session.add(appointment)
    session.add(
        Attendance(
            household_id=appointment.household_id,
            member_id=appointment.member_id,
            appointment_id=appointment.id,
            status=AttendanceStatus.KEPT if kept else AttendanceStatus.MISSED,
            source=f"staff:{person.staff_id}",
            recorded_at=now,
        )
    )
    reminders.cancel_for_appointment(session, appointment.id or 0, now=now)
    audit.record(
        session,
        actor=f"staff:{person.staff_id}",
        action=f"appointment.{status}",
        subject=f"appointment:{appointment.id}",
    )
    return appointment


# ---------------------------------------------------------------- external appointments


@dataclass(frozen=True)
class ExternalInput:
    """A parsed ``/appointments add`` line (the reference optional, for the button flow)."""

    reference: str
    starts_at: datetime
    what: str
    place: str
    bring: str = ""


def parse_external(text: str, *, with_reference: bool = True) -> ExternalInput:
    """``[FAMILY-REF] YYYY-MM-DD HH:MM | WHAT | WHERE [| WHAT TO BRING]``;
    BadAppointmentInput (reason format, date or too_long) when it does not parse."""
    parts = [p.strip() for p in plain(text).strip().split("|")]
    if len(parts) not in (3, 4) or not all(parts[:3]):
        raise BadAppointmentInput("format", reason=InputReason.FORMAT)
    head = parts[0].split(None, 1) if with_reference else ["", parts[0]]
    if len(head) != 2:
        raise BadAppointmentInput("format", reason=InputReason.FORMAT)
    reference, when = head[0], " ".join(head[1].split())
    match = _WHEN.match(when)
    if match is None:
        raise BadAppointmentInput("format", reason=InputReason.FORMAT)
    try:
        day = date.fromisoformat(match.group(1))
        hour, minute = int(match.group(2)), int(match.group(3))
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)
    except ValueError:
        raise BadAppointmentInput("date", reason=InputReason.DATE) from None
    what, place = parts[1], parts[2]
    bring = parts[3] if len(parts) == 4 else ""
    if len(what) > MAX_WHAT or len(place) > MAX_WHERE or len(bring) > MAX_BRING:
        raise BadAppointmentInput("too_long", reason=InputReason.TOO_LONG)
    return ExternalInput(reference.upper(), local.astimezone(UTC), what, place, bring)


@dataclass(frozen=True)
class Added:
    """An external appointment just stored, and how many family members were told."""

    appointment_id: int
    reference: str
    starts_at: datetime
    told: int
    reminders: int


def added_from(session: Session, source: tuple[int, int]) -> Added | None:
    """The appointment a caseworker's Telegram message (chat id, message id) already added."""
    appointment = session.exec(
        select(Appointment).where(
            Appointment.source_chat_id == source[0],
            Appointment.source_message_id == source[1],
        )
    ).first()
    if appointment is None:
        return None
    household = session.get(Household, appointment.household_id)
    told = session.exec(
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.key).like(f"appt-added:{appointment.id}:m%"))
    ).one()
    planned = session.exec(
        select(func.count()).select_from(Reminder).where(Reminder.appointment_id == appointment.id)
    ).one()
    return Added(
        appointment.id or 0,
        household.reference if household else "",
        appointment.starts_at,
        int(told),
        int(planned),
    )


def add_external(
    session: Session,
    *,
    person: Person,
    details: ExternalInput,
    policy: ReminderPolicy,
    household_id: int | None = None,
    now: datetime | None = None,
    source: tuple[int, int] | None = None,
) -> Added:
    """Stores an appointment a family has elsewhere, plans its reminders and tells every
    linked member at once, all in the caller's transaction. The same Telegram message
    (``source``) handled again returns what it added then."""
    now = now or utcnow()
    _staff_only(person)
    if source is not None and (earlier := added_from(session, source)) is not None:
        return earlier
    if household_id is not None:
        household = session.get(Household, household_id)
        if household is None or not holds(session, person, household):
            raise NotFound("family", family=str(household_id))
    else:
        household = find_held(session, person, details.reference)
    if details.starts_at <= now:
        raise BadAppointmentInput("past", reason=InputReason.PAST)
    appointment = Appointment(
        household_id=household.id or 0,
        staff_id=person.staff_id,
        kind=AppointmentKind.EXTERNAL,
        starts_at=details.starts_at,
        ends_at=details.starts_at + timedelta(minutes=EXTERNAL_MINUTES),
        what=details.what,
        place=details.place,
        bring=details.bring,
        created_by=f"staff:{person.staff_id}",
        created_at=now,
        source_chat_id=source[0] if source else None,
        source_message_id=source[1] if source else None,
    )
    session.add(appointment)
    session.flush()
    planned = reminders.plan_appointment(session, appointment, policy, now=now)
    told = 0
    for member in reminders.recipients(session, household.id or 0):
        told += outbox.enqueue(
            session,
            key=f"appt-added:{appointment.id}:m{member.id}",
            chat_id=member.telegram_user_id or 0,
            kind=NoticeKind.FAMILY_APPOINTMENT_ADDED,
            now=now,
            appointment_id=appointment.id,
        )
    audit.record(
        session,
        actor=f"staff:{person.staff_id}",
        action="appointment.external.add",
        subject=f"appointment:{appointment.id}",
        household=household.id,
    )
    return Added(appointment.id or 0, household.reference, appointment.starts_at, told, planned)


def appointment_for_member(
    session: Session, appointment_id: int, household_id: int | None
) -> Appointment | None:
    """An appointment of the member's household (for rendering their notices), else None."""
    appointment = session.get(Appointment, appointment_id)
    if appointment is None or household_id is None or appointment.household_id != household_id:
        return None
    return appointment


def staff_name(session: Session, staff_id: int | None) -> str:
    """A member of staff's name, or an empty string."""
    staff = session.get(Staff, staff_id) if staff_id is not None else None
    return staff.name if staff is not None else ""


# ---------------------------------------------------------------- figures for statistics


@dataclass
class AttendanceCounts:
    """Appointment outcomes and ESOL attendance in a period, for one provider."""

    kept: int = 0
    missed: int = 0
    attended: int = 0
    absent: int = 0
    apology: int = 0
    will_come: int = 0
    by_status: Counter[str] = field(default_factory=Counter)


def attendance_counts(
    session: Session, start: date, end: date
) -> dict[int | None, AttendanceCounts]:
    """Attendance per provider (of the household's district; None when unheld) for events
    from ``start`` to ``end`` inclusive (London dates): appointments by their start, class
    sessions by their date."""
    result: dict[int | None, AttendanceCounts] = {}
    providers: dict[int, int | None] = {}
    rows = session.exec(
        select(Attendance, Appointment)
        .outerjoin(Appointment, col(Appointment.id) == col(Attendance.appointment_id))
        .where(
            or_(
                col(Attendance.appointment_id).is_not(None),
                and_(
                    col(Attendance.session_on) >= start,
                    col(Attendance.session_on) <= end,
                ),
            )
        )
    ).all()
    for row, appointment in rows:
        if appointment is not None and not start <= local_day(appointment.starts_at) <= end:
            continue
        if row.household_id not in providers:
            household = session.get(Household, row.household_id)
            providers[row.household_id] = (
                provider_of(session, household) if household is not None else None
            )
        counts = result.setdefault(providers[row.household_id], AttendanceCounts())
        status = AttendanceStatus(row.status)
        counts.by_status[status] += 1
        setattr(counts, str(status), getattr(counts, str(status)) + 1)
    return result


def provider_counts(
    session: Session, provider_id: int | None, start: date, end: date
) -> AttendanceCounts:
    """One provider's attendance in a period (zeros when nothing was recorded)."""
    return attendance_counts(session, start, end).get(provider_id, AttendanceCounts())


# ---------------------------------------------------------------- the button flow

ADD_FLOW = flows.FlowName.DIARY_ADD


@dataclass(frozen=True)
class AddDraft:
    """The "add an appointment" flow's draft, as kept in ``Flow.data`` (key ``household_id``,
    unchanged so a flow begun before an upgrade carries on)."""

    household_id: int

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> AddDraft:
        """Reads the stored draft (0 when the household is missing)."""
        return cls(int(data.get("household_id") or 0))

    def to_data(self) -> dict[str, Any]:
        """The draft as stored."""
        return {"household_id": self.household_id}


def start_adding(session: Session, *, person: Person, household_id: int) -> str:
    """Starts the "add an appointment" flow for a household the person holds; its reference."""
    household = session.get(Household, household_id)
    if household is None or not holds(session, person, household):
        raise NotFound("family", family=str(household_id))
    draft = AddDraft(household.id or 0)
    flows.start(session, person.telegram_user_id, ADD_FLOW, **draft.to_data())
    return household.reference


def add_from_flow(
    session: Session,
    *,
    person: Person,
    text: str,
    policy: ReminderPolicy,
    now: datetime | None = None,
    source: tuple[int, int] | None = None,
) -> Added | None:
    """The typed details of the flow's appointment; None when the person is not in the flow.
    A refusal keeps the flow, so the person can type it again. The same message handled
    again (the flow has ended by then) returns what it added."""
    if source is not None and (earlier := added_from(session, source)) is not None:
        return earlier
    flow = flows.active(session, person.telegram_user_id, ADD_FLOW)
    if flow is None:
        return None
    details = parse_external(text, with_reference=False)
    added = add_external(
        session,
        person=person,
        details=details,
        policy=policy,
        household_id=AddDraft.from_data(flow.data).household_id,
        now=now,
        source=source,
    )
    flows.clear(session, person.telegram_user_id)
    return added
