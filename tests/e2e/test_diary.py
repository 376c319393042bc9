"""The caseworker's diary end to end: an external appointment typed or added with buttons
reaches the family in Arabic at once, the diary lists it, kept/missed is recorded once, and
bad input or forged buttons change nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from localapi import UserHandle
from storage.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Attendance,
    Household,
    Notification,
    Reminder,
)
from storage.types import utcnow
from tests.e2e.conftest import Harness

LONDON = ZoneInfo("Europe/London")


def _in_days(days: int) -> str:
    """A London date ``days`` from today, as typed in the command."""
    return (datetime.now(LONDON).date() + timedelta(days=days)).isoformat()


async def _answer(person: UserHandle, before: int) -> str:
    """The text of the next answer to a button press (waits for the bot to answer it)."""
    for _ in range(200):
        answers = person.callback_answers
        if len(answers) > before:
            return str(answers[-1].get("text") or "")
        await asyncio.sleep(0.025)
    raise AssertionError(f"the button press was not answered: {answers}")


async def _setup(harness: Harness) -> tuple[int, UserHandle, int, UserHandle, UserHandle]:
    """A provider, two caseworkers, and Sam's family in Arabic."""
    harness.provider("Kent Refugee Action", "Dover,Thanet")
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    lee_id, lee = await harness.join_staff("caseworker", "Lee", "Kent Refugee Action")
    amina = await harness.join_family("KH-0001", caseworker_id=sam_id, language="ar")
    harness.family("KH-0002", caseworker_id=lee_id)
    return sam_id, sam, lee_id, lee, amina


def _appointments(harness: Harness) -> list[Appointment]:
    with harness.db.session() as session:
        return list(session.exec(select(Appointment).order_by(Appointment.id)))


def _earlier_today(harness: Harness, staff_id: int, reference: str, what: str) -> int:
    """An external appointment that started earlier today (the diary can mark it): an hour
    ago, or half-way since midnight in London when the day is younger than two hours."""
    with harness.db.session() as session:
        household = session.exec(select(Household).where(Household.reference == reference)).one()
        now = utcnow()
        midnight = datetime.combine(now.astimezone(LONDON).date(), time(), LONDON)
        start = max(now - timedelta(hours=1), midnight + (now - midnight) / 2)
        appointment = Appointment(
            household_id=household.id or 0, staff_id=staff_id, kind=AppointmentKind.EXTERNAL,
            starts_at=start, ends_at=start + timedelta(hours=1), what=what, place="Surgery",
        )  # fmt: skip
        session.add(appointment)
        session.flush()
        return appointment.id or 0


async def test_typed_appointment_reaches_the_family_in_arabic_and_the_diary(
    harness: Harness,
) -> None:
    sam_id, sam, _, _, amina = await _setup(harness)
    day = _in_days(2)
    sam.send_text(
        f"/appointments add KH-0001 {day} 10:30 | GP appointment | Dover Health Centre, "
        "High Street | Passport"
    )
    done = await sam.wait_for("Added for family")
    assert "KH-0001" in done.text and "told in their language" in done.text
    notice = await amina.wait_for("أضاف مسؤول حالتك موعدًا لك")
    assert "GP appointment" in notice.text and "Dover Health Centre" in notice.text
    assert "المكان:" in notice.text and "يرجى إحضار:" in notice.text and "10:30" in notice.text
    [stored] = _appointments(harness)
    assert stored.kind == AppointmentKind.EXTERNAL and stored.staff_id == sam_id

    sam.send_text("/appointments")
    diary = await sam.wait_for("Your diary for the next 7 days")
    assert "KH-0001" in diary.text and "GP appointment, at Dover Health Centre" in diary.text
    assert not any("Kept" in label for label, _ in diary.buttons)  # in two days: not yet
    # The same command (and menu button) gives a family member their own list.
    amina.send_text("/appointments")
    mine = await amina.wait_for("GP appointment")
    assert "Your diary" not in mine.text


