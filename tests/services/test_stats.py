"""Contract figures checked against numbers worked out by hand on a small fixture (May 2026:
the Early May bank holiday is Monday 4 May and the Spring bank holiday Monday 25 May)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.services import appointments, registry, stats
from bot.services.errors import (
    BadPeriod,
    NotFound,
    StatsNoProvider,
    StatsNotAllowed,
    StatsOtherProvider,
)
from bot.services.people import Person
from bot.services.stats import Period, PeriodChoice, RowLevel
from storage.db import Database
from storage.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Attendance,
    AttendanceStatus,
    Category,
    EsolClass,
    Household,
    StaffRole,
    Ticket,
    TicketStatus,
)

LONDON = ZoneInfo("Europe/London")
MAY = Period(date(2026, 5, 1), date(2026, 5, 31))
NOW = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 5) -> datetime:
    """A London wall-clock time in 2026, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def _ticket(
    session: Session,
    household: Household,
    provider_id: int,
    category: str,
    opened: datetime,
    due: datetime,
    answered: datetime | None = None,
    resolved: datetime | None = None,
    *,
    urgent: bool = False,
) -> None:
    """A ticket with the given times."""
    cat = session.exec(select(Category).where(Category.code == category)).first()
    assert cat is not None
    session.add(
        Ticket(
            household_id=household.id or 0,
            member_id=1,
            category_id=cat.id,
            provider_id=provider_id,
            urgent=urgent,
            status=TicketStatus.RESOLVED if resolved else TicketStatus.RECEIVED,
            created_at=opened,
            due_at=due,
            first_response_at=answered,
            resolved_at=resolved,
        )
    )


class Fixture:
    """Ids of the fixture's providers, households and staff."""

    a: int
    b: int
    lead_a: int
    caseworker: int


def build(db: Database) -> Fixture:
    """Two providers, their households, tickets, attendance and an unreachable member."""
    ids = Fixture()
    with db.session() as session:
        a, _ = registry.add_provider(session, name="Kent Refugee Action", districts=["Dover"])
        b, _ = registry.add_provider(session, name="East Kent Support", districts=["Canterbury"])
        ids.a, ids.b = a.id or 0, b.id or 0
        ids.lead_a = registry.add_staff(session, role="lead", name="Lea", provider=a.name).id or 0
        ids.caseworker = (
            registry.add_staff(session, role="caseworker", name="Sam", provider=a.name).id or 0
        )
        home = registry.add_family(
            session, ref="KH-0001", district="Dover", scheme="VPRS", arrived="2024-05-01"
        )
        other = registry.add_family(
            session, ref="KH-0002", district="Canterbury", scheme="VPRS", arrived="2024-05-01"
        )
        amina = registry.add_member(session, family="KH-0001", name="Amina")
        registry.add_member(session, family="KH-0002", name="Huda")
        amina.unreachable_at = at(20, 12)
        session.add(amina)
        session.flush()
        # Provider A. First responses: 2, 2, 0.5, 16 working hours; resolutions 12 and 8.
        # Fri 22 May 16:00 -> Tue 26 May 10:00: Fri 1 h, weekend, bank holiday, Tue 1 h = 2 h.
        _ticket(session, home, ids.a, "housing", at(22, 16), at(26, 15), at(26, 10), at(27, 12))
        # Opened on the bank holiday Mon 4 May, answered Tue 11:00 (2 h), after its due time.
        _ticket(session, home, ids.a, "health", at(4, 10), at(5, 10), at(5, 11), urgent=True)
        # Wed 6 May 09:30 -> 10:00 (0.5 h); resolved Thu 09:30: 7.5 h + 0.5 h = 8 h.
        _ticket(session, home, ids.a, "housing", at(6, 9, 30), at(6, 17), at(6, 10), at(7, 9, 30))
        # Thu 7 May 14:00 -> Mon 11 May 14:00: 3 + 8 + 5 = 16 h; due Fri 14:00, so breached.
        _ticket(session, home, ids.a, "money", at(7, 14), at(8, 14), at(11, 14))
        # Fri 29 May, never answered, due Mon 1 June: breached and overdue now.
        _ticket(session, home, ids.a, "other", at(29, 12), at(1, 12, month=6))
        # Opened in April, never answered: overdue now but not a May ticket.
        _ticket(session, home, ids.a, "other", at(30, 12, month=4), at(1, 12))
        # Provider B: one ticket, 4 working hours to the first response.
        _ticket(session, other, ids.b, "school", at(12, 9), at(12, 17), at(12, 13))
        _attendance(session, home, amina.id or 0)
    return ids


