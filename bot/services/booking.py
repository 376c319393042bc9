"""Families booking, cancelling and moving meetings in their caseworker's free slots.

The hold on a slot is the database's unique ``Appointment.slot_id``: a family that loses the
race gets :class:`SlotTaken` with the next free times, and nothing of theirs is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.delivery.lanes import Lane
from bot.services import outbox, reminders
from bot.services.errors import NoBookableStaff, NotFound, SlotTaken, SlotUnavailable
from bot.services.reminder_times import ReminderPolicy
from bot.services.slots import cancel_appointment
from storage.models import (
    Appointment,
    AppointmentKind,
    AppointmentMode,
    AppointmentStatus,
    District,
    Household,
    Lot,
    Member,
    NoticeKind,
    Provider,
    Slot,
    Staff,
    StaffRole,
)

ALTERNATIVES = 6  # free times offered to a family that lost a slot


class Action(StrEnum):
    """What a STAFF_BOOKING notice tells the caseworker (payload ``action``)."""

    BOOKED = "booked"
    MOVED = "moved"
    CANCELLED = "cancelled"


class Why(StrEnum):
    """Why a slot cannot be booked (``SlotUnavailable.details["reason"]``)."""

    GONE = "gone"  # no such slot, or withdrawn
    OTHER = "other"  # another caseworker's (not one this family may book)
    PAST = "past"  # already started
    NOTICE = "notice"  # too soon: inside the minimum notice
    WINDOW = "window"  # beyond the booking window


@dataclass(frozen=True)
class Window:
    """Which slots a family may book now: from ``now + min_notice`` to ``now + days``."""

    now: datetime
    days: int
    min_notice: timedelta

    @property
    def earliest(self) -> datetime:
        """The first start allowed."""
        return self.now + self.min_notice

    @property
    def latest(self) -> datetime:
        """Starts must be before this."""
        return self.now + timedelta(days=self.days)


@dataclass(frozen=True)
class BookWith:
    """Whose slots a household books: its caseworker's, or its provider's office."""

    staff_ids: tuple[int, ...]
    caseworker_id: int | None
    provider: str | None

    @property
    def office_only(self) -> bool:
        """No caseworker of their own: meetings are at the provider's office."""
        return self.caseworker_id is None


@dataclass(frozen=True)
class FreeTime:
    """A free slot as offered to a family."""

    slot_id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Booked:
    """An appointment as shown to the family (and used in notices)."""

    appointment_id: int
    kind: AppointmentKind
    mode: AppointmentMode | None
    starts_at: datetime
    ends_at: datetime
    interpreter: bool | None
    what: str = ""
    place: str = ""
    bring: str = ""
    staff_name: str = ""
    family_ref: str = ""
    household_id: int = 0
    moved_from: int | None = None
    status: AppointmentStatus = AppointmentStatus.BOOKED


def book_with(session: Session, household_id: int) -> BookWith:
    """The household's caseworker, else the staff of the provider holding its district's Lot;
    NoBookableStaff (with the provider's name, if any) when there is nobody."""
    household = session.get(Household, household_id)
    if household is None:
        raise NotFound("no such household")
    worker = session.get(Staff, household.caseworker_id) if household.caseworker_id else None
    if worker is not None and worker.active and worker.role != StaffRole.COORDINATOR:
        provider = session.get(Provider, worker.provider_id) if worker.provider_id else None
        return BookWith((worker.id or 0,), worker.id, provider.name if provider else None)
    district = session.get(District, household.district_id)
    lot = session.get(Lot, district.lot_id) if district and district.lot_id else None
    provider = session.get(Provider, lot.provider_id) if lot and lot.provider_id else None
    if provider is None:
        raise NoBookableStaff("no provider", provider=None)
    staff = session.exec(
        select(Staff.id).where(
            Staff.provider_id == provider.id,
            col(Staff.active).is_(True),
            col(Staff.role).in_([StaffRole.CASEWORKER, StaffRole.LEAD]),
        )
    ).all()
    if not staff:
        raise NoBookableStaff("no staff", provider=provider.name)
    return BookWith(tuple(i for i in staff if i is not None), None, provider.name)


