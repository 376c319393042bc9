"""ESOL classes: validation that stores nothing, enrolment with reminders and a notice, the
staff side (only their families), and the register of a past session."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from bot.services import classes, people, registry
from bot.services.errors import Conflict, InvalidInput, NotFound
from bot.services.people import Person
from bot.services.reminder_times import ReminderPolicy
from storage.db import Database
from storage.models import (
    Attendance,
    AttendanceStatus,
    Enrolment,
    EsolClass,
    NoticeKind,
    Notification,
    Reminder,
    ReminderState,
)

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # Monday 1 March 2027
POLICY = ReminderPolicy()
TERM = {"term_from": "2027-03-01", "term_to": "2027-04-12"}


def _add(session, **changes: object) -> EsolClass:  # type: ignore[no-untyped-def]
    values: dict = {"name": "Entry 3", "venue": "Dover Library", "weekday": "mon",
                    "time": "10:00", "minutes": 120, **TERM, **changes}  # fmt: skip
    return classes.add_class(session, **values)


@pytest.fixture
def world(db: Database) -> dict[str, Person]:
    with db.session() as session:
        registry.add_provider(session, name="A", districts=["Dover"])
        sam = registry.add_staff(session, role="caseworker", name="Sam", provider="A")
        lee = registry.add_staff(session, role="caseworker", name="Lee", provider="A")
        sam.telegram_user_id, lee.telegram_user_id = 101, 102
        session.add_all([sam, lee])
        session.flush()
        registry.add_family(
            session, ref="KH-1", district="Dover", scheme="VPRS", arrived="2024-01-01",
            caseworker_id=sam.id,
        )  # fmt: skip
        amina = registry.add_member(session, family="KH-1", name="Amina")
        amina.telegram_user_id, amina.consent_at = 900, NOW
        session.add(amina)
        registry.add_family(
            session, ref="KH-2", district="Dover", scheme="VPRS", arrived="2024-01-01",
            caseworker_id=lee.id,
        )  # fmt: skip
        registry.add_member(session, family="KH-2", name="Huda")
        _add(session, breaks=["2027-03-15:2027-03-19"])  # class 1
        return {
            "sam": people.identify(session, telegram_user_id=101, language_code="en"),
            "lee": people.identify(session, telegram_user_id=102, language_code="en"),
        }


def test_add_class_stores_a_normalised_class(db: Database) -> None:
    with db.session() as session:
        registry.add_provider(session, name="Kent Adult Education", districts=["Dover"])
        esol = _add(session, weekday="Tuesday", time="9:30", breaks=["2027-03-29:2027-04-02"],
                    provider="kent adult education")  # fmt: skip
        assert (esol.weekday, esol.start_time, esol.breaks) == (
            1, "09:30", [["2027-03-29", "2027-04-02"]],
        )  # fmt: skip
        assert esol.provider_id is not None


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"term_from": "2027-04-12", "term_to": "2027-03-01"}, "ends"),
        ({"breaks": ["2027-02-20:2027-03-02"]}, "outside the term"),
        ({"breaks": ["2027-04-10:2027-04-20"]}, "outside the term"),
        ({"breaks": ["2027-03-19:2027-03-15"]}, "ends before it starts"),
        ({"breaks": ["2027-03-15"]}, "bad break"),
        ({"weekday": "mun"}, "unknown weekday"),
        ({"time": "25:00"}, "bad time"),
        ({"time": "10am"}, "bad time"),
        ({"minutes": 0}, "--minutes"),
        ({"term_from": "2027-13-01"}, "bad --from date"),
        ({"name": " "}, "name"),
    ],
)
def test_add_class_refusals_store_nothing(
    db: Database, changes: dict[str, object], words: str
) -> None:
    with pytest.raises(InvalidInput) as caught, db.session() as session:
        _add(session, **changes)
    assert words in str(caught.value)
    with db.session() as session:
        assert session.exec(select(EsolClass)).all() == []


def test_unknown_provider_is_refused(db: Database) -> None:
    with pytest.raises(NotFound), db.session() as session:
        _add(session, provider="Nobody")


def test_enrol_plans_reminders_and_sends_the_timetable_reenrol_reopens(
    db: Database, world: dict[str, Person]
) -> None:
    with db.session() as session:
        done = classes.enrol(session, class_id=1, member_id=1, policy=POLICY, now=NOW)
    # Mondays 1 March to 12 April, 7 dates; the break week (15th) and Easter Monday (29th)
    # are skipped: 5 sessions, one reminder each 2h before; 1 March's (08:00) is already past.
    assert (done.reopened, done.reminders, done.told) == (False, 4, True)
    with pytest.raises(Conflict), db.session() as session:
        classes.enrol(session, class_id=1, member_id=1, policy=POLICY, now=NOW)
    with db.session() as session:
        assert classes.unenrol(session, class_id=1, member_id=1, now=NOW) == 4
        assert classes.timetable(session, 1) == []
    with pytest.raises(NotFound), db.session() as session:
        classes.unenrol(session, class_id=1, member_id=1, now=NOW)
    later = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    with db.session() as session:
        again = classes.enrol(session, class_id=1, member_id=1, policy=POLICY, now=later)
        assert again.reopened and again.reminders == 3  # 22 March, 5 and 12 April
        assert len(session.exec(select(Enrolment)).all()) == 1
        states = [r.state for r in session.exec(select(Reminder))]
        assert states.count(ReminderState.PENDING) == 3
        kinds = [n.kind for n in session.exec(select(Notification))]
        assert kinds == [NoticeKind.FAMILY_ENROLLED, NoticeKind.FAMILY_ENROLLED]
        assert [c.id for c in classes.timetable(session, 1)] == [1]


def test_enrol_refuses_unknown_class_and_a_finished_term(
    db: Database, world: dict[str, Person]
) -> None:
    with pytest.raises(NotFound), db.session() as session:
        classes.enrol(session, class_id=99, member_id=1, policy=POLICY, now=NOW)
    after = datetime(2027, 5, 1, tzinfo=UTC)
    with pytest.raises(Conflict), db.session() as session:
        classes.enrol(session, class_id=1, member_id=1, policy=POLICY, now=after)


def test_list_classes_counts_and_next_session(db: Database, world: dict[str, Person]) -> None:
    with db.session() as session:
        classes.enrol(session, class_id=1, member_id=1, policy=POLICY, now=NOW)
        [row] = classes.list_classes(session, now=datetime(2027, 3, 9, tzinfo=UTC))
    assert row.enrolled == 1
    assert row.next_session is not None and row.next_session.on == date(2027, 3, 22)


def test_staff_enrol_only_their_families(db: Database, world: dict[str, Person]) -> None:
    with db.session() as session:
        found = classes.candidates(session, world["sam"], 1)
        assert [(c.name, c.reference, c.enrolled) for c in found] == [("Amina", "KH-1", False)]
        classes.enrol_as_staff(
            session, person=world["sam"], class_id=1, member_id=1, policy=POLICY, now=NOW
        )
    for member_id, class_id in [(2, 1), (1, 2**31 - 1)]:
        with pytest.raises(NotFound), db.session() as session:
            classes.enrol_as_staff(
                session, person=world["sam"], class_id=class_id, member_id=member_id,
                policy=POLICY, now=NOW,
            )  # fmt: skip
    with pytest.raises(NotFound), db.session() as session:
        classes.unenrol_as_staff(session, person=world["lee"], class_id=1, member_id=1, now=NOW)
    with db.session() as session:
        assert classes.enrolled_ids(session, 1) == [1]


def test_register_of_a_past_session(db: Database, world: dict[str, Person]) -> None:
    with db.session() as session:
        classes.enrol(session, class_id=1, member_id=1, policy=POLICY, now=NOW)
    after = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)
    with db.session() as session:
        done = classes.past_sessions(session, world["sam"], 1, now=after)
        assert [s.on for s in done] == [date(2027, 3, 8), date(2027, 3, 1)]  # 15th: break
        session.add(
            Attendance(household_id=1, member_id=1, class_id=1, session_on=date(2027, 3, 8),
                       status=AttendanceStatus.APOLOGY, source="member:1")
        )  # fmt: skip
    with db.session() as session:
        [line] = classes.register(session, person=world["sam"], class_id=1,
                                  on=date(2027, 3, 8), now=after)  # fmt: skip
        assert line.status == AttendanceStatus.APOLOGY
        classes.record_session(
            session, person=world["sam"], class_id=1, on=date(2027, 3, 8), member_id=1,
            attended=False, now=after,
        )  # fmt: skip
        classes.record_session(
            session, person=world["sam"], class_id=1, on=date(2027, 3, 1), member_id=1,
            attended=True, now=after,
        )  # fmt: skip
    refused = [
        (world["sam"], date(2027, 3, 15), 1, InvalidInput),  # the break
        (world["sam"], date(2027, 3, 22), 1, InvalidInput),  # not yet
        (world["sam"], date(2027, 3, 9), 1, InvalidInput),  # not a Monday
        (world["lee"], date(2027, 3, 1), 1, NotFound),  # not Lee's family
    ]
    for who, on, member_id, error in refused:
        with pytest.raises(error), db.session() as session:
            classes.record_session(
                session, person=who, class_id=1, on=on, member_id=member_id, attended=True,
                now=after,
            )  # fmt: skip
    with db.session() as session:
        rows = session.exec(select(Attendance).order_by(Attendance.session_on)).all()
        assert [(r.session_on, r.status, r.source) for r in rows] == [
            (date(2027, 3, 1), AttendanceStatus.ATTENDED, "staff:1"),
            (date(2027, 3, 8), AttendanceStatus.ABSENT, "staff:1"),
        ]
