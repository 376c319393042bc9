"""When reminders are due: offsets in real time, quiet hours on the London wall clock, exact in
summer, in winter and across both clock changes; and the settings' parse errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.services.reminder_times import (
    QuietHours,
    ReminderPolicy,
    local_datetime,
    parse_duration,
    parse_offsets,
    parse_quiet_hours,
)

TWO_HOURS = timedelta(hours=2)
DAY = timedelta(hours=24)
QUIET_OFF = ReminderPolicy(quiet=None)
DEFAULT = ReminderPolicy()


def utc(*args: int) -> datetime:
    """A UTC instant."""
    return datetime(*args, tzinfo=UTC)


def test_after_the_october_change_a_9am_class_is_reminded_at_7_local() -> None:
    # Monday 26 October 2026, the day after the last Sunday of October: London is on GMT.
    event = local_datetime(date(2026, 10, 26), "09:00")
    assert event == utc(2026, 10, 26, 9, 0)
    assert QUIET_OFF.due_at(event, TWO_HOURS) == utc(2026, 10, 26, 7, 0)


def test_after_the_october_change_quiet_hours_move_it_to_the_sunday_evening() -> None:
    event = local_datetime(date(2026, 10, 26), "09:00")
    # 07:00 is inside 21:00-08:00: the last allowed time before is 21:00 on Sunday (GMT).
    assert DEFAULT.due_at(event, TWO_HOURS) == utc(2026, 10, 25, 21, 0)


def test_after_the_march_change_a_9am_class_is_reminded_at_7_local() -> None:
    # Monday 30 March 2026, the day after the clocks went forward: London is on BST (UTC+1).
    event = local_datetime(date(2026, 3, 30), "09:00")
    assert event == utc(2026, 3, 30, 8, 0)
    assert QUIET_OFF.due_at(event, TWO_HOURS) == utc(2026, 3, 30, 6, 0)


def test_summer_and_winter_daytime_reminders() -> None:
    summer = local_datetime(date(2026, 7, 15), "14:00")  # BST
    assert summer == utc(2026, 7, 15, 13, 0)
    assert DEFAULT.due_at(summer, DAY) == utc(2026, 7, 14, 13, 0)
    assert DEFAULT.due_at(summer, TWO_HOURS) == utc(2026, 7, 15, 11, 0)
    winter = local_datetime(date(2026, 1, 14), "14:00")  # GMT
    assert winter == utc(2026, 1, 14, 14, 0)
    assert DEFAULT.due_at(winter, DAY) == utc(2026, 1, 13, 14, 0)
    assert DEFAULT.due_at(winter, TWO_HOURS) == utc(2026, 1, 14, 12, 0)


def test_an_offset_across_the_october_change_is_real_elapsed_time() -> None:
    # Sunday 25 October 2026 10:00 GMT; 24 hours earlier is Saturday 11:00 BST.
    event = local_datetime(date(2026, 10, 25), "10:00")
    assert DEFAULT.due_at(event, DAY) == utc(2026, 10, 24, 10, 0)


def test_an_offset_across_the_march_change_is_real_elapsed_time() -> None:
    # Sunday 29 March 2026 12:00 BST (11:00 UTC); 24 hours earlier is Saturday 11:00 GMT.
    event = local_datetime(date(2026, 3, 29), "12:00")
    assert DEFAULT.due_at(event, DAY) == utc(2026, 3, 28, 11, 0)


def test_quiet_hours_are_exclusive_at_both_ends() -> None:
    evening = local_datetime(date(2026, 1, 14), "23:00")  # 2h before: 21:00 exactly
    assert DEFAULT.due_at(evening, TWO_HOURS) == utc(2026, 1, 14, 21, 0)
    morning = local_datetime(date(2026, 1, 14), "10:00")  # 2h before: 08:00 exactly
    assert DEFAULT.due_at(morning, TWO_HOURS) == utc(2026, 1, 14, 8, 0)
    just_inside = local_datetime(date(2026, 1, 14), "09:59")  # 07:59: moved to 21:00 before
    assert DEFAULT.due_at(just_inside, TWO_HOURS) == utc(2026, 1, 13, 21, 0)


def test_a_reminder_in_the_evening_moves_to_21_the_same_evening() -> None:
    event = local_datetime(date(2026, 7, 16), "09:00")  # 24h before is 09:00: allowed
    assert DEFAULT.due_at(event, DAY) == utc(2026, 7, 15, 8, 0)
    late = local_datetime(date(2026, 7, 16), "00:30")  # in quiet hours itself: kept
    assert DEFAULT.due_at(late, TWO_HOURS) == late - TWO_HOURS


def test_an_event_inside_quiet_hours_keeps_the_plain_time() -> None:
    early = local_datetime(date(2026, 1, 14), "07:30")
    assert DEFAULT.due_at(early, TWO_HOURS) == utc(2026, 1, 14, 5, 30)


def test_a_daytime_quiet_window_and_its_last_allowed_time() -> None:
    policy = ReminderPolicy(quiet=parse_quiet_hours("12:00-14:00"))
    event = local_datetime(date(2026, 1, 14), "15:00")  # 13:00 is quiet: moved to 12:00
    assert policy.due_at(event, TWO_HOURS) == utc(2026, 1, 14, 12, 0)


def test_a_naive_event_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DEFAULT.due_at(datetime(2026, 1, 14, 9, 0), TWO_HOURS)


def test_a_time_skipped_by_the_spring_change_moves_forward() -> None:
    # 01:30 on 29 March 2026 does not exist in London; it is read as 02:30 BST.
    assert local_datetime(date(2026, 3, 29), "01:30") == utc(2026, 3, 29, 1, 30)


def test_durations_and_offsets_parse() -> None:
    assert parse_duration("2h") == TWO_HOURS
    assert parse_duration(" 90m ") == timedelta(minutes=90)
    assert parse_duration("1D") == DAY
    assert parse_duration("0") == timedelta()
    assert parse_offsets("2h, 24h,2h") == (DAY, TWO_HOURS)
    assert parse_offsets("") == ()
    assert parse_quiet_hours("off") is None
    assert parse_quiet_hours("21:00-08:00") == QuietHours()


@pytest.mark.parametrize("text", ["2", "x", "-2h", "2w", "h"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0", "24h,0", "soon"])
def test_bad_offsets_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_offsets(text)


@pytest.mark.parametrize("text", ["21:00", "25:00-08:00", "21:00-21:00", "evening-morning"])
def test_bad_quiet_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quiet_hours(text)