def free_times(
    session: Session, household_id: int, window: Window, *, limit: int | None = None
) -> list[FreeTime]:
    """The free slots this household may book in the window, earliest first."""
    who = book_with(session, household_id)
    query = (
        select(Slot)
        .join(Appointment, col(Appointment.slot_id) == Slot.id, isouter=True)
        .where(
            col(Slot.staff_id).in_(who.staff_ids),
            col(Slot.withdrawn_at).is_(None),
            col(Slot.starts_at) >= window.earliest,
            col(Slot.starts_at) < window.latest,
            col(Appointment.id).is_(None),
        )
        .order_by(col(Slot.starts_at), col(Slot.id))
    )
    if limit is not None:
        query = query.limit(limit)
    return [FreeTime(s.id or 0, s.starts_at, s.ends_at) for s in session.exec(query)]


def _taken(session: Session, household_id: int, window: Window) -> SlotTaken:
    """The error for a slot someone else holds, with the next free times."""
    return SlotTaken(
        "taken", alternatives=free_times(session, household_id, window, limit=ALTERNATIVES)
    )


def check_slot(session: Session, household_id: int, slot_id: int, window: Window) -> Slot:
    """The slot if this household may book it now; SlotUnavailable or SlotTaken otherwise."""
    who = book_with(session, household_id)
    slot = session.get(Slot, slot_id)
    if slot is None or slot.withdrawn_at is not None:
        raise SlotUnavailable("gone", reason=Why.GONE)
    if slot.staff_id not in who.staff_ids:
        raise SlotUnavailable("other", reason=Why.OTHER)
    if slot.starts_at <= window.now:
        raise SlotUnavailable("past", reason=Why.PAST)
    if slot.starts_at < window.earliest:
        raise SlotUnavailable("notice", reason=Why.NOTICE)
    if slot.starts_at >= window.latest:
        raise SlotUnavailable("window", reason=Why.WINDOW)
    held = session.exec(select(Appointment.id).where(Appointment.slot_id == slot_id)).first()
    if held is not None:
        raise _taken(session, household_id, window)
    return slot


def _member(session: Session, member_id: int) -> Member:
    """A member who exists."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound("no such member")
    return member


def _own_booking(
    session: Session, member: Member, appointment_id: int, now: datetime
) -> Appointment:
    """A booking of the member's household still ahead; NotFound otherwise."""
    appointment = session.get(Appointment, appointment_id)
    if (
        appointment is None
        or appointment.household_id != member.household_id
        or appointment.kind != AppointmentKind.BOOKING
        or appointment.status != AppointmentStatus.BOOKED
        or appointment.starts_at <= now
    ):
        raise NotFound("no such booking")
    return appointment


def _tell_staff(
    session: Session,
    appointment: Appointment,
    action: str,
    now: datetime,
    previous: int | None = None,
) -> None:
    """Queues STAFF_BOOKING to the appointment's caseworker, when they can be messaged."""
    staff = session.get(Staff, appointment.staff_id) if appointment.staff_id else None
    if staff is None or not staff.active or not staff.telegram_user_id:
        return
    outbox.enqueue(
        session,
        key=f"booking:{appointment.id}:{action}",
        chat_id=staff.telegram_user_id,
        kind=NoticeKind.STAFF_BOOKING,
        lane=Lane.INTERACTIVE,
        now=now,
        action=action,
        appointment=appointment.id,
        previous=previous,
    )