async def test_kept_and_missed_are_recorded_once_and_forged_buttons_refused(
    harness: Harness,
) -> None:
    sam_id, sam, lee_id, lee, _ = await _setup(harness)
    mine = _earlier_today(harness, sam_id, "KH-0001", "Blood test")
    other = _earlier_today(harness, sam_id, "KH-0001", "Dentist")
    lees = _earlier_today(harness, lee_id, "KH-0002", "School")
    sam.send_text("/appointments")
    diary = await sam.wait_for("Blood test")
    assert "School" not in diary.text  # Lee's family
    assert any(data == f"dy:kept:{mine}" for _, data in diary.buttons)

    before = len(sam.callback_answers)
    sam.press(diary.message_id, f"dy:kept:{mine}")
    assert await _answer(sam, before) == "Recorded: kept."
    updated = await sam.wait_for(lambda m: m.edited and "✅ Kept" in m.text)
    assert not any(data == f"dy:kept:{mine}" for _, data in updated.buttons)
    sam.press(diary.message_id, f"dy:missed:{other}")
    assert await _answer(sam, before + 1) == "Recorded: missed."

    refusals = [
        (f"dy:missed:{mine}", "already recorded"),  # an old button pressed again
        (f"dy:kept:{lees}", "no such appointment"),  # another caseworker's
        ("dy:kept:99999999999", "no such appointment"),  # a huge, forged id
        ("dy:kept:2147483647", "no such appointment"),
    ]
    for data, words in refusals:
        count = len(sam.callback_answers)
        sam.press(diary.message_id, data)
        assert words in await _answer(sam, count)
    with harness.db.session() as session:
        statuses = {a.id: a.status for a in session.exec(select(Appointment))}
        rows = session.exec(select(Attendance)).all()
    assert statuses == {
        mine: AppointmentStatus.KEPT,
        other: AppointmentStatus.MISSED,
        lees: AppointmentStatus.BOOKED,
    }
    assert sorted(r.appointment_id or 0 for r in rows) == [mine, other]
    # Lee's own press on Sam's appointment is refused the same way.
    lee.send_text("/appointments")
    lee_diary = await lee.wait_for("Your diary for the next 7 days")
    count = len(lee.callback_answers)
    lee.press(lee_diary.message_id, f"dy:missed:{other}")
    assert "no such appointment" in await _answer(lee, count)


async def test_bad_input_is_answered_and_nothing_is_stored(harness: Harness) -> None:
    _, sam, _, _, amina = await _setup(harness)
    day = _in_days(3)
    yesterday = _in_days(-1)
    cases = [
        (f"/appointments add KH-0404 {day} 10:00 | GP | Surgery", "There is no family KH-0404"),
        (f"/appointments add KH-0002 {day} 10:00 | GP | Surgery", "not one of your families"),
        (f"/appointments add KH-0001 {yesterday} 10:00 | GP | Surgery", "already passed"),
        (f"/appointments add KH-0001 {day} 10:00 | GP", "I could not read that"),
        ("/appointments add", "/appointments add FAMILY-REF YYYY-MM-DD HH:MM"),
        (f"/appointments add KH-0001 {day[:8]}31 25:00 | GP | Surgery", "Nothing was saved"),
    ]
    for text, words in cases:
        sam.send_text(text)
        answer = await sam.wait_for("othing was saved")
        assert words in answer.text
    await harness.api.quiet()
    assert _appointments(harness) == []
    with harness.db.session() as session:
        to_amina = session.exec(select(Notification).where(Notification.chat_id == amina.id))
        assert [n.kind for n in to_amina] == []
        assert session.exec(select(Reminder)).all() == []


async def test_button_flow_picks_a_family_then_takes_the_typed_details(
    harness: Harness,
) -> None:
    _, sam, _, _, amina = await _setup(harness)
    sam.send_text("/appointments")
    await sam.wait_for("Nothing in your diary")
    sam.press_button("Add an appointment")
    pick = await sam.wait_for("Which family is the appointment for?")
    assert [label for label, _ in pick.buttons] == ["KH-0001"]  # only Sam's family
    sam.press_button("KH-0001")
    await sam.wait_for("Adding an appointment for family KH-0001")
    sam.send_text("tomorrow at ten | School | Dover School")
    await sam.wait_for("I could not read that")
    sam.send_text(f"{_in_days(1)} 11:00 | School meeting | Dover Grammar School")
    await sam.wait_for("Added for family KH-0001")
    notice = await amina.wait_for("أضاف مسؤول حالتك موعدًا لك")
    assert "School meeting" in notice.text and "يرجى إحضار" not in notice.text
    [stored] = _appointments(harness)
    assert stored.place == "Dover Grammar School"
    sam.send_text("Just a message")  # the flow is over: this is no appointment
    await harness.api.quiet()
    assert len(_appointments(harness)) == 1
    # A forged family button (another caseworker's household) is refused.
    count = len(sam.callback_answers)
    sam.press(pick.message_id, "dy:fam:2")
    assert "not one of yours" in await _answer(sam, count)
