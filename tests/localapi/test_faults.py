"""Injected faults in the local Bot API: 429, 403, 5xx, timeouts and dropped connections."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from telegram import Bot
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut

from localapi import Fault, LocalBotAPI


async def send(api: LocalBotAPI, chat_id: int, text: str) -> httpx.Response:
    """One sendMessage over plain HTTP."""
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"{api.base_url}{api.token}/sendMessage", json={"chat_id": chat_id, "text": text}
        )


async def test_injected_429_answers_like_telegram_for_the_next_n(api: LocalBotAPI) -> None:
    user = api.user(1001)
    rule = api.inject(Fault.TOO_MANY_REQUESTS, retry_after=7, times=2)
    first, second, third = [await send(api, user.id, f"m{i}") for i in range(3)]
    assert first.status_code == second.status_code == 429
    assert first.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    assert third.status_code == 200
    assert [m.text for m in user.messages] == ["m2"]
    assert rule.hits == 2 and not rule.active
    assert api.counters.too_many_requests == 2
    assert api.counters.faults[Fault.TOO_MANY_REQUESTS] == 2


async def test_a_fault_for_one_chat_leaves_others_alone(api: LocalBotAPI) -> None:
    amina, sam = api.user(1001), api.user(1002)
    api.inject(Fault.BLOCKED, chat_id=amina.id, times=1)
    assert (await send(api, sam.id, "to sam")).status_code == 200
    refused = await send(api, amina.id, "to amina")
    assert refused.status_code == 403
    assert refused.json()["description"] == "Forbidden: bot was blocked by the user"
    assert (await send(api, amina.id, "again")).status_code == 200
    assert [m.text for m in amina.messages] == ["again"]
    assert [m.text for m in sam.messages] == ["to sam"]


async def test_a_time_window_fails_everything_until_it_ends(api: LocalBotAPI) -> None:
    user = api.user(1001)
    outage = api.inject(Fault.SERVER_ERROR, seconds=3600)
    answers = [await send(api, user.id, f"m{i}") for i in range(5)]
    assert {a.status_code for a in answers} == {502}
    assert answers[0].json() == {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    assert outage.hits == 5 and outage.active
    outage.cancel()
    assert (await send(api, user.id, "recovered")).status_code == 200
    assert [m.text for m in user.messages] == ["recovered"]
    assert api.counters.answered[502] == 5


async def test_an_expired_window_no_longer_matches(api: LocalBotAPI) -> None:
    user = api.user(1001)
    api.inject(Fault.SERVER_ERROR, seconds=-1.0)
    assert (await send(api, user.id, "fine")).status_code == 200


async def test_faults_match_sends_unless_methods_are_named(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    api.inject(Fault.SERVER_ERROR, status=503, seconds=3600)
    assert (await bot.get_me()).username == "sanad_local_bot"
    with pytest.raises(NetworkError, match="Service Unavailable"):
        await bot.send_message(user.id, "hi")
    api.clear_faults()
    api.inject(Fault.SERVER_ERROR, methods="getMe")
    await bot.send_message(user.id, "sends are fine")
    with pytest.raises(NetworkError):
        await bot.get_me()
    api.inject(Fault.SERVER_ERROR, methods="*", times=1)
    with pytest.raises(NetworkError):
        await bot.get_chat(user.id)


def test_a_refusal_cannot_come_after_the_message_was_stored(api: LocalBotAPI) -> None:
    with pytest.raises(ValueError, match="after the message was stored"):
        api.inject(Fault.BLOCKED, after_store=True)
    with pytest.raises(ValueError, match="5xx"):
        api.inject(Fault.SERVER_ERROR, status=404)


async def test_ptb_raises_retry_after_and_forbidden(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    api.inject(Fault.TOO_MANY_REQUESTS, chat_id=user.id, retry_after=12)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(user.id, "flooded")
    assert info.value.retry_after == dt.timedelta(seconds=12)
    api.inject(Fault.BLOCKED, chat_id=user.id)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(user.id, "blocked")
    assert user.messages == []


async def test_a_timeout_before_storing_loses_the_message(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    api.inject(Fault.TIMEOUT, chat_id=user.id, hang=30.0)
    with pytest.raises(TimedOut):
        await bot.send_message(user.id, "never arrives", read_timeout=0.3)
    await bot.send_message(user.id, "next one")
    assert [m.text for m in user.messages] == ["next one"]
    assert api.counters.faults[Fault.TIMEOUT] == 1


async def test_accepted_then_timed_out_stores_the_message(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    api.inject(Fault.TIMEOUT, chat_id=user.id, after_store=True, hang=30.0)
    with pytest.raises(TimedOut):
        await bot.send_message(user.id, "arrived, answer lost", read_timeout=0.3)
    assert [m.text for m in user.messages] == ["arrived, answer lost"]
    assert api.counters.delivered[user.id] == 1


async def test_a_dropped_connection_is_a_network_error(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    api.inject(Fault.DISCONNECT, chat_id=user.id)
    with pytest.raises(NetworkError) as info:
        await bot.send_message(user.id, "cut off")
    assert not isinstance(info.value, TimedOut)
    api.inject(Fault.DISCONNECT, chat_id=user.id, after_store=True)
    with pytest.raises(NetworkError):
        await bot.send_message(user.id, "stored, then cut off")
    await bot.send_message(user.id, "connection back")
    assert [m.text for m in user.messages] == ["stored, then cut off", "connection back"]


async def test_a_5xx_after_storing_keeps_the_message(api: LocalBotAPI) -> None:
    user = api.user(1001)
    api.inject(Fault.SERVER_ERROR, status=500, after_store=True)
    answer = await send(api, user.id, "accepted")
    assert answer.status_code == 500
    assert answer.json()["description"] == "Internal Server Error"
    assert [m.text for m in user.messages] == ["accepted"]


async def test_flood_is_an_injected_429(api: LocalBotAPI) -> None:
    user = api.user(1001)
    api.flood(user.id, retry_after=2, times=1)
    assert (await send(api, user.id, "x")).json()["parameters"] == {"retry_after": 2}
    assert (await send(api, user.id, "y")).status_code == 200


async def test_an_after_store_fault_waits_for_a_request_that_succeeds(api: LocalBotAPI) -> None:
    user = api.user(1001)
    rule = api.inject(Fault.SERVER_ERROR, after_store=True)
    async with httpx.AsyncClient() as client:
        empty = await client.post(
            f"{api.base_url}{api.token}/sendMessage", json={"chat_id": user.id, "text": " "}
        )
    assert empty.status_code == 400  # refused on its own merits: the fault is still armed
    assert rule.hits == 0 and rule.active
    assert (await send(api, user.id, "stored")).status_code == 502
    assert rule.hits == 1 and not rule.active
    assert [m.text for m in user.messages] == ["stored"]
