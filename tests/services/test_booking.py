"""Families booking slots: the window, min notice, forged choices, the race, cancel, move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.services import booking, registry, slots
from bot.services.booking import Why, Window
from bot.services.errors import NoBookableStaff, NotFound, SlotTaken, SlotUnavailable
from storage.db import Database
from storage.models import (
    Appointment,
    AppointmentKind,
    AppointmentMode,
    AppointmentStatus,
    NoticeKind,
    Notification,
    Reminder,
    ReminderState,
)
from tests.services.test_slots import NOW, POLICY, World, publish, setup

WINDOW = Window(NOW, 14, timedelta(hours=2))


def book(db: Database, world: World, slot_id: int, **kwargs: object) -> booking.Booked:
    """The first member books a slot (home visit, interpreter) in the default window."""
    arguments: dict[str, object] = {
        "member_id": world.member,
        "slot_id": slot_id,
        "mode": AppointmentMode.HOME,
        "interpreter": True,
        "window": WINDOW,
        "policy": POLICY,
    }
    arguments.update(kwargs)
    with db.session() as session:
        return booking.book(session, **arguments)  # type: ignore[arg-type]


def free(db: Database, world: World, window: Window = WINDOW) -> list[int]:
    """The slot ids the family is offered."""
    with db.session() as session:
        return [f.slot_id for f in booking.free_times(session, world.household, window)]


def staff_notices(db: Database) -> list[tuple[int, str]]:
    """(chat, action) of every STAFF_BOOKING notice."""
    with db.session() as session:
        rows = session.exec(
            select(Notification)
            .where(Notification.kind == NoticeKind.STAFF_BOOKING)
            .order_by(Notification.id)  # type: ignore[arg-type]
        ).all()
        return [(n.chat_id, str(n.payload["action"])) for n in rows]


def test_window_and_minimum_notice(db: Database) -> None:
    world = setup(db)
    soon = publish(db, world.sam, "today 11:00-12:00 60")  # 1 h ahead: inside 2 h notice
    later = publish(db, world.sam, "today 13:00-14:00 60")
    far = publish(db, world.sam, "2027-01-26 10:00-11:00 60")  # 15 days ahead
    assert free(db, world) == later
    assert free(db, world, Window(NOW, 14, timedelta(0))) == soon + later
    assert free(db, world, Window(NOW, 16, timedelta(0))) == soon + later + far
    publish(db, world.lee, "2027-01-12 10:00-11:00")  # Lee's: never offered to Sam's family
    assert free(db, world) == later


def test_booking_plans_reminders_and_tells_the_caseworker(db: Database) -> None:
    world = setup(db)
    slot = publish(db, world.sam, "2027-01-13 10:00-10:30")[0]
    done = book(db, world, slot)
    assert done.mode == AppointmentMode.HOME and done.interpreter is True
    assert done.starts_at == datetime(2027, 1, 13, 10, 0, tzinfo=UTC)
    with db.session() as session:
        appointment = session.get(Appointment, done.appointment_id)
        assert appointment is not None and appointment.slot_id == slot
        assert appointment.kind == AppointmentKind.BOOKING
        assert appointment.created_by == f"member:{world.member}"
        due = sorted((r.due_at, r.member_id) for r in session.exec(select(Reminder)))
    # 24 h and 2 h before, for each of the two members.
    day_before, same_day = (
        datetime(2027, 1, 12, 10, tzinfo=UTC),
        datetime(2027, 1, 13, 8, tzinfo=UTC),
    )
    assert due == [
        (day_before, world.member),
        (day_before, world.other_member),
        (same_day, world.member),
        (same_day, world.other_member),
    ]
    assert staff_notices(db) == [(7001, "booked")]
    assert free(db, world) == []


@pytest.mark.parametrize("case", ["other", "past", "window", "withdrawn", "notice"])
def test_forged_choices_are_refused(db: Database, case: str) -> None:
    world = setup(db)
    if case == "other":
        slot, reason = publish(db, world.lee, "2027-01-12 10:00-10:30")[0], Why.OTHER
    elif case == "past":
        slot = publish(db, world.sam, "today 10:30-11:00", now=NOW - timedelta(hours=1))[0]
        reason = Why.PAST
        window = Window(NOW + timedelta(hours=1), 14, timedelta(0))
        with db.session() as session, pytest.raises(SlotUnavailable) as caught:
            booking.check_slot(session, world.household, slot, window)
        assert caught.value.details["reason"] == reason
        return
    elif case == "window":
        slot, reason = publish(db, world.sam, "2027-02-01 10:00-10:30")[0], Why.WINDOW
    elif case == "notice":
        slot, reason = publish(db, world.sam, "today 11:00-11:30")[0], Why.NOTICE
    else:
        slot, reason = publish(db, world.sam, "2027-01-12 10:00-10:30")[0], Why.GONE
        with db.session() as session:
            slots.withdraw(session, world.sam, slot, confirmed=False, now=NOW)
    with pytest.raises(SlotUnavailable) as caught:
        book(db, world, slot)
    assert caught.value.details["reason"] == reason
    with db.session() as session:
        assert session.exec(select(Appointment)).all() == []
        assert session.exec(select(Notification)).all() == []


def test_an_unknown_slot_is_refused(db: Database) -> None:
    world = setup(db)
    with pytest.raises(SlotUnavailable):
        book(db, world, 999_999)


def test_a_booked_slot_is_refused_with_the_next_free_times(db: Database) -> None:
    world = setup(db)
    first, *others = publish(db, world.sam, "2027-01-12 10:00-12:00")
    book(db, world, first)
    with pytest.raises(SlotTaken) as caught:
        book(db, world, first, member_id=world.other_member)
    offered = caught.value.details["alternatives"]
    assert [o.slot_id for o in offered] == others  # type: ignore[attr-defined]


def test_the_database_holds_a_slot_for_one_family_only(db: Database) -> None:
    """The race itself: two transactions both saw the slot free; the second insert fails on
    the unique constraint, whatever the application checked before."""
    world = setup(db)
    slot = publish(db, world.sam, "2027-01-12 10:00-10:30")[0]

    def row() -> Appointment:
        return Appointment(
            household_id=world.household,
            staff_id=world.sam,
            kind=AppointmentKind.BOOKING,
            slot_id=slot,
            starts_at=NOW,
            ends_at=NOW,
        )

    with db.session() as first:
        first.add(row())
    with pytest.raises(IntegrityError), db.session() as second:
        second.add(row())
        second.flush()


def test_losing_the_race_at_insert_is_slot_taken_and_keeps_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = setup(db)
    slot, other = publish(db, world.sam, "2027-01-12 10:00-11:00")
    book(db, world, slot)
    # As if this transaction had checked before the other committed: the insert must fail.
    original = booking.check_slot

    def stale_check(session, household_id, slot_id, window):  # type: ignore[no-untyped-def]
        found = session.get(booking.Slot, slot_id)
        assert found is not None
        return found

    monkeypatch.setattr(booking, "check_slot", stale_check)
    with pytest.raises(SlotTaken) as caught:
        book(db, world, slot, member_id=world.other_member)
    assert [o.slot_id for o in caught.value.details["alternatives"]] == [other]  # type: ignore[attr-defined]
    monkeypatch.setattr(booking, "check_slot", original)
    with db.session() as session:
        assert len(session.exec(select(Appointment)).all()) == 1
    assert staff_notices(db) == [(7001, "booked")]


def test_cancel_frees_the_slot_and_cancels_reminders(db: Database) -> None:
    world = setup(db)
    slot = publish(db, world.sam, "2027-01-12 10:00-10:30")[0]
    done = book(db, world, slot)
    with db.session() as session:
        booking.cancel(
            session, member_id=world.other_member, appointment_id=done.appointment_id, now=NOW
        )
    with db.session() as session:
        appointment = session.get(Appointment, done.appointment_id)
        assert appointment is not None and appointment.status == AppointmentStatus.CANCELLED
        assert appointment.slot_id is None and appointment.former_slot_id == slot
        assert {r.state for r in session.exec(select(Reminder))} == {ReminderState.CANCELLED}
    assert free(db, world) == [slot]
    assert staff_notices(db) == [(7001, "booked"), (7001, "cancelled")]
    with db.session() as session, pytest.raises(NotFound):  # twice: nothing to cancel
        booking.cancel(
            session, member_id=world.member, appointment_id=done.appointment_id, now=NOW
        )


def test_reschedule_is_one_change(db: Database) -> None:
    world = setup(db)
    first, second = publish(db, world.sam, "2027-01-12 10:00-11:00")
    old = book(db, world, first)
    moved = book(db, world, second, mode=AppointmentMode.PHONE, interpreter=False,
                 move_from=old.appointment_id)  # fmt: skip
    assert moved.moved_from == old.appointment_id
    assert moved.mode == AppointmentMode.HOME and moved.interpreter is True  # kept from old
    with db.session() as session:
        before = session.get(Appointment, old.appointment_id)
        assert before is not None and before.status == AppointmentStatus.CANCELLED
        assert before.slot_id is None and before.former_slot_id == first
        pending = session.exec(
            select(Reminder).where(Reminder.state == ReminderState.PENDING)
        ).all()
        assert {r.appointment_id for r in pending} == {moved.appointment_id}
        assert all(
            r.state == ReminderState.CANCELLED
            for r in session.exec(
                select(Reminder).where(Reminder.appointment_id == old.appointment_id)
            )
        )
        notice = session.exec(
            select(Notification).where(Notification.key == f"booking:{moved.appointment_id}:moved")
        ).one()
        assert notice.payload["previous"] == old.appointment_id
    assert free(db, world) == [first]


def test_a_failed_reschedule_changes_nothing(db: Database) -> None:
    world = setup(db)
    first, second = publish(db, world.sam, "2027-01-12 10:00-11:00")
    old = book(db, world, first)
    book(db, world, second, member_id=world.other_member)  # the family's second booking
    with pytest.raises(SlotTaken):
        book(db, world, second, move_from=old.appointment_id)
    with db.session() as session:
        kept = session.get(Appointment, old.appointment_id)
        assert kept is not None and kept.status == AppointmentStatus.BOOKED
        assert kept.slot_id == first


def test_no_caseworker_books_the_providers_office(db: Database) -> None:
    world = setup(db, caseworker=False)
    sam_slot = publish(db, world.sam, "2027-01-12 10:00-10:30")[0]
    lee_slot = publish(db, world.lee, "2027-01-12 11:00-11:30")[0]
    with db.session() as session:
        who = booking.book_with(session, world.household)
    assert who.office_only and who.provider == "Kent Refugee Action"
    assert free(db, world) == [sam_slot, lee_slot]
    done = book(db, world, lee_slot, mode=AppointmentMode.HOME)
    assert done.mode == AppointmentMode.OFFICE
    assert staff_notices(db) == [(7002, "booked")]


def test_no_provider_says_whom_to_contact(db: Database) -> None:
    setup(db)
    with db.session() as session:
        registry.add_family(
            session, ref="KH-0009", district="Swale", scheme="VPRS", arrived="2024-05-01"
        )
        household = registry.find_household(session, "KH-0009").id or 0
    with db.session() as session, pytest.raises(NoBookableStaff) as caught:
        booking.book_with(session, household)
    assert caught.value.details["provider"] is None


def test_the_family_list_shows_upcoming_bookings_and_external_appointments(
    db: Database,
) -> None:
    world = setup(db)
    slot = publish(db, world.sam, "2027-01-12 10:00-10:30")[0]
    done = book(db, world, slot)
    with db.session() as session:
        session.add(
            Appointment(
                household_id=world.household,
                kind=AppointmentKind.EXTERNAL,
                starts_at=NOW + timedelta(hours=3),
                ends_at=NOW + timedelta(hours=4),
                what="GP",
                place="Dover Health Centre",
            )
        )
    with db.session() as session:
        listed = booking.upcoming(session, household_id=world.household, now=NOW)
    assert [i.kind for i in listed] == [AppointmentKind.EXTERNAL, AppointmentKind.BOOKING]
    assert listed[1].appointment_id == done.appointment_id and listed[1].family_ref == "KH-0001"
