"""Reminders owed for appointments and class sessions: planned with the change that causes them.

Planning writes ``Reminder`` rows in the caller's transaction (a booking, a cancellation, an
enrolment), so the database always holds exactly the reminders still owed. One row per member,
event and offset, keyed so that planning twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.delivery.lanes import Lane
from bot.services import class_calendar, outbox
from bot.services.errors import ReminderClosed, ReminderGone
from bot.services.reminder_times import ReminderPolicy
from storage.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Attendance,
    AttendanceStatus,
    Enrolment,
    EsolClass,
    Household,
    Member,
    NoticeKind,
    Reminder,
    ReminderState,
    Staff,
)
from storage.types import utcnow

# Reminder ids beyond this are forged (an integer column: a bigger number cannot be a row).
MAX_ID = 2**31 - 1


def recipients(session: Session, household_id: int) -> list[Member]:
    """The household's members who can be reminded: linked to Telegram and consented."""
    return list(
        session.exec(
            select(Member)
            .where(
                Member.household_id == household_id,
                col(Member.telegram_user_id).is_not(None),
                col(Member.consent_at).is_not(None),
            )
            .order_by(col(Member.id))
        )
    )


def _times(
    event_at: datetime, offsets: Iterable[timedelta], policy: ReminderPolicy, now: datetime
) -> list[tuple[timedelta, datetime]]:
    """(offset, due) pairs still ahead of ``now``; two offsets moved to one time count once."""
    planned: list[tuple[timedelta, datetime]] = []
    seen: set[datetime] = set()
    for offset in offsets:
        due = policy.due_at(event_at, offset)
        if due <= now or due >= event_at or due in seen:
            continue
        seen.add(due)
        planned.append((offset, due))
    return planned


def _want(session: Session, row: Reminder) -> bool:
    """Adds a planned reminder, or refreshes a pending or cancelled one with the same key."""
    existing = session.exec(select(Reminder).where(Reminder.key == row.key)).first()
    if existing is None:
        session.add(row)
        return True
    if existing.state in (ReminderState.PENDING, ReminderState.CANCELLED):
        existing.state = ReminderState.PENDING
        existing.event_at, existing.due_at = row.event_at, row.due_at
        existing.handled_at = None
        session.add(existing)
        return True
    return False  # already sent or recorded missed: never again


