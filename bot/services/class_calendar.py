"""The sessions of an ESOL class: weekly in term, none on England bank holidays or in breaks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.services.reminder_times import TIMEZONE, local_datetime
from bot.services.working_hours import WorkingHours
from storage.models import EsolClass

_CALENDAR = WorkingHours()  # England's bank holidays


class SkipReason(StrEnum):
    """Why a session in term does not happen."""

    BANK_HOLIDAY = "bank_holiday"
    BREAK = "break"


@dataclass(frozen=True)
class ClassSession:
    """One weekly session: its local date, UTC start and end, and why it is off (if it is)."""

    class_id: int
    on: date
    starts_at: datetime
    ends_at: datetime
    skipped: SkipReason | None = None
    holiday: str | None = None  # the bank holiday's English name, when skipped for one

    @property
    def happens(self) -> bool:
        """Whether the class meets that day."""
        return self.skipped is None


def parse_breaks(breaks: list[list[str]]) -> list[tuple[date, date]]:
    """A class's stored breaks as (from, to) date pairs, inclusive."""
    return [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in breaks]


def sessions(
    esol: EsolClass,
    start: date | None = None,
    end: date | None = None,
    *,
    tz: str = TIMEZONE,
) -> list[ClassSession]:
    """Every session date of the class between ``start`` and ``end`` (inclusive, within term),
    the skipped ones included and marked."""
    first = max(esol.term_from, start or esol.term_from)
    last = min(esol.term_to, end or esol.term_to)
    day = first + timedelta(days=(esol.weekday - first.weekday()) % 7)
    breaks = parse_breaks(esol.breaks or [])
    found: list[ClassSession] = []
    while day <= last:
        starts = local_datetime(day, esol.start_time, tz)
        holiday = _CALENDAR.bank_holiday_name(day)
        skipped: SkipReason | None = None
        if holiday is not None:
            skipped = SkipReason.BANK_HOLIDAY
        elif any(a <= day <= b for a, b in breaks):
            skipped = SkipReason.BREAK
        found.append(
            ClassSession(
                class_id=esol.id or 0,
                on=day,
                starts_at=starts,
                ends_at=starts + timedelta(minutes=esol.minutes),
                skipped=skipped,
                holiday=holiday,
            )
        )
        day += timedelta(days=7)
    return found


def next_sessions(
    esol: EsolClass, after: datetime, count: int = 4, *, tz: str = TIMEZONE
) -> list[ClassSession]:
    """The next ``count`` sessions that happen and start after ``after``."""
    ahead = [s for s in sessions(esol, after.date() - timedelta(days=1), tz=tz) if s.happens]
    return [s for s in ahead if s.starts_at > after][:count]
