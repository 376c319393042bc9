"""A staff command handled twice (a redelivery after a crash, or a second tap) creates once.

Each test drives the real Application: the same message is delivered again (as Telegram does
when its acknowledgement was lost), or the same button pressed again (same message and data;
also the same callback query, which can no longer be answered), and finds one row and an
answer that says what the first handling did.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.services import classes, registry, slots
from handlers.callbacks import ClassAction, Prefix, SlotAction, build
from localapi import UserHandle
from storage.models import (
    Appointment,
    Enrolment,
    InboundState,
    InboundUpdate,
    Invite,
    Member,
    Notification,
    Slot,
)
from tests.e2e.conftest import Harness

LONDON = ZoneInfo("Europe/London")


def redeliver(harness: Harness, person: UserHandle, sent: dict[str, Any]) -> int:
    """Telegram sends the same message again; returns the mark to wait for answers after."""
    mark = harness.api.world.change_seq
    harness.api.world.push_update("message", copy.deepcopy(sent))
    return mark


def repress(
    harness: Harness, person: UserHandle, query_id: str, message_id: int, data: str
) -> int:
    """The same callback query handled again (its answer was already given, so it fails)."""
    mark = harness.api.world.change_seq
    message = next(m for m in person.all_messages if m.message_id == message_id)
    harness.api.world.push_update(
        "callback_query",
        {
            "id": query_id,
            "from": copy.deepcopy(person.user),
            "message": {
                "message_id": message_id,
                "date": 0,
                "chat": {"id": person.chat_id, "type": "private"},
                "text": message.text,
            },
            "chat_instance": str(person.chat_id),
            "data": data,
        },
    )
    return mark


def count(harness: Harness, model: type[Any]) -> int:
    """How many rows a table holds."""
    with harness.db.session() as session:
        return len(session.exec(select(model)).all())


def _in_days(days: int) -> str:
    """A London date ``days`` from today, as typed."""
    return (datetime.now(LONDON).date() + timedelta(days=days)).isoformat()


# ---------------------------------------------------------------- slots


async def test_a_redelivered_slots_add_publishes_once(harness: Harness) -> None:
    harness.provider()
    _, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    sent = sam.send_text(f"/slots add {_in_days(3)} 09:00-10:00")
    await sam.wait_for("Published 2 slots")
    mark = redeliver(harness, sam, sent)
    again = await sam.wait_for("Already published from this message: 2 slots", since=mark)
    assert "09:00–09:30" in again.text  # the first slot it published
    await harness.api.quiet()
    assert count(harness, Slot) == 2
    assert not any("Nothing was published" in m.text for m in sam.messages)


async def test_the_publish_button_pressed_again_publishes_once(harness: Harness) -> None:
    harness.provider()
    _, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    day = slots.local_today(datetime.now(UTC)) + timedelta(days=2)
    data = build(Prefix.SLOTS, SlotAction.PUBLISH, f"{day:%Y%m%d}", "1000", "1100", 30)
    sam.send_text("/slots")
    await sam.wait_for("You have no free time published from today.")
    sam.press_button("Add time")
    confirm = await sam.wait_for("Which day?")
    first = sam.press(confirm.message_id, data)
    await sam.wait_for("Published 2 slots")
    sam.press(confirm.message_id, data)  # a second tap on the same button
    await sam.wait_for("Already published from this message: 2 slots")
    mark = repress(harness, sam, first, confirm.message_id, data)  # the first press, redelivered
    await sam.wait_for("Already published from this message", since=mark)
    await harness.api.quiet()
    assert count(harness, Slot) == 2
    assert not any("something went wrong" in m.text for m in sam.messages)


# ---------------------------------------------------------------- appointments


async def _caseworker_and_family(harness: Harness) -> tuple[UserHandle, UserHandle]:
    """Sam and his family KH-0001, in Arabic."""
    harness.provider("Kent Refugee Action", "Dover,Thanet")
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    amina = await harness.join_family("KH-0001", caseworker_id=sam_id, language="ar")
    return sam, amina


def _family_notices(harness: Harness) -> int:
    """Notices queued to tell the family of an added appointment."""
    with harness.db.session() as session:
        rows = session.exec(select(Notification)).all()
    return sum(1 for n in rows if n.key.startswith("appt-added:"))


async def test_a_redelivered_appointments_add_stores_and_tells_once(harness: Harness) -> None:
    sam, amina = await _caseworker_and_family(harness)
    sent = sam.send_text(
        f"/appointments add KH-0001 {_in_days(2)} 10:30 | GP appointment | Dover Health Centre"
    )
    first = await sam.wait_for("Added for family KH-0001")
    await amina.wait_for("أضاف مسؤول حالتك موعدًا لك")
    mark = redeliver(harness, sam, sent)
    again = await sam.wait_for("Added for family KH-0001", since=mark)
    assert again.text == first.text  # the same answer: the family was told (once)
    await harness.api.quiet()
    assert count(harness, Appointment) == 1
    assert _family_notices(harness) == 1
    assert sum("أضاف مسؤول حالتك موعدًا لك" in m.text for m in amina.messages) == 1


async def test_redelivered_typed_details_of_the_button_flow_add_once(harness: Harness) -> None:
    sam, amina = await _caseworker_and_family(harness)
    sam.send_text("/appointments")
    await sam.wait_for("Nothing in your diary")
    sam.press_button("Add an appointment")
    await sam.wait_for("Which family is the appointment for?")
    sam.press_button("KH-0001")
    await sam.wait_for("Adding an appointment for family KH-0001")
    sent = sam.send_text(f"{_in_days(1)} 11:00 | School meeting | Dover Grammar School")
    await sam.wait_for("Added for family KH-0001")
    mark = redeliver(harness, sam, sent)  # the flow has ended by now
    await sam.wait_for("Added for family KH-0001", since=mark)
    await harness.api.quiet()
    assert count(harness, Appointment) == 1
    assert _family_notices(harness) == 1
    assert sum("School meeting" in m.text for m in amina.messages) == 1


# ---------------------------------------------------------------- invites


def _code(text: str) -> str:
    """The invite code from the link in a coordinator's answer."""
    link = next(w for w in text.split() if w.startswith("https://t.me/"))
    return link.split("start=")[1]


