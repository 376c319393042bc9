"""Broadcasts end to end: a coordinator's /broadcast through the local Bot API with Telegram's
limits on (scaled so 2,000 families take seconds) and faults injected; machine translation
labelled and editable; scheduling and cancelling; refusals; a family's reply is not lost."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from bot.services import broadcasts, people, tickets
from bot.services.tickets import Part
from bot.services.translation import Translation
from localapi import Fault, TelegramLimits, UserHandle
from storage.models import (
    Broadcast,
    BroadcastState,
    District,
    Household,
    Member,
    NoticeKind,
    Notification,
    Scheme,
)
from tests.e2e.conftest import Harness

FAMILY_BASE = 8_000_000_000
NOTICE = "The council offices are closed on Friday. Call 0300 041 2000 if it is urgent."


def _families(harness: Harness, count: int, *, caseworker_id: int | None = None) -> list[int]:
    """``count`` linked, consented members (every third reads English), registered in the
    local Bot API; returns their chat ids."""
    now = datetime.now(UTC)
    with harness.db.session() as session:
        dover = session.exec(select(District).where(District.name == "Dover")).one()
        vprs = session.exec(select(Scheme).where(Scheme.code == "VPRS")).one()
        for i in range(count):
            household = Household(
                reference=f"BC-{i:05d}",
                district_id=dover.id or 0,
                scheme_id=vprs.id or 0,
                arrived_on=date(2024, 1, 1),
                support_ends_on=date(2029, 1, 1),
                caseworker_id=caseworker_id,
                language="en" if i % 3 == 0 else "ar",
            )
            session.add(household)
            session.flush()
            session.add(
                Member(
                    household_id=household.id or 0,
                    name="M",
                    telegram_user_id=FAMILY_BASE + i,
                    consent_at=now,
                    linked_at=now,
                )
            )
    chats = [FAMILY_BASE + i for i in range(count)]
    for i, chat in enumerate(chats):
        harness.api.user(chat, language_code="en" if i % 3 == 0 else "ar")
    return chats


async def _write(kim: UserHandle, text: str = NOTICE) -> None:
    """/broadcast and the notice's text: the audience screen follows."""
    kim.send_text("/broadcast")
    await kim.wait_for("New notice to families")
    kim.send_text(text)
    await kim.wait_for("Audience: all families.")


async def test_two_thousand_families_with_limits_and_faults(harness: Harness) -> None:
    harness.provider()
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    _, kim = await harness.join_staff("coordinator", "Kim")
    chats = _families(harness, 2000, caseworker_id=sam_id)
    # Telegram's limits, scaled up so 2,000 sends take seconds, and a troubled Telegram.
    harness.api.set_rate_limits(TelegramLimits(overall_per_second=400, per_chat_burst=3))
    blocked = chats[10:13]
    for chat in blocked:
        harness.api.inject(Fault.BLOCKED, chat_id=chat, times=None, seconds=120)
    harness.api.inject(Fault.SERVER_ERROR, chat_id=chats[20], times=1)
    harness.api.inject(Fault.DISCONNECT, chat_id=chats[21], times=1)
    await _write(kim)
    kim.press_button("👁 Preview")
    await kim.wait_for("Ready to send to 2000 people")
    assert any("No translation into Arabic is available" in m.content for m in kim.messages)
    mid, data = kim.button("✅ Send now")
    harness.api.flood(times=5)
    kim.press(mid, data)
    kim.press(mid, data)  # a double tap sends one broadcast
    report = await kim.wait_for("The notice has been sent.", timeout=120)
    assert "Delivered: 1997 people." in report.content
    assert "Blocked the bot: 3 people" in report.content
    assert "Failed: 0 people." in report.content
    # One progress message, edited in place into the report.
    shown = [m.message_id for m in kim.messages if "notice has been sent" in m.content]
    assert shown == [report.message_id] and report.edited
    assert not any("Sending the notice" in m.content for m in kim.messages)
    assert harness.api.counters.too_many_requests >= 5
    with harness.db.session() as session:
        assert len(session.exec(select(Broadcast)).all()) == 1
        copies = session.exec(
            select(Notification).where(Notification.kind == NoticeKind.FAMILY_BROADCAST)
        ).all()
        assert len(copies) == 2000
        unreachable = session.exec(
            select(Member.telegram_user_id).where(Member.unreachable_at.is_not(None))  # type: ignore[union-attr]
        ).all()
        assert sorted(unreachable) == blocked
    # Each family got it once, in their language; the blocked ones' caseworker was told once.
    for index in (0, 1, 20, 21, 1999):
        got = [m for m in harness.api.user(chats[index]).messages if NOTICE in m.content]
        assert len(got) >= 1
    arabic = harness.api.user(chats[1]).messages[-1].content
    assert "إشعار من فريق إعادة التوطين في البلدية" in arabic and NOTICE in arabic
    told = await sam.wait_for("could not reach 3 of your families", timeout=10)
    assert all(f"BC-{i:05d}" in told.content for i in (10, 11, 12))


class FakeTranslator:
    """A translator with an English→Arabic "model" that answers at once."""

    def model_for(self, source: str, target: str) -> object | None:
        """Only English to Arabic is installed."""
        return object() if (source, target) == ("en", "ar") else None

    def available_directions(self) -> set[tuple[str, str]]:
        """The installed pair."""
        return {("en", "ar")}

    async def translate(self, text: str, *, target: str, source: str | None = None,
                        force: bool = False) -> Translation:  # fmt: skip
        """A stand-in Arabic text."""
        return Translation("تغلق مكاتب المجلس يوم الجمعة.", "en", target, "translated", "fake")

    def close(self) -> None:
        """Nothing to release."""


