"""Danger is checked on every family message as it arrives, whatever step the conversation is at.

Each test drives the real Application as people use Telegram, and checks by content that the
family saw the emergency guidance at once, that the coordinator and the household's caseworker
each got exactly one alert, and that a redelivered update or an edit alerts nobody again.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from localapi import UserHandle
from localapi.state import SentMessage
from storage.models import Ticket, TicketMessage
from tests.e2e.conftest import Harness

URGENT_AR = "زوجي يضربني وأنا خائفة على أطفالي"
URGENT_EN = "My husband hits me and I am scared for my children"
HIGH_AR = "صاحب البيت طردنا وما عندنا وين ننام الليلة"
HARMLESS_AR = "المدفأة معطلة والبيت بارد"
ALERT = "Safeguarding alert"
TOLD_AR = "أخبرنا مسؤول حالتكم وفريق البلدية فوراً"  # the family's "we have told" sentence
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _office_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages are sent on a Tuesday morning, when the office is open."""
    monkeypatch.setattr("handlers.report.utcnow", lambda: TUESDAY_10)


def has_button(prefix: str) -> Callable[[SentMessage], bool]:
    """A bot message carrying a button whose data starts with ``prefix``."""
    return lambda m: any((d or "").startswith(prefix) for _, d in m.buttons)


def is_guidance_ar(message: SentMessage) -> bool:
    """The Arabic emergency notice: staff were told, and the numbers to call."""
    return TOLD_AR in message.text and "999" in message.text and "111" in message.text


def alerts(person: UserHandle) -> list[SentMessage]:
    """Every safeguarding alert a member of staff got."""
    return [m for m in person.messages if ALERT in m.text]


def redeliver(harness: Harness, sent: dict[str, Any], *, edited: bool = False) -> None:
    """Telegram sends the same message again (after a restart), or an edit of it."""
    payload = copy.deepcopy(sent)
    kind = "message"
    if edited:
        payload["edit_date"] = payload["date"] + 5
        kind = "edited_message"
    harness.api.world.push_update(kind, payload)


async def staff_and_family(
    harness: Harness, ref: str = "KH-0100", *, language_code: str = "ar"
) -> tuple[UserHandle, UserHandle, UserHandle, UserHandle]:
    """A household's caseworker (Sam), a colleague (Lee), a coordinator (Kim), the family."""
    harness.provider("Kent Refugee Action", "Dover,Thanet")
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    _, lee = await harness.join_staff("caseworker", "Lee", "Kent Refugee Action")
    _, kim = await harness.join_staff("coordinator", "Kim")
    family = await harness.join_family(ref, caseworker_id=sam_id, language_code=language_code)
    return sam, lee, kim, family


def press_data(person: UserHandle, data: str) -> None:
    """Presses the newest button with exactly this callback data (labels are translators')."""
    for message in reversed(person.messages):
        if any(d == data for _, d in message.buttons):
            person.press(message.message_id, data)
            return
    raise AssertionError(f"no button {data!r}; transcript:\n{person.transcript()}")


async def start_report(person: UserHandle, category: str = "housing") -> None:
    """/report, then a category: the family is describing the problem."""
    person.send_text("/report")
    await person.wait_for(has_button("rep:cat:"))
    press_data(person, f"rep:cat:{category}")
    await person.wait_for(has_button("rep:send"))


async def send_report(person: UserHandle) -> SentMessage:
    """Send, then yes: returns the acknowledgement with the reference."""
    press_data(person, "rep:send")
    await person.wait_for(has_button("rep:confirm"))
    press_data(person, "rep:confirm")
    return await person.wait_for("K-0")


async def open_ticket(person: UserHandle, text: str = HARMLESS_AR) -> None:
    """The family reports an ordinary problem."""
    await start_report(person)
    person.send_text(text)
    await person.wait_for(has_button("rep:send"))
    await send_report(person)


async def assert_one_alert_each(
    harness: Harness, *staff: UserHandle, words: str, bystander: UserHandle | None = None
) -> None:
    """Each of ``staff`` got exactly one alert showing the family's words; the bystander none."""
    for person in staff:
        await person.wait_for(ALERT, since=0)
    await harness.api.quiet()
    for person in staff:
        got = alerts(person)
        assert len(got) == 1, person.transcript()
        assert words in got[0].text and "KH-0100" in got[0].text
        assert "violence" in got[0].text  # the category, in English
    if bystander is not None:
        assert alerts(bystander) == []


