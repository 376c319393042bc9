"""A family's edited message updates what was stored and what staff see, or gets a clear answer.

Each test drives the real Application against the local Bot API, as people use Telegram: the
family edits a message in their chat, and the bot gets Telegram's ``edited_message`` update.
"""

from __future__ import annotations

import copy

import pytest
from sqlmodel import select

from storage.models import Flow, Notification, Ticket, TicketMessage
from tests.e2e.conftest import Harness
from tests.e2e.test_safeguarding_arrival import (
    URGENT_AR,
    assert_one_alert_each,
    has_button,
    is_guidance_ar,
    open_ticket,
    press_data,
    send_report,
    staff_and_family,
    start_report,
)
from tests.e2e.test_translation_relay import MT_EN, with_models  # noqa: F401  (fixture)
from tests.fixtures import AR_EN_WORD

SENT_AR = "تم الإرسال إلى مسؤول حالتك"
PASSED_ON_AR = "وصل تصحيحك إلى مسؤول حالتك"
CORRECTED_AR = "تم التصحيح"
NOT_FOUND_AR = "لم أجد تلك الرسالة لأصحّحها"
EDITED_CARD = "✏️ The family corrected a message"


def family_rows(harness: Harness) -> list[TicketMessage]:
    """Every family message kept in a request, oldest first."""
    with harness.db.session() as session:
        return list(
            session.exec(
                select(TicketMessage)
                .where(TicketMessage.direction == "in")
                .order_by(TicketMessage.id)  # type: ignore[arg-type]
            )
        )


async def test_an_edit_of_a_message_in_a_request_reaches_staff_marked_edited(
    harness: Harness,
) -> None:
    sam, lee, _, amina = await staff_and_family(harness)
    await open_ticket(amina, "المدفأة معطلة")
    sent = amina.send_text("سنكون في البيت يوم الاثنين")
    await amina.wait_for(SENT_AR)
    await sam.wait_for("يوم الاثنين")
    edited = amina.edit_text(sent["message_id"], "سنكون في البيت يوم الثلاثاء")
    told = await amina.wait_for(PASSED_ON_AR)
    assert "K-0001" in told.text
    card = await sam.wait_for(EDITED_CARD)
    now_reads, first_sent = card.text.split("As first sent:")
    assert "Family wrote (edited):" in now_reads and "يوم الثلاثاء" in now_reads
    assert "يوم الاثنين" not in now_reads and "يوم الاثنين" in first_sent
    assert "K-0001" in card.text and any(d == "tk:reply:1" for _, d in card.buttons)
    row = family_rows(harness)[-1]
    assert row.text == "سنكون في البيت يوم الثلاثاء"
    assert row.original_text == "سنكون في البيت يوم الاثنين" and row.edited_at is not None

    # Telegram sends the same edit again (after a restart): nobody is told twice.
    harness.api.world.push_update("edited_message", copy.deepcopy(edited))
    await harness.api.quiet()
    assert sum(PASSED_ON_AR in m.text for m in amina.messages) == 1
    assert sum(EDITED_CARD in m.text for m in sam.messages) == 1
    assert not any(EDITED_CARD in m.text for m in lee.messages)  # not Lee's family
    # A fresh card of the request shows the message as edited, in its new words.
    sam.send_text("/tickets")
    await sam.wait_for("K-0001")
    press_data(sam, "tk:open:1")
    full = await sam.wait_for("Family wrote (edited):")
    assert "يوم الثلاثاء" in full.text and "يوم الاثنين" not in full.text


@pytest.mark.usefixtures("with_models")  # the bot restarted with the fixture Argos models
async def test_the_edited_words_are_translated_again_for_staff(harness: Harness) -> None:
    sam, _, _, amina = await staff_and_family(harness)
    await open_ticket(amina, "المدفأة معطلة")
    sent = amina.send_text("سنكون في البيت يوم الاثنين")
    await amina.wait_for(SENT_AR, timeout=30)
    await sam.wait_for("يوم الاثنين", timeout=30)
    with harness.db.session() as session:
        first = session.exec(select(TicketMessage).where(TicketMessage.id == 2)).one()
        assert first.translation_status == "translated" and first.translation_target == "en"
    amina.edit_text(sent["message_id"], "سنكون في البيت يوم الثلاثاء")
    card = await sam.wait_for(EDITED_CARD, timeout=30)
    translated, original = card.text.split("Original:")
    assert MT_EN in translated and AR_EN_WORD in translated.split(MT_EN)[1]
    assert "يوم الثلاثاء" in original.split("As first sent:")[0]
    with harness.db.session() as session:
        row = session.exec(select(TicketMessage).where(TicketMessage.id == 2)).one()
    assert row.text == "سنكون في البيت يوم الثلاثاء"
    assert row.translation_status == "translated" and row.translation_target == "en"


