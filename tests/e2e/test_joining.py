"""Joining, privacy consent, language, menus and bad input, as people use Telegram."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.services import invites
from storage.models import AuditEvent, Invite, Member, Staff
from storage.types import utcnow
from tests.e2e.conftest import Harness

NOT_REGISTERED_AR = "يلزمك رابط دعوة خاص بك"
NOT_REGISTERED_EN = "you need your own invite link"
INVALID_AR = "رمز الدعوة هذا لا يعمل"
INVALID_EN = "This invite code does not work"
PRIVACY_AR = "قبل أن نبدأ، هكذا يحافظ سند على معلوماتك"


async def test_family_joins_in_arabic_consents_and_gets_the_menu(harness: Harness) -> None:
    code = harness.family("KH-0001")
    amina = harness.user(language_code="ar")
    amina.send_text(f"/start {code}")
    notice = await amina.wait_for(PRIVACY_AR)
    assert "لا يراها إلا مسؤول حالتك" in notice.text
    assert notice.buttons == [("✅ فهمت", "consent:ok")]

    # Nothing else works until the notice is accepted.
    amina.send_text("/help")
    again = await amina.wait_for(PRIVACY_AR)
    assert again.message_id != notice.message_id
    with harness.db.session() as session:
        member = session.exec(select(Member)).one()
        assert member.telegram_user_id == amina.id and member.consent_at is None

    amina.press(notice.message_id, "consent:ok")
    menu = await amina.wait_for("كيف نساعدك؟")
    labels = [label for label, _ in menu.buttons]
    assert "📝 عندي مشكلة" in labels and "📅 حجز موعد" in labels and "🌐 اللغة" in labels
    assert any("شكراً لك" in m.text for m in amina.messages)
    with harness.db.session() as session:
        member = session.exec(select(Member)).one()
        assert member.consent_at is not None
        assert utcnow() - member.consent_at < timedelta(minutes=1)
        actions = {e.action for e in session.exec(select(AuditEvent))}
    assert {"invite.redeem", "privacy.consent"} <= actions

    commands = harness.api.commands({"type": "chat", "chat_id": amina.id})
    assert {"command": "report", "description": "عندي مشكلة"} in commands


async def test_english_speaking_family_reads_english(harness: Harness) -> None:
    code = harness.family("KH-0002")
    sam = harness.user(language_code="en-GB")
    sam.send_text(f"/start {code}")
    notice = await sam.wait_for("Before we start, how Sanad looks after your information")
    assert notice.buttons == [("✅ I understand", "consent:ok")]


async def test_household_language_set_by_the_council_wins_over_telegram(harness: Harness) -> None:
    code = harness.family("KH-0003", language="ar")
    person = harness.user(language_code="en")
    person.send_text(f"/start {code}")
    await person.wait_for(PRIVACY_AR)


async def test_strangers_get_a_bilingual_explanation_and_nothing_else(harness: Harness) -> None:
    stranger = harness.user(language_code="ar")
    for attempt in ("مرحبا", "/help", "/report", "/start"):
        stranger.send_text(attempt)
        reply = await stranger.wait_for(NOT_REGISTERED_AR)
        assert NOT_REGISTERED_EN in reply.text
    stranger.send_sticker()
    await stranger.wait_for(NOT_REGISTERED_AR)
    with harness.db.session() as session:
        linked = session.exec(select(Member).where(Member.telegram_user_id == stranger.id))
        assert linked.all() == []


async def test_bad_codes_are_explained_and_change_nothing(harness: Harness) -> None:
    code = harness.family("KH-0004")
    person = harness.user()
    person.send_text("/start NOTAREALCODE")
    reply = await person.wait_for(INVALID_AR)
    assert INVALID_EN in reply.text
    person.send_text("/start " + invites.new_code())
    await person.wait_for(INVALID_AR)

    # Expired: the same code after its expiry.
    with harness.db.session() as session:
        invite = session.exec(select(Invite)).one()
        invite.expires_at = utcnow() - timedelta(seconds=1)
        session.add(invite)
    person.send_text(f"/start {code}")
    await person.wait_for(INVALID_AR)
    with harness.db.session() as session:
        assert session.exec(select(Member)).one().telegram_user_id is None


async def test_a_code_typed_in_lower_case_with_spaces_works_once(harness: Harness) -> None:
    code = harness.family("KH-0005")
    typed = invites.display_code(code).lower().replace("-", " ")
    first = harness.user()
    first.send_text(f"/start {typed}")
    await first.wait_for(PRIVACY_AR)
    second = harness.user()
    second.send_text(f"/start {code}")
    await second.wait_for(INVALID_AR)


async def test_too_many_wrong_codes_are_rate_limited(harness: Harness) -> None:
    code = harness.family("KH-0006")
    person = harness.user()
    for _ in range(invites.MAX_FAILED_ATTEMPTS):
        person.send_text("/start WRONGWRONGWRONGWRONGWRONG2")
        await person.wait_for(INVALID_AR)
    person.send_text(f"/start {code}")
    blocked = await person.wait_for("أدخلت رموزاً خاطئة كثيرة")
    assert "15" in blocked.text and "Too many wrong codes. Please wait 15 minutes" in blocked.text


async def test_a_second_start_by_someone_linked(harness: Harness) -> None:
    amina = await harness.join_family("KH-0007")
    other_code = harness.family("KH-0008")
    amina.send_text(f"/start {other_code}")
    await amina.wait_for("حسابك مرتبط بسند من قبل")
    amina.send_text("/start")
    await amina.wait_for("كيف نساعدك؟")
    with harness.db.session() as session:
        assert session.exec(select(Invite).where(Invite.used_at.is_not(None))).all()  # type: ignore[union-attr]
        assert len([i for i in session.exec(select(Invite)) if i.used_at]) == 1


async def test_language_switches_with_buttons_and_updates_the_command_menu(
    harness: Harness,
) -> None:
    amina = await harness.join_family("KH-0009")
    amina.send_text("/language")
    chooser = await amina.wait_for("Choose your language")
    assert [label for label, _ in chooser.buttons] == ["العربية", "English"]
    amina.press_button("English")
    await amina.wait_for("From now on I will write to you in English.")
    menu = await amina.wait_for("How can we help? Tap a button.")
    assert ("📝 Report a problem", "menu:report") in menu.buttons
    await harness.api.quiet()
    commands = harness.api.commands({"type": "chat", "chat_id": amina.id})
    assert {"command": "report", "description": "Report a problem"} in commands
    amina.send_text("/nonsense")
    await amina.wait_for("I don't know that command.")
    amina.press_button("🌐 Language")
    await amina.wait_for("Choose your language")
    amina.press_button("العربية")
    await amina.wait_for("من الآن سأكتب لك باللغة العربية.")


async def test_unknown_commands_stickers_locations_and_contacts(harness: Harness) -> None:
    amina = await harness.join_family("KH-0010")
    amina.send_text("/frobnicate")
    await amina.wait_for("لا أعرف هذا الأمر")
    for send in (amina.send_sticker, lambda: amina.send_location(51.12, 1.31)):
        send()
        await amina.wait_for("لا أستطيع استخدام الملصقات")
    amina.send_contact("+447700900123", "Omar")
    await amina.wait_for("لا أستطيع استخدام الملصقات")


async def test_forged_or_stale_buttons_change_nothing(harness: Harness) -> None:
    amina = await harness.join_family("KH-0011")
    menu = amina.last
    assert menu is not None
    amina.press(menu.message_id, "ticket:claim:999")
    await amina.wait_for("هذه هي القائمة.")
    answers = amina.callback_answers
    assert answers[-1].get("text") == "هذا الزر لم يعد يعمل." and answers[-1].get("show_alert")
    amina.press(menu.message_id, "lang:fr")
    await amina.wait_for("هذه هي القائمة.")


async def test_group_chats_are_told_to_write_privately(harness: Harness) -> None:
    amina = await harness.join_family("KH-0012")
    group = harness.api.group(-1001234567890, title="Family group")
    group.send_text(amina, "/start")
    reply = await group.wait_for("يعمل سند في المحادثة الخاصة فقط")
    assert "Sanad only works in a private chat" in reply.text


async def test_every_menu_button_leads_somewhere_real(harness: Harness) -> None:
    amina = await harness.join_family("KH-0013")
    amina.send_text("/mydata")
    await amina.wait_for("🔒 بياناتك")
    # A family without a provider for its district is told whom to contact, not shown nothing.
    amina.press_button("📅 حجز موعد")
    await amina.wait_for("تواصل مع فريق إعادة التوطين في البلدية")
    _, kim = await harness.join_staff("coordinator", "Kim")
    kim.press_button("📣 Send a notice")
    await kim.wait_for("New notice to families")
    kim.send_text("/cancel")
    await kim.wait_for("Cancelled. Nothing was sent.")
    kim.press_button("📊 Figures")
    await kim.wait_for(lambda m: any(d.startswith("st:") for _, d in m.buttons))
    texts = " ".join(m.text for m in kim.messages + amina.messages)
    assert "not ready" not in texts and "غير جاهز" not in texts


async def test_staff_join_and_coordinators_invite_from_telegram(harness: Harness) -> None:
    harness.provider()
    _, caseworker = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    assert any("as a caseworker" in m.text for m in caseworker.messages)
    _, coordinator = await harness.join_staff("coordinator", "Kim")
    harness.family("KH-0014", member="Layla")
    coordinator.send_text("/invite family KH-0014")
    invite = await coordinator.wait_for("It works once and expires on")
    link = next(w for w in invite.text.split() if w.startswith("https://t.me/"))
    code = link.split("start=")[1]

    layla = harness.user()
    layla.send_text(f"/start {code}")
    await layla.wait_for(PRIVACY_AR)

    caseworker.send_text("/invite family KH-0014")
    await caseworker.wait_for("Only coordinators can create invite links.")
    coordinator.send_text("/invite family NOPE-1")
    await coordinator.wait_for("Nobody registered matches that.")
    coordinator.send_text("/invite")
    await coordinator.wait_for("/invite family FAMILY-REF")
    commands = harness.api.commands({"type": "chat", "chat_id": coordinator.id})
    assert any(c["command"] == "invite" for c in commands)
    with harness.db.session() as session:
        assert all(s.telegram_user_id for s in session.exec(select(Staff)))


async def test_linking_and_consent_survive_a_restart(harness: Harness) -> None:
    amina = await harness.join_family("KH-0015")
    await harness.restart()
    amina.send_text("/menu")
    menu = await amina.wait_for("كيف نساعدك؟")
    assert ("📝 عندي مشكلة", "menu:report") in menu.buttons


async def test_cancel_outside_any_flow(harness: Harness) -> None:
    amina = await harness.join_family("KH-0016")
    amina.send_text("/cancel")
    await amina.wait_for("لا يوجد شيء لإلغائه.")