def plan_appointment(
    session: Session,
    appointment: Appointment,
    policy: ReminderPolicy,
    *,
    now: datetime | None = None,
) -> int:
    """Plans the reminders of a booked appointment for every member who can be reminded."""
    now = now or utcnow()
    if appointment.id is None:
        session.flush()
    if appointment.status != AppointmentStatus.BOOKED:
        return 0
    planned = 0
    for member in recipients(session, appointment.household_id):
        for offset, due in _times(appointment.starts_at, policy.appointment, policy, now):
            minutes = int(offset.total_seconds() // 60)
            planned += _want(
                session,
                Reminder(
                    key=f"appt:{appointment.id}:m{member.id}:{minutes}",
                    member_id=member.id or 0,
                    appointment_id=appointment.id,
                    event_at=appointment.starts_at,
                    offset_minutes=minutes,
                    due_at=due,
                    created_at=now,
                ),
            )
    return planned


def plan_enrolment(
    session: Session,
    esol: EsolClass,
    member_id: int,
    policy: ReminderPolicy,
    *,
    now: datetime | None = None,
) -> int:
    """Plans a member's reminders for every session of the class still ahead in term."""
    now = now or utcnow()
    planned = 0
    for item in class_calendar.sessions(esol, start=now.date(), tz=policy.tz):
        if not item.happens:
            continue
        for offset, due in _times(item.starts_at, policy.esol_class, policy, now):
            minutes = int(offset.total_seconds() // 60)
            planned += _want(
                session,
                Reminder(
                    key=f"class:{esol.id}:{item.on.isoformat()}:m{member_id}:{minutes}",
                    member_id=member_id,
                    class_id=esol.id,
                    session_on=item.on,
                    event_at=item.starts_at,
                    offset_minutes=minutes,
                    due_at=due,
                    created_at=now,
                ),
            )
    return planned


def _cancel(session: Session, query: object, now: datetime) -> int:
    """Marks the pending reminders a query selects as cancelled."""
    rows = list(session.exec(query))  # type: ignore[call-overload]
    for row in rows:
        row.state, row.handled_at = ReminderState.CANCELLED, now
        session.add(row)
    return len(rows)


def cancel_for_appointment(
    session: Session, appointment_id: int, *, now: datetime | None = None
) -> int:
    """Cancels an appointment's pending reminders (it was cancelled or moved)."""
    return _cancel(
        session,
        select(Reminder).where(
            Reminder.appointment_id == appointment_id, Reminder.state == ReminderState.PENDING
        ),
        now or utcnow(),
    )


def cancel_for_enrolment(
    session: Session, class_id: int, member_id: int, *, now: datetime | None = None
) -> int:
    """Cancels a member's pending reminders for one class (they left it)."""
    return _cancel(
        session,
        select(Reminder).where(
            Reminder.class_id == class_id,
            Reminder.member_id == member_id,
            Reminder.state == ReminderState.PENDING,
        ),
        now or utcnow(),
    )


def replan_class(
    session: Session,
    esol: EsolClass,
    member_ids: Iterable[int],
    policy: ReminderPolicy,
    *,
    now: datetime | None = None,
) -> int:
    """After a class changed (time, term, breaks): cancels its pending reminders and plans
    them again for these enrolled members; returns how many are planned."""
    now = now or utcnow()
    _cancel(
        session,
        select(Reminder).where(
            Reminder.class_id == esol.id, Reminder.state == ReminderState.PENDING
        ),
        now,
    )
    return sum(plan_enrolment(session, esol, member, policy, now=now) for member in member_ids)


# ---------------------------------------------------------------- claiming (the clock)


@dataclass(frozen=True)
class ClaimResult:
    """What one claim did: how many rows it took and what became of them."""

    claimed: int = 0
    queued: int = 0
    missed: int = 0
    cancelled: int = 0


def still_owed(session: Session, row: Reminder) -> bool:
    """Whether the reminded event still concerns the member: appointment booked for their
    household, or class active and the member enrolled; the member linked and consented."""
    member = session.get(Member, row.member_id)
    if member is None or member.telegram_user_id is None or member.consent_at is None:
        return False
    if row.appointment_id is not None:
        appointment = session.get(Appointment, row.appointment_id)
        return (
            appointment is not None
            and appointment.status == AppointmentStatus.BOOKED
            and appointment.household_id == member.household_id
            and appointment.starts_at == row.event_at
        )
    esol = session.get(EsolClass, row.class_id)
    if esol is None or not esol.active:
        return False
    enrolled = session.exec(
        select(Enrolment.id).where(
            Enrolment.class_id == esol.id,
            Enrolment.member_id == row.member_id,
            col(Enrolment.ended_at).is_(None),
        )
    ).first()
    return enrolled is not None


def _take(session: Session, now: datetime, limit: int) -> list[int]:
    """Takes up to ``limit`` due pending rows in one statement, so two claimers never take the
    same row: an UPDATE whose first act is SQLite's write lock, or FOR UPDATE SKIP LOCKED on
    PostgreSQL. They are marked queued here and settled by the caller in this transaction."""
    due = (
        select(Reminder.id)
        .where(Reminder.state == ReminderState.PENDING, col(Reminder.due_at) <= now)
        .order_by(col(Reminder.due_at), col(Reminder.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = session.execute(
        update(Reminder)
        .where(
            col(Reminder.id).in_(due.scalar_subquery()),
            col(Reminder.state) == ReminderState.PENDING,
        )
        .values(state=ReminderState.QUEUED, handled_at=now)
        .returning(col(Reminder.id))
    ).all()
    return sorted(row[0] for row in rows)


def claim_due(session: Session, *, now: datetime | None = None, limit: int = 200) -> ClaimResult:
    """Turns due reminders into outbox notices in this one transaction (so each is sent at most
    once): cancelled when the event no longer concerns the member, missed when it has started,
    and of several due together for one member and event only the latest goes."""
    now = now or utcnow()
    ids = _take(session, now, limit)
    if not ids:
        return ClaimResult()
    rows = session.exec(
        select(Reminder)
        .where(col(Reminder.id).in_(ids))
        .order_by(col(Reminder.offset_minutes))
        .execution_options(populate_existing=True)
    ).all()
    queued = missed = cancelled = 0
    sent_for: set[tuple[int, datetime, int | None, int | None]] = set()
    for row in rows:  # smallest offset first: the latest reminder of an event wins
        event = (row.member_id, row.event_at, row.appointment_id, row.class_id)
        row.handled_at = now
        if not still_owed(session, row):
            row.state = ReminderState.CANCELLED
            cancelled += 1
        elif row.event_at <= now or event in sent_for:
            row.state = ReminderState.MISSED  # over, or a later reminder of it goes instead
            missed += 1
        else:
            sent_for.add(event)
            member = session.get(Member, row.member_id)
            assert member is not None and member.telegram_user_id is not None
            row.notice_key = f"reminder:{row.id}"
            # The outbox keeps real time (no ``now``): the notice is due at once, and worth
            # sending until the event starts.
            outbox.enqueue(
                session,
                key=row.notice_key,
                chat_id=member.telegram_user_id,
                kind=NoticeKind.FAMILY_REMINDER,
                lane=Lane.REMINDER,
                expires_at=row.event_at,
                reminder_id=row.id,
            )
            queued += 1
        session.add(row)
    return ClaimResult(claimed=len(ids), queued=queued, missed=missed, cancelled=cancelled)


def next_due(session: Session) -> datetime | None:
    """When the earliest pending reminder is due (None when nothing is pending)."""
    return session.exec(
        select(Reminder.due_at)
        .where(Reminder.state == ReminderState.PENDING)
        .order_by(col(Reminder.due_at))
        .limit(1)
    ).first()


# ---------------------------------------------------------------- the buttons


@dataclass(frozen=True)
class Response:
    """What pressing a reminder button did: the answer recorded (``changed`` False when it was
    already), and the appointment a "can't come" may be rebooked from (bookings only)."""

    answer: AttendanceStatus
    changed: bool
    rebook_appointment_id: int | None = None
    staff_told: bool = False


def owned(session: Session, reminder_id: int, member_id: int) -> Reminder:
    """The member's own sent reminder; ReminderGone for anything else (forged, another's)."""
    if not 0 < reminder_id <= MAX_ID:
        raise ReminderGone()
    row = session.get(Reminder, reminder_id)
    if row is None or row.member_id != member_id or row.state != ReminderState.QUEUED:
        raise ReminderGone()
    return row


def caseworker_for(session: Session, row: Reminder) -> Staff | None:
    """Who is told of a "can't come": the appointment's caseworker, else the household's."""
    staff_id = None
    if row.appointment_id is not None:
        appointment = session.get(Appointment, row.appointment_id)
        staff_id = appointment.staff_id if appointment is not None else None
    if staff_id is None:
        member = session.get(Member, row.member_id)
        household = session.get(Household, member.household_id) if member else None
        staff_id = household.caseworker_id if household is not None else None
    staff = session.get(Staff, staff_id) if staff_id is not None else None
    if staff is None or not staff.active or staff.telegram_user_id is None:
        return None
    return staff


def _attend(session: Session, row: Reminder, status: AttendanceStatus, now: datetime) -> None:
    """Records the member's answer for a class session on its one attendance row."""
    member = session.get(Member, row.member_id)
    assert member is not None
    found = session.exec(
        select(Attendance).where(
            Attendance.class_id == row.class_id,
            Attendance.session_on == row.session_on,
            Attendance.member_id == row.member_id,
        )
    ).first()
    if found is None:
        found = Attendance(
            household_id=member.household_id,
            member_id=row.member_id,
            class_id=row.class_id,
            session_on=row.session_on,
            status=status,
        )
    elif found.status not in (AttendanceStatus.WILL_COME, AttendanceStatus.APOLOGY):
        return  # the caseworker already recorded what happened
    found.status, found.source, found.recorded_at = status, f"member:{row.member_id}", now
    session.add(found)


def respond(
    session: Session,
    reminder_id: int,
    *,
    member_id: int,
    will_come: bool,
    now: datetime | None = None,
) -> Response:
    """Records "I will come" or "I can't come" from a reminder; a "can't come" tells the
    caseworker at once (once per member and event). Refused for another member's reminder
    (ReminderGone) and for a cancelled or past event (ReminderClosed), with nothing recorded."""
    now = now or utcnow()
    row = owned(session, reminder_id, member_id)
    if not still_owed(session, row):
        raise ReminderClosed(reason="cancelled")
    if row.event_at <= now:
        raise ReminderClosed(reason="past")
    answer = AttendanceStatus.WILL_COME if will_come else AttendanceStatus.APOLOGY
    rebook = None
    if row.appointment_id is not None and not will_come:
        appointment = session.get(Appointment, row.appointment_id)
        if appointment is not None and appointment.kind == AppointmentKind.BOOKING:
            rebook = appointment.id
    if row.response == answer:
        return Response(answer, changed=False, rebook_appointment_id=rebook)
    row.response, row.responded_at = str(answer), now
    session.add(row)
    if row.class_id is not None:
        _attend(session, row, answer, now)
    told = False
    if not will_come:
        staff = caseworker_for(session, row)
        if staff is not None and staff.telegram_user_id is not None:
            event = (
                f"appt:{row.appointment_id}"
                if row.appointment_id is not None
                else f"class:{row.class_id}:{row.session_on}"
            )
            told = outbox.enqueue(
                session,
                key=f"cantcome:{event}:m{row.member_id}",
                chat_id=staff.telegram_user_id,
                kind=NoticeKind.STAFF_CANT_COME,
                expires_at=max(row.event_at, utcnow()) + timedelta(days=1),
                reminder_id=row.id,
            )
    return Response(answer, changed=True, rebook_appointment_id=rebook, staff_told=told)
