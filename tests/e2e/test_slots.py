"""Caseworkers publish time by command and by buttons; bad input is answered, nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.i18n import texts
from bot.services import slots
from storage.models import Slot
from tests.e2e.conftest import Harness

EN = texts("en")


def stored(harness: Harness) -> int:
    """How many slots the database holds."""
    with harness.db.session() as session:
        return len(session.exec(select(Slot)).all())


async def test_bad_slots_add_is_answered_in_english_and_stores_nothing(
    harness: Harness,
) -> None:
    harness.provider()
    _, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    yesterday = slots.local_today(datetime.now(UTC)) - timedelta(days=1)
    cases = [
        ("/slots add tomorrow 12:00-09:00", "the end must be after the start"),
        ("/slots add tomorrow 09:00-12:00 0", "the slot length must be more than 0 minutes"),
        ("/slots add tomorrow 09:00-12:00 -15", "the slot length must be more than 0 minutes"),
        ("/slots add tomorrow 09:00-09:20", "one slot is longer than the time you gave"),
        (f"/slots add {yesterday.isoformat()} 09:00-12:00", "that time has already passed"),
        ("/slots add funday 09:00-12:00", "I don't know that day"),
        ("/slots add tue 09:00-12:00 until 2020-01-01", "the date after until is before"),
        ("/slots add tue nine to twelve", "I could not read that"),
    ]
    for text, reason in cases:
        sam.send_text(text)
        answer = await sam.wait_for(f"Nothing was published: {reason}")
        assert "/slots add 2027-01-12 09:00-12:00" in answer.text  # with an example
    assert stored(harness) == 0

    sam.send_text("/slots add tomorrow 09:00-10:00")
    await sam.wait_for("Published 2 slots")
    sam.send_text("/slots add tomorrow 09:30-11:00 45")
    clash = await sam.wait_for("Nothing was published: this overlaps time you already published")
    assert "09:30–10:00" in clash.text  # the first slot of mine it overlaps
    assert stored(harness) == 2


async def test_publishing_with_buttons_only(harness: Harness) -> None:
    harness.provider()
    _, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    sam.send_text("/slots")
    await sam.wait_for("You have no free time published from today.")
    sam.press_button("Add time")
    await sam.wait_for("Which day?")
    day = slots.local_today(datetime.now(UTC)) + timedelta(days=2)
    sam.press_button(EN.day(day))
    await sam.wait_for("from what time?")
    sam.press_button("09:00")
    await sam.wait_for("until what time?")
    sam.press_button("11:00")
    await sam.wait_for("How long is each meeting?")
    sam.press_button("60 minutes")
    await sam.wait_for("in meetings of 60 minutes?")
    assert stored(harness) == 0  # nothing until confirmed
    sam.press_button("Publish")
    await sam.wait_for("Published 2 slots of 60 minutes, 09:00–11:00.")
    sam.press_button("My free slots")
    listing = await sam.wait_for("Your published time from today:")
    assert listing.text.count("· free") == 2
    sam.press_button("Withdraw")
    await sam.wait_for("Withdrawn:")
    with harness.db.session() as session:
        withdrawn = [s for s in session.exec(select(Slot)) if s.withdrawn_at is not None]
    assert len(withdrawn) == 1


async def test_forged_slot_buttons_and_other_roles(harness: Harness) -> None:
    harness.provider()
    _, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    _, lee = await harness.join_staff("caseworker", "Lee", "Kent Refugee Action")
    _, kim = await harness.join_staff("coordinator", "Kim")
    sam.send_text("/slots add tomorrow 09:00-09:30")
    await sam.wait_for("Published 1 slot")
    message = lee.messages[-1].message_id
    lee.press(message, "sl:wd:1")  # Sam's slot
    lee.press(message, "sl:ok:20270230:0900:1000:30")  # no such day
    await harness.api.quiet()
    alerts = [a.get("text", "") for a in lee.callback_answers]
    assert "That time is not yours, or it was already withdrawn." in alerts
    assert "This button no longer works." in alerts
    assert stored(harness) == 1
    kim.send_text("/slots add tomorrow 09:00-10:00")
    await kim.wait_for("Free time for bookings is published by caseworkers and leads.")
    assert stored(harness) == 1