def _attendance(session: Session, home: Household, member_id: int) -> None:
    """Two kept appointments and one missed (one kept in June); ESOL 2 attended, 1 absent,
    1 apology in May, and an "I will come" in June."""
    for day, month, kept in ((12, 5, True), (20, 5, False), (2, 6, True)):
        appointment = Appointment(
            household_id=home.id or 0,
            kind=AppointmentKind.EXTERNAL,
            starts_at=at(day, 10, month=month),
            ends_at=at(day, 11, month=month),
            status=AppointmentStatus.KEPT if kept else AppointmentStatus.MISSED,
        )
        session.add(appointment)
        session.flush()
        status = AttendanceStatus.KEPT if kept else AttendanceStatus.MISSED
        session.add(
            Attendance(household_id=home.id or 0, appointment_id=appointment.id, status=status)
        )
    esol = EsolClass(
        name="ESOL", venue="Library", weekday=0, start_time="10:00", minutes=120,
        term_from=date(2026, 4, 1), term_to=date(2026, 7, 31),
    )  # fmt: skip
    session.add(esol)
    session.flush()
    for day, status in (
        (date(2026, 5, 11), AttendanceStatus.ATTENDED),
        (date(2026, 5, 18), AttendanceStatus.ATTENDED),
        (date(2026, 5, 25), AttendanceStatus.ABSENT),
        (date(2026, 5, 4), AttendanceStatus.APOLOGY),
        (date(2026, 6, 1), AttendanceStatus.WILL_COME),
    ):
        session.add(
            Attendance(
                household_id=home.id or 0, member_id=member_id, class_id=esol.id,
                session_on=day, status=status,
            )
        )  # fmt: skip


def staff(role: StaffRole, staff_id: int, provider_id: int | None = None) -> Person:
    """A member of staff as the services see them."""
    return Person(
        telegram_user_id=staff_id + 100, kind="staff", language="en", staff_id=staff_id,
        role=role, provider_id=provider_id,
    )  # fmt: skip


def _row(figures: stats.Figures, level: RowLevel, provider_id: int | None) -> stats.Row:
    """The one row of a level and provider."""
    found = [r for r in figures.rows if r.level == level and r.provider_id == provider_id]
    assert len(found) == 1, found
    return found[0]


def test_figures_match_the_hand_worked_fixture(db: Database) -> None:
    ids = build(db)
    with db.session() as session:
        figures = stats.compute(session, period=MAY, now=NOW)
    a = _row(figures, RowLevel.PROVIDER, ids.a)
    assert a.provider == "Kent Refugee Action"
    assert (a.opened, a.urgent, a.breached, a.overdue_now) == (5, 1, 3, 2)
    assert a.by_category == {"housing": 2, "health": 1, "money": 1, "other": 1}
    assert sorted(a.first_response) == pytest.approx([0.5, 2.0, 2.0, 16.0])
    assert a.first_response_median == pytest.approx(2.0)  # (2 + 2) / 2
    assert a.first_response_p90 == pytest.approx(11.8)  # 2 + (16 - 2) * 0.7
    assert sorted(a.resolution) == pytest.approx([8.0, 12.0])
    assert a.resolution_median == pytest.approx(10.0)
    assert a.resolution_p90 == pytest.approx(11.6)  # 8 + (12 - 8) * 0.9
    assert (a.kept, a.missed, a.attended, a.absent, a.apology) == (1, 1, 2, 1, 1)
    assert a.esol_rate == pytest.approx(0.5)  # 2 / (2 + 1 + 1); "I will come" is not a mark
    assert a.unreachable == 1
    b = _row(figures, RowLevel.PROVIDER, ids.b)
    assert (b.opened, b.first_response_median, b.breached, b.overdue_now) == (1, 4.0, 0, 0)
    assert b.esol_rate is None
    total = figures.total
    assert total.level == RowLevel.TOTAL
    assert (total.opened, total.overdue_now, total.unreachable) == (6, 2, 1)
    assert total.first_response_median == pytest.approx(2.0)  # [0.5, 2, 2, 4, 16]
    lot_a = _row(figures, RowLevel.LOT, ids.a)
    assert lot_a.lot == "Kent Refugee Action: Dover"  # the Lot as the registry names it
    assert lot_a.opened == 5
    assert not figures.empty


