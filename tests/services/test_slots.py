"""Publishing caseworkers' time: /slots add parsing, cutting, clock changes, overlap, withdraw."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.services import booking, registry, slots
from bot.services.booking import Window
from bot.services.errors import BadSlotInput, NotFound, SlotClash
from bot.services.reminder_times import ReminderPolicy
from bot.services.slots import Reason
from storage.db import Database
from storage.models import (
    Appointment,
    AppointmentMode,
    AppointmentStatus,
    NoticeKind,
    Notification,
    Reminder,
    ReminderState,
    Slot,
)

# Monday 11 January 2027, 10:00 London (GMT): the clock of most tests.
NOW = datetime(2027, 1, 11, 10, 0, tzinfo=UTC)
POLICY = ReminderPolicy()


@dataclass
class World:
    """A provider with two caseworkers and a family (two linked, consented members) of Sam."""

    sam: int
    lee: int
    member: int
    other_member: int
    household: int


def setup(db: Database, *, caseworker: bool = True) -> World:
    """Registers the world; members are linked to Telegram and have consented."""
    with db.session() as session:
        registry.add_provider(session, name="Kent Refugee Action", districts=["Dover"])
        sam = registry.add_staff(
            session, role="caseworker", name="Sam", provider="Kent Refugee Action"
        )
        lee = registry.add_staff(
            session, role="caseworker", name="Lee", provider="Kent Refugee Action"
        )
        sam.telegram_user_id, lee.telegram_user_id = 7001, 7002
        registry.add_family(
            session,
            ref="KH-0001",
            district="Dover",
            scheme="VPRS",
            arrived="2024-05-01",
            caseworker_id=sam.id if caseworker else None,
        )
        members = [
            registry.add_member(session, family="KH-0001", name=name) for name in ("A", "B")
        ]
        for index, member in enumerate(members):
            member.telegram_user_id = 8001 + index
            member.consent_at = NOW - timedelta(days=30)
            session.add(member)
        session.add_all([sam, lee])
        session.flush()
        return World(
            sam=sam.id or 0,
            lee=lee.id or 0,
            member=members[0].id or 0,
            other_member=members[1].id or 0,
            household=members[0].household_id,
        )


def publish(db: Database, staff: int, text: str, now: datetime = NOW) -> list[int]:
    """``/slots add`` text published for a caseworker; the new slot ids."""
    request = slots.parse_add(text, now=now)
    with db.session() as session:
        return [s.id or 0 for s in slots.publish(session, staff, request)]


def count(session: Session, model: type) -> int:
    """Rows of a table."""
    return len(session.exec(select(model)).all())


# ---------------------------------------------------------------- parsing


def test_iso_date_today_tomorrow_and_default_length() -> None:
    request = slots.parse_add("2027-01-12 09:00-10:30", now=NOW)
    assert request.days == (date(2027, 1, 12),) and request.minutes == 30
    assert [(a.hour, a.minute) for a, _ in request.ranges()] == [(9, 0), (9, 30), (10, 0)]
    assert slots.parse_add("today 14:00-15:00 60", now=NOW).days == (date(2027, 1, 11),)
    assert slots.parse_add("Tomorrow 9:00 - 10:00", now=NOW).days == (date(2027, 1, 12),)


def test_weekday_repeats_four_weeks_by_default_or_until_a_date() -> None:
    request = slots.parse_add("tue 10:00-11:00 60", now=NOW)
    assert request.weekly and request.days == tuple(
        date(2027, 1, 12) + timedelta(weeks=n) for n in range(4)
    )
    assert request.until == date(2027, 2, 2)
    longer = slots.parse_add("Thursday 10:00-11:00 until 2027-02-25", now=NOW)
    assert longer.days[0] == date(2027, 1, 14) and longer.days[-1] == date(2027, 2, 25)
    assert len(longer.days) == 7
    # Typed on Monday after the range has started: from next Monday.
    assert slots.parse_add("mon 09:00-10:00", now=NOW).days[0] == date(2027, 1, 18)


def test_arabic_digits_are_read() -> None:
    request = slots.parse_add("2027-01-12 ٠٩:٠٠-١٠:٠٠", now=NOW)
    assert request.start == "09:00" and request.end == "10:00"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2027-01-12 12:00-09:00", Reason.END_BEFORE_START),
        ("2027-01-12 09:00-09:00", Reason.END_BEFORE_START),
        ("2027-01-12 09:00-12:00 0", Reason.LENGTH),
        ("2027-01-12 09:00-12:00 -30", Reason.LENGTH),
        ("2027-01-12 09:00-09:20 30", Reason.TOO_LONG),
        ("2027-01-08 09:00-12:00", Reason.PAST),
        ("today 08:00-09:00", Reason.PAST),
        ("funday 09:00-12:00", Reason.WEEKDAY),
        ("2027-02-30 09:00-12:00", Reason.DATE),
        ("tue 09:00-12:00 until 2027-01-01", Reason.UNTIL_BEFORE),
        ("tue 09:00-12:00 until 2028-01-01", Reason.UNTIL_FAR),
        ("tue", Reason.FORMAT),
        ("tue 9-12", Reason.FORMAT),
        ("tue 09:00-25:00", Reason.FORMAT),
        ("tue 09:00-12:00 30 until", Reason.FORMAT),
        ("tue 09:00-12:00 30 please", Reason.FORMAT),
    ],
)
def test_bad_input_is_refused_with_its_reason(text: str, reason: str) -> None:
    with pytest.raises(BadSlotInput) as caught:
        slots.parse_add(text, now=NOW)
    assert caught.value.details["reason"] == reason


def test_a_remainder_shorter_than_a_slot_is_not_published(db: Database) -> None:
    world = setup(db)
    request = slots.parse_add("2027-01-12 09:00-10:40 45", now=NOW)
    assert request.leftover == 10
    with db.session() as session:
        created = slots.publish(session, world.sam, request)
        assert [(s.starts_at.hour, s.starts_at.minute) for s in created] == [(9, 0), (9, 45)]


# ---------------------------------------------------------------- clock changes


def test_weekly_slots_keep_their_local_time_across_the_october_change(db: Database) -> None:
    world = setup(db)
    now = datetime(2026, 10, 12, 8, 0, tzinfo=UTC)
    ids = publish(db, world.sam, "mon 09:00-09:30 until 2026-11-02", now=now)
    with db.session() as session:
        starts = [session.get(Slot, i).starts_at for i in ids]  # type: ignore[union-attr]
    # BST (UTC+1) until Sunday 25 October 2026, then GMT: 09:00 local each Monday.
    assert starts == [
        datetime(2026, 10, 12, 8, 0, tzinfo=UTC),
        datetime(2026, 10, 19, 8, 0, tzinfo=UTC),
        datetime(2026, 10, 26, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
    ]


def test_weekly_slots_keep_their_local_time_across_the_march_change(db: Database) -> None:
    world = setup(db)
    ids = publish(db, world.sam, "2027-03-22 09:00-10:00 60 until 2027-03-29")
    with db.session() as session:
        starts = [session.get(Slot, i).starts_at for i in ids]  # type: ignore[union-attr]
    # GMT until Sunday 28 March 2027, then BST.
    assert starts == [
        datetime(2027, 3, 22, 9, 0, tzinfo=UTC),
        datetime(2027, 3, 29, 8, 0, tzinfo=UTC),
    ]


def test_a_range_through_the_spring_gap_is_cut_in_real_time(db: Database) -> None:
    world = setup(db)
    # On 28 March 2027 local 01:00-02:00 does not exist: 00:00-03:00 is two real hours.
    ids = publish(db, world.sam, "2027-03-28 00:00-03:00 60")
    assert len(ids) == 2


# ---------------------------------------------------------------- overlap


def test_overlap_is_refused_with_the_clash_and_nothing_stored(db: Database) -> None:
    world = setup(db)
    publish(db, world.sam, "2027-01-12 10:00-11:00")
    with pytest.raises(SlotClash) as caught:
        publish(db, world.sam, "tue 09:00-12:00 60")
    assert caught.value.details["starts_at"] == datetime(2027, 1, 12, 10, 0, tzinfo=UTC)
    with db.session() as session:
        assert count(session, Slot) == 2
    # Adjacent time, another caseworker's same time, and time over withdrawn slots are fine.
    publish(db, world.sam, "2027-01-12 11:00-12:00")
    publish(db, world.lee, "2027-01-12 10:00-11:00")
    with db.session() as session:
        for slot in session.exec(select(Slot).where(Slot.staff_id == world.sam)):
            slots.withdraw(session, world.sam, slot.id or 0, confirmed=False, now=NOW)
    publish(db, world.sam, "2027-01-12 10:00-12:00")


# ---------------------------------------------------------------- listing and withdrawing


def _book(db: Database, world: World, slot_id: int) -> int:
    """The first member books a slot; the appointment id."""
    with db.session() as session:
        done = booking.book(
            session,
            member_id=world.member,
            slot_id=slot_id,
            mode=AppointmentMode.HOME,
            interpreter=True,
            window=Window(NOW, 14, timedelta(hours=2)),
            policy=POLICY,
        )
        return done.appointment_id


def test_list_shows_free_and_booked_with_the_family(db: Database) -> None:
    world = setup(db)
    first, second = publish(db, world.sam, "2027-01-12 10:00-11:00")
    _book(db, world, second)
    with db.session() as session:
        listed = slots.upcoming(session, world.sam, now=NOW)
    assert [(v.slot_id, v.family_ref) for v in listed] == [(first, None), (second, "KH-0001")]


def test_withdraw_free_at_once_and_booked_only_after_confirming(db: Database) -> None:
    world = setup(db)
    free, booked = publish(db, world.sam, "2027-01-12 10:00-11:00")
    appointment_id = _book(db, world, booked)
    with db.session() as session:
        done = slots.withdraw(session, world.sam, free, confirmed=False, now=NOW)
        assert done.done and session.get(Slot, free).withdrawn_at is not None  # type: ignore[union-attr]
        asked = slots.withdraw(session, world.sam, booked, confirmed=False, now=NOW)
        assert not asked.done and asked.family_ref == "KH-0001"
        assert session.get(Slot, booked).withdrawn_at is None  # type: ignore[union-attr]
    with db.session() as session, pytest.raises(NotFound):
        slots.withdraw(session, world.lee, booked, confirmed=True, now=NOW)  # not Lee's
    with db.session() as session:
        done = slots.withdraw(session, world.sam, booked, confirmed=True, now=NOW)
        assert done.done and done.notified == 2
    with db.session() as session:
        appointment = session.get(Appointment, appointment_id)
        assert appointment is not None
        assert appointment.status == AppointmentStatus.CANCELLED
        assert appointment.slot_id is None and appointment.former_slot_id == booked
        assert appointment.cancelled_by == f"staff:{world.sam}"
        states = {r.state for r in session.exec(select(Reminder))}
        assert states == {ReminderState.CANCELLED}
        notices = session.exec(
            select(Notification).where(
                Notification.kind == NoticeKind.FAMILY_APPOINTMENT_CANCELLED
            )
        ).all()
        assert sorted(n.chat_id for n in notices) == [8001, 8002]
    with db.session() as session, pytest.raises(NotFound):
        slots.withdraw(session, world.sam, booked, confirmed=True, now=NOW)  # already gone
