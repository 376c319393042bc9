"""The delivery engine against a troubled Telegram: 429 storms, blocks, 5xx, lost answers,
deactivated caseworkers and a failure between the parts of one notice."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.services import people, tickets
from bot.services.outbox import NoticeKind, NoticeState
from bot.services.tickets import Part
from localapi import UserHandle
from localapi.faults import Fault
from storage.models import Member, Notification, Staff, Ticket
from storage.types import utcnow
from tests.e2e.conftest import Harness

HOUSING_AR = "🏠 السكن والإصلاحات"


async def _setup(harness: Harness, ref: str) -> tuple[int, UserHandle, UserHandle]:
    """A provider with caseworker Sam, and a family whose caseworker he is."""
    await harness.api.quiet()  # start-up work (menus, recovery) done before writing
    harness.provider()
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    amina = await harness.join_family(ref, caseworker_id=sam_id)
    return sam_id, sam, amina


def _open(harness: Harness, amina: UserHandle, *texts: str) -> None:
    """The family's request, then more messages on it, each queuing a card for staff."""
    with harness.db.session() as session:
        person = people.identify(session, telegram_user_id=amina.id, language_code="ar")
        opened = tickets.open_ticket(
            session, person=person, category="housing", parts=[Part(text=texts[0])]
        )
        for text in texts[1:]:
            tickets.add_family_message(
                session, person=person, ticket_id=opened.ticket.id or 0, part=Part(text=text)
            )


def _kick(harness: Harness) -> None:
    from bot.delivery import dispatcher

    assert harness.app is not None
    dispatcher.kick(harness.app)


async def _settled(harness: Harness) -> None:
    """Waits until no notice is queued or being sent (the bot's own timeout must pass)."""
    for _ in range(300):
        if all(n.state not in ("queued", "sending", "unknown") for n in _notices(harness)):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("notices still pending after 30 s")


def _notices(harness: Harness) -> list[Notification]:
    with harness.db.session() as session:
        return list(session.exec(select(Notification).order_by(Notification.id)))  # type: ignore[arg-type]


async def test_a_429_storm_delays_notices_without_losing_or_reordering_them(
    harness: Harness,
) -> None:
    _, sam, amina = await _setup(harness, "KH-0101")
    storm = harness.api.inject(Fault.TOO_MANY_REQUESTS, chat_id=sam.id, times=3, retry_after=2)
    _open(harness, amina, "الأولى", "الثانية", "الثالثة")
    _kick(harness)
    await _settled(harness)
    cards = [m.text for m in sam.messages if "Family wrote:" in m.text]
    assert len(cards) == 3  # delayed by the 429s, none lost, each once, in queue order
    assert cards[0].startswith("📥 New request") and "الأولى" in cards[0]
    assert cards[1].startswith("💬 New message") and "الثانية" in cards[1]
    assert cards[2].startswith("💬 New message") and "الثالثة" in cards[2]
    assert all(n.state == NoticeState.SENT for n in _notices(harness)) and storm.hits == 3


async def test_a_family_that_blocks_the_bot_is_marked_unreachable_and_staff_told(
    harness: Harness,
) -> None:
    _, sam, amina = await _setup(harness, "KH-0102")
    _open(harness, amina, "السقف يقطر")
    _kick(harness)
    card = await sam.wait_for("السقف يقطر")
    await _settled(harness)  # the card is recorded as sent, so a reply to it finds the ticket
    amina.block()
    sam.send_text("We will send someone tomorrow.", reply_to=card.message_id)
    told = await sam.wait_for("could not be delivered", timeout=15)
    assert "may have blocked Sanad" in told.text
    assert "cannot be reached on Telegram" in told.text  # the card shows it from now on
    with harness.db.session() as session:
        member = session.exec(select(Member)).one()
        assert member.unreachable_at is not None
        assert session.get(Ticket, 1).family_unreachable  # type: ignore[union-attr]
    reply = next(n for n in _notices(harness) if n.kind == NoticeKind.FAMILY_REPLY)
    assert reply.state == NoticeState.FAILED and reply.attempts == 1  # at once, no retries


async def test_5xx_for_a_while_then_recovery_delivers_once(harness: Harness) -> None:
    _, sam, amina = await _setup(harness, "KH-0103")
    rule = harness.api.inject(Fault.SERVER_ERROR, chat_id=sam.id, seconds=3.0)
    _open(harness, amina, "لا يوجد ماء")
    _kick(harness)
    await sam.wait_for("لا يوجد ماء", timeout=30)
    await harness.api.quiet()
    assert rule.hits >= 1
    assert len([m for m in sam.messages if "لا يوجد ماء" in m.text]) == 1
    (card,) = [n for n in _notices(harness) if n.kind == NoticeKind.STAFF_NEW_TICKET]
    assert card.state == NoticeState.SENT and card.attempts == rule.hits + 1


