"""Report → route → claim → reply → family reads → resolve → reopen, and the bad inputs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlmodel import select

from bot.delivery import dispatcher, periodic
from bot.services import escalation, people, tickets
from bot.services.tickets import Part
from localapi import UserHandle
from storage.models import AuditEvent, Member, Notification, Ticket, TicketMessage, TicketStatus
from tests.e2e.conftest import Harness

HOUSING_AR = "السكن والإصلاحات"
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SATURDAY_10 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _office_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports are made on a Tuesday morning unless a test says otherwise."""
    monkeypatch.setattr("handlers.report.utcnow", lambda: TUESDAY_10)


async def report(person: UserHandle, category: str, *messages: str) -> str:
    """A family member reports a problem through the buttons; returns the reference."""
    person.send_text("/report")
    await person.wait_for("ما موضوع المشكلة؟")
    person.press_button(category)
    await person.wait_for("يرجى إخبارنا عن المشكلة.")
    for text in messages:
        person.send_text(text)
        await person.wait_for("تمت الإضافة")
    person.press_button("إرسال")
    await person.wait_for("هل نرسل طلبك")
    person.press_button("نعم، أرسله")
    ack = await person.wait_for("رقم طلبك هو")
    return next(
        word
        for word in ack.text.replace("\u2068", " ").replace("\u2069", " ").split()
        if word.startswith("K-")
    )


async def setup_provider(harness: Harness) -> tuple[int, UserHandle, int, UserHandle]:
    """A provider with two caseworkers who have joined."""
    harness.provider("Kent Refugee Action", "Dover,Thanet")
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    lee_id, lee = await harness.join_staff("caseworker", "Lee", "Kent Refugee Action")
    return sam_id, sam, lee_id, lee


async def test_report_route_reply_resolve_reopen(harness: Harness) -> None:
    sam_id, sam, _, lee = await setup_provider(harness)
    amina = await harness.join_family("KH-0001", caseworker_id=sam_id)
    ref = await report(amina, HOUSING_AR, "المدفأة معطلة والبيت بارد جداً")
    assert ref == "K-0001"
    ack = amina.last
    assert ack is not None and "وصل طلبك إلى مسؤول حالتك" in ack.text
    assert "المكتب مغلق" not in ack.text

    card = await sam.wait_for("📥 New request")
    assert "K-0001" in card.text and "KH-0001" in card.text and "Dover" in card.text
    assert "Housing and repairs" in card.text and "المدفأة معطلة والبيت بارد جداً" in card.text
    assert ("🙋 Claim", "tk:claim:1") not in card.buttons  # assigned: nothing to claim
    await harness.api.quiet()
    assert not any("K-0001" in m.text for m in lee.messages)  # not Lee's family

    sam.send_text("We will send an engineer tomorrow morning.", reply_to=card.message_id)
    await sam.wait_for("Sent to the family of K-0001.")
    answer = await amina.wait_for("ردّ مسؤول حالتك")
    assert "We will send an engineer tomorrow morning." in answer.text

    amina.send_text("شكراً، سأكون في البيت")
    await amina.wait_for("تم الإرسال إلى مسؤول حالتك")
    follow_up = await sam.wait_for("💬 New message from the family")
    assert "شكراً، سأكون في البيت" in follow_up.text

    sam.press(follow_up.message_id, "tk:resolve:1")
    await sam.wait_for("K-0001 is resolved")
    resolved = await amina.wait_for("تم حل طلبك")
    assert ("👍 نعم، ساعدني", "fam:helpful:1:1") in resolved.buttons
    amina.press(resolved.message_id, "fam:helpful:1:1")
    await amina.wait_for(lambda m: m.edited and m.message_id == resolved.message_id)
    with harness.db.session() as session:
        assert session.get(Ticket, 1).helpful is True  # type: ignore[union-attr]

    amina.press_button("إعادة فتح الطلب")
    await amina.wait_for("أُعيد فتح الطلب")
    await sam.wait_for("🔄 The family reopened this request.")
    amina.send_text("/tickets")
    listing = await amina.wait_for("لديك طلب واحد")
    assert "عند مسؤول حالتك" in listing.text and "We will send an engineer" in listing.text
    with harness.db.session() as session:
        actions = [
            e.action
            for e in session.exec(select(AuditEvent).where(AuditEvent.subject == "ticket:1"))
        ]
    assert actions == ["ticket.open", "ticket.reply", "ticket.resolve", "ticket.reopen"]