async def test_an_edit_that_adds_danger_alerts_staff_and_shows_the_guidance(
    harness: Harness,
) -> None:
    sam, lee, kim, amina = await staff_and_family(harness)
    await open_ticket(amina, "المدفأة معطلة")
    sent = amina.send_text("الباب مكسور")
    await amina.wait_for(SENT_AR)
    amina.edit_text(sent["message_id"], URGENT_AR)
    await amina.wait_for(is_guidance_ar)
    await amina.wait_for(PASSED_ON_AR)
    await assert_one_alert_each(harness, sam, kim, words=URGENT_AR, bystander=lee)
    with harness.db.session() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and ticket.urgent and ticket.priority == "urgent"


async def test_an_edit_in_the_report_being_written_changes_what_is_sent(
    harness: Harness,
) -> None:
    sam, _, _, amina = await staff_and_family(harness)
    await start_report(amina)
    sent = amina.send_text("الغسالة لا تعمل")
    await amina.wait_for(has_button("rep:send"))
    amina.edit_text(sent["message_id"], "الثلاجة لا تعمل")
    await amina.wait_for(CORRECTED_AR)
    await send_report(amina)
    card = await sam.wait_for("📥 New request")
    assert "الثلاجة لا تعمل" in card.text and "الغسالة" not in card.text
    assert "(edited)" not in card.text  # staff never saw the first wording
    [row] = family_rows(harness)
    assert row.text == "الثلاجة لا تعمل" and row.edited_at is None


async def test_an_edit_of_a_message_never_kept_is_answered_and_starts_nothing(
    harness: Harness,
) -> None:
    _, _, _, amina = await staff_and_family(harness)
    await start_report(amina)
    sent = amina.send_text("الغسالة لا تعمل")
    await amina.wait_for(has_button("rep:send"))
    press_data(amina, "rep:cancel")
    await amina.wait_for("تم الإلغاء")
    amina.edit_text(sent["message_id"], "الثلاجة لا تعمل")
    answer = await amina.wait_for(NOT_FOUND_AR)
    assert "رسالة جديدة" in answer.text and answer.buttons == []
    await harness.api.quiet()
    with harness.db.session() as session:
        assert session.exec(select(Ticket)).first() is None
        assert session.exec(select(Flow)).first() is None


async def test_an_edit_on_a_resolved_request_is_not_passed_on(harness: Harness) -> None:
    sam, _, _, amina = await staff_and_family(harness)
    await start_report(amina)
    sent = amina.send_text("المدفأة معطلة")
    await amina.wait_for(has_button("rep:send"))
    await send_report(amina)
    card = await sam.wait_for("📥", since=0)
    sam.press(card.message_id, "tk:resolve:1")
    await amina.wait_for(has_button("fam:helpful:"))
    amina.edit_text(sent["message_id"], "المدفأة والسخان معطلان")
    closed = await amina.wait_for("لم يُرسَل تصحيحك")
    assert "K-0001" in closed.text and any(d == "fam:reopen:1" for _, d in closed.buttons)
    await harness.api.quiet()
    assert [row.text for row in family_rows(harness)] == ["المدفأة معطلة"]
    assert not any(EDITED_CARD in m.text for m in sam.messages)


async def test_an_english_speaking_family_is_answered_in_english(harness: Harness) -> None:
    sam, _, _, john = await staff_and_family(harness, language_code="en")
    await open_ticket(john, "The heating is broken")
    sent = john.send_text("We are home on Mondy")
    await john.wait_for("Sent to your caseworker")
    john.edit_text(sent["message_id"], "We are home on Monday")
    told = await john.wait_for("Your correction was passed on to your caseworker")
    assert "K-0001" in told.text
    card = await sam.wait_for(EDITED_CARD)
    assert "We are home on Monday" in card.text.split("As first sent:")[0]


async def test_a_caseworkers_edited_reply_to_a_card_is_answered_and_not_sent(
    harness: Harness,
) -> None:
    sam, _, _, amina = await staff_and_family(harness)
    await open_ticket(amina)
    card = await sam.wait_for("📥", since=0)
    sent = sam.send_text("The engineer comes on Mondy", reply_to=card.message_id)
    await sam.wait_for("Sent to the family of K-0001")
    await amina.wait_for("The engineer comes on Mondy")
    sam.edit_text(sent["message_id"], "The engineer comes on Monday")
    answer = await sam.wait_for("does not pass edits on")
    assert "new message" in answer.text
    await harness.api.quiet()
    assert not any("on Monday" in m.text for m in amina.messages)
    assert sum("Sent to the family" in m.text for m in sam.messages) == 1
    with harness.db.session() as session:
        out = session.exec(select(TicketMessage).where(TicketMessage.direction == "out"))
        assert [m.text for m in out] == ["The engineer comes on Mondy"]
        kinds = [n.kind for n in session.exec(select(Notification))]
    assert kinds.count("family.reply") == 1