def test_working_hours_across_good_friday_and_easter_monday() -> None:
    # Good Friday (3 April 2026) and Easter Monday are both bank holidays: a ticket opened on
    # Good Friday at 16:00 and answered on Tuesday at 10:00 waited one working hour.
    hours = stats.WORKING_HOURS.working_hours_between(at(3, 16, month=4), at(7, 10, month=4))
    assert hours == pytest.approx(1.0)
    # Thursday 16:00 before Easter -> Tuesday 10:00: Thursday's last hour plus Tuesday's first.
    hours = stats.WORKING_HOURS.working_hours_between(at(2, 16, month=4), at(7, 10, month=4))
    assert hours == pytest.approx(2.0)


def test_attendance_agrees_with_the_appointments_service(db: Database) -> None:
    ids = build(db)
    with db.session() as session:
        figures = stats.compute(session, period=MAY, now=NOW)
        theirs = appointments.provider_counts(session, ids.a, MAY.start, MAY.end)
    a = _row(figures, RowLevel.PROVIDER, ids.a)
    assert (a.kept, a.missed, a.attended, a.absent, a.apology) == (
        theirs.kept, theirs.missed, theirs.attended, theirs.absent, theirs.apology,
    )  # fmt: skip


def test_a_lead_gets_only_their_provider(db: Database) -> None:
    ids = build(db)
    lead = staff(StaffRole.LEAD, ids.lead_a, ids.a)
    with db.session() as session:
        figures = stats.figures_for(session, person=lead, period=MAY, now=NOW)
        assert {r.provider_id for r in figures.rows} == {ids.a}
        assert figures.total.level == RowLevel.PROVIDER and figures.total.opened == 5
        mine = stats.figures_for(session, person=lead, period=MAY, now=NOW, provider_id=ids.a)
        assert mine.total.opened == 5
        with pytest.raises(StatsOtherProvider):
            stats.figures_for(session, person=lead, period=MAY, now=NOW, provider_id=ids.b)


def test_caseworkers_families_and_leads_without_a_provider_are_refused(db: Database) -> None:
    ids = build(db)
    member = Person(telegram_user_id=9, kind="member", language="ar", member_id=1)
    with db.session() as session:
        for person in (staff(StaffRole.CASEWORKER, ids.caseworker, ids.a), member):
            with pytest.raises(StatsNotAllowed):
                stats.figures_for(session, person=person, period=MAY, now=NOW)
        with pytest.raises(StatsNoProvider):
            stats.figures_for(session, person=staff(StaffRole.LEAD, 99), period=MAY, now=NOW)
        coordinator = staff(StaffRole.COORDINATOR, 98)
        with pytest.raises(NotFound):
            stats.figures_for(session, person=coordinator, period=MAY, now=NOW, provider_id=999)
        one = stats.figures_for(
            session, person=coordinator, period=MAY, now=NOW, provider_id=ids.b
        )
        assert [r.provider_id for r in one.rows] == [ids.b, ids.b]  # provider row, Lot row


def test_an_empty_period_is_empty_not_an_error(db: Database) -> None:
    with db.session() as session:
        registry.add_provider(session, name="Kent Refugee Action", districts=["Dover"])
        figures = stats.compute(session, period=MAY, now=NOW)
    assert figures.empty
    assert figures.total.opened == 0 and figures.total.first_response_median is None
    rows = list(csv.reader(io.StringIO(stats.to_csv(figures).decode("utf-8-sig"))))
    assert rows[1][rows[0].index("tickets_opened")] == "0"


