"""Reminders owed for appointments and class sessions: planned with the change that causes them.

Planning writes ``Reminder`` rows in the caller's transaction (a booking, a cancellation, an
enrolment), so the database always holds exactly the reminders still owed. One row per member,
event and offset, keyed so that planning twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.services import class_calendar
from bot.services.reminder_times import ReminderPolicy
from storage.models import (
    Appointment,
    AppointmentStatus,
    EsolClass,
    Member,
    Reminder,
    ReminderState,
)
from storage.types import utcnow


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
