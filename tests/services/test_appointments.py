"""The diary, external appointments, kept/missed once, and the attendance figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.services import appointments, flows, people, registry
from bot.services.appointments import ExternalInput, parse_external
from bot.services.errors import (
    AppointmentInFuture,
    BadAppointmentInput,
    Forbidden,
    NotFound,
    OutcomeRecorded,
)
from bot.services.people import Person
from bot.services.reminder_times import ReminderPolicy
from storage.db import Database
from storage.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Attendance,
    AttendanceStatus,
    NoticeKind,
    Notification,
    Reminder,
)

NOW = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)  # Monday 11 January 2027, 09:00 London
POLICY = ReminderPolicy()


@dataclass
class Office:
    """Two caseworkers of one provider, a lead, a coordinator and Sam's family."""

    sam: Person
    lee: Person
    lead: Person
    kim: Person
    other_lead: Person


def _person(session, staff_id: int, tg: int) -> Person:  # type: ignore[no-untyped-def]
    """Links a member of staff to a Telegram id and resolves them."""
    staff = registry.get_staff(session, staff_id)
    staff.telegram_user_id = tg
    session.add(staff)
    session.flush()
    return people.identify(session, telegram_user_id=tg, language_code="en")


@pytest.fixture
def office(db: Database) -> Office:
    with db.session() as session:
        registry.add_provider(session, name="A", districts=["Dover"])
        registry.add_provider(session, name="B", districts=["Swale"])
        sam = registry.add_staff(session, role="caseworker", name="Sam", provider="A")
        lee = registry.add_staff(session, role="caseworker", name="Lee", provider="A")
        lead = registry.add_staff(session, role="lead", name="Pat", provider="A")
        other = registry.add_staff(session, role="lead", name="Ola", provider="B")
        kim = registry.add_staff(session, role="coordinator", name="Kim")
        session.flush()
        registry.add_family(
            session, ref="KH-1", district="Dover", scheme="VPRS", arrived="2024-01-01",
            caseworker_id=sam.id, language="ar",
        )  # fmt: skip
        amina = registry.add_member(session, family="KH-1", name="Amina")
        registry.add_member(session, family="KH-1", name="Omar")  # not on Telegram
        amina.telegram_user_id, amina.consent_at = 900, NOW - timedelta(days=30)
        session.add(amina)
        registry.add_family(
            session, ref="KH-2", district="Dover", scheme="VPRS", arrived="2024-01-01",
            caseworker_id=lee.id,
        )  # fmt: skip
        return Office(
            sam=_person(session, sam.id or 0, 101),
            lee=_person(session, lee.id or 0, 102),
            lead=_person(session, lead.id or 0, 103),
            kim=_person(session, kim.id or 0, 104),
            other_lead=_person(session, other.id or 0, 105),
        )


def _add(db: Database, who: Person, line: str, now: datetime = NOW) -> appointments.Added:
    """``/appointments add`` in one transaction."""
    with db.session() as session:
        return appointments.add_external(
            session, person=who, details=parse_external(line), policy=POLICY, now=now
        )


def _count(db: Database, model: type) -> int:
    with db.session() as session:
        return len(session.exec(select(model)).all())


def test_parse_external_reads_the_form_and_london_time() -> None:
    found = parse_external("kh-1 2027-07-01 09:30 | GP | Dover Health Centre | Passport")
    assert found == ExternalInput(
        "KH-1", datetime(2027, 7, 1, 8, 30, tzinfo=UTC), "GP", "Dover Health Centre", "Passport"
    )  # BST: 09:30 London is 08:30 UTC
    winter = parse_external("KH-1 2027-01-12 9:30|Jobcentre|High St")
    assert winter.starts_at == datetime(2027, 1, 12, 9, 30, tzinfo=UTC) and winter.bring == ""
    arabic_digits = parse_external("KH-1 ٢٠٢٧-٠١-١٢ ٠٩:٣٠ | GP | Surgery")
    assert arabic_digits.starts_at == winter.starts_at


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("KH-1 2027-01-12 09:30 | GP", "format"),
        ("KH-1 2027-01-12 | GP | Surgery", "format"),
        ("2027-01-12 09:30 | GP | Surgery", "format"),
        ("KH-1 12/01/2027 09:30 | GP | Surgery", "format"),
        ("KH-1 2027-01-12 09:30 |  | Surgery", "format"),
        ("KH-1 2027-01-12 09:30 | a | b | c | d", "format"),
        ("KH-1 2027-02-30 09:30 | GP | Surgery", "date"),
        ("KH-1 2027-01-12 25:30 | GP | Surgery", "date"),
        ("KH-1 2027-01-12 09:30 | " + "x" * 201 + " | Surgery", "too_long"),
    ],
)
def test_parse_external_refuses_malformed_lines(line: str, reason: str) -> None:
    with pytest.raises(BadAppointmentInput) as caught:
        parse_external(line)
    assert caught.value.details["reason"] == reason