def test_periods_from_buttons_and_typed_dates() -> None:
    today = date(2026, 5, 15)
    assert stats.period_for(PeriodChoice.THIS_MONTH, today) == Period(date(2026, 5, 1), today)
    assert stats.period_for(PeriodChoice.LAST_MONTH, today) == Period(
        date(2026, 4, 1), date(2026, 4, 30)
    )
    assert stats.period_for(PeriodChoice.LAST_QUARTER, today) == Period(
        date(2026, 1, 1), date(2026, 3, 31)
    )
    assert stats.period_for(PeriodChoice.THIS_YEAR, today) == Period(date(2026, 1, 1), today)
    january = date(2026, 1, 10)
    assert stats.period_for(PeriodChoice.LAST_MONTH, january) == Period(
        date(2025, 12, 1), date(2025, 12, 31)
    )
    assert stats.period_for(PeriodChoice.LAST_QUARTER, january) == Period(
        date(2025, 10, 1), date(2025, 12, 31)
    )
    assert stats.parse_period("٢٠٢٦-٠١-٠١", "2026-03-31") == Period(
        date(2026, 1, 1), date(2026, 3, 31)
    )
    with pytest.raises(BadPeriod) as caught:
        stats.parse_period("2026-03-31", "2026-01-01")
    assert caught.value.details["reason"] == "end_before_start"
    for start, end, reason in (
        ("2026-02-30", "2026-03-01", "bad_date"),
        ("yesterday", "2026-03-01", "bad_date"),
        ("2020-01-01", "2026-01-01", "too_long"),
    ):
        with pytest.raises(BadPeriod) as caught:
            stats.parse_period(start, end)
        assert caught.value.details["reason"] == reason


def test_percentiles_interpolate_between_ranks() -> None:
    assert stats.percentile([], 0.5) is None
    assert stats.percentile([7.0], 0.9) == 7.0
    assert stats.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    assert stats.percentile([10.0, 0.0, 5.0], 0.9) == pytest.approx(9.0)  # 5 + 5 * 0.8


def test_csv_columns_and_values(db: Database) -> None:
    ids = build(db)
    with db.session() as session:
        figures = stats.compute(session, period=MAY, now=NOW)
    raw = stats.to_csv(figures)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    header = list(rows[0])
    assert header[:8] == [
        "from", "to", "data_as_of", "level", "provider_id", "provider", "lot_id", "lot",
    ]  # fmt: skip
    assert "opened_housing" in header and "first_response_p90_wh" in header
    assert "esol_attendance_rate" in header and "families_unreachable" in header
    assert rows[0]["level"] == "total" and rows[0]["tickets_opened"] == "6"
    a = next(r for r in rows if r["level"] == "provider" and r["provider_id"] == str(ids.a))
    assert (a["from"], a["to"]) == ("2026-05-01", "2026-05-31")
    assert a["data_as_of"] == "2026-06-03T12:00:00+00:00"
    assert a["opened_housing"] == "2" and a["opened_school"] == "0"
    assert a["first_response_median_wh"] == "2.0" and a["first_response_p90_wh"] == "11.8"
    assert a["resolution_median_wh"] == "10.0" and a["breached"] == "3"
    assert a["overdue_now"] == "2" and a["esol_attendance_rate"] == "0.5"
    assert a["appointments_kept"] == "1" and a["families_unreachable"] == "1"
    b = next(r for r in rows if r["level"] == "provider" and r["provider_id"] == str(ids.b))
    assert b["esol_attendance_rate"] == "" and b["resolution_median_wh"] == ""
    data = stats.to_json(figures)
    assert data["rows"][0]["tickets_opened"] == 6 and data["empty"] is False


def test_a_formula_like_provider_name_is_quoted_in_the_csv(db: Database) -> None:
    with db.session() as session:
        registry.add_provider(session, name="=HYPERLINK(1)", districts=["Dover"])
        registry.add_family(
            session, ref="KH-0009", district="Dover", scheme="VPRS", arrived="2024-05-01"
        )
        member = registry.add_member(session, family="KH-0009", name="X")
        member.unreachable_at = NOW
        session.add(member)
        session.flush()
        figures = stats.compute(session, period=MAY, now=NOW)
    text = stats.to_csv(figures).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text
