"""A caseworker's bookable time: parsing ``/slots add``, cutting ranges into slots, withdrawing.

Times are Europe/London wall clock turned into UTC per day (``reminder_times.local_datetime``),
so a weekly 09:00 slot stays at 09:00 local across the clock changes.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.delivery.lanes import Lane
from bot.i18n import plain
from bot.services import outbox, reminders
from bot.services.errors import BadSlotInput, NotFound, SlotClash
from bot.services.reminder_times import TIMEZONE, local_datetime
from storage.models import (
    Appointment,
    AppointmentStatus,
    Household,
    NoticeKind,
    Slot,
    Staff,
)

DEFAULT_MINUTES = 30
DEFAULT_WEEKS = 4  # a weekday without ``until`` repeats for this many weeks
MAX_AHEAD = timedelta(days=183)  # about six months: later is refused as a typo
MAX_SLOTS = 500  # one command never publishes more than this
WEEKDAYS = {
    name: index
    for index, names in enumerate(
        [
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        ]
    )
    for name in names
}
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_RANGE = re.compile(r"^(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})$")


class Reason(StrEnum):
    """Why ``/slots add`` input was refused (``BadSlotInput.details["reason"]``)."""

    FORMAT = "format"  # not WHEN HH:MM-HH:MM [MINUTES] [until YYYY-MM-DD]
    DATE = "date"  # WHEN is not a date, today, tomorrow or a weekday
    WEEKDAY = "weekday"  # looks like a weekday but is not one
    END_BEFORE_START = "end_before_start"
    LENGTH = "length"  # zero or negative minutes
    TOO_LONG = "too_long"  # one slot is longer than the range
    PAST = "past"  # the date (or today's start time) has passed
    UNTIL_BEFORE = "until_before"  # ``until`` before the first day
    UNTIL_FAR = "until_far"  # ``until`` more than six months ahead
    TOO_MANY = "too_many"  # more than MAX_SLOTS slots at once


@dataclass(frozen=True)
class SlotRequest:
    """What to publish: the days, a local time range and the slot length."""

    days: tuple[date, ...]
    start: str  # "HH:MM" local
    end: str
    minutes: int
    weekly: bool = False
    until: date | None = None

    def ranges(self, tz: str = TIMEZONE) -> list[tuple[datetime, datetime]]:
        """Every slot as UTC (start, end); a leftover shorter than a slot is not included."""
        found: list[tuple[datetime, datetime]] = []
        length = timedelta(minutes=self.minutes)
        for day in self.days:
            begin, finish = local_datetime(day, self.start, tz), local_datetime(day, self.end, tz)
            while begin + length <= finish:
                found.append((begin, begin + length))
                begin += length
        return found

    @property
    def leftover(self) -> int:
        """Minutes at the end of each day's range too short for a slot (not published)."""
        span = _minutes(self.end) - _minutes(self.start)
        return span % self.minutes


def local_today(now: datetime, tz: str = TIMEZONE) -> date:
    """Today's date in London (a UTC instant after midnight BST is already tomorrow)."""
    return now.astimezone(ZoneInfo(tz)).date()