async def test_a_redelivered_invite_makes_no_second_code_and_the_first_still_works(
    harness: Harness,
) -> None:
    _, kim = await harness.join_staff("coordinator", "Kim")
    harness.family("KH-0301", member="Amina")
    sent = kim.send_text("/invite family KH-0301")
    shown = await kim.wait_for("It works once and expires on")
    mark = redeliver(harness, kim, sent)
    again = await kim.wait_for("already created from this message", since=mark)
    assert "Amina of family KH-0301" in again.text and "cannot be shown again" in again.text
    assert "https://t.me/" not in again.text
    await harness.api.quiet()
    with harness.db.session() as session:
        made = session.exec(select(Invite).where(Invite.source_chat_id == kim.chat_id)).all()
    assert len(made) == 1  # harness.family's own invite has no source

    amina = harness.user(language_code="ar")
    amina.send_text(f"/start {_code(shown.text)}")  # the code shown first still works
    await amina.wait_for(lambda m: any(d == "consent:ok" for _, d in m.buttons))
    mark = redeliver(harness, kim, sent)
    await kim.wait_for("already created from this message, and it has been used", since=mark)


async def test_invite_buttons_pressed_again_make_one_code_per_person(harness: Harness) -> None:
    _, kim = await harness.join_staff("coordinator", "Kim")
    harness.family("KH-0302", member="Layla")
    with harness.db.session() as session:
        registry.add_member(session, family="KH-0302", name="Omar")
        ids = {m.name: m.id for m in session.exec(select(Member))}
    kim.send_text("/invite")
    await kim.wait_for("Who is the invite for?")
    kim.press_button("A family member")
    await kim.wait_for("1 family is registered")
    kim.press_button("KH-0302")
    members = await kim.wait_for("Family KH-0302: who is the invite for?")
    first = kim.press(members.message_id, f"iv:mem:{ids['Layla']}")
    await kim.wait_for("Invite for Layla of family KH-0302")
    kim.press(members.message_id, f"iv:mem:{ids['Layla']}")  # a second tap
    await kim.wait_for("An invite for Layla of family KH-0302 was already created")
    mark = repress(
        harness, kim, first, members.message_id, f"iv:mem:{ids['Layla']}"
    )  # the first press, redelivered
    await kim.wait_for("was already created", since=mark)
    kim.press(members.message_id, f"iv:mem:{ids['Omar']}")  # another member on the same list
    await kim.wait_for("Invite for Omar of family KH-0302")
    await harness.api.quiet()
    with harness.db.session() as session:
        made = session.exec(select(Invite).where(Invite.source_chat_id == kim.chat_id)).all()
    assert sorted(i.member_id or 0 for i in made) == sorted([ids["Layla"] or 0, ids["Omar"] or 0])


