"""Working-hours arithmetic: Mon-Fri office hours in Europe/London, England bank holidays excluded.

Every datetime in and out is timezone-aware (results are UTC); local wall-clock rules are applied
in ``tz`` with zoneinfo, so clock changes are handled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

_MAX_CLOSED_DAYS = 30  # no real calendar closes longer; guards against a misconfigured region


@lru_cache(maxsize=64)
def _bank_holidays(region: str, subdiv: str | None, year: int) -> MappingProxyType[date, str]:
    """The region's public holidays in one year, read from ``holidays`` once."""
    found = holidays.country_holidays(region, subdiv=subdiv, years=year)
    return MappingProxyType({day: name for day, name in found.items() if day.year == year})


def _aware(value: datetime, name: str) -> datetime:
    """The value itself, or ValueError when it has no timezone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value!r}")
    return value


@dataclass(frozen=True)
class WorkingHours:
    """Office hours: ``start`` to ``end`` local time on weekdays that are not bank holidays."""

    start: time = time(9)
    end: time = time(17)
    tz: str = "Europe/London"
    region: str = "GB"
    subdiv: str | None = "ENG"

    def __post_init__(self) -> None:
        """Rejects an empty day, zone-aware times and unknown zones or regions."""
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("start and end are local wall-clock times without tzinfo")
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.tz!r}") from exc
        try:
            _bank_holidays(self.region, self.subdiv, 2000)
        except NotImplementedError as exc:
            raise ValueError(f"no holiday calendar for {self.region}/{self.subdiv}") from exc

    @property
    def zone(self) -> ZoneInfo:
        """The local time zone."""
        return ZoneInfo(self.tz)

    def bank_holiday_name(self, d: date) -> str | None:
        """The holiday's name on ``d`` (weekends included, e.g. "Boxing Day"), else None."""
        return _bank_holidays(self.region, self.subdiv, d.year).get(d)

    def is_working_day(self, d: date) -> bool:
        """Monday to Friday and not a bank holiday."""
        return d.weekday() < 5 and self.bank_holiday_name(d) is None

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` falls within working hours (start inclusive, end exclusive)."""
        local = _aware(at, "at").astimezone(self.zone)
        return self.is_working_day(local.date()) and self.start <= local.time() < self.end

    def next_opening(self, at: datetime) -> datetime:
        """When work is next open, in UTC: ``at`` itself if open now."""
        local = _aware(at, "at").astimezone(self.zone)
        if self.is_open(at):
            return at.astimezone(UTC)
        day = local.date()
        if not (self.is_working_day(day) and local.time() < self.start):
            day = self._next_working_day(day)
        return self._opening(day)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The UTC instant ``hours`` working hours after ``start`` (a first-response deadline)."""
        _aware(start, "start")
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"hours must be a finite number >= 0, got {hours!r}")
        remaining = timedelta(hours=hours)
        current = self.next_opening(start)
        while True:
            closing = self._closing(current.astimezone(self.zone).date())
            available = closing - current
            if remaining <= available:
                return current + remaining
            remaining -= available
            current = self.next_opening(closing)

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Working hours elapsed from ``a`` to ``b`` (negative when ``b`` is earlier)."""
        _aware(a, "a")
        _aware(b, "b")
        if b < a:
            return -self.working_hours_between(b, a)
        total = timedelta()
        day = a.astimezone(self.zone).date()
        last = b.astimezone(self.zone).date()
        while day <= last:
            if self.is_working_day(day):
                opened = max(a, self._opening(day))
                closed = min(b, self._closing(day))
                if closed > opened:
                    total += closed - opened
            day += timedelta(days=1)
        return total / timedelta(hours=1)

    def _opening(self, d: date) -> datetime:
        """The UTC instant the office opens on local day ``d``."""
        return datetime.combine(d, self.start, tzinfo=self.zone).astimezone(UTC)

    def _closing(self, d: date) -> datetime:
        """The UTC instant the office closes on local day ``d``."""
        return datetime.combine(d, self.end, tzinfo=self.zone).astimezone(UTC)

    def _next_working_day(self, d: date) -> date:
        """The first working day after ``d``."""
        for offset in range(1, _MAX_CLOSED_DAYS + 1):
            candidate = d + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_CLOSED_DAYS} days after {d}")