async def test_queue_claim_race_and_other_provider(harness: Harness) -> None:
    _, sam, _, lee = await setup_provider(harness)
    harness.provider("East Kent Support", "Swale")
    _, other = await harness.join_staff("caseworker", "Ola", "East Kent Support")
    amina = await harness.join_family("KH-0002", district="Thanet")  # no caseworker: the queue
    await report(amina, HOUSING_AR, "الباب لا يقفل")
    sam_card = await sam.wait_for("📥 New request")
    lee_card = await lee.wait_for("📥 New request")
    assert "Status: in the queue, not claimed yet" in sam_card.text
    await harness.api.quiet()
    assert not any("K-0001" in m.text for m in other.messages)

    sam.press(sam_card.message_id, "tk:claim:1")
    lee.press(lee_card.message_id, "tk:claim:1")
    await harness.api.quiet()
    answers = [a.get("text", "") for a in sam.callback_answers + lee.callback_answers]
    assert sum("You have claimed K-0001." in a for a in answers) == 1
    assert sum("already claimed by" in a for a in answers) == 1
    with harness.db.session() as session:
        assert session.get(Ticket, 1).assignee_id is not None  # type: ignore[union-attr]

    other.send_text("/reply K-0001 hello")
    await other.wait_for("There is no ticket K-0001 that you can see.")
    other.send_text("/reply K-9999 hello")
    await other.wait_for("There is no ticket K-9999 that you can see.")
    other.send_text("/reply nonsense")
    await other.wait_for("Write it like this: /reply K-0042 your answer")


async def test_staff_bad_replies_change_nothing(harness: Harness) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0003", caseworker_id=sam_id)
    await report(amina, HOUSING_AR, "النافذة مكسورة")
    card = await sam.wait_for("📥 New request")
    sam.send_text("Hello?", reply_to=sam.messages[0].message_id)  # the welcome, not a ticket
    await sam.wait_for("That message is not part of a ticket")
    sam.press(card.message_id, "tk:resolve:1")
    await sam.wait_for("K-0001 is resolved")
    sam.send_text("One more thing", reply_to=card.message_id)
    await sam.wait_for("Ticket K-0001 is resolved, so nothing was sent.")
    await harness.api.quiet()
    with harness.db.session() as session:
        outgoing = session.exec(
            select(TicketMessage).where(TicketMessage.direction == "out")
        ).all()
    assert outgoing == []


async def test_cancel_and_empty_reports_create_nothing(harness: Harness) -> None:
    amina = await harness.join_family("KH-0004")
    amina.send_text("/report")
    await amina.wait_for("ما موضوع المشكلة؟")
    amina.press_button(HOUSING_AR)
    await amina.wait_for("يرجى إخبارنا عن المشكلة.")
    amina.press_button("إرسال")
    await amina.wait_for("يرجى إخبارنا عن المشكلة أولاً")
    amina.send_text("شيء ما")
    await amina.wait_for("تمت الإضافة")
    amina.send_text("/cancel")
    await amina.wait_for("تم الإلغاء. لم يُرسَل أي شيء.")
    with harness.db.session() as session:
        assert session.exec(select(Ticket)).all() == []


async def test_long_texts_are_split_never_lost(harness: Harness) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0005", caseworker_id=sam_id)
    long_arabic = " ".join(["كلمة"] * 1000)  # 4,999 characters
    await report(amina, HOUSING_AR, long_arabic)
    await sam.wait_for_count(4)
    await harness.api.quiet()
    card_text = "".join(m.text for m in sam.messages if "K-0001" in m.text or "كلمة" in m.text)
    assert card_text.count("كلمة") == 1000
    long_reply = "Please call the council. " * 170  # 4,250 characters
    before = len(amina.messages)
    sam.send_text(f"/reply K-0001 {long_reply}")
    await sam.wait_for("Sent to the family of K-0001.")
    await amina.wait_for_count(before + 2)  # two parts, paced at about one a second per chat
    await harness.api.quiet()
    received = " ".join(m.text for m in amina.messages[-3:])
    assert received.count("Please call the council.") == 170