def view(session: Session, appointment: Appointment) -> Booked:
    """An appointment as plain data."""
    staff = session.get(Staff, appointment.staff_id) if appointment.staff_id else None
    household = session.get(Household, appointment.household_id)
    return Booked(
        appointment_id=appointment.id or 0,
        kind=AppointmentKind(appointment.kind),
        mode=AppointmentMode(appointment.mode) if appointment.mode else None,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        interpreter=appointment.interpreter,
        what=appointment.what,
        place=appointment.place,
        bring=appointment.bring,
        staff_name=staff.name if staff is not None else "",
        family_ref=household.reference if household is not None else "",
        household_id=appointment.household_id,
        moved_from=appointment.rescheduled_from_id,
        status=AppointmentStatus(appointment.status),
    )


def book(
    session: Session,
    *,
    member_id: int,
    slot_id: int,
    mode: AppointmentMode,
    interpreter: bool,
    window: Window,
    policy: ReminderPolicy,
    move_from: int | None = None,
) -> Booked:
    """Books a slot (or moves a booking to it) in one transaction: the appointment, the old
    one cancelled and its slot freed, reminders, and the caseworker told."""
    now = window.now
    member = _member(session, member_id)
    who = book_with(session, member.household_id)
    old = _own_booking(session, member, move_from, now) if move_from else None
    slot = check_slot(session, member.household_id, slot_id, window)
    if old is not None:
        mode = AppointmentMode(old.mode) if old.mode else mode
        interpreter = bool(old.interpreter)
        cancel_appointment(session, old, by=f"member:{member_id}", now=now)
    elif who.office_only:
        mode = AppointmentMode.OFFICE
    appointment = Appointment(
        household_id=member.household_id,
        member_id=member_id,
        staff_id=slot.staff_id,
        kind=AppointmentKind.BOOKING,
        mode=mode,
        slot_id=slot.id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        interpreter=interpreter,
        rescheduled_from_id=old.id if old is not None else None,
        created_by=f"member:{member_id}",
        created_at=now,
    )
    try:
        with session.begin_nested():  # the race is lost here, by the unique slot_id
            session.add(appointment)
            session.flush()
    except IntegrityError:
        raise _taken(session, member.household_id, window) from None
    reminders.plan_appointment(session, appointment, policy, now=now)
    if old is not None:
        _tell_staff(session, appointment, Action.MOVED, now, previous=old.id)
    else:
        _tell_staff(session, appointment, Action.BOOKED, now)
    return view(session, appointment)


def cancel(session: Session, *, member_id: int, appointment_id: int, now: datetime) -> Booked:
    """The family cancels a booking: slot freed, reminders cancelled, caseworker told."""
    member = _member(session, member_id)
    appointment = _own_booking(session, member, appointment_id, now)
    cancel_appointment(session, appointment, by=f"member:{member_id}", now=now)
    _tell_staff(session, appointment, Action.CANCELLED, now)
    return view(session, appointment)


def own_booking(session: Session, *, member_id: int, appointment_id: int, now: datetime) -> Booked:
    """One of the family's bookings still ahead (to confirm a cancel or a move)."""
    member = _member(session, member_id)
    return view(session, _own_booking(session, member, appointment_id, now))


def upcoming(session: Session, *, household_id: int, now: datetime) -> list[Booked]:
    """The household's appointments not yet over (bookings and external), earliest first."""
    rows = session.exec(
        select(Appointment)
        .where(
            Appointment.household_id == household_id,
            Appointment.status == AppointmentStatus.BOOKED,
            col(Appointment.ends_at) > now,
        )
        .order_by(col(Appointment.starts_at), col(Appointment.id))
    )
    return [view(session, row) for row in rows]


def appointment_for_notice(session: Session, appointment_id: int) -> Booked | None:
    """An appointment for rendering a notice, or None when it no longer exists."""
    appointment = session.get(Appointment, appointment_id)
    return view(session, appointment) if appointment is not None else None


def offer(session: Session, *, household_id: int, slot_id: int, window: Window) -> FreeTime:
    """A slot the household may book now, as plain data (refuses forged or stale ones)."""
    slot = check_slot(session, household_id, slot_id, window)
    return FreeTime(slot.id or 0, slot.starts_at, slot.ends_at)