def _minutes(clock: str) -> int:
    """``"09:30"`` as minutes after midnight."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(text: str) -> str:
    """A typed time as ``"HH:MM"``; BadSlotInput when it is not one."""
    match = _CLOCK.match(text)
    if match is None:
        raise BadSlotInput("bad time", reason=Reason.FORMAT)
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _first_day(word: str, today: date) -> tuple[date, bool]:
    """WHEN as (first day, weekly?)."""
    lowered = word.lower()
    if lowered == "today":
        return today, False
    if lowered == "tomorrow":
        return today + timedelta(days=1), False
    if lowered in WEEKDAYS:
        return today + timedelta(days=(WEEKDAYS[lowered] - today.weekday()) % 7), True
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", lowered):
        try:
            return date.fromisoformat(lowered), False
        except ValueError:
            raise BadSlotInput("bad date", reason=Reason.DATE) from None
    if lowered.isalpha():
        raise BadSlotInput("unknown weekday", reason=Reason.WEEKDAY, word=word[:20])
    raise BadSlotInput("bad date", reason=Reason.DATE)


def parse_add(text: str, *, now: datetime, tz: str = TIMEZONE) -> SlotRequest:
    """``WHEN HH:MM-HH:MM [MINUTES] [until YYYY-MM-DD]`` as a checked SlotRequest."""
    words = plain(text).replace("–", "-").split()
    # "09:00 - 12:00" typed with spaces is the same range.
    joined = " ".join(words)
    joined = re.sub(r"\s*-\s*(?=\d{1,2}:\d{2})", "-", joined)
    words = joined.split()
    if len(words) < 2:
        raise BadSlotInput("too short", reason=Reason.FORMAT)
    first, weekly = _first_day(words[0], local_today(now, tz))
    match = _RANGE.match(words[1])
    if match is None:
        raise BadSlotInput("bad range", reason=Reason.FORMAT)
    start, end = _clock(match.group(1)), _clock(match.group(2))
    rest = words[2:]
    minutes = DEFAULT_MINUTES
    if rest and re.fullmatch(r"-?\d+", rest[0]):
        minutes = int(rest.pop(0))
    until: date | None = None
    if len(rest) == 2 and rest[0].lower() == "until":
        try:
            until = date.fromisoformat(rest[1])
        except ValueError:
            raise BadSlotInput("bad until", reason=Reason.FORMAT) from None
    elif rest:
        raise BadSlotInput("extra words", reason=Reason.FORMAT)
    if weekly and first == local_today(now, tz) and local_datetime(first, start, tz) < now:
        first += timedelta(weeks=1)  # "tue" typed on a Tuesday afternoon: from next week
    return build(first, start, end, minutes, weekly=weekly, until=until, now=now, tz=tz)


def build(
    first: date,
    start: str,
    end: str,
    minutes: int,
    *,
    weekly: bool = False,
    until: date | None = None,
    now: datetime,
    tz: str = TIMEZONE,
) -> SlotRequest:
    """Checks a request (typed or from buttons) and lists its days; BadSlotInput if wrong."""
    today = local_today(now, tz)
    if _minutes(end) <= _minutes(start):
        raise BadSlotInput("end before start", reason=Reason.END_BEFORE_START)
    if minutes <= 0:
        raise BadSlotInput("bad length", reason=Reason.LENGTH)
    if minutes > _minutes(end) - _minutes(start):
        raise BadSlotInput("longer than range", reason=Reason.TOO_LONG)
    if first < today or local_datetime(first, start, tz) < now:
        raise BadSlotInput("in the past", reason=Reason.PAST)
    if until is not None or weekly:
        last = until or first + timedelta(weeks=DEFAULT_WEEKS - 1)
        if last < first:
            raise BadSlotInput("until before start", reason=Reason.UNTIL_BEFORE)
        if last > today + MAX_AHEAD:
            raise BadSlotInput("until too far", reason=Reason.UNTIL_FAR)
        days = tuple(first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1))
        request = SlotRequest(days, start, end, minutes, weekly=True, until=last)
    else:
        if first > today + MAX_AHEAD:
            raise BadSlotInput("too far", reason=Reason.UNTIL_FAR)
        request = SlotRequest((first,), start, end, minutes)
    if len(request.ranges(tz)) > MAX_SLOTS:
        raise BadSlotInput("too many", reason=Reason.TOO_MANY, limit=MAX_SLOTS)
    return request


def _live(staff_id: int) -> object:
    """The staff member's slots that are not withdrawn."""
    return select(Slot).where(Slot.staff_id == staff_id, col(Slot.withdrawn_at).is_(None))


def published_from(session: Session, staff_id: int, source: tuple[int, int]) -> list[Slot]:
    """The slots a Telegram message (``source``: chat id, message id) already published."""
    return list(
        session.exec(
            select(Slot)
            .where(
                Slot.staff_id == staff_id,
                Slot.source_chat_id == source[0],
                Slot.source_message_id == source[1],
            )
            .order_by(col(Slot.starts_at))
        )
    )