def test_add_external_stores_plans_and_tells_the_family_at_once(
    db: Database, office: Office
) -> None:
    added = _add(db, office.sam, "KH-1 2027-01-14 10:00 | Jobcentre interview | Dover JCP | ID")
    assert added.reference == "KH-1" and added.told == 1 and added.reminders == 2
    with db.session() as session:
        appointment = session.get(Appointment, added.appointment_id)
        assert appointment is not None
        assert appointment.kind == AppointmentKind.EXTERNAL
        assert appointment.staff_id == office.sam.staff_id
        assert (appointment.what, appointment.place, appointment.bring) == (
            "Jobcentre interview", "Dover JCP", "ID",
        )  # fmt: skip
        notices = session.exec(select(Notification)).all()
        assert [(n.kind, n.chat_id) for n in notices] == [
            (NoticeKind.FAMILY_APPOINTMENT_ADDED, 900)
        ]
        assert notices[0].payload == {"appointment_id": added.appointment_id}
        due = sorted(r.due_at for r in session.exec(select(Reminder)))
        # 24h and 2h before 10:00 on Thursday 14 January (winter: London is UTC).
        assert due == [datetime(2027, 1, 13, 10, tzinfo=UTC), datetime(2027, 1, 14, 8, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("who", "line", "error", "reason"),
    [
        ("sam", "KH-9 2027-01-14 10:00 | GP | Surgery", NotFound, "family"),
        ("sam", "KH-2 2027-01-14 10:00 | GP | Surgery", Forbidden, "not_yours"),
        ("other_lead", "KH-1 2027-01-14 10:00 | GP | Surgery", Forbidden, "not_yours"),
        ("sam", "KH-1 2027-01-11 08:59 | GP | Surgery", BadAppointmentInput, "past"),
        ("sam", "KH-1 2027-01-11 09:00 | GP | Surgery", BadAppointmentInput, "past"),
    ],
)
def test_add_external_refusals_store_nothing(
    db: Database, office: Office, who: str, line: str, error: type[Exception], reason: str
) -> None:
    with pytest.raises(error) as caught:
        _add(db, getattr(office, who), line)
    assert str(caught.value) == reason
    assert _count(db, Appointment) == _count(db, Notification) == _count(db, Reminder) == 0


def test_a_family_member_cannot_add(db: Database, office: Office) -> None:
    with db.session() as session:
        amina = people.identify(session, telegram_user_id=900, language_code="ar")
    with pytest.raises(Forbidden):
        _add(db, amina, "KH-1 2027-01-14 10:00 | GP | Surgery")


def test_leads_and_coordinators_may_add_for_households_they_hold(
    db: Database, office: Office
) -> None:
    assert _add(db, office.lead, "KH-2 2027-01-14 10:00 | GP | Surgery").reference == "KH-2"
    assert _add(db, office.kim, "KH-1 2027-01-14 11:00 | GP | Surgery").told == 1


def test_diary_shows_my_seven_days_and_marks_only_today_or_started(
    db: Database, office: Office
) -> None:
    today = _add(db, office.sam, "KH-1 2027-01-11 15:00 | GP | Surgery").appointment_id
    later = _add(db, office.sam, "KH-1 2027-01-17 10:00 | School | Dover School").appointment_id
    _add(db, office.sam, "KH-1 2027-01-18 10:00 | Too far | There")  # day 8: not shown
    _add(db, office.lee, "KH-2 2027-01-12 10:00 | Lee's | There")
    with db.session() as session:
        mine = appointments.diary(session, office.sam, now=NOW)
        lees = appointments.diary(session, office.lee, now=NOW)
        leads = appointments.diary(session, office.lead, now=NOW)
        others = appointments.diary(session, office.other_lead, now=NOW)
    assert [(e.id, e.markable) for e in mine] == [(today, True), (later, False)]
    assert mine[0].reference == "KH-1" and mine[0].what == "GP" and mine[0].place == "Surgery"
    assert [e.what for e in lees] == ["Lee's"]
    assert len(leads) == 3 and others == []


def test_a_caseworkers_diary_shows_external_appointments_of_their_households(
    db: Database, office: Office
) -> None:
    by_kim = _add(db, office.kim, "KH-1 2027-01-12 10:00 | GP | Surgery").appointment_id
    with db.session() as session:
        assert [e.id for e in appointments.diary(session, office.sam, now=NOW)] == [by_kim]


def test_kept_or_missed_is_recorded_once_with_an_attendance_row(
    db: Database, office: Office
) -> None:
    first = _add(db, office.sam, "KH-1 2027-01-11 15:00 | GP | Surgery").appointment_id
    second = _add(db, office.sam, "KH-1 2027-01-11 16:00 | Bank | High St").appointment_id
    tomorrow = _add(db, office.sam, "KH-1 2027-01-12 10:00 | Later | There").appointment_id
    at = NOW + timedelta(hours=7)
    with db.session() as session:
        appointments.record_outcome(
            session, person=office.sam, appointment_id=first, kept=True, now=at
        )
        appointments.record_outcome(
            session, person=office.sam, appointment_id=second, kept=False, now=at
        )
    for appointment_id, kept, error in [
        (first, False, OutcomeRecorded),
        (tomorrow, True, AppointmentInFuture),
    ]:
        with pytest.raises(error), db.session() as session:
            appointments.record_outcome(
                session, person=office.sam, appointment_id=appointment_id, kept=kept, now=at
            )
    for who, appointment_id in [(office.lee, first), (office.sam, 2**31 - 1)]:
        with pytest.raises(NotFound), db.session() as session:
            appointments.record_outcome(
                session, person=who, appointment_id=appointment_id, kept=True, now=at
            )
    with db.session() as session:
        rows = session.exec(select(Attendance).order_by(Attendance.id)).all()
        assert [(r.appointment_id, r.status) for r in rows] == [
            (first, AttendanceStatus.KEPT),
            (second, AttendanceStatus.MISSED),
        ]
        status = session.get(Appointment, first).status  # type: ignore[union-attr]
        assert status == AppointmentStatus.KEPT


def test_attendance_counts_per_provider_and_period(db: Database, office: Office) -> None:
    first = _add(db, office.sam, "KH-1 2027-01-11 15:00 | GP | Surgery").appointment_id
    second = _add(db, office.sam, "KH-1 2027-01-11 16:00 | Bank | High St").appointment_id
    at = NOW + timedelta(hours=8)
    with db.session() as session:
        for appointment_id, kept in [(first, True), (second, False)]:
            appointments.record_outcome(
                session, person=office.sam, appointment_id=appointment_id, kept=kept, now=at
            )
        household = registry.find_household(session, "KH-1")
        for on, status in [
            (date(2027, 1, 4), AttendanceStatus.ATTENDED),
            (date(2027, 1, 5), AttendanceStatus.ABSENT),
            (date(2027, 1, 6), AttendanceStatus.APOLOGY),
            (date(2026, 12, 1), AttendanceStatus.ATTENDED),  # outside the period
        ]:
            session.add(
                Attendance(household_id=household.id or 0, member_id=1, class_id=None,
                           session_on=on, status=status)
            )  # fmt: skip
        provider_a = registry.find_provider(session, "A").id
        counts = appointments.provider_counts(
            session, provider_a, date(2027, 1, 1), date(2027, 1, 31)
        )
        december = appointments.provider_counts(
            session, provider_a, date(2026, 12, 1), date(2026, 12, 31)
        )
        nobody = appointments.provider_counts(session, None, date(2027, 1, 1), date(2027, 1, 31))
    assert (counts.kept, counts.missed, counts.attended, counts.absent, counts.apology) == (
        1, 1, 1, 1, 1,
    )  # fmt: skip
    assert (december.kept, december.attended) == (0, 1)
    assert nobody.kept == nobody.attended == 0


def test_the_button_flow_adds_for_the_picked_family(db: Database, office: Office) -> None:
    with db.session() as session:
        assert appointments.start_adding(session, person=office.sam, household_id=1) == "KH-1"
    with pytest.raises(NotFound), db.session() as session:
        appointments.start_adding(session, person=office.sam, household_id=2)  # Lee's
    with pytest.raises(BadAppointmentInput), db.session() as session:
        appointments.add_from_flow(
            session, person=office.sam, text="tomorrow | GP | Surgery", policy=POLICY, now=NOW
        )
    with db.session() as session:  # a refusal keeps the flow: the caseworker types it again
        assert flows.active(session, office.sam.telegram_user_id, appointments.ADD_FLOW)
        added = appointments.add_from_flow(
            session, person=office.sam, text="2027-01-13 10:00 | GP | Surgery", policy=POLICY,
            now=NOW,
        )  # fmt: skip
        assert added is not None and added.reference == "KH-1"
    with db.session() as session:
        assert flows.current(session, office.sam.telegram_user_id) is None
        again = appointments.add_from_flow(
            session, person=office.sam, text="2027-01-13 10:00 | GP | X", policy=POLICY, now=NOW
        )
    assert again is None