async def test_machine_translation_is_labelled_and_a_reviewed_one_replaces_it(
    harness: Harness,
) -> None:
    harness.provider()
    _, kim = await harness.join_staff("coordinator", "Kim")
    assert harness.app is not None
    harness.app.bot_data.translator = FakeTranslator()
    chats = _families(harness, 6)
    await _write(kim)
    kim.press_button("Language")
    await kim.wait_for("tap to include or leave out")
    kim.press_button("Arabic")
    await kim.wait_for(lambda m: any(label.startswith("✅") for label, _ in m.buttons))
    kim.press_button("◀ Back")
    await kim.wait_for("It reaches 4 people")
    kim.press_button("👁 Preview")
    await kim.wait_for("Preview in Arabic (machine translation):")
    kim.press_button("Write the Arabic text myself")
    await kim.wait_for("It will be labelled as reviewed by staff")
    kim.send_text("مكاتب المجلس مغلقة يوم الجمعة.")
    await kim.wait_for("Preview in Arabic (reviewed by staff):")
    kim.press_button("✅ Send now")
    await kim.wait_for("The notice has been sent.", timeout=30)
    arabic = await harness.api.user(chats[1]).wait_for("مكاتب المجلس مغلقة", since=0)
    assert "(ترجمة راجعها الموظفون. النص الأصلي في الأسفل.)" in arabic.content
    assert NOTICE in arabic.content  # the original beneath
    assert not harness.api.user(chats[0]).messages  # English readers were not in the audience


async def test_scheduled_then_cancelled_sends_nothing(harness: Harness) -> None:
    harness.provider()
    _, kim = await harness.join_staff("coordinator", "Kim")
    chats = _families(harness, 3)
    await _write(kim)
    kim.press_button("👁 Preview")
    await kim.wait_for("Ready to send to 3 people")
    kim.press_button("🕒 Schedule")
    await kim.wait_for("UK time")
    kim.send_text("2020-01-01 10:00")
    await kim.wait_for("That time has already passed. Nothing was scheduled.")
    later = datetime.now(UTC) + timedelta(days=2)
    kim.send_text(later.strftime("%Y-%m-%d") + " 10:00")
    await kim.wait_for("Scheduled: it will be sent on")
    kim.press_button("✖ Cancel it")
    await kim.wait_for("Cancelled. The scheduled notice will not be sent.")
    with harness.db.session() as session:
        assert session.exec(select(Broadcast)).one().state == BroadcastState.CANCELLED
    await harness.api.quiet(0.5)
    assert all(not harness.api.user(chat).messages for chat in chats)


async def test_refusals_change_nothing(harness: Harness) -> None:
    harness.provider()
    _, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    _, kim = await harness.join_staff("coordinator", "Kim")
    amina = await harness.join_family("KH-0001")
    sam.send_text("/broadcast")
    await sam.wait_for("Only council coordinators can send notices to families.")
    # Kim's draft; forged buttons from a caseworker and a family are refused.
    await _write(kim, "x" * 1500)
    with harness.db.session() as session:
        broadcast_id = session.exec(select(Broadcast)).one().id
    for who in (sam, amina):
        mid = who.messages[-1].message_id
        who.press(mid, f"bc:ok:{broadcast_id}")
    await harness.api.quiet(0.5)
    for who in (sam, amina):
        assert any(
            "coordinators" in (a.get("text") or "") or "منسقي البلدية" in (a.get("text") or "")
            for a in who.callback_answers
        )
    # An empty audience is refused; a forged value is refused.
    kim.press_button("Arrival dates")
    await kim.wait_for("Type two dates")
    kim.send_text("2024-06-01 2024-01-01")
    await kim.wait_for("The end date is before the start date")
    kim.send_text("2010-01-01 2010-12-31")
    await kim.wait_for("It reaches 0 people")
    kim.press_button("👁 Preview")
    await harness.api.quiet(0.5)
    assert any("Nobody is in this audience" in (a.get("text") or "") for a in kim.callback_answers)
    kim.press(kim.messages[-1].message_id, f"bc:tog:{broadcast_id}:district:999999")
    await harness.api.quiet(0.5)
    with harness.db.session() as session:
        draft = session.get(Broadcast, broadcast_id)
        assert draft is not None and draft.state == BroadcastState.DRAFT
        assert "district" not in draft.audience
    # A caption over 1,024 characters is refused with the count.
    kim.send_text("/broadcast")
    await kim.wait_for("New notice to families")
    kim.send_photo(b"\x89PNG fake", caption="y" * 1100)
    await kim.wait_for("The caption has 1100 characters")
    assert broadcasts.MAX_CAPTION == 1024


async def test_a_family_reply_to_a_broadcast_reaches_the_caseworker(harness: Harness) -> None:
    harness.provider()
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    _, kim = await harness.join_staff("coordinator", "Kim")
    amina = await harness.join_family("KH-0042", caseworker_id=sam_id)
    # Amina has one open request; her reply to the broadcast joins it like any message.
    with harness.db.session() as session:
        person = people.identify(session, telegram_user_id=amina.id, language_code="ar")
        tickets.open_ticket(
            session, person=person, category="housing", parts=[Part(text="The boiler is broken")]
        )
    await _write(kim)
    kim.press_button("👁 Preview")
    await kim.wait_for("Ready to send to 1 person")
    kim.press_button("✅ Send now")
    copy = await amina.wait_for("إشعار من فريق إعادة التوطين", timeout=30)
    amina.send_text("هل المكتب مفتوح يوم السبت؟", reply_to=copy.message_id)
    await sam.wait_for("هل المكتب مفتوح يوم السبت؟", timeout=10)