# ---------------------------------------------------------------- every state


async def test_in_a_draft_before_send(harness: Harness) -> None:
    sam, lee, kim, amina = await staff_and_family(harness)
    await start_report(amina)
    sent = amina.send_text(URGENT_AR)
    await amina.wait_for(is_guidance_ar)  # at once, before the report is sent
    await assert_one_alert_each(harness, sam, kim, words=URGENT_AR, bystander=lee)
    assert "K-0" not in alerts(kim)[0].text  # no request exists yet

    redeliver(harness, sent)
    await harness.api.quiet()
    assert len(alerts(sam)) == len(alerts(kim)) == 1
    ack = await send_report(amina)
    assert "999" in ack.text
    opened = await kim.wait_for("K-0001")
    assert "🚨" in opened.text and URGENT_AR in opened.text
    await sam.wait_for("K-0001")
    await harness.api.quiet()
    assert len(alerts(sam)) == len(alerts(kim)) == 1  # the ticket did not alert again
    with harness.db.session() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and ticket.urgent and ticket.priority == "urgent"
        parts = session.exec(select(TicketMessage).where(TicketMessage.ticket_id == 1)).all()
    assert [m.text for m in parts] == [URGENT_AR]  # the redelivery was not kept twice


async def test_while_the_category_buttons_are_showing(harness: Harness) -> None:
    sam, lee, kim, amina = await staff_and_family(harness)
    amina.send_text("/report")
    await amina.wait_for(has_button("rep:cat:"))
    amina.send_text(URGENT_AR)
    await amina.wait_for(is_guidance_ar)
    kept = await amina.wait_for(has_button("rep:cat:"))  # still asked for the category
    assert "احتفظنا برسالتكم" in kept.text
    await assert_one_alert_each(harness, sam, kim, words=URGENT_AR, bystander=lee)
    press_data(amina, "rep:cat:housing")
    await amina.wait_for(has_button("rep:send"))
    await send_report(amina)
    card = await sam.wait_for("📥")
    assert URGENT_AR in card.text  # the words typed at the category step are in the report
    with harness.db.session() as session:
        texts = [m.text for m in session.exec(select(TicketMessage))]
    assert texts == [URGENT_AR]
    await harness.api.quiet()
    assert len(alerts(sam)) == len(alerts(kim)) == 1


async def test_in_the_which_request_chooser(harness: Harness) -> None:
    sam, lee, kim, amina = await staff_and_family(harness)
    await open_ticket(amina)
    await open_ticket(amina, "الباب لا يقفل")
    sent = amina.send_text(URGENT_AR)
    await amina.wait_for(is_guidance_ar)
    chooser = await amina.wait_for(has_button("att:"))
    await assert_one_alert_each(harness, sam, kim, words=URGENT_AR, bystander=lee)
    redeliver(harness, sent)
    await harness.api.quiet()
    amina.press(chooser.message_id, "att:1")
    await amina.wait_for("K-0001")
    await harness.api.quiet()
    assert len(alerts(sam)) == len(alerts(kim)) == 1
    with harness.db.session() as session:
        first, second = session.get(Ticket, 1), session.get(Ticket, 2)
        assert first is not None and first.urgent and first.priority == "urgent"
        assert second is not None and not second.urgent
        joined = session.exec(select(TicketMessage).where(TicketMessage.text == URGENT_AR)).all()
    assert [m.ticket_id for m in joined] == [1]


async def test_on_a_reply_to_a_resolved_ticket(harness: Harness) -> None:
    sam, lee, kim, amina = await staff_and_family(harness)
    await open_ticket(amina)
    sam.send_text("/reply K-0001 The engineer fixed it.")
    await amina.wait_for("The engineer fixed it.")
    card = await sam.wait_for("📥", since=0)
    sam.press(card.message_id, "tk:resolve:1")
    resolved = await amina.wait_for(has_button("fam:helpful:"))
    await harness.api.quiet()  # the outbox links the notice to K-0001 right after sending it
    amina.send_text(URGENT_AR, reply_to=resolved.message_id)
    await amina.wait_for(is_guidance_ar)
    await amina.wait_for(has_button("fam:reopen:1"))  # the request is closed: offer to reopen
    await assert_one_alert_each(harness, sam, kim, words=URGENT_AR, bystander=lee)
    assert "K-0001" in alerts(kim)[0].text  # the alert names the request it came from


