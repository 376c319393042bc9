"""Telegram's send limits in the local Bot API: off by default, 429 with retry_after when on."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from telegram import Bot
from telegram.error import RetryAfter

from localapi import LocalBotAPI, TelegramLimits
from localapi.__main__ import build, parse
from localapi.limits import Limiter, peak_per_second


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        """The current fake time."""
        return self.now


async def send(api: LocalBotAPI, chat_id: int, text: str) -> httpx.Response:
    """One sendMessage over plain HTTP."""
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"{api.base_url}{api.token}/sendMessage", json={"chat_id": chat_id, "text": text}
        )


async def test_limits_are_off_by_default(api: LocalBotAPI) -> None:
    user = api.user(1001)
    answers = [(await send(api, user.id, f"n{i}")).status_code for i in range(40)]
    assert answers == [200] * 40
    assert len(user.messages) == 40
    assert api.counters.too_many_requests == 0


async def test_a_chat_gets_its_burst_then_429_with_telegrams_answer(api: LocalBotAPI) -> None:
    clock = Clock()
    api.set_rate_limits(True, clock=clock)
    user, other = api.user(1001), api.user(1002)
    burst = TelegramLimits().per_chat_burst
    for index in range(burst):
        assert (await send(api, user.id, f"burst {index}")).status_code == 200
    refused = await send(api, user.id, "one too many")
    assert refused.status_code == 429
    assert refused.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert (await send(api, other.id, "another chat is not held back")).status_code == 200
    clock.now += 1.0  # one second refills one message's worth
    assert (await send(api, user.id, "after the wait")).status_code == 200
    assert (await send(api, user.id, "but only one")).status_code == 429
    assert [m.text for m in user.messages][-1] == "after the wait"
    assert len(user.messages) == burst + 1
    assert api.counters.too_many_requests == 2


async def test_overall_limit_spans_chats(api: LocalBotAPI) -> None:
    clock = Clock()
    api.set_rate_limits(TelegramLimits(overall_per_second=30), clock=clock)
    users = [api.user(2000 + i) for i in range(31)]
    answers = [(await send(api, u.id, "bulk")).status_code for u in users]
    assert answers == [200] * 30 + [429]
    clock.now += 0.5
    assert (await send(api, users[-1].id, "still within the second")).status_code == 429
    clock.now += 0.5
    assert (await send(api, users[-1].id, "next second")).status_code == 200
    assert api.counters.delivered[users[-1].id] == 1
    assert sum(api.counters.delivered.values()) == 31


async def test_ptb_raises_retry_after_with_the_servers_wait(api: LocalBotAPI, bot: Bot) -> None:
    clock = Clock()
    api.set_rate_limits(TelegramLimits(per_chat_per_second=0.25, per_chat_burst=1), clock=clock)
    user = api.user(1001)
    await bot.send_message(user.id, "first")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(user.id, "second")
    assert info.value.retry_after == dt.timedelta(seconds=4)
    api.set_rate_limits(False)
    await bot.send_message(user.id, "limits off again")
    assert [m.text for m in user.messages] == ["first", "limits off again"]


def test_refused_sends_cost_nothing_and_groups_have_their_own_limit() -> None:
    limiter = Limiter(TelegramLimits(per_chat_burst=2, group_per_minute=20))
    assert limiter.check(1, private=True, now=0.0) is None
    assert limiter.check(1, private=True, now=0.0) is None
    # Hammering a full chat does not push its wait further out.
    assert [limiter.check(1, private=True, now=0.1 * i) for i in range(1, 5)] == [1] * 4
    assert limiter.check(1, private=True, now=1.0) is None
    assert [limiter.check(-5, private=False, now=1.0 + i) for i in range(20)] == [None] * 20
    assert limiter.check(-5, private=False, now=21.0) == 40
    assert limiter.check(-5, private=False, now=61.0) is None


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    limiter = Limiter(TelegramLimits(per_chat_per_second=1 / 3, per_chat_burst=1))
    assert limiter.check(7, private=True, now=0.0) is None
    assert limiter.check(7, private=True, now=0.5) == 3
    assert limiter.check(7, private=True, now=2.2) == 1
    assert limiter.check(7, private=True, now=3.0) is None


async def test_counters_read_requests_429s_deliveries_and_peaks(
    api: LocalBotAPI, bot: Bot
) -> None:
    clock = Clock()
    api.set_rate_limits(TelegramLimits(per_chat_burst=1), clock=clock)
    amina, sam = api.user(1001), api.user(1002)
    await bot.send_message(amina.id, "one")
    with pytest.raises(RetryAfter):
        await bot.send_message(amina.id, "two")
    await bot.send_message(sam.id, "three")
    await bot.get_me()
    counters = api.counters
    assert counters.requests["sendMessage"] == 3
    assert counters.requests["getMe"] >= 1
    assert counters.too_many_requests == 1
    assert counters.delivered == {amina.id: 1, sam.id: 1}
    assert counters.messages == 2
    assert counters.peak_per_second() == 2  # both stored within the same second
    counters.reset()
    assert counters.messages == 0 and counters.too_many_requests == 0


def test_peak_per_second_is_a_sliding_window() -> None:
    assert peak_per_second([]) == 0
    assert peak_per_second([0.0, 0.5, 0.99, 1.0, 1.2, 3.0]) == 4  # 0.5 … 1.2
    assert peak_per_second([0.0, 1.0, 2.0, 3.0]) == 1


async def test_command_line_turns_limits_and_faults_on() -> None:
    args = parse(["--port", "0", "--limits", "--overall", "2", "--burst", "1", "--user", "42"])
    async with build(args) as api:
        answers = [(await send(api, 42, f"m{i}")).status_code for i in range(2)]
        assert answers == [200, 429]
    faulty = parse(["--port", "0", "--fault", "403", "--user", "42"])
    async with build(faulty) as api:
        assert (await send(api, 42, "blocked")).status_code == 403
    async with build(parse(["--port", "0", "--user", "42"])) as api:
        assert [(await send(api, 42, "x")).status_code for _ in range(3)] == [200] * 3