async def test_too_large_voice_note_is_refused_clearly(harness: Harness) -> None:
    amina = await harness.join_family("KH-0006")
    amina.send_text("/report")
    await amina.wait_for("ما موضوع المشكلة؟")
    amina.press_button(HOUSING_AR)
    await amina.wait_for("يرجى إخبارنا عن المشكلة.")
    amina.send_voice(size=25_000_000)
    await amina.wait_for("هذا الملف كبير جداً")
    amina.send_photo(caption="صورة الجدار")
    await amina.wait_for("تمت الإضافة")
    amina.press_button("إرسال")
    confirm = await amina.wait_for("هل نرسل طلبك")
    assert "رسالة واحدة" in confirm.text


async def test_photos_reach_the_caseworker(harness: Harness) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0007", caseworker_id=sam_id)
    amina.send_text("/report")
    await amina.wait_for("ما موضوع المشكلة؟")
    amina.press_button(HOUSING_AR)
    await amina.wait_for("يرجى إخبارنا عن المشكلة.")
    amina.send_photo(b"\xff\xd8\xff\xe0 fake jpeg", caption="الرطوبة في الغرفة")
    await amina.wait_for("تمت الإضافة")
    amina.send_voice(b"OggS voice", duration=4)
    await amina.wait_for("تمت الإضافة")
    amina.press_button("إرسال")
    await amina.wait_for("هل نرسل طلبك")
    amina.press_button("نعم، أرسله")
    await sam.wait_for(lambda m: m.kind == "voice")
    kinds = [m.kind for m in sam.messages if m.kind in ("photo", "voice")]
    assert kinds == ["photo", "voice"]
    photo = next(m for m in sam.messages if m.kind == "photo")
    assert photo.caption == "K-0001"
    sam.send_text("Thanks, I can see the damp.", reply_to=photo.message_id)
    await amina.wait_for("Thanks, I can see the damp.")


async def test_blocked_family_is_noted(harness: Harness) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0008", caseworker_id=sam_id)
    await report(amina, HOUSING_AR, "الحمام يسرب الماء")
    await sam.wait_for("📥 New request")
    amina.block()
    sam.send_text("/reply K-0001 The plumber comes on Monday.")
    warning = await sam.wait_for("could not be delivered: they may have blocked Sanad")
    assert "K-0001" in warning.text
    sam.send_text("/reply K-0001 Are you there?")
    await sam.wait_for("the family cannot be reached on Telegram")
    with harness.db.session() as session:
        assert session.get(Ticket, 1).family_unreachable is True  # type: ignore[union-attr]
        assert session.exec(select(Member)).one().unreachable_at is not None
    amina.unblock()
    await harness.api.quiet()
    with harness.db.session() as session:
        assert session.get(Ticket, 1).family_unreachable is False  # type: ignore[union-attr]
        assert session.exec(select(Member)).one().unreachable_at is None
    sam.send_text("/reply K-0001 Welcome back.")
    await amina.wait_for("Welcome back.")


async def test_danger_words_make_it_urgent_for_coordinators(harness: Harness) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    _, kim = await harness.join_staff("coordinator", "Kim")
    amina = await harness.join_family("KH-0009", caseworker_id=sam_id)
    await report(amina, "أمر آخر", "زوجي عم يضربني كل يوم")
    ack = amina.last
    assert ack is not None and "اعتبرنا طلبك عاجلاً" in ack.text
    assert "999" in ack.text and "116 123" in ack.text and "NHS 111" in ack.text
    sam_card = await sam.wait_for("🚨 URGENT")
    kim_card = await kim.wait_for("🚨 URGENT")
    assert "زوجي عم يضربني كل يوم" in kim_card.text and "K-0001" in sam_card.text
    sam.press(sam_card.message_id, "tk:urgent:1:0")
    await harness.api.quiet()
    with harness.db.session() as session:
        assert session.get(Ticket, 1).urgent is False  # type: ignore[union-attr]