async def test_a_send_that_times_out_after_telegram_accepted_it_arrives_at_most_twice(
    harness: Harness,
) -> None:
    _, sam, amina = await _setup(harness, "KH-0104")
    harness.api.inject(Fault.TIMEOUT, chat_id=sam.id, times=1, hang=30.0, after_store=True)
    _open(harness, amina, "الباب مكسور")
    _kick(harness)
    await sam.wait_for("الباب مكسور", timeout=30)
    await _settled(harness)
    copies = [m for m in sam.messages if "الباب مكسور" in m.text]
    assert 1 <= len(copies) <= 2  # the one message in flight may arrive twice, no more
    (card,) = [n for n in _notices(harness) if n.kind == NoticeKind.STAFF_NEW_TICKET]
    assert card.state == NoticeState.SENT


async def test_cards_queued_for_a_deactivated_caseworker_go_where_the_ticket_now_is(
    harness: Harness,
) -> None:
    sam_id, sam, amina = await _setup(harness, "KH-0105")
    _, lina = await harness.join_staff("lead", "Lina", "Kent Refugee Action")
    _, lee = await harness.join_staff("caseworker", "Lee", "Kent Refugee Action")
    await harness.stop()
    _open(harness, amina, "رسالة خاصة عن العائلة")
    with harness.db.session() as session:  # deactivated before the card went out
        staff = session.get(Staff, sam_id)
        assert staff is not None
        staff.active = False
        session.add(staff)
    before = len(sam.messages)
    await harness.start()
    card = await lina.wait_for("رسالة خاصة عن العائلة", timeout=15)
    assert "K-0001" in card.text
    await harness.api.quiet()
    assert len(sam.messages) == before  # nothing reached the deactivated caseworker
    assert not any("رسالة خاصة" in m.text for m in lee.messages)  # Lee cannot open it
    original = next(n for n in _notices(harness) if n.chat_id == sam.id)
    assert original.state == NoticeState.CANCELLED and "inactive" in (original.last_error or "")


async def test_a_failure_on_part_two_never_sends_part_one_again(harness: Harness) -> None:
    _, sam, amina = await _setup(harness, "KH-0106")
    rule = harness.api.inject(Fault.SERVER_ERROR, chat_id=sam.id, methods="sendPhoto", times=2)
    amina.send_text("/report")
    await amina.wait_for("ما موضوع المشكلة؟")
    amina.press_button(HOUSING_AR)
    await amina.wait_for("يرجى إخبارنا عن المشكلة.")
    amina.send_photo(caption="صورة الرطوبة")
    await amina.wait_for("تمت الإضافة")
    amina.press_button("إرسال")
    await amina.wait_for("(رسالة واحدة)")
    amina.press_button("نعم، أرسله")
    await sam.wait_for(lambda m: m.kind == "photo", timeout=30)
    await harness.api.quiet()
    assert rule.hits == 2
    texts = [m for m in sam.messages if "صورة الرطوبة" in m.text and "📥" in m.text]
    assert len(texts) == 1  # the card text (part 1) went once
    (card,) = [n for n in _notices(harness) if n.kind == NoticeKind.STAFF_NEW_TICKET]
    assert card.state == NoticeState.SENT and card.parts_sent == 2 and card.attempts == 3


async def test_a_long_retry_after_reschedules_in_full_and_holds_the_chats_later_notices(
    harness: Harness,
) -> None:
    _, sam, amina = await _setup(harness, "KH-0107")
    harness.api.inject(Fault.TOO_MANY_REQUESTS, chat_id=sam.id, times=1, retry_after=300)
    _open(harness, amina, "الأولى", "الثانية")
    _kick(harness)
    for _ in range(100):
        first, second = _notices(harness)[-2:]
        if first.state == NoticeState.QUEUED and first.last_error:
            break
        await asyncio.sleep(0.1)
    await harness.api.quiet()
    assert first.last_error == "429 retry after"
    wait = (first.next_attempt_at - utcnow()).total_seconds()
    assert 290 < wait <= 300  # the full retry_after, never capped
    assert second.state == NoticeState.QUEUED and second.attempts == 0  # waits its turn
    assert not any("الثانية" in m.text for m in sam.messages)
