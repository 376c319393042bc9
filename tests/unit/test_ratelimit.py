"""SanadRateLimiter on a virtual clock: spacing, per-chat limits, lanes, 429s and cancellation.

Every scenario runs on an event loop whose clock only moves when nothing is runnable, jumping
to the next timer, so times are exact and no assertion depends on the machine's speed.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import selectors
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from telegram.error import NetworkError, RetryAfter

from bot.delivery.lanes import Lane
from bot.delivery.ratelimit import (
    FLOOD_CHATS,
    Kind,
    PacingArgs,
    SanadRateLimiter,
    chat_key,
    cost_of,
    kind_of,
    lane_of,
)

T = TypeVar("T")
TOL = 1e-6


class _JumpingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """Never sleeps: when nothing is ready it moves the loop's clock to the next timer."""

    def __init__(self, loop: VirtualLoop) -> None:
        """Bound to the loop whose clock it advances."""
        super().__init__()
        self.loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        """Real I/O (the loop's self-pipe) is polled; waiting is simulated."""
        events = super().select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            raise RuntimeError("deadlock: tasks wait but no timer is set")
        self.loop.now += timeout
        return events


class VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time, starting at 1000 s."""

    def __init__(self) -> None:
        """A loop with a jumping selector."""
        self.now = 1000.0
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        """The virtual clock."""
        return self.now


def run(main: Coroutine[Any, Any, T]) -> T:
    """Runs ``main`` on a fresh virtual-time loop."""
    loop = VirtualLoop()
    try:
        return loop.run_until_complete(main)
    finally:
        loop.close()


@dataclass
class FakeAPI:
    """Stands in for PTB's ``_do_post``: records sends with their time, answers scripted 429s."""

    floods: dict[object, list[float]] = field(default_factory=dict)  # chat -> retry_afters
    latency: float = 0.0  # seconds each request takes to answer
    sent: list[tuple[float, str, object, str]] = field(default_factory=list)
    attempts: list[tuple[float, str, object, str]] = field(default_factory=list)

    async def post(self, endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        """One request: a 429 if one is scripted for its chat, else success."""
        now = asyncio.get_running_loop().time()
        record = (now, endpoint, data.get("chat_id"), str(data.get("text", "")))
        self.attempts.append(record)
        if self.latency:
            await asyncio.sleep(self.latency)
        pending = self.floods.get(data.get("chat_id"))
        if pending:
            raise RetryAfter(pending.pop(0))  # type: ignore[arg-type]
        self.sent.append(record)
        return {"ok": True}

    def times(self, chat: object = None) -> list[float]:
        """Times of successful sends (to ``chat``, or all)."""
        return [t for t, _, c, _ in self.sent if chat is None or c == chat]


async def send(
    limiter: SanadRateLimiter,
    api: FakeAPI,
    chat: object,
    text: str = "",
    *,
    lane: Lane | None = None,
    endpoint: str = "sendMessage",
) -> object:
    """One request through the limiter, as ExtBot makes it."""
    data: dict[str, Any] = {"chat_id": chat, "text": text}
    args: PacingArgs | None = None if lane is None else {"lane": lane}
    return await limiter.process_request(api.post, (endpoint, data), {}, endpoint, data, args)


def bulk_times(api: FakeAPI) -> list[float]:
    """Times of the sends to chats 100-999 (the bulk ones in the starvation test)."""
    return [t for t, _, c, _ in api.sent if isinstance(c, int) and 100 <= c < 1000]


async def started(limiter: SanadRateLimiter) -> SanadRateLimiter:
    """The limiter after PTB's initialize()."""
    await limiter.initialize()
    return limiter


def test_overall_sends_are_spread_evenly() -> None:
    """56 sends to 56 chats at 28/s: one every 1/28 s from the first, no burst per second."""

    async def main() -> list[float]:
        limiter, api = await started(SanadRateLimiter(overall_per_second=28)), FakeAPI()
        await asyncio.gather(*(send(limiter, api, 100 + i) for i in range(56)))
        await limiter.shutdown()
        return api.times()

    times = run(main())
    assert len(times) == 56
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(abs(gap - 1 / 28) < TOL for gap in gaps), gaps
    # Any one-second window, ends included, holds at most 29 sends, under Telegram's 30.
    assert max(sum(1 for t in times if s <= t <= s + 1 + TOL) for s in times) == 29


def test_no_second_ever_holds_more_than_29_sends_whatever_the_arrivals() -> None:
    """Bursty arrivals with idle gaps (seeded): every one-second window stays at 29 or fewer."""

    async def main() -> list[float]:
        limiter, api = await started(SanadRateLimiter(overall_per_second=28)), FakeAPI()
        rng = random.Random(7)
        tasks = []
        for i in range(300):
            tasks.append(asyncio.ensure_future(send(limiter, api, 100 + i)))
            if rng.random() < 0.2:
                await asyncio.sleep(rng.choice([0.01, 0.3, 1.5]))
        await asyncio.gather(*tasks)
        return api.times()

    times = run(main())
    assert len(times) == 300
    assert max(sum(1 for t in times if s <= t <= s + 1 + TOL) for s in times) <= 29


def test_one_chat_gets_a_short_burst_then_one_a_second() -> None:
    """Burst 3 then 1/s: sends at 0, 1/28, 2/28 (overall spacing), then 1, 2, 3 s."""

    async def main() -> list[float]:
        limiter = await started(SanadRateLimiter(per_chat_per_second=1, per_chat_burst=3))
        api = FakeAPI()
        await asyncio.gather(*(send(limiter, api, 7, f"m{i}") for i in range(6)))
        return [t - 1000.0 for t in api.times()]

    times = run(main())
    assert times == pytest.approx([0, 1 / 28, 2 / 28, 1, 2, 3], abs=TOL)


def test_a_busy_chat_never_holds_up_other_chats() -> None:
    """Ten messages queued for one chat; another chat's message still goes at once."""

    async def main() -> tuple[list[float], list[float]]:
        limiter, api = await started(SanadRateLimiter()), FakeAPI()
        busy = [asyncio.ensure_future(send(limiter, api, 1, f"b{i}")) for i in range(10)]
        await asyncio.sleep(0.5)
        await send(limiter, api, 2, "other")
        await asyncio.gather(*busy)
        return api.times(1), api.times(2)

    busy, other = run(main())
    assert other == pytest.approx([1000.5], abs=TOL)
    assert busy[-1] - 1000.0 == pytest.approx(7.0, abs=TOL)  # 3 burst, then 1/s


def test_a_chat_receives_its_messages_in_the_order_they_were_queued() -> None:
    """Concurrent sends to one chat go out first come, first served."""

    async def main() -> list[str]:
        limiter, api = await started(SanadRateLimiter()), FakeAPI()
        tasks = []
        for i in range(8):
            tasks.append(asyncio.ensure_future(send(limiter, api, 9, f"part {i}")))
            await asyncio.sleep(0)  # queued one after another
        await asyncio.gather(*tasks)
        return [text for _, _, _, text in api.sent]

    assert run(main()) == [f"part {i}" for i in range(8)]


def test_interactive_goes_before_bulk_waiting_for_the_same_budget() -> None:
    """Bulk queued first, interactive later: every interactive send overtakes waiting bulk."""

    async def main() -> list[str]:
        limiter, api = await started(SanadRateLimiter(overall_per_second=10)), FakeAPI()
        bulk = [
            asyncio.ensure_future(send(limiter, api, 100 + i, f"bulk {i}", lane=Lane.BULK))
            for i in range(20)
        ]
        await asyncio.sleep(0.25)  # three bulk sends are out (0, 0.1, 0.2)
        replies = [
            asyncio.ensure_future(send(limiter, api, 500 + i, f"reply {i}")) for i in range(5)
        ]
        await asyncio.gather(*bulk, *replies)
        return [text for _, _, _, text in api.sent]

    order = run(main())
    assert order[:3] == ["bulk 0", "bulk 1", "bulk 2"]
    assert order[3:8] == [f"reply {i}" for i in range(5)]
    assert order[8:] == [f"bulk {i}" for i in range(3, 20)]


def test_interactive_waits_at_most_one_interval_behind_a_bulk_fan_out() -> None:
    """With 1,000 bulk sends queued, a reply goes out within one token interval (1/28 s)."""

    async def main() -> float:
        limiter, api = await started(SanadRateLimiter()), FakeAPI()
        bulk = [
            asyncio.ensure_future(send(limiter, api, 10_000 + i, lane=Lane.BULK))
            for i in range(1000)
        ]
        await asyncio.sleep(3.01)
        asked = asyncio.get_running_loop().time()
        await send(limiter, api, 1, "reply")
        answered = asyncio.get_running_loop().time()
        for task in bulk:
            task.cancel()
        await asyncio.gather(*bulk, return_exceptions=True)
        return answered - asked

    assert run(main()) <= 1 / 28 + TOL


def test_bulk_is_served_once_interactive_stops() -> None:
    """Strict priority never deadlocks: bulk waiting behind a stream of replies all goes out."""

    async def main() -> tuple[int, int]:
        limiter, api = await started(SanadRateLimiter(overall_per_second=20)), FakeAPI()
        bulk = [
            asyncio.ensure_future(send(limiter, api, 100 + i, lane=Lane.BULK)) for i in range(30)
        ]
        replies = []
        for i in range(40):  # a reply every 0.05 s: the whole budget, for two seconds
            replies.append(asyncio.ensure_future(send(limiter, api, 1000 + i)))
            await asyncio.sleep(0.05)
        await asyncio.gather(*bulk, *replies)
        return len(api.times()), len([t for t in api.times() if t < 1002 and t in bulk_times(api)])

    sent, bulk_during_replies = run(main())
    assert sent == 70
    assert bulk_during_replies == 1  # only the one that went before the first reply


def test_a_429_pauses_only_its_chat_for_the_full_retry_after() -> None:
    """Chat 1 gets a 429 with retry_after 30 (not capped); chat 2 keeps receiving meanwhile."""

    async def main() -> tuple[list[float], list[float], object]:
        limiter, api = await started(SanadRateLimiter()), FakeAPI(floods={1: [30]})
        first = asyncio.ensure_future(send(limiter, api, 1, "ack"))
        others = []
        for i in range(10):
            others.append(asyncio.ensure_future(send(limiter, api, 2, f"o{i}")))
            await asyncio.sleep(1)
        result = await first
        await asyncio.gather(*others)
        return api.times(1), api.times(2), result

    chat1, chat2, result = run(main())
    assert result == {"ok": True}  # the caller never saw the RetryAfter
    assert chat1 == pytest.approx([1030.0], abs=TOL)
    assert len(chat2) == 10 and chat2[-1] < 1030.0


def test_a_retried_send_keeps_its_place_ahead_of_the_chats_later_messages() -> None:
    """FIRST gets a 429 while SECOND waits for the chat: SECOND still arrives after FIRST."""

    async def main() -> list[tuple[str, str]]:
        limiter = await started(SanadRateLimiter(per_chat_burst=1))
        api = FakeAPI(floods={1: [2]}, latency=0.05)
        first = asyncio.ensure_future(send(limiter, api, 1, "FIRST"))
        await asyncio.sleep(0.01)  # FIRST is on the wire; SECOND queues for t=1
        await asyncio.gather(first, send(limiter, api, 1, "SECOND"))
        return [(f"{t - 1000:.2f}", text) for t, _, _, text in api.attempts]

    # The 429 comes back at 0.05: FIRST retries at 2.05 and SECOND follows a second later.
    assert run(main()) == [("0.00", "FIRST"), ("2.05", "FIRST"), ("3.05", "SECOND")]


def test_429s_from_several_chats_pause_every_send() -> None:
    """A global flood (429s from FLOOD_CHATS chats within the window) pauses a fresh chat too."""

    async def main() -> list[float]:
        floods: dict[object, list[float]] = {i: [5] for i in range(1, FLOOD_CHATS + 1)}
        limiter, api = await started(SanadRateLimiter()), FakeAPI(floods=floods)
        flooded = [asyncio.ensure_future(send(limiter, api, i)) for i in floods]
        await asyncio.sleep(0.5)
        await send(limiter, api, 999, "fresh")
        await asyncio.gather(*flooded)
        return api.times(999)

    fresh = run(main())
    assert len(fresh) == 1 and fresh[0] >= 1005.0 - TOL


def test_one_chats_429_does_not_pause_the_rest() -> None:
    """Below FLOOD_CHATS flooded chats, a fresh chat is served at once."""

    async def main() -> list[float]:
        floods: dict[object, list[float]] = {i: [5] for i in range(1, FLOOD_CHATS)}
        limiter, api = await started(SanadRateLimiter()), FakeAPI(floods=floods)
        flooded = [asyncio.ensure_future(send(limiter, api, i)) for i in floods]
        await asyncio.sleep(0.5)
        await send(limiter, api, 999, "fresh")
        await asyncio.gather(*flooded)
        return api.times(999)

    assert run(main()) == pytest.approx([1000.5], abs=TOL)


def test_max_retry_wait_gives_up_at_once_and_the_pause_still_applies() -> None:
    """retry_after 30 > max_retry_wait 10: RetryAfter raised immediately; the chat stays paused."""

    async def main() -> tuple[float, float]:
        limiter = await started(SanadRateLimiter(max_retry_wait=10))
        api = FakeAPI(floods={1: [30]})
        with pytest.raises(RetryAfter):
            await send(limiter, api, 1, "notice", lane=Lane.BULK)
        raised_at = asyncio.get_running_loop().time()
        await send(limiter, api, 1, "next")
        return raised_at, api.times(1)[0]

    raised_at, next_at = run(main())
    assert raised_at == pytest.approx(1000.0, abs=TOL)
    assert next_at == pytest.approx(1030.0, abs=TOL)


def test_max_retry_wait_counts_only_429_waits() -> None:
    """Two 429s of 4 s fit a bound of 10 s; a third would not."""

    async def main() -> tuple[object, bool]:
        limiter = await started(SanadRateLimiter(max_retry_wait=10))
        ok = await send(limiter, api := FakeAPI(floods={1: [4, 4]}), 1)
        api.floods[2] = [4, 4, 4]
        try:
            await send(limiter, api, 2)
        except RetryAfter:
            return ok, True
        return ok, False

    assert run(main()) == ({"ok": True}, True)


def test_a_request_can_ask_for_every_429_at_once() -> None:
    """rate_limit_args max_retry_wait=0 (the outbox) gets the RetryAfter; replies still wait."""

    async def main() -> tuple[bool, object, float]:
        limiter = await started(SanadRateLimiter())
        api = FakeAPI(floods={1: [6], 2: [6]})
        data: dict[str, Any] = {"chat_id": 1, "text": "notice"}
        args: PacingArgs = {"lane": Lane.BULK, "max_retry_wait": 0}
        try:
            await limiter.process_request(
                api.post, ("sendMessage", data), {}, "sendMessage", data, args
            )
        except RetryAfter:
            handed_back = True
        else:
            handed_back = False
        reply = await send(limiter, api, 2, "reply")
        return handed_back, reply, asyncio.get_running_loop().time()

    assert run(main()) == (True, {"ok": True}, pytest.approx(1006.0 + 1 / 28, abs=TOL))


def test_a_cancelled_waiting_request_frees_its_place() -> None:
    """Cancelled while waiting for its chat: never sent, and the next one takes its turn."""

    async def main() -> list[tuple[str, str]]:
        limiter = await started(SanadRateLimiter(per_chat_burst=1))
        api = FakeAPI()
        await send(limiter, api, 1, "first")  # t=0; the chat's next turn is t=1
        doomed = asyncio.ensure_future(send(limiter, api, 1, "cancelled"))
        await asyncio.sleep(0.5)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
        await send(limiter, api, 1, "next")
        return [(f"{t - 1000:.2f}", text) for t, _, _, text in api.sent]

    assert run(main()) == [("0.00", "first"), ("1.00", "next")]


def test_cancelling_every_waiter_leaves_no_timer_and_no_work() -> None:
    """A whole cancelled fan-out leaves the limiter idle: the loop can finish."""

    async def main() -> int:
        limiter, api = await started(SanadRateLimiter()), FakeAPI()
        tasks = [asyncio.ensure_future(send(limiter, api, i, lane=Lane.BULK)) for i in range(50)]
        await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(5)
        return len(api.sent)

    assert run(main()) == 6  # t = 0, 1/28 … 5/28 before the cancel at 0.2


def test_methods_that_are_not_messages_are_not_paced() -> None:
    """getMe, answerCallbackQuery and chat actions go at once, whatever is queued."""

    async def main() -> list[float]:
        limiter, api = await started(SanadRateLimiter(overall_per_second=1)), FakeAPI()
        queued = [asyncio.ensure_future(send(limiter, api, 100 + i)) for i in range(5)]
        await asyncio.sleep(0.1)
        for endpoint in ("getMe", "answerCallbackQuery", "sendChatAction", "deleteMessage"):
            await send(limiter, api, 100, endpoint=endpoint)
        times = [t for t, endpoint, _, _ in api.sent if endpoint != "sendMessage"]
        await asyncio.gather(*queued)
        return times

    assert run(main()) == pytest.approx([1000.1] * 4, abs=TOL)


def test_a_429_on_an_unpaced_method_is_waited_out_and_retried() -> None:
    """answerCallbackQuery (no chat) gets a 429: the caller gets the answer 3 s later."""

    async def main() -> tuple[object, float]:
        limiter, api = await started(SanadRateLimiter()), FakeAPI(floods={None: [3]})
        result = await send(limiter, api, None, endpoint="answerCallbackQuery")
        return result, asyncio.get_running_loop().time()

    assert run(main()) == ({"ok": True}, pytest.approx(1003.0, abs=TOL))


def test_settings_calls_are_paced_on_their_own_budget() -> None:
    """setMyCommands at 20/s does not spend the message budget: a message goes at once."""

    async def main() -> tuple[list[float], list[float]]:
        limiter, api = await started(SanadRateLimiter(settings_per_second=20)), FakeAPI()
        menus = [
            asyncio.ensure_future(send(limiter, api, None, endpoint="setMyCommands"))
            for _ in range(5)
        ]
        await asyncio.sleep(0)
        await send(limiter, api, 1, "hello")
        await asyncio.gather(*menus)
        menu_times = [t - 1000 for t, e, _, _ in api.sent if e == "setMyCommands"]
        return menu_times, [t - 1000 for t in api.times(1)]

    menus, message = run(main())
    assert menus == pytest.approx([0, 0.05, 0.1, 0.15, 0.2], abs=TOL)
    assert message == pytest.approx([0.0], abs=TOL)


def test_an_album_counts_as_several_messages() -> None:
    """A media group of 4 spends 4 tokens: the next send waits 4/28 s, not 1/28 s."""

    async def main() -> float:
        limiter, api = await started(SanadRateLimiter()), FakeAPI()
        album = {"chat_id": 1, "media": ["a", "b", "c", "d"]}
        await limiter.process_request(
            api.post, ("sendMediaGroup", album), {}, "sendMediaGroup", album, None
        )
        await send(limiter, api, 2)
        return api.times(2)[0] - 1000

    assert run(main()) == pytest.approx(4 / 28, abs=TOL)


def test_shutdown_fails_waiting_requests_as_transient() -> None:
    """Requests still waiting at shutdown get a NetworkError, which delivery retries later."""

    async def main() -> list[object]:
        limiter, api = await started(SanadRateLimiter()), FakeAPI()
        tasks = [asyncio.ensure_future(send(limiter, api, 1)) for _ in range(5)]
        await asyncio.sleep(0.5)
        await limiter.shutdown()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = run(main())
    assert results[:3] == [{"ok": True}] * 3
    assert all(isinstance(r, NetworkError) for r in results[3:])


def test_groups_are_limited_to_twenty_a_minute() -> None:
    """A group (negative id) gets its burst, then one message every 3 s."""

    async def main() -> list[float]:
        limiter, api = await started(SanadRateLimiter()), FakeAPI()
        await asyncio.gather(*(send(limiter, api, -100, f"g{i}") for i in range(5)))
        return [t - 1000 for t in api.times()]

    assert run(main()) == pytest.approx([0, 1 / 28, 2 / 28, 3, 6], abs=TOL)


@pytest.mark.parametrize(
    ("endpoint", "kind"),
    [
        ("sendMessage", Kind.MESSAGE),
        ("sendPhoto", Kind.MESSAGE),
        ("sendDocument", Kind.MESSAGE),
        ("sendVoice", Kind.MESSAGE),
        ("sendMediaGroup", Kind.MESSAGE),
        ("editMessageText", Kind.MESSAGE),
        ("editMessageReplyMarkup", Kind.MESSAGE),
        ("copyMessage", Kind.MESSAGE),
        ("forwardMessage", Kind.MESSAGE),
        ("sendChatAction", Kind.UNPACED),
        ("answerCallbackQuery", Kind.UNPACED),
        ("getMe", Kind.UNPACED),
        ("setWebhook", Kind.UNPACED),
        ("deleteMessage", Kind.UNPACED),
        ("setMyCommands", Kind.SETTINGS),
        ("setChatMenuButton", Kind.SETTINGS),
    ],
)
def test_kind_of(endpoint: str, kind: Kind) -> None:
    """Which methods are paced as messages, on the settings budget, or not at all."""
    assert kind_of(endpoint) is kind


def test_lane_of_reads_rate_limit_args() -> None:
    """Interactive by default; bulk when asked; an unknown lane is a programming error."""
    assert lane_of(None) is Lane.INTERACTIVE
    assert lane_of({"lane": Lane.BULK}) is Lane.BULK
    assert lane_of({"lane": "bulk"}) is Lane.BULK
    assert lane_of({}) is Lane.INTERACTIVE
    assert lane_of(Lane.BULK) is Lane.BULK
    with pytest.raises(ValueError, match="unknown lane"):
        lane_of({"lane": "urgent"})


def test_chat_key_and_cost() -> None:
    """Chat ids as ints (numeric strings too), usernames lowercased; albums cost per item."""
    assert chat_key({"chat_id": "42"}) == 42
    assert chat_key({"chat_id": -1001}) == -1001
    assert chat_key({"chat_id": "@KentGroup"}) == "@kentgroup"
    assert chat_key({"inline_message_id": "x"}) is None
    assert cost_of("sendMediaGroup", {"media": [1, 2, 3]}) == 3
    assert cost_of("forwardMessages", {"message_ids": [1, 2]}) == 2
    assert cost_of("sendMessage", {"text": "x"}) == 1


def test_bad_limits_are_refused() -> None:
    """Zero or negative rates, an empty burst or a negative bound are configuration errors."""
    for kwargs in (
        {"overall_per_second": 0},
        {"per_chat_per_second": -1},
        {"per_chat_burst": 0},
        {"max_retry_wait": -1},
    ):
        with pytest.raises(ValueError):
            SanadRateLimiter(**kwargs)  # type: ignore[arg-type]


def test_sends_granted_apart_but_resumed_together_still_start_within_the_cap() -> None:
    """After a busy moment the loop resumes many granted sends at once; at most 28
    start in any second (Telegram counts starts), the rest wait their turn."""

    class GrantedLongAgo(SanadRateLimiter):
        """Every grant was given earlier; the loop only now gets to the sends."""

        async def _acquire(self, *_: Any, **__: Any) -> None:
            """Granted already."""

    async def main() -> list[float]:
        limiter, api = await started(GrantedLongAgo(overall_per_second=28)), FakeAPI()
        await asyncio.gather(*(send(limiter, api, 100 + i) for i in range(70)))
        await limiter.shutdown()
        return api.times()

    times = run(main())
    assert len(times) == 70
    assert times.count(times[0]) == 28  # the control: 28 started together, at once
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) == 28
