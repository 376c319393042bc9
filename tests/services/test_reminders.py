"""Reminders: planned with their event, claimed into the outbox exactly once, cancelled or
missed when their event changed, answered from their buttons; on both databases."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, col, select

from bot.delivery.lanes import Lane
from bot.services import registry, reminders
from bot.services.errors import ReminderClosed, ReminderGone
from bot.services.reminder_times import ReminderPolicy
from storage.db import Database
from storage.models import (
    Appointment,
    AppointmentKind,
    AppointmentMode,
    AppointmentStatus,
    Attendance,
    AttendanceStatus,
    Enrolment,
    EsolClass,
    NoticeKind,
    Notification,
    Reminder,
    ReminderState,
)
from tests.conftest import postgres_url

# Wednesday 14 January 2026, 10:00 GMT.
NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
POLICY = ReminderPolicy()
FAMILY, OTHER, CASEWORKER = 500, 501, 600


def _world(session: Session) -> tuple[int, int, int]:
    """A caseworker and a family of two linked, consented members; returns their ids."""
    registry.add_provider(session, name="A", districts=["Dover"])
    staff = registry.add_staff(session, role="caseworker", name="Sam", provider="A")
    staff.telegram_user_id = CASEWORKER
    session.flush()
    registry.add_family(
        session, ref="HA", district="Dover", scheme="VPRS", arrived="2024-01-01",
        caseworker_id=staff.id,
    )  # fmt: skip
    ids = []
    for name, chat in (("Amina", FAMILY), ("Omar", OTHER)):
        member = registry.add_member(session, family="HA", name=name)
        member.telegram_user_id, member.consent_at = chat, NOW - timedelta(days=30)
        session.add(member)
        session.flush()
        ids.append(member.id or 0)
    return staff.id or 0, ids[0], ids[1]


def _appointment(session: Session, staff_id: int, starts_at: datetime) -> Appointment:
    """A booked office meeting with the caseworker."""
    household = registry.find_household(session, "HA")
    appointment = Appointment(
        household_id=household.id or 0,
        staff_id=staff_id,
        kind=AppointmentKind.BOOKING,
        mode=AppointmentMode.OFFICE,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30),
        created_at=NOW,
    )
    session.add(appointment)
    session.flush()
    return appointment


@pytest.fixture
def booked(db: Database) -> tuple[int, int, int, int]:
    """An office meeting on Friday 16 January 14:00 with its reminders planned at NOW:
    (appointment, staff, member, other member)."""
    with db.session() as session:
        staff, member, other = _world(session)
        appointment = _appointment(session, staff, datetime(2026, 1, 16, 14, 0, tzinfo=UTC))
        assert reminders.plan_appointment(session, appointment, POLICY, now=NOW) == 4
        return appointment.id or 0, staff, member, other


def _rows(db: Database) -> list[Reminder]:
    with db.session() as session:
        return list(session.exec(select(Reminder).order_by(col(Reminder.id))))


def _notices(db: Database, kind: NoticeKind) -> list[Notification]:
    with db.session() as session:
        query = select(Notification).where(Notification.kind == kind)
        return list(session.exec(query.order_by(col(Notification.id))))


def _claim(db: Database, now: datetime, limit: int = 200) -> reminders.ClaimResult:
    with db.session() as session:
        return reminders.claim_due(session, now=now, limit=limit)


def test_a_due_reminder_becomes_one_outbox_notice_once(
    db: Database, booked: tuple[int, int, int, int]
) -> None:
    appointment, _, member, _ = booked
    rows = _rows(db)
    assert {r.due_at for r in rows} == {
        datetime(2026, 1, 15, 14, 0, tzinfo=UTC),
        datetime(2026, 1, 16, 12, 0, tzinfo=UTC),
    }
    with db.session() as session:
        assert reminders.next_due(session) == datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
    assert _claim(db, NOW).claimed == 0
    day_before = datetime(2026, 1, 15, 14, 0, 5, tzinfo=UTC)
    assert _claim(db, day_before) == reminders.ClaimResult(claimed=2, queued=2)
    assert _claim(db, day_before).claimed == 0  # never twice
    notices = _notices(db, NoticeKind.FAMILY_REMINDER)
    assert sorted(n.chat_id for n in notices) == [FAMILY, OTHER]
    mine = next(n for n in notices if n.chat_id == FAMILY)
    row = next(r for r in _rows(db) if r.member_id == member and r.offset_minutes == 1440)
    assert row.state == ReminderState.QUEUED and row.notice_key == mine.key == f"reminder:{row.id}"
    assert mine.lane == Lane.REMINDER and mine.payload == {"reminder_id": row.id}
    assert mine.expires_at == datetime(2026, 1, 16, 14, 0, tzinfo=UTC)
    assert row.appointment_id == appointment
    with db.session() as session:
        assert reminders.next_due(session) == datetime(2026, 1, 16, 12, 0, tzinfo=UTC)


def test_an_event_booked_late_gets_only_the_reminders_still_ahead(db: Database) -> None:
    with db.session() as session:
        staff, _, _ = _world(session)
        soon = _appointment(session, staff, NOW + timedelta(hours=5))
        assert reminders.plan_appointment(session, soon, POLICY, now=NOW) == 2  # 2h, per member
    assert {r.offset_minutes for r in _rows(db)} == {120}


def test_a_reminder_whose_event_was_cancelled_meanwhile_is_not_sent(
    db: Database, booked: tuple[int, int, int, int]
) -> None:
    with db.session() as session:  # cancelled without its reminders (a race, or old data)
        appointment = session.get(Appointment, booked[0])
        assert appointment is not None
        appointment.status = AppointmentStatus.CANCELLED
        session.add(appointment)
    result = _claim(db, datetime(2026, 1, 15, 14, 1, tzinfo=UTC))
    assert result == reminders.ClaimResult(claimed=2, cancelled=2)
    assert _notices(db, NoticeKind.FAMILY_REMINDER) == []


def test_cancel_for_appointment_removes_its_pending_reminders(
    db: Database, booked: tuple[int, int, int, int]
) -> None:
    with db.session() as session:
        assert reminders.cancel_for_appointment(session, booked[0], now=NOW) == 4
    assert _claim(db, datetime(2026, 1, 16, 13, 0, tzinfo=UTC)).claimed == 0
    assert {r.state for r in _rows(db)} == {ReminderState.CANCELLED}


def test_after_a_long_outage_the_latest_due_reminder_goes_and_earlier_ones_are_missed(
    db: Database, booked: tuple[int, int, int, int]
) -> None:
    back = datetime(2026, 1, 16, 12, 30, tzinfo=UTC)  # both due, the meeting still ahead
    assert _claim(db, back) == reminders.ClaimResult(claimed=4, queued=2, missed=2)
    sent = {r.offset_minutes for r in _rows(db) if r.state == ReminderState.QUEUED}
    assert sent == {120}
    assert len(_notices(db, NoticeKind.FAMILY_REMINDER)) == 2


def test_reminders_due_while_down_for_an_event_already_begun_are_missed(
    db: Database, booked: tuple[int, int, int, int]
) -> None:
    back = datetime(2026, 1, 16, 14, 0, tzinfo=UTC)
    assert _claim(db, back) == reminders.ClaimResult(claimed=4, missed=4)
    assert {r.state for r in _rows(db)} == {ReminderState.MISSED}
    assert all(r.handled_at == back for r in _rows(db))
    assert _notices(db, NoticeKind.FAMILY_REMINDER) == []


def test_claims_go_in_batches(db: Database, booked: tuple[int, int, int, int]) -> None:
    later = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
    assert _claim(db, later, limit=1).claimed == 1
    assert _claim(db, later, limit=1).claimed == 1
    assert _claim(db, later, limit=1).claimed == 0


def _class(session: Session) -> EsolClass:
    """A Thursday morning class this term."""
    esol = EsolClass(
        name="ESOL Entry 1", venue="Dover Library", weekday=3, start_time="10:00", minutes=120,
        term_from=date(2026, 1, 5), term_to=date(2026, 2, 27),
    )  # fmt: skip
    session.add(esol)
    session.flush()
    return esol


def test_a_member_who_left_the_class_gets_no_reminder(db: Database) -> None:
    with db.session() as session:
        _, member, _ = _world(session)
        esol = _class(session)
        session.add(Enrolment(class_id=esol.id or 0, member_id=member, created_at=NOW))
        assert reminders.plan_enrolment(session, esol, member, POLICY, now=NOW) > 0
        enrolment = session.exec(select(Enrolment)).one()
        enrolment.ended_at = NOW  # left, without cancel_for_enrolment (old data)
        session.add(enrolment)
    result = _claim(db, datetime(2026, 1, 15, 8, 0, tzinfo=UTC))
    assert result == reminders.ClaimResult(claimed=1, cancelled=1)


# ---------------------------------------------------------------- the buttons


def _sent(db: Database, now: datetime = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)) -> None:
    assert _claim(db, now).queued > 0


def _mine(db: Database, member: int) -> int:
    return next(
        r.id or 0 for r in _rows(db) if r.member_id == member and r.state == ReminderState.QUEUED
    )


def test_i_will_come_is_recorded_once(db: Database, booked: tuple[int, int, int, int]) -> None:
    _sent(db)
    reminder = _mine(db, booked[2])
    with db.session() as session:
        first = reminders.respond(session, reminder, member_id=booked[2], will_come=True, now=NOW)
    with db.session() as session:
        again = reminders.respond(session, reminder, member_id=booked[2], will_come=True, now=NOW)
    assert first.changed and not again.changed
    assert first.answer == AttendanceStatus.WILL_COME
    row = next(r for r in _rows(db) if r.id == reminder)
    assert row.response == AttendanceStatus.WILL_COME and row.responded_at == NOW
    assert _notices(db, NoticeKind.STAFF_CANT_COME) == []


def test_i_cannot_come_tells_the_caseworker_once_and_offers_to_rebook(
    db: Database, booked: tuple[int, int, int, int]
) -> None:
    _sent(db)
    reminder = _mine(db, booked[2])
    for _ in range(2):  # a double tap
        with db.session() as session:
            result = reminders.respond(
                session, reminder, member_id=booked[2], will_come=False, now=NOW
            )
    assert result.rebook_appointment_id == booked[0]
    told = _notices(db, NoticeKind.STAFF_CANT_COME)
    assert [(n.chat_id, n.lane, n.payload) for n in told] == [
        (CASEWORKER, Lane.INTERACTIVE, {"reminder_id": reminder})
    ]


def test_buttons_of_another_member_or_forged_ids_are_refused(
    db: Database, booked: tuple[int, int, int, int]
) -> None:
    _sent(db)
    reminder = _mine(db, booked[2])
    for forged, member in ((reminder, booked[3]), (10**15, booked[2]), (0, booked[2])):
        with db.session() as session, pytest.raises(ReminderGone):
            reminders.respond(session, forged, member_id=member, will_come=True, now=NOW)
    assert {r.response for r in _rows(db)} == {None}


def test_answers_for_a_cancelled_or_past_event_record_nothing(
    db: Database, booked: tuple[int, int, int, int]
) -> None:
    _sent(db)
    reminder = _mine(db, booked[2])
    after = datetime(2026, 1, 16, 14, 5, tzinfo=UTC)
    with db.session() as session, pytest.raises(ReminderClosed) as past:
        reminders.respond(session, reminder, member_id=booked[2], will_come=True, now=after)
    assert past.value.details == {"reason": "past"}
    with db.session() as session:
        appointment = session.get(Appointment, booked[0])
        assert appointment is not None
        appointment.status = AppointmentStatus.CANCELLED
        session.add(appointment)
    with db.session() as session, pytest.raises(ReminderClosed) as cancelled:
        reminders.respond(session, reminder, member_id=booked[2], will_come=False, now=NOW)
    assert cancelled.value.details == {"reason": "cancelled"}
    assert {r.response for r in _rows(db)} == {None}
    assert _notices(db, NoticeKind.STAFF_CANT_COME) == []


def test_a_class_apology_is_recorded_as_attendance(db: Database) -> None:
    with db.session() as session:
        _, member, _ = _world(session)
        esol = _class(session)
        session.add(Enrolment(class_id=esol.id or 0, member_id=member, created_at=NOW))
        reminders.plan_enrolment(session, esol, member, POLICY, now=NOW)
    _sent(db, datetime(2026, 1, 15, 8, 0, tzinfo=UTC))
    reminder = _mine(db, member)
    for will_come in (True, False):  # changed their mind: one row, the latest answer
        with db.session() as session:
            reminders.respond(session, reminder, member_id=member, will_come=will_come, now=NOW)
    with db.session() as session:
        rows = session.exec(select(Attendance)).all()
        assert [(r.session_on, r.member_id, r.status) for r in rows] == [
            (date(2026, 1, 15), member, AttendanceStatus.APOLOGY)
        ]
    assert len(_notices(db, NoticeKind.STAFF_CANT_COME)) == 1


# ---------------------------------------------------------------- two claimers at once


@pytest.fixture(params=["sqlite", "postgres"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """One database that two separate engines (two bot processes) open."""
    if request.param == "postgres":
        url = postgres_url()
        setup = Database(url)
        SQLModel.metadata.drop_all(setup.engine)
    else:
        url = f"sqlite:///{tmp_path / 'reminders.db'}"
        setup = Database(url)
    setup.create_all()
    with setup.session() as session:
        registry.seed(session)
    setup.dispose()
    yield url


def test_two_claimers_at_once_take_disjoint_sets(shared_url: str) -> None:
    setup = Database(shared_url)
    start = datetime(2026, 2, 2, 14, 0, tzinfo=UTC)
    one_offset = ReminderPolicy(appointment=(timedelta(hours=2),))
    with setup.session() as session:
        staff, _, _ = _world(session)
        for _ in range(120):  # 120 meetings, 2 members each: 240 reminders due together
            appointment = _appointment(session, staff, start)
            reminders.plan_appointment(session, appointment, one_offset, now=NOW)
    setup.dispose()
    due = start - timedelta(minutes=90)
    counts: dict[str, int] = {"a": 0, "b": 0}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        """One process claiming in small batches until nothing is left."""

        async def drain(database: Database) -> None:
            while True:
                got = await database.run(reminders.claim_due, now=due, limit=7)
                if got.claimed == 0:
                    return
                counts[name] += got.queued

        database = Database(shared_url)
        try:
            asyncio.run(drain(database))
        except BaseException as exc:
            errors.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=work, args=(name,)) for name in counts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # A row taken by both would be counted twice (each claim counts what it queued).
    assert counts["a"] + counts["b"] == 240
    check = Database(shared_url)
    with check.session() as session:
        rows = session.exec(select(Reminder)).all()
        assert {r.state for r in rows} == {ReminderState.QUEUED}
        keys = [n.key for n in session.exec(select(Notification)).all()]
        assert sorted(keys) == sorted(f"reminder:{r.id}" for r in rows)
    check.dispose()