def publish(
    session: Session,
    staff_id: int,
    request: SlotRequest,
    *,
    tz: str = TIMEZONE,
    source: tuple[int, int] | None = None,
) -> list[Slot]:
    """Stores the request's slots; SlotClash (nothing stored) if one overlaps my live time.
    The same Telegram message (``source``) handled again returns what it published then."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("no such staff")
    if source is not None and (earlier := published_from(session, staff_id, source)):
        return earlier
    wanted = request.ranges(tz)
    if not wanted:
        raise BadSlotInput("nothing to publish", reason=Reason.TOO_LONG)
    lowest, highest = wanted[0][0], wanted[-1][1]
    existing = list(
        session.exec(
            select(Slot).where(
                Slot.staff_id == staff_id,
                col(Slot.withdrawn_at).is_(None),
                col(Slot.starts_at) < highest,
                col(Slot.ends_at) > lowest,
            )
        )
    )
    for begin, finish in wanted:
        for slot in existing:
            if slot.starts_at < finish and slot.ends_at > begin:
                raise SlotClash(
                    "overlap", starts_at=slot.starts_at, ends_at=slot.ends_at, slot_id=slot.id
                )
    series = uuid.uuid4().hex[:12]
    created = [
        Slot(
            staff_id=staff_id,
            provider_id=staff.provider_id,
            starts_at=begin,
            ends_at=finish,
            series=series,
            source_chat_id=source[0] if source else None,
            source_message_id=source[1] if source else None,
        )
        for begin, finish in wanted
    ]
    session.add_all(created)
    session.flush()
    return created


@dataclass(frozen=True)
class SlotView:
    """One of my slots as listed: free, or booked by a family (its reference)."""

    slot_id: int
    starts_at: datetime
    ends_at: datetime
    appointment_id: int | None = None
    family_ref: str | None = None

    @property
    def booked(self) -> bool:
        """Whether a family holds it."""
        return self.appointment_id is not None


def upcoming(
    session: Session, staff_id: int, *, now: datetime, tz: str = TIMEZONE
) -> list[SlotView]:
    """My live slots from the start of today (London), free and booked, in time order."""
    since = local_datetime(local_today(now, tz), "00:00", tz)
    rows = session.exec(
        select(Slot, Appointment, Household)
        .join(Appointment, col(Appointment.slot_id) == Slot.id, isouter=True)
        .join(Household, col(Household.id) == Appointment.household_id, isouter=True)
        .where(
            Slot.staff_id == staff_id,
            col(Slot.withdrawn_at).is_(None),
            col(Slot.ends_at) > since,
        )
        .order_by(col(Slot.starts_at))
    )
    return [
        SlotView(
            slot_id=slot.id or 0,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            appointment_id=appointment.id if appointment is not None else None,
            family_ref=household.reference if household is not None else None,
        )
        for slot, appointment, household in rows
    ]


@dataclass(frozen=True)
class Withdrawn:
    """The outcome of withdrawing a slot."""

    slot_id: int
    starts_at: datetime
    ends_at: datetime
    done: bool  # False: booked, the caller must confirm first
    family_ref: str | None = None
    notified: int = 0  # family members told


def withdraw(
    session: Session, staff_id: int, slot_id: int, *, confirmed: bool, now: datetime
) -> Withdrawn:
    """Withdraws one of my slots; a booked one only when ``confirmed``: the booking is then
    cancelled, its reminders too, and the family told (outbox) with a way to book again."""
    slot = session.get(Slot, slot_id)
    if slot is None or slot.staff_id != staff_id or slot.withdrawn_at is not None:
        raise NotFound("no such slot")
    appointment = session.exec(select(Appointment).where(Appointment.slot_id == slot_id)).first()
    household = session.get(Household, appointment.household_id) if appointment else None
    ref = household.reference if household is not None else None
    if appointment is not None and not confirmed:
        return Withdrawn(slot_id, slot.starts_at, slot.ends_at, done=False, family_ref=ref)
    notified = 0
    if appointment is not None:
        cancel_appointment(session, appointment, by=f"staff:{staff_id}", now=now)
        for member in reminders.recipients(session, appointment.household_id):
            notified += outbox.enqueue(
                session,
                key=f"appt-cancelled:{appointment.id}:m{member.id}",
                chat_id=member.telegram_user_id or 0,
                kind=NoticeKind.FAMILY_APPOINTMENT_CANCELLED,
                lane=Lane.INTERACTIVE,
                now=now,
                appointment=appointment.id,
                household=appointment.household_id,
            )
    slot.withdrawn_at = now
    session.add(slot)
    return Withdrawn(
        slot_id, slot.starts_at, slot.ends_at, done=True, family_ref=ref, notified=notified
    )


def cancel_appointment(
    session: Session, appointment: Appointment, *, by: str, now: datetime
) -> None:
    """Cancels a booking: frees its slot (kept as ``former_slot_id``) and its reminders."""
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at, appointment.cancelled_by = now, by
    if appointment.slot_id is not None:
        appointment.former_slot_id, appointment.slot_id = appointment.slot_id, None
    session.add(appointment)
    session.flush()  # the slot is free before anything else is inserted
    assert appointment.id is not None
    reminders.cancel_for_appointment(session, appointment.id, now=now)