async def test_a_redelivered_new_member_name_adds_and_invites_once(harness: Harness) -> None:
    _, kim = await harness.join_staff("coordinator", "Kim")
    harness.family("KH-0303", member="Layla")
    kim.send_text("/invite")
    await kim.wait_for("Who is the invite for?")
    kim.press_button("A family member")
    await kim.wait_for("1 family is registered")
    kim.press_button("KH-0303")
    await kim.wait_for("Family KH-0303: who is the invite for?")
    kim.press_button("New member")
    await kim.wait_for("Type the new member's name for family KH-0303.")
    sent = kim.send_text("Omar Haddad")
    await kim.wait_for("Invite for Omar Haddad of family KH-0303")
    mark = redeliver(harness, kim, sent)
    await kim.wait_for("An invite for Omar Haddad of family KH-0303 was already", since=mark)
    await harness.api.quiet()
    with harness.db.session() as session:
        omars = session.exec(select(Member).where(Member.name == "Omar Haddad")).all()
        made = session.exec(select(Invite).where(Invite.source_chat_id == kim.chat_id)).all()
    assert len(omars) == 1 and len(made) == 1


# ---------------------------------------------------------------- classes


async def test_enrolling_again_from_the_same_button_changes_nothing(harness: Harness) -> None:
    harness.provider("Kent Refugee Action", "Dover,Thanet")
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    amina = await harness.join_family("KH-0001", caseworker_id=sam_id, language="ar")
    start = datetime.now(LONDON).date() + timedelta(days=7)
    with harness.db.session() as session:
        esol = classes.add_class(
            session, name="ESOL Entry 3", venue="Dover Library",
            weekday=("mon", "tue", "wed", "thu", "fri", "sat", "sun")[start.weekday()],
            time="10:00", minutes=120, term_from=start.isoformat(),
            term_to=(start + timedelta(days=70)).isoformat(),
        )  # fmt: skip
        member = session.exec(select(Member)).one()
    data = build(Prefix.CLASSES, ClassAction.YES, esol.id or 0, member.id or 0)
    sam.send_text("/classes")
    page = await sam.wait_for("English classes: tap one")
    first = sam.press(page.message_id, data)
    await sam.wait_for("Your families' members in this class:")
    await amina.wait_for("لديك مكان في صف")
    sam.press(page.message_id, data)  # a second tap
    repress(harness, sam, first, page.message_id, data)  # the first press, redelivered
    await harness.api.quiet()
    with harness.db.session() as session:
        assert len(session.exec(select(Enrolment)).all()) == 1
    assert sum("لديك مكان في صف" in m.text for m in amina.messages) == 1
    assert "Already in this class" in str(sam.callback_answers[-1].get("text"))
    assert not any("something went wrong" in m.text for m in sam.all_messages)


async def test_any_button_press_handled_again_is_acted_on_without_an_error(
    harness: Harness,
) -> None:
    """A press handled a second time (after a crash) can no longer be answered; the bot lets
    that go instead of failing the update and telling the person something went wrong."""
    amina = await harness.join_family("KH-0031")
    amina.send_text("/language")
    prompt = await amina.wait_for("Choose your language")
    first = amina.press(prompt.message_id, "lang:en")
    await amina.wait_for("From now on I will write to you in English.")
    mark = repress(harness, amina, first, prompt.message_id, "lang:en")
    await amina.wait_for("How can we help?", since=mark)
    for _ in range(100):  # handled updates are marked done in batches
        with harness.db.session() as session:
            states = {row.state for row in session.exec(select(InboundUpdate))}
        if states == {InboundState.DONE}:
            break
        await asyncio.sleep(0.05)
    assert states == {InboundState.DONE}
    assert "went wrong" not in amina.transcript()