async def test_out_of_hours_acknowledgement(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("handlers.report.utcnow", lambda: SATURDAY_10)
    amina = await harness.join_family("KH-0010")
    await report(amina, HOUSING_AR, "الغسالة لا تعمل")
    ack = amina.last
    assert ack is not None
    assert "المكتب مغلق الآن" in ack.text and "الاثنين 30 تشرين الثاني، 09:00" in ack.text
    assert "999" in ack.text and "116 123" in ack.text


async def test_messages_outside_a_flow_find_their_request(harness: Harness) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0011", caseworker_id=sam_id)
    amina.send_text("عندي مشكلة بالكهرباء")  # no open request: starts a report, message kept
    await amina.wait_for("ما موضوع رسالتك؟")
    amina.press_button("الماء والكهرباء")
    await amina.wait_for("يمكنك إضافة المزيد")
    amina.press_button("إرسال")
    await amina.wait_for("(رسالة واحدة)")
    amina.press_button("نعم، أرسله")
    await amina.wait_for("رقم طلبك هو")
    await report(amina, HOUSING_AR, "والباب أيضاً")
    amina.send_text("متى ستأتون؟")
    await amina.wait_for("بخصوص أي طلب هذه الرسالة؟")
    amina.send_text("أنا في البيت بعد الظهر")  # a second message before choosing
    which = await amina.wait_for("بخصوص أي طلب هذه الرسالة؟")
    assert len([b for b in which.buttons if b[1] and b[1].startswith("att:")]) == 3
    amina.press(which.message_id, "att:1")
    await amina.wait_for("مع طلبك")
    await sam.wait_for("أنا في البيت بعد الظهر")
    both = [m.text for m in sam.messages if "متى ستأتون؟" in m.text or "أنا في البيت" in m.text]
    assert len(both) == 2 and all("K-0001" in text for text in both)


async def test_saved_reply_reaches_the_family_in_arabic(harness: Harness) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0012", caseworker_id=sam_id)
    sam.send_text(
        "/saved add Engineer | An engineer will visit this week. | سيزوركم مهندس هذا الأسبوع."
    )
    await sam.wait_for("Saved reply “Engineer” added.")
    await report(amina, HOUSING_AR, "السخان معطل")
    card = await sam.wait_for("📥 New request")
    sam.press(card.message_id, "tk:saved:1")
    await sam.wait_for("Which saved reply for K-0001?")
    sam.press_button("Engineer")
    await sam.wait_for("Saved reply sent")
    reply = await amina.wait_for("ردّ مسؤول حالتك")
    assert "سيزوركم مهندس هذا الأسبوع." in reply.text
    assert "An engineer will visit" not in reply.text


async def test_a_long_saved_list_is_split_and_forged_buttons_refused(harness: Harness) -> None:
    _, sam, _, _ = await setup_provider(harness)
    body = "We will call you back about this before the end of the week. " * 8
    for n in range(12):
        sam.send_text(f"/saved add Reply {n:02d} | {body} | سنتصل بكم قبل نهاية الأسبوع.")
        await sam.wait_for(f"Saved reply “Reply {n:02d}” added.")
    sam.send_text("/saved")
    last = await sam.wait_for(lambda m: any(d.startswith("sr:del:") for _, d in m.buttons))
    parts = [m.text for m in sam.messages if "EN:" in m.text]
    assert len(parts) == 2 and all(len(part) <= 4096 for part in parts)
    assert parts[1] == last.text and parts[1].startswith("• Reply")  # cut between entries
    for n in range(12):
        assert sum(part.count(f"• Reply {n:02d}\n") for part in parts) == 1
    sam.press(last.message_id, "sr:del:99999999999999999999")
    await harness.api.quiet()
    assert sam.callback_answers[-1].get("text") == "This button no longer works."
    sam.press(last.message_id, "tk:claim:99999999999999999999")
    await harness.api.quiet()
    assert len(sam.callback_answers) == 2  # answered, not an error
    with harness.db.session() as session:
        assert len(list(session.exec(select(Ticket)))) == 0


async def test_notices_survive_a_restart_and_are_never_sent_twice(harness: Harness) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0013", caseworker_id=sam_id)
    await harness.stop()
    with harness.db.session() as session:
        person = people.identify(session, telegram_user_id=amina.id, language_code="ar")
        tickets.open_ticket(
            session, person=person, category="housing", parts=[Part(text="تسرب ماء")]
        )
    await harness.start()
    await sam.wait_for("تسرب ماء")
    await harness.restart()
    await harness.api.quiet(1.0)
    assert len([m for m in sam.messages if "تسرب ماء" in m.text]) == 1
    with harness.db.session() as session:
        assert all(n.sent_at for n in session.exec(select(Notification)))


async def test_a_report_in_progress_survives_a_restart(harness: Harness) -> None:
    amina = await harness.join_family("KH-0014")
    amina.send_text("/report")
    await amina.wait_for("ما موضوع المشكلة؟")
    amina.press_button(HOUSING_AR)
    await amina.wait_for("يرجى إخبارنا عن المشكلة.")
    amina.send_text("السقف يقطر")
    await amina.wait_for("تمت الإضافة")
    await harness.restart()
    amina.press_button("إرسال")
    confirm = await amina.wait_for("(رسالة واحدة)")
    amina.press_button("نعم، أرسله")
    await amina.wait_for("رقم طلبك هو")
    amina.press(confirm.message_id, "rep:confirm")  # a second tap changes nothing
    await harness.api.quiet()
    assert amina.callback_answers[-1].get("text") == "هذا الزر لم يعد يعمل."
    with harness.db.session() as session:
        assert len(session.exec(select(Ticket)).all()) == 1


async def test_overdue_tickets_escalate_to_lead_then_coordinators(harness: Harness) -> None:
    await setup_provider(harness)
    _, lead = await harness.join_staff("lead", "Lina", "Kent Refugee Action")
    _, kim = await harness.join_staff("coordinator", "Kim")
    amina = await harness.join_family("KH-0015", district="Dover")
    await report(amina, HOUSING_AR, "لا يوجد ماء ساخن")
    await lead.wait_for("📥 New request")
    assert harness.app is not None
    later = TUESDAY_10 + timedelta(days=1, hours=1)  # past the 8 working hours
    with harness.db.session() as session:
        assert escalation.escalate_overdue(session, now=later) == [1]
        assert escalation.escalate_overdue(session, now=later) == []
    await dispatcher.flush(harness.app)
    await lead.wait_for("escalated to you as provider lead")
    much_later = TUESDAY_10 + timedelta(days=2, hours=1)  # past another 8
    with harness.db.session() as session:
        assert escalation.escalate_overdue(session, now=much_later) == [1]
    await dispatcher.flush(harness.app)
    await kim.wait_for("escalated to the coordinators")
    lead.send_text("/tickets")
    listing = await lead.wait_for("Unclaimed in the queue")
    assert "⏰" in listing.text and "K-0001" in listing.text


async def test_reassign_to_a_colleague_and_back_to_the_queue(harness: Harness) -> None:
    sam_id, sam, _, lee = await setup_provider(harness)
    amina = await harness.join_family("KH-0016", caseworker_id=sam_id)
    await report(amina, HOUSING_AR, "الثلاجة معطلة")
    card = await sam.wait_for("📥 New request")
    sam.press(card.message_id, "tk:reassign:1")
    chooser = await sam.wait_for("Who should take K-0001?")
    assert [label for label, _ in chooser.buttons] == ["Lee", "Sam", "↩️ Back to the queue"]
    sam.press_button("Lee")
    await sam.wait_for("K-0001 is now with Lee.")
    passed = await lee.wait_for("A request was passed to you")
    lee.send_text("I'll handle this.", reply_to=passed.message_id)
    await amina.wait_for("I'll handle this.")
    sam.send_text("/reply K-0001 hello")  # still Sam's household, so Sam may act
    await sam.wait_for("Sent to the family of K-0001.")


async def test_internal_notes_stay_internal(harness: Harness) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0017", caseworker_id=sam_id)
    await report(amina, HOUSING_AR, "مشكلة في العداد")
    await sam.wait_for("📥 New request")
    before = len(amina.messages)
    sam.send_text("/note K-0001 Called the landlord, waiting.")
    await sam.wait_for("Note kept on K-0001.")
    await harness.api.quiet()
    assert len(amina.messages) == before


async def test_concurrent_claims_on_the_service(harness: Harness) -> None:
    sam_id, _, lee_id, _ = await setup_provider(harness)
    await harness.join_family("KH-0018", district="Dover")
    with harness.db.session() as session:
        member = session.exec(select(Member)).one()
        person = people.identify(
            session, telegram_user_id=member.telegram_user_id or 0, language_code="ar"
        )
        tickets.open_ticket(session, person=person, category="housing", parts=[Part(text="x")])

    async def claim(staff_id: int) -> str:
        with harness.db.session() as session:
            staff = session.exec(select(Member)).first()
            assert staff is not None
        from storage.models import Staff

        with harness.db.session() as session:
            tg = session.get(Staff, staff_id).telegram_user_id  # type: ignore[union-attr]
            who = people.identify(session, telegram_user_id=tg or 0, language_code="en")
        try:
            with harness.db.session() as session:
                tickets.claim(session, person=who, ticket_id=1)
            return "won"
        except Exception as exc:
            return type(exc).__name__

    results = await asyncio.gather(claim(sam_id), claim(lee_id))
    assert sorted(results) == ["TicketClaimed", "won"]
    with harness.db.session() as session:
        assert session.get(Ticket, 1).status == TicketStatus.WITH_CASEWORKER  # type: ignore[union-attr]


async def test_a_rate_limited_notice_is_retried_by_the_outbox_job(harness: Harness) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0019", caseworker_id=sam_id)
    harness.api.flood(sam.id, retry_after=1, times=1)
    await report(amina, HOUSING_AR, "انقطعت الكهرباء")
    await harness.api.quiet()
    with harness.db.session() as session:
        card_notice = session.exec(select(Notification)).one()
    assert card_notice.attempts >= 1  # the 429 was met, and the notice kept for a retry
    assert harness.app is not None
    await periodic.outbox_job(SimpleNamespace(application=harness.app))
    card = await sam.wait_for("انقطعت الكهرباء")
    assert card.text.startswith("📥 New request")
    await periodic.outbox_job(SimpleNamespace(application=harness.app))
    await harness.api.quiet()
    assert len([m for m in sam.messages if "انقطعت الكهرباء" in m.text]) == 1


async def test_an_english_speaking_family_and_an_arabic_reading_caseworker(
    harness: Harness,
) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    _, noor = await harness.join_staff(
        "caseworker", "Noor", "Kent Refugee Action", language_code="ar"
    )
    john = await harness.join_family("KH-0020", caseworker_id=sam_id, language_code="en")
    john.send_text("/report")
    await john.wait_for("What is the problem about? Tap the closest one.")
    john.press_button("School and childcare")
    await john.wait_for("Tell us about the problem.")
    john.send_text("My daughter has no school place yet.")
    await john.wait_for("Added. Add more, or tap Send.")
    john.press_button("Send")
    await john.wait_for("Send your request about 🎒 School and childcare (1 message)")
    john.press_button("Yes, send it")
    ack = await john.wait_for("Thank you. Your request number is K-0001.")
    assert "Your caseworker has received it" in ack.text
    card = await sam.wait_for("📥 New request")
    assert "My daughter has no school place yet." in card.text
    assert "Machine translation" not in card.text and "Not translated" not in card.text
    sam.send_text("I have called the school admissions team.", reply_to=card.message_id)
    reply = await john.wait_for("💬 Your caseworker replied about K-0001:")
    assert "I have called the school admissions team." in reply.text
    assert "Machine translation" not in reply.text
    john.send_text("/tickets")
    listing = await john.wait_for("You have 1 request:")
    assert "Status: Waiting for your answer" in listing.text

    # Noor reads Sanad in Arabic: her card for a queue ticket is in Arabic.
    harness.family("KH-0021", district="Thanet")
    layla = await harness.join_family("KH-0022", district="Thanet")
    await report(layla, HOUSING_AR, "النافذة لا تغلق")
    arabic_card = await noor.wait_for("📥 طلب جديد")
    assert "الحالة: في قائمة الانتظار، لم يستلمه أحد بعد" in arabic_card.text
    assert "النافذة لا تغلق" in arabic_card.text
    assert ("🙋 تولّي الطلب", "tk:claim:2") in arabic_card.buttons


async def test_opening_a_ticket_card_is_in_the_audit_trail(harness: Harness) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0016", caseworker_id=sam_id)
    ref = await report(amina, HOUSING_AR, "الغسالة معطلة")
    await sam.wait_for(ref)
    sam.send_text("/tickets")
    await sam.wait_for(lambda m: any(d.startswith("tk:open:") for _, d in m.buttons))
    sam.press_button(f"Open {ref}")
    await sam.wait_for("📄 Ticket")
    with harness.db.session() as session:
        views = session.exec(select(AuditEvent).where(AuditEvent.action == "ticket.view")).all()
    assert [(v.actor, v.subject) for v in views] == [(f"staff:{sam_id}", "ticket:1")]
