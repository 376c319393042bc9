"""A coordinator's reference-data change handled twice (a redelivery, a second tap) is made
once, and the second handling answers what the first did instead of refusing.

Each test drives the real Application; ``redeliver`` and ``repress`` stand for Telegram
sending the same message or the same callback query again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from bot.services import reference_data
from localapi import UserHandle
from storage.models import AuditEvent, District, Provider
from tests.e2e.conftest import Harness
from tests.e2e.test_redelivered_staff_commands import count, redeliver, repress

REFUSALS = ("already", "went wrong", "no longer under way", "not found", "There is no")


def _free_district(harness: Harness, name: str = "Swale") -> int:
    """A district in no provider's Lot (registered when the seed has not)."""
    with harness.db.session() as session:
        district = session.exec(select(District).where(District.name == name)).first()
        if district is None:
            district = reference_data.add_district(session, person=None, name=name)
        assert district.id is not None and district.lot_id is None
        return district.id


def _audited(harness: Harness, action: str) -> int:
    """How many audit events of one action there are."""
    with harness.db.session() as session:
        return len(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def _refused(text: str) -> bool:
    """Whether a bot message reads as a refusal or an error."""
    return any(word in text for word in REFUSALS)


@dataclass(frozen=True)
class Moved:
    """Dover picked for East Kent Support, then "Move it" pressed: the presses and their data."""

    question_id: int
    pick: str
    picked: str  # the callback query id of the pick
    ask_id: int
    move: str
    moved: str  # the callback query id of the confirm


async def _pick_dover_and_move(kim: UserHandle, question_text: str) -> Moved:
    """Picks Dover on the question, then confirms taking it from Kent Refugee Action."""
    question = await kim.wait_for(question_text)
    pick = next(d for label, d in question.buttons if label == "Dover")
    picked = kim.press(question.message_id, pick)
    ask = await kim.wait_for("Dover is in the Lot of Kent Refugee Action. Move it to East")
    move = next(d for label, d in ask.buttons if "Move it" in label)
    moved = kim.press(ask.message_id, move)
    return Moved(question.message_id, pick, picked, ask.message_id, move, moved)


async def test_a_redelivered_district_name_adds_once_and_says_so_again(
    harness: Harness,
) -> None:
    harness.provider()
    _, kim = await harness.join_staff("coordinator", "Kim")
    kim.send_text("/districts")
    await kim.wait_for("Districts and the provider whose Lot holds each:")
    kim.press_button("Add a district")
    await kim.wait_for("Type the new district's name.")
    sent = kim.send_text("Bexley")
    first = await kim.wait_for("Bexley is added.")
    mark = redeliver(harness, kim, sent)
    again = await kim.wait_for("Bexley is added.", since=mark)
    assert again.text == first.text
    await harness.api.quiet()
    with harness.db.session() as session:
        assert len(session.exec(select(District).where(District.name == "Bexley")).all()) == 1
    assert _audited(harness, "district.add") == 1
    assert not any(_refused(m.text) for m in kim.messages)


async def test_a_new_provider_is_added_once_however_often_its_steps_come_again(
    harness: Harness,
) -> None:
    harness.provider()
    _free_district(harness)
    _, kim = await harness.join_staff("coordinator", "Kim")
    kim.send_text("/providers")
    await kim.wait_for("Providers and the districts of their Lot:")
    kim.press_button("Add a provider")
    await kim.wait_for("Type the new provider's name.")
    sent = kim.send_text("East Kent Support")
    await kim.wait_for("Which district does East Kent Support hold first?")
    mark = redeliver(harness, kim, sent)  # the name again while the district is being picked
    question = await kim.wait_for("Which district does East Kent Support hold first?", since=mark)
    data = next(d for label, d in question.buttons if label == "Swale")
    first = kim.press(question.message_id, data)
    done = await kim.wait_for("East Kent Support is added.")
    assert "Swale is now in the Lot of East Kent Support." in done.text
    kim.press(question.message_id, data)  # a second tap
    again = await kim.wait_for("East Kent Support is added.")
    assert again.text == done.text
    mark = repress(harness, kim, first, question.message_id, data)  # the first press again
    await kim.wait_for("East Kent Support is added.", since=mark)
    mark = redeliver(harness, kim, sent)  # the typed name again, after the provider is added
    await kim.wait_for("East Kent Support is added.", since=mark)
    await harness.api.quiet()
    with harness.db.session() as session:
        names = sorted(p.name for p in session.exec(select(Provider)))
    assert names == ["East Kent Support", "Kent Refugee Action"]
    assert _audited(harness, "provider.add") == 2  # the harness's and Kim's
    assert not any(_refused(m.text) for m in kim.messages)
    assert "went wrong" not in kim.transcript()


async def test_a_new_provider_taking_a_district_is_added_once_after_the_confirm(
    harness: Harness,
) -> None:
    harness.provider()
    _, kim = await harness.join_staff("coordinator", "Kim")
    kim.send_text("/providers")
    await kim.wait_for("Providers and the districts of their Lot:")
    kim.press_button("Add a provider")
    await kim.wait_for("Type the new provider's name.")
    kim.send_text("East Kent Support")
    m = await _pick_dover_and_move(kim, "Which district does East Kent Support hold first?")
    done = await kim.wait_for("East Kent Support is added.")
    assert "Kent Refugee Action no longer holds it" in done.text
    mark = repress(harness, kim, m.moved, m.ask_id, m.move)
    again = await kim.wait_for("East Kent Support is added.", since=mark)
    assert again.text == done.text
    mark = repress(harness, kim, m.picked, m.question_id, m.pick)  # the first pick again
    again = await kim.wait_for("East Kent Support is added.", since=mark)
    assert again.text == done.text
    await harness.api.quiet()
    assert count(harness, Provider) == 2
    assert _audited(harness, "provider.add") == 2  # the harness's and Kim's
    with harness.db.session() as session:
        dover = session.exec(select(District).where(District.name == "Dover")).one()
        east = session.exec(select(Provider).where(Provider.name == "East Kent Support")).one()
        assert reference_data.holder_of(session, dover) == east
    assert not any(_refused(m.text) for m in kim.messages)


async def test_a_redelivered_rename_renames_once_and_says_so_again(harness: Harness) -> None:
    provider_id = harness.provider()
    _, kim = await harness.join_staff("coordinator", "Kim")
    kim.send_text("/providers")
    await kim.wait_for("Providers and the districts of their Lot:")
    kim.press_button("Kent Refugee Action")
    await kim.wait_for("Districts of its Lot: Dover, Thanet")
    kim.press_button("Rename")
    await kim.wait_for("Type the provider's new name.")
    sent = kim.send_text("Kent Refugee Action South")
    await kim.wait_for("Renamed: Kent Refugee Action South.")
    mark = redeliver(harness, kim, sent)
    again = await kim.wait_for("Renamed:", since=mark)
    assert again.text == "Renamed: Kent Refugee Action South."
    await harness.api.quiet()
    with harness.db.session() as session:
        provider = session.get(Provider, provider_id)
        assert provider is not None and provider.name == "Kent Refugee Action South"
    assert _audited(harness, "provider.rename") == 1
    assert not any(_refused(m.text) for m in kim.messages)


async def test_a_district_given_twice_from_the_same_button_moves_once(harness: Harness) -> None:
    harness.provider()
    harness.provider("East Kent Support", "Swale")
    _, kim = await harness.join_staff("coordinator", "Kim")
    kim.send_text("/providers")
    await kim.wait_for("Providers and the districts of their Lot:")
    kim.press_button("East Kent Support")
    await kim.wait_for("Districts of its Lot: Swale")
    kim.press_button("Give it a district")
    m = await _pick_dover_and_move(kim, "Which district goes into the Lot of East Kent Support?")
    done = await kim.wait_for("Dover is now in the Lot of East Kent Support;")
    kim.press(m.ask_id, m.move)  # a second tap
    again = await kim.wait_for("Dover is now in the Lot of East Kent Support;")
    assert again.text == done.text
    mark = repress(harness, kim, m.moved, m.ask_id, m.move)
    again = await kim.wait_for("Dover is now in the Lot", since=mark)
    assert again.text == done.text
    mark = repress(harness, kim, m.picked, m.question_id, m.pick)  # the first pick again
    again = await kim.wait_for("Dover is now in the Lot", since=mark)
    assert again.text == done.text
    await harness.api.quiet()
    assert _audited(harness, "lot.move") == 1
    assert not any(_refused(m.text) for m in kim.messages)


async def test_a_switch_pressed_again_changes_nothing_further(harness: Harness) -> None:
    harness.provider()
    east = harness.provider("East Kent Support", "Swale")
    with harness.db.session() as session:
        swale = session.exec(select(District).where(District.name == "Swale")).one()
        reference_data.move_district(
            session, person=None, district_id=swale.id or 0, provider_id=1, move=True
        )
    _, kim = await harness.join_staff("coordinator", "Kim")
    kim.send_text("/providers")
    await kim.wait_for("Providers and the districts of their Lot:")
    kim.press_button("East Kent Support")
    page = await kim.wait_for("Districts of its Lot: -")
    off = next(d for label, d in page.buttons if "Switch off" in label)
    first = kim.press(page.message_id, off)
    said = await kim.wait_for("East Kent Support is switched off.")
    await kim.wait_for(lambda m: any("Switch on" in label for label, _ in m.buttons))
    kim.press_button("Switch on")  # the page now offers the opposite
    await kim.wait_for("East Kent Support is switched on.")
    mark = repress(harness, kim, first, page.message_id, off)  # the first press, handled again
    again = await kim.wait_for("is switched off", since=mark)
    assert again.text == said.text
    await harness.api.quiet()
    with harness.db.session() as session:
        provider = session.get(Provider, east)
        assert provider is not None and provider.active  # switched on stays on
    assert _audited(harness, "provider.deactivate") == 1
    assert _audited(harness, "provider.activate") == 1
    assert "went wrong" not in kim.transcript()
