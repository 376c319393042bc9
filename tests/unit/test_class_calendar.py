"""Class sessions: weekly in term, skipped on England bank holidays and in breaks, and at the
same London wall-clock time on both sides of a clock change."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.services.class_calendar import SkipReason, next_sessions, sessions
from storage.models import EsolClass


def _class(weekday: int = 0, start: str = "10:00", **changes: object) -> EsolClass:
    values: dict = {"id": 1, "name": "Entry 3", "venue": "Library", "weekday": weekday,
                    "start_time": start, "minutes": 120, "term_from": date(2027, 1, 4),
                    "term_to": date(2027, 12, 31), "breaks": [], **changes}  # fmt: skip
    return EsolClass(**values)


def test_easter_monday_and_christmas_are_skipped_with_their_names() -> None:
    monday = {s.on: s for s in sessions(_class(0), date(2027, 3, 20), date(2027, 4, 6))}
    easter = monday[date(2027, 3, 29)]
    assert easter.skipped == SkipReason.BANK_HOLIDAY and easter.holiday == "Easter Monday"
    assert not easter.happens
    assert monday[date(2027, 3, 22)].happens and monday[date(2027, 4, 5)].happens
    # Christmas 2027 is a Saturday: no Saturday class that day, and none on the Monday
    # after either (the substitute bank holiday).
    saturday = sessions(_class(5), date(2027, 12, 18), date(2027, 12, 31))
    assert [(s.on.day, s.skipped, s.holiday) for s in saturday] == [
        (18, None, None),
        (25, SkipReason.BANK_HOLIDAY, "Christmas Day"),
    ]
    boxing = sessions(_class(0), date(2027, 12, 27), date(2027, 12, 27))
    assert boxing[0].skipped == SkipReason.BANK_HOLIDAY


def test_breaks_are_skipped_inclusive_and_term_bounds_hold() -> None:
    esol = _class(2, breaks=[["2027-02-15", "2027-02-19"]], term_to=date(2027, 3, 3))
    found = sessions(esol)
    assert found[0].on == date(2027, 1, 6) and found[-1].on == date(2027, 3, 3)
    skipped = [s.on for s in found if s.skipped == SkipReason.BREAK]
    assert skipped == [date(2027, 2, 17)]
    assert all(s.on.weekday() == 2 for s in found)


def test_ten_oclock_stays_ten_oclock_across_both_clock_changes() -> None:
    spring = {s.on: s for s in sessions(_class(4), date(2027, 3, 19), date(2027, 4, 2))}
    assert spring[date(2027, 3, 19)].starts_at == datetime(2027, 3, 19, 10, tzinfo=UTC)  # GMT
    assert spring[date(2027, 4, 2)].starts_at == datetime(2027, 4, 2, 9, tzinfo=UTC)  # BST
    # Clocks go back on Sunday 31 October 2027: Monday the 25th is BST, 1 November is GMT.
    autumn = {s.on: s for s in sessions(_class(0), date(2027, 10, 25), date(2027, 11, 1))}
    assert autumn[date(2027, 10, 25)].starts_at == datetime(2027, 10, 25, 9, tzinfo=UTC)
    assert autumn[date(2027, 11, 1)].starts_at == datetime(2027, 11, 1, 10, tzinfo=UTC)
    assert autumn[date(2027, 11, 1)].ends_at == datetime(2027, 11, 1, 12, tzinfo=UTC)


def test_next_sessions_skip_what_does_not_happen() -> None:
    after = datetime(2027, 3, 22, 10, 30, tzinfo=UTC)  # the 22 March session has started
    found = next_sessions(_class(0), after, 2)
    assert [s.on for s in found] == [date(2027, 4, 5), date(2027, 4, 12)]  # not Easter Monday
