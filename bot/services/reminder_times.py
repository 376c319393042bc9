"""When a reminder is due: offsets before an event, quiet hours, exact across clock changes.

Offsets are real elapsed time (``24h`` before a 10:00 appointment is 10:00 the day before, even
across a clock change, because both instants are UTC); quiet hours are local wall-clock times in
Europe/London, checked with zoneinfo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TIMEZONE = "Europe/London"
_DURATION = re.compile(r"^\s*(\d+)\s*([dhm]?)\s*$", re.IGNORECASE)
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def parse_duration(text: str) -> timedelta:
    """``"2h"``, ``"90m"``, ``"1d"`` or ``"0"`` as a timedelta; ValueError otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 2h, 90m, 1d or 0)")
    number, unit = int(match.group(1)), match.group(2).lower()
    if not unit and number != 0:
        raise ValueError(f"a duration needs a unit (d, h or m): {text!r}")
    return number * _UNITS.get(unit, timedelta())


def parse_offsets(text: str) -> tuple[timedelta, ...]:
    """A comma list of durations (``"24h,2h"``), longest first, without repeats; may be empty."""
    found = {parse_duration(part) for part in text.split(",") if part.strip()}
    if any(offset <= timedelta() for offset in found):
        raise ValueError(f"reminder offsets must be positive: {text!r}")
    return tuple(sorted(found, reverse=True))


def _clock(text: str) -> time:
    """``"21:00"`` as a time; ValueError otherwise."""
    hours, _, minutes = text.strip().partition(":")
    return time(int(hours), int(minutes or 0))


@dataclass(frozen=True)
class QuietHours:
    """A nightly window (local wall clock) in which no reminder is sent; may cross midnight."""

    start: time = time(21)
    end: time = time(8)

    def __post_init__(self) -> None:
        """Refuses an empty window."""
        if self.start == self.end:
            raise ValueError("quiet hours must not start and end at the same time")

    def contains(self, local: datetime) -> bool:
        """Whether a local wall-clock time falls strictly inside the window (both ends allowed)."""
        now = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start < now < self.end
        return now > self.start or now < self.end

    def last_allowed_before(self, local: datetime) -> datetime:
        """The start of the window containing ``local``: the last moment a reminder may go."""
        day = local.date()
        if self.start > self.end and local.time().replace(tzinfo=None) <= self.start:
            day -= timedelta(days=1)  # after midnight: the window began the evening before
        return datetime.combine(day, self.start, tzinfo=local.tzinfo)


def parse_quiet_hours(text: str) -> QuietHours | None:
    """``"21:00-08:00"`` as QuietHours, ``"off"`` (or empty) as None; ValueError otherwise."""
    if text.strip().lower() in {"", "off", "none"}:
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"quiet hours look like 21:00-08:00 or off, not {text!r}")
    try:
        return QuietHours(_clock(start), _clock(end))
    except ValueError as exc:
        raise ValueError(f"quiet hours look like 21:00-08:00 or off, not {text!r}") from exc


@dataclass(frozen=True)
class ReminderPolicy:
    """How far ahead appointments and class sessions are reminded, and when not to."""

    appointment: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))
    esol_class: tuple[timedelta, ...] = (timedelta(hours=2),)
    quiet: QuietHours | None = QuietHours()
    tz: str = TIMEZONE

    @property
    def zone(self) -> ZoneInfo:
        """The local time zone."""
        return ZoneInfo(self.tz)

    def due_at(self, event_at: datetime, offset: timedelta) -> datetime:
        """When the reminder ``offset`` before ``event_at`` goes, in UTC.

        Inside quiet hours it moves to the last allowed time before them, unless the event
        itself is in quiet hours (then the plain time stands: the person needs it).
        """
        if event_at.tzinfo is None:
            raise ValueError("event_at must be timezone-aware")
        due = (event_at.astimezone(UTC) - offset).astimezone(self.zone)
        if self.quiet is None or not self.quiet.contains(due):
            return due.astimezone(UTC)
        if self.quiet.contains(event_at.astimezone(self.zone)):
            return due.astimezone(UTC)
        return self.quiet.last_allowed_before(due).astimezone(UTC)


def local_datetime(day: date, clock: str, tz: str = TIMEZONE) -> datetime:
    """A local date and ``"HH:MM"`` as a UTC instant (a nonexistent time moves forward)."""
    naive = datetime.combine(day, _clock(clock))
    zone = ZoneInfo(tz)
    # zoneinfo maps a time skipped by the spring change to the instant an hour later (fold=0).
    return naive.replace(tzinfo=zone).astimezone(UTC)