async def test_on_a_photo_caption_joining_the_open_ticket(harness: Harness) -> None:
    sam, lee, kim, amina = await staff_and_family(harness)
    await open_ticket(amina)
    sent = amina.send_photo(caption=URGENT_AR)
    await amina.wait_for(is_guidance_ar)
    await assert_one_alert_each(harness, sam, kim, words=URGENT_AR, bystander=lee)
    assert "K-0001" in alerts(sam)[0].text
    redeliver(harness, sent)
    await harness.api.quiet()
    assert len(alerts(sam)) == len(alerts(kim)) == 1
    with harness.db.session() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and ticket.urgent
        photos = session.exec(select(TicketMessage).where(TicketMessage.kind == "photo")).all()
    assert len(photos) == 1


async def test_on_a_document_caption_in_a_draft(harness: Harness) -> None:
    sam, lee, kim, amina = await staff_and_family(harness)
    await start_report(amina)
    amina.send_document(b"%PDF-1.4", "letter.pdf", mime_type="application/pdf", caption=URGENT_AR)
    await amina.wait_for(is_guidance_ar)
    await assert_one_alert_each(harness, sam, kim, words=URGENT_AR, bystander=lee)


async def test_an_ordinary_message_joining_the_open_ticket_and_its_edit(
    harness: Harness,
) -> None:
    sam, lee, kim, amina = await staff_and_family(harness)
    await open_ticket(amina)
    sent = amina.send_text(URGENT_AR)
    await amina.wait_for(is_guidance_ar)
    await assert_one_alert_each(harness, sam, kim, words=URGENT_AR, bystander=lee)
    redeliver(harness, sent, edited=True)
    redeliver(harness, sent)
    await harness.api.quiet()
    assert len(alerts(sam)) == len(alerts(kim)) == 1
    with harness.db.session() as session:
        assert (
            len(session.exec(select(TicketMessage).where(TicketMessage.text == URGENT_AR)).all())
            == 1
        )
    card = next(m for m in reversed(sam.messages) if "K-0001" in m.text and ALERT not in m.text)
    assert "🚨" in card.text and "Safeguarding: urgent" in card.text


async def test_an_english_speaking_family(harness: Harness) -> None:
    sam, lee, kim, john = await staff_and_family(harness, language_code="en")
    await open_ticket(john, "The heating is broken")
    john.send_text(URGENT_EN)
    guidance = await john.wait_for("999")
    assert "told your caseworker" in guidance.text and "111" in guidance.text
    assert "Domestic Abuse Helpline" in guidance.text  # violence at home: the helpline too
    await assert_one_alert_each(harness, sam, kim, words=URGENT_EN, bystander=lee)


# ---------------------------------------------------------------- levels


@pytest.mark.parametrize("words", [HIGH_AR, "نزيف"])
async def test_high_raises_priority_without_guidance_or_alert(
    harness: Harness, words: str
) -> None:
    sam, _, kim, amina = await staff_and_family(harness)
    await start_report(amina, "transport")  # a low-priority category
    amina.send_text(words)
    await amina.wait_for(has_button("rep:send"))
    await send_report(amina)
    card = await sam.wait_for("📥")
    assert "Safeguarding: high" in card.text
    await harness.api.quiet()
    assert not any(is_guidance_ar(m) for m in amina.messages)
    assert alerts(sam) == [] and alerts(kim) == []
    with harness.db.session() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and ticket.priority == "high" and not ticket.urgent


async def test_harmless_words_change_nothing(harness: Harness) -> None:
    sam, _, kim, amina = await staff_and_family(harness)
    await open_ticket(amina, "عندي فاتورة الغاز وما فهمتها")
    await sam.wait_for("📥")
    await harness.api.quiet()
    assert alerts(sam) == [] and alerts(kim) == []
    assert not any("999" in m.text and TOLD_AR in m.text for m in amina.messages)
