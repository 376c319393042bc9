"""Working hours in Europe/London: weekends, England bank holidays and clock changes."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.working_hours import WorkingHours

LONDON = ZoneInfo("Europe/London")
HOURS = WorkingHours()


def utc(*args: int) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def london(*args: int) -> datetime:
    """London wall-clock time, as the UTC instant."""
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)


# --- opening and closing --------------------------------------------------------------------


def test_defaults() -> None:
    fields = (HOURS.start, HOURS.end, HOURS.tz, HOURS.region, HOURS.subdiv)
    assert fields == (time(9), time(17), "Europe/London", "GB", "ENG")


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (london(2026, 11, 16, 8, 59), False),
        (london(2026, 11, 16, 9, 0), True),
        (london(2026, 11, 16, 12, 30), True),
        (london(2026, 11, 16, 16, 59, 59), True),
        (london(2026, 11, 16, 17, 0), False),
        (london(2026, 11, 14, 12, 0), False),  # Saturday
        (london(2026, 11, 15, 12, 0), False),  # Sunday
        (london(2026, 12, 25, 12, 0), False),  # Christmas Day
    ],
)
def test_is_open(at: datetime, expected: bool) -> None:
    assert HOURS.is_open(at) is expected


def test_next_opening_is_now_when_open() -> None:
    at = london(2026, 11, 18, 11, 15)
    assert HOURS.next_opening(at) == at
    assert HOURS.next_opening(at).tzinfo == UTC


def test_next_opening_before_opening_is_the_same_morning() -> None:
    assert HOURS.next_opening(london(2026, 11, 18, 7, 0)) == london(2026, 11, 18, 9, 0)


def test_next_opening_after_closing_is_the_next_morning() -> None:
    assert HOURS.next_opening(london(2026, 11, 18, 17, 0)) == london(2026, 11, 19, 9, 0)
    assert HOURS.next_opening(london(2026, 11, 18, 23, 59)) == london(2026, 11, 19, 9, 0)


def test_saturday_opens_on_monday_morning() -> None:
    assert HOURS.next_opening(london(2026, 11, 14, 12, 0)) == utc(2026, 11, 16, 9, 0)
    assert HOURS.next_opening(london(2026, 11, 15, 23, 0)) == utc(2026, 11, 16, 9, 0)


def test_friday_evening_opens_on_monday_in_summer_time() -> None:
    assert HOURS.next_opening(london(2026, 7, 10, 18, 0)) == utc(2026, 7, 13, 8, 0)  # 09:00 BST


# --- deadlines ------------------------------------------------------------------------------


def test_friday_1600_plus_two_hours_is_monday_1000() -> None:
    assert HOURS.add_working_hours(london(2026, 11, 13, 16, 0), 2) == london(2026, 11, 16, 10, 0)
    assert HOURS.add_working_hours(london(2026, 7, 10, 16, 0), 2) == london(2026, 7, 13, 10, 0)


def test_deadline_may_end_exactly_at_closing() -> None:
    assert HOURS.add_working_hours(london(2026, 11, 13, 16, 0), 1) == london(2026, 11, 13, 17, 0)


def test_zero_hours_outside_working_hours_is_the_next_opening() -> None:
    assert HOURS.add_working_hours(london(2026, 11, 14, 10, 0), 0) == london(2026, 11, 16, 9, 0)


def test_a_working_week() -> None:
    monday = london(2026, 11, 16, 9, 0)
    assert HOURS.add_working_hours(monday, 40) == london(2026, 11, 20, 17, 0)
    assert HOURS.add_working_hours(monday, 41) == london(2026, 11, 23, 10, 0)
    assert HOURS.add_working_hours(monday, 0.25) == london(2026, 11, 16, 9, 15)


@pytest.mark.parametrize("hours", [-1, -0.001, math.nan, math.inf])
def test_bad_hours_are_rejected(hours: float) -> None:
    with pytest.raises(ValueError):
        HOURS.add_working_hours(london(2026, 11, 16, 9, 0), hours)


# --- England bank holidays ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 28), "Boxing Day"),  # substitute day: 26 Dec 2026 is a Saturday
        (date(2027, 1, 1), "New Year's Day"),
        (date(2027, 3, 26), "Good Friday"),
        (date(2027, 3, 29), "Easter Monday"),
        (date(2027, 5, 3), "May Day"),
        (date(2027, 5, 31), "Spring Bank Holiday"),
        (date(2027, 8, 30), "Late Summer Bank Holiday"),
    ],
)
def test_england_bank_holidays_are_not_working_days(day: date, name: str) -> None:
    assert day.weekday() < 5
    assert not HOURS.is_working_day(day)
    assert name in (HOURS.bank_holiday_name(day) or "")


def test_bank_holiday_on_a_weekend_is_named_but_a_weekend_anyway() -> None:
    assert HOURS.bank_holiday_name(date(2026, 12, 26)) == "Boxing Day"
    assert not HOURS.is_working_day(date(2026, 12, 26))


def test_ordinary_days_have_no_holiday_name() -> None:
    assert HOURS.bank_holiday_name(date(2026, 12, 29)) is None
    assert HOURS.is_working_day(date(2026, 12, 29))


def test_christmas_2026_deadline_skips_to_tuesday_29th() -> None:
    assert HOURS.add_working_hours(london(2026, 12, 24, 16, 30), 1) == london(2026, 12, 29, 9, 30)
    assert HOURS.next_opening(london(2026, 12, 24, 17, 0)) == london(2026, 12, 29, 9, 0)


def test_early_may_bank_holiday_2027() -> None:
    assert HOURS.next_opening(london(2027, 4, 30, 17, 30)) == london(2027, 5, 4, 9, 0)
    assert HOURS.next_opening(london(2027, 5, 1, 12, 0)) == utc(2027, 5, 4, 8, 0)


@pytest.mark.parametrize(
    "day",
    [
        date(2027, 1, 4),  # Scotland: 2 January holiday (Sat 2 Jan 2027), observed Monday
        date(2026, 11, 30),  # Scotland: St Andrew's Day, a Monday
        date(2027, 11, 30),  # Scotland: St Andrew's Day, a Tuesday
        date(2026, 8, 3),  # Scotland: summer bank holiday (England's is the last Monday)
    ],
)
def test_scotland_only_holidays_are_working_days_in_england(day: date) -> None:
    assert HOURS.is_working_day(day)
    assert HOURS.bank_holiday_name(day) is None
    assert not WorkingHours(subdiv="SCT").is_working_day(day)


def test_second_of_january_is_not_an_england_holiday() -> None:
    assert HOURS.bank_holiday_name(date(2027, 1, 2)) is None
    assert HOURS.bank_holiday_name(date(2026, 1, 2)) is None
    assert HOURS.is_working_day(date(2026, 1, 2))  # a Friday


# --- clock changes --------------------------------------------------------------------------


def test_spring_forward_2027_over_easter() -> None:
    # Clocks go forward on Sun 28 Mar 2027, between Good Friday and Easter Monday.
    thursday = london(2027, 3, 25, 16, 0)
    assert thursday == utc(2027, 3, 25, 16, 0)  # GMT
    deadline = HOURS.add_working_hours(thursday, 2)
    assert deadline == london(2027, 3, 30, 10, 0)
    assert deadline == utc(2027, 3, 30, 9, 0)  # BST
    assert HOURS.working_hours_between(thursday, deadline) == pytest.approx(2)


def test_fall_back_2026() -> None:
    # Clocks go back on Sun 25 Oct 2026.
    friday = london(2026, 10, 23, 16, 0)
    assert friday == utc(2026, 10, 23, 15, 0)  # BST
    deadline = HOURS.add_working_hours(friday, 2)
    assert deadline == utc(2026, 10, 26, 10, 0)  # GMT
    start = london(2026, 10, 23, 9, 0)
    end = london(2026, 10, 26, 17, 0)
    assert HOURS.working_hours_between(start, end) == pytest.approx(16)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2027, 3, 25, 8, 59), False),  # 08:59 GMT
        (utc(2027, 3, 25, 9, 0), True),  # 09:00 GMT
        (utc(2027, 3, 30, 7, 59), False),  # 08:59 BST
        (utc(2027, 3, 30, 8, 0), True),  # 09:00 BST
        (utc(2027, 3, 30, 15, 59), True),  # 16:59 BST
        (utc(2027, 3, 30, 16, 0), False),  # 17:00 BST
        (utc(2026, 10, 23, 8, 0), True),  # 09:00 BST
        (utc(2026, 10, 26, 8, 30), False),  # 08:30 GMT
        (utc(2026, 10, 26, 9, 0), True),  # 09:00 GMT
        (utc(2026, 10, 26, 16, 30), True),  # 16:30 GMT
    ],
)
def test_opening_follows_london_wall_clock_across_clock_changes(
    at: datetime, expected: bool
) -> None:
    assert HOURS.is_open(at) is expected


# --- elapsed working hours ------------------------------------------------------------------


def test_working_hours_between() -> None:
    monday = london(2026, 11, 16, 9, 0)
    assert HOURS.working_hours_between(monday, monday) == 0
    assert HOURS.working_hours_between(monday, london(2026, 11, 16, 12, 30)) == 3.5
    assert HOURS.working_hours_between(london(2026, 11, 13, 18), london(2026, 11, 16, 8)) == 0
    assert HOURS.working_hours_between(london(2026, 11, 13, 16), london(2026, 11, 16, 10)) == 2
    assert HOURS.working_hours_between(london(2026, 12, 24, 9), london(2026, 12, 29, 17)) == 16


def test_working_hours_between_is_antisymmetric() -> None:
    a, b = london(2026, 11, 13, 16), london(2026, 11, 16, 10)
    assert HOURS.working_hours_between(b, a) == -2


STARTS = [
    london(2026, 11, 16, 9, 0),  # Monday opening
    london(2026, 11, 18, 13, 47, 12),  # mid-week, odd minute
    london(2026, 11, 13, 16, 30),  # Friday afternoon
    london(2026, 11, 14, 3, 0),  # Saturday night
    london(2026, 12, 23, 15, 0),  # before Christmas
    london(2027, 3, 24, 10, 0),  # before Easter and the spring clock change
    london(2026, 10, 22, 14, 0),  # before the autumn clock change
    london(2026, 11, 16, 17, 0),  # at closing
]


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("hours", [0, 0.5, 1, 2, 7.99, 8, 8.5, 16, 24, 37.5, 100])
def test_working_hours_between_inverts_add_working_hours(start: datetime, hours: float) -> None:
    deadline = HOURS.add_working_hours(start, hours)
    assert deadline >= start
    assert deadline.tzinfo == UTC
    assert HOURS.working_hours_between(start, deadline) == pytest.approx(hours, abs=1e-6)


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("days", [0, 1, 3, 10])
def test_add_working_hours_inverts_working_hours_between(start: datetime, days: int) -> None:
    end = HOURS.next_opening(start + timedelta(days=days, hours=5))
    end += timedelta(minutes=95)  # strictly inside a working day
    assert HOURS.is_open(end)
    elapsed = HOURS.working_hours_between(start, end)
    assert HOURS.add_working_hours(start, elapsed) == end


# --- inputs and configuration ---------------------------------------------------------------


def test_other_aware_timezones_are_accepted_and_results_are_utc() -> None:
    local = datetime(2026, 11, 13, 16, 0, tzinfo=LONDON)
    deadline = HOURS.add_working_hours(local, 2)
    assert deadline == london(2026, 11, 16, 10, 0)
    assert deadline.tzinfo == UTC


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 11, 16, 10, 0)
    aware = utc(2026, 11, 16, 10, 0)
    with pytest.raises(ValueError):
        HOURS.is_open(naive)
    with pytest.raises(ValueError):
        HOURS.next_opening(naive)
    with pytest.raises(ValueError):
        HOURS.add_working_hours(naive, 1)
    with pytest.raises(ValueError):
        HOURS.working_hours_between(naive, aware)
    with pytest.raises(ValueError):
        HOURS.working_hours_between(aware, naive)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": time(17), "end": time(9)},
        {"start": time(9), "end": time(9)},
        {"start": time(9, tzinfo=UTC)},
        {"tz": "Mars/Olympus_Mons"},
        {"region": "XX"},
        {"subdiv": "NOPE"},
    ],
)
def test_bad_configuration_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        WorkingHours(**kwargs)  # type: ignore[arg-type]


def test_custom_hours() -> None:
    late = WorkingHours(start=time(10), end=time(14, 30))
    assert late.add_working_hours(london(2026, 11, 13, 14, 0), 1) == london(2026, 11, 16, 10, 30)
    assert late.working_hours_between(london(2026, 11, 16), london(2026, 11, 17)) == 4.5
