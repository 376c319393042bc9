"""Edited messages are real updates: they pass the gate, and an edited command gets an answer."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Notification, Ticket, TicketMessage
from tests.e2e.conftest import Harness
from tests.e2e.test_tickets import HOUSING_AR, report, setup_provider


async def test_a_stranger_editing_a_message_reaches_nothing(harness: Harness) -> None:
    stranger = harness.user(language_code="ar")
    sent = stranger.send_text("مرحبا")
    await stranger.wait_for("رابط دعوة")  # the not-registered answer
    before = len(stranger.messages)
    stranger.edit_text(sent["message_id"], "/report")
    await harness.api.quiet()
    assert len(stranger.messages) == before
    with harness.db.session() as session:
        assert session.exec(select(Ticket)).first() is None


async def test_an_unconsented_member_editing_sees_only_the_notice(harness: Harness) -> None:
    code = harness.family("KH-0701")
    amina = harness.user(language_code="ar")
    amina.send_text(f"/start {code}")
    await amina.wait_for(lambda m: any(d == "consent:ok" for _, d in m.buttons))
    sent = amina.send_text("عندي مشكلة")
    await harness.api.quiet()
    before = len(amina.messages)
    amina.edit_text(sent["message_id"], "/report")
    await harness.api.quiet()
    assert not any("ما موضوع المشكلة؟" in m.text for m in amina.messages[before:])
    with harness.db.session() as session:
        assert session.exec(select(Ticket)).first() is None


async def test_an_edited_reply_command_is_not_reported_as_sent(harness: Harness) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0702", caseworker_id=sam_id)
    ref = await report(amina, HOUSING_AR, "الباب مكسور")
    await sam.wait_for(ref)
    sent = sam.send_text(f"/reply {ref} The carpenter comes on Mondy")
    await sam.wait_for("Sent to the family")
    sam.edit_text(sent["message_id"], f"/reply {ref} The carpenter comes on Monday")
    answer = await sam.wait_for("edited")
    assert "again" in answer.text  # told to send the correction as a new message
    await harness.api.quiet()
    assert sum("Sent to the family" in m.text for m in sam.messages) == 1
    with harness.db.session() as session:
        replies = session.exec(select(TicketMessage).where(TicketMessage.direction == "out"))
        assert [r.text for r in replies] == ["The carpenter comes on Mondy"]
        assert session.exec(select(Notification)).first() is not None
