"""Pacing through the real Application: 429s are waited out, never shown to a family."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.delivery.lanes import Lane
from bot.delivery.ratelimit import SanadRateLimiter
from localapi import UserHandle
from tests.e2e.conftest import Harness

HOUSING_AR = "السكن والإصلاحات"
SORRY_AR = "عذراً، حدث خطأ"


async def open_request(harness: Harness) -> tuple[UserHandle, UserHandle]:
    """A caseworker and a family with one open request the caseworker has seen."""
    harness.provider("Kent Refugee Action", "Dover,Thanet")
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    amina = await harness.join_family("KH-0001", caseworker_id=sam_id)
    amina.send_text("/report")
    await amina.wait_for("ما موضوع المشكلة؟")
    amina.press_button(HOUSING_AR)
    await amina.wait_for("يرجى إخبارنا عن المشكلة.")
    amina.send_text("المدفأة معطلة")
    await amina.wait_for("تمت الإضافة")
    amina.press_button("إرسال")
    await amina.wait_for("هل نرسل طلبك")
    amina.press_button("نعم، أرسله")
    await amina.wait_for("رقم طلبك هو")
    await sam.wait_for("📥 New request")
    return sam, amina


async def test_the_application_sends_through_the_sanad_limiter(harness: Harness) -> None:
    """build_application installs SanadRateLimiter with the settings' rates."""
    assert harness.app is not None
    assert isinstance(harness.app.bot.rate_limiter, SanadRateLimiter)


async def test_a_429_on_a_familys_acknowledgement_is_waited_out(harness: Harness) -> None:
    """Telegram answers the family's acknowledgement with 429: after retry_after the family
    reads the normal answer, never "Sorry, something went wrong", and the caseworker gets the
    message once."""
    sam, amina = await open_request(harness)
    rule = harness.api.inject("429", chat_id=amina.id, retry_after=2, times=1)
    amina.send_text("شكراً، سأكون في البيت")
    ack = await amina.wait_for("تم الإرسال إلى مسؤول حالتك", timeout=15)
    await sam.wait_for("💬 New message from the family")
    await harness.api.quiet()
    assert rule.hits == 1  # the 429 really was answered
    assert harness.api.counters.too_many_requests == 1
    assert ack.text.count("تم الإرسال إلى مسؤول حالتك") == 1
    assert not [m for m in amina.messages if SORRY_AR in m.text]
    follow_ups = [m for m in sam.messages if "سأكون في البيت" in m.text]
    assert len(follow_ups) == 1


async def test_one_chats_flood_does_not_hold_up_another_family(harness: Harness) -> None:
    """A long 429 on the caseworker's chat pauses that chat only: the family's answer goes."""
    sam, amina = await open_request(harness)
    harness.api.inject("429", chat_id=sam.id, retry_after=30, times=1)
    amina.send_text("الماء لا يعمل أيضاً")
    await amina.wait_for("تم الإرسال إلى مسؤول حالتك", timeout=10)
    await harness.api.quiet()
    assert harness.api.counters.too_many_requests == 1  # the card to sam got the 429
    assert harness.app is not None
    limiter = harness.app.bot.rate_limiter
    assert isinstance(limiter, SanadRateLimiter)
    now = asyncio.get_running_loop().time()
    assert limiter.paused_until(sam.id) > now  # sam's chat is still waiting its 30 s out
    assert limiter.paused_until(amina.id) <= now


async def test_bulk_sends_stay_under_telegrams_limits_in_order(harness: Harness) -> None:
    """With the local API enforcing Telegram's limits, a bulk fan-out to 40 chats plus six
    messages to one chat, all at once, arrive complete, each chat in order, with no 429."""
    # Paced at two thirds of the server's overall limit, so loopback jitter cannot tip it
    # over; Telegram's per-chat pace whatever the harness uses for other tests.
    harness.settings = replace(harness.settings, send_rate=20.0, send_rate_per_chat=1.0)
    await harness.restart()
    harness.api.set_rate_limits(True)
    harness.api.counters.reset()
    assert harness.app is not None
    bot = harness.app.bot
    people = [harness.user() for _ in range(40)]
    one = harness.user()
    sends = [
        bot.send_message(p.id, f"notice {i}", rate_limit_args={"lane": Lane.BULK})
        for i, p in enumerate(people)
    ]
    sends += [bot.send_message(one.id, f"part {i}") for i in range(6)]
    await asyncio.gather(*sends)
    assert [m.text for m in one.messages] == [f"part {i}" for i in range(6)]
    assert all(len(p.messages) == 1 for p in people)
    assert harness.api.counters.too_many_requests == 0
    assert harness.api.counters.peak_per_second() <= 30
