"""Pacing of everything Sanad sends, as a python-telegram-bot rate limiter.

Evenly spread under Telegram's limits overall and per chat, interactive before bulk, and a 429
waited out for its full ``retry_after`` on exactly what it applies to, then retried.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, TypedDict

from telegram.error import NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.lanes import Lane

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Result = bool | JSONDict | list[JSONDict]
Callback = Callable[..., Coroutine[Any, Any, Result]]
ChatKey = int | str | None

# Telegram's FAQ ("My bot is hitting limits"): about 30 messages a second overall, about one a
# second in one chat with short bursts tolerated, and 20 a minute in one group. Those limits are
# about *messages*, so what is paced is every method that puts or changes a message in a chat:
# send* (but sendChatAction, a typing hint: pacing it would spend a chat's budget on an
# indicator and delay the real answer), copy/forward, and editMessage*/stop* (edits are
# flood-limited like sends in practice, so they are counted to stay safe). answerCallbackQuery,
# answerInlineQuery, deleteMessage, getMe, getChat, setWebhook and the like are not messages and
# are not paced (getUpdates never reaches a rate limiter at all); a 429 on them is still waited
# out and retried.
MESSAGE_PREFIXES = (
    "send",
    "copyMessage",
    "forwardMessage",
    "editMessage",
    "stopMessageLiveLocation",
    "stopPoll",
)
UNPACED_SENDS = frozenset({"sendChatAction"})
# Bot settings calls have undocumented limits of their own; a restart that refreshes thousands
# of per-chat command menus must not hammer them, and must not eat the message budget either.
SETTINGS_METHODS = frozenset(
    {
        "setMyCommands",
        "deleteMyCommands",
        "setChatMenuButton",
        "setMyName",
        "setMyDescription",
        "setMyShortDescription",
        "setMyDefaultAdministratorRights",
    }
)
# Methods that send several messages at once, and the parameter listing them.
BATCH_PARAMETERS = {
    "sendMediaGroup": "media",
    "copyMessages": "message_ids",
    "forwardMessages": "message_ids",
}
GROUP_PER_SECOND = 20 / 60  # Telegram: at most 20 messages a minute to one group or channel
# Telegram's 429 does not say whether it is about one chat or the whole bot. One chat's 429
# pauses that chat only; 429s from this many different chats within FLOOD_WINDOW seconds mean
# the bot as a whole is over the limit, and then every send pauses until the latest of them
# has expired. A 429 on a message send with no chat (an inline message edit) pauses everything.
FLOOD_CHATS = 3
FLOOD_WINDOW = 2.0
# A 429 with a zero or missing retry_after must not become a busy loop.
MIN_RETRY_WAIT = 0.1
# The overall bucket holds one and a half sends: a timer that fires a few milliseconds late
# (a busy event loop) does not lose that time, yet no one-second window ever holds more than
# rate + 1.5 sends (29 at 28/s, under Telegram's 30).
OVERALL_CAPACITY = 1.5
EPSILON = 1e-9
SWEEP_EVERY = 4096  # grants between forgetting idle chats, so memory follows active chats only
LANES = (Lane.INTERACTIVE, Lane.REMINDER, Lane.BULK)  # the order waiting lanes are served


class PacingArgs(TypedDict, total=False):
    """What callers pass as ``rate_limit_args``: the lane (interactive when absent), and
    optionally this request's own ``max_retry_wait`` (0: hand every 429 back at once, for a
    caller that reschedules durably, like the outbox)."""

    lane: Lane
    max_retry_wait: float | None


class Kind(StrEnum):
    """How a Bot API method is paced."""

    MESSAGE = "message"  # paced overall and per chat, by lane
    SETTINGS = "settings"  # paced on its own, slower budget
    UNPACED = "unpaced"  # sent at once; only 429s are waited out


def kind_of(endpoint: str) -> Kind:
    """The pacing a Bot API method gets."""
    if endpoint in SETTINGS_METHODS:
        return Kind.SETTINGS
    if endpoint.startswith(MESSAGE_PREFIXES) and endpoint not in UNPACED_SENDS:
        return Kind.MESSAGE
    return Kind.UNPACED


def lane_of(rate_limit_args: object) -> Lane:
    """The lane a caller asked for with ``rate_limit_args={"lane": ...}``; interactive by default."""
    if rate_limit_args is None:
        return Lane.INTERACTIVE
    if isinstance(rate_limit_args, Mapping):
        value = rate_limit_args.get("lane", Lane.INTERACTIVE)
    else:
        value = rate_limit_args  # a bare Lane is accepted too
    try:
        return Lane(value)
    except ValueError:
        raise ValueError(f"rate_limit_args: unknown lane {value!r}") from None


def chat_key(data: Mapping[str, Any]) -> ChatKey:
    """The chat a request goes to: an int id, an ``@username``, or None (inline messages)."""
    value = data.get("chat_id")
    if value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value).lower()


def cost_of(endpoint: str, data: Mapping[str, Any]) -> int:
    """How many messages a request puts in the chat (an album or a batch copy is several)."""
    batch = BATCH_PARAMETERS.get(endpoint)
    if batch is None:
        return 1
    try:
        return max(1, len(data[batch]))
    except (KeyError, TypeError):
        return 1


def retry_seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds, read without PTB's int/timedelta deprecation warning."""
    value = getattr(exc, "_retry_after", None)
    if value is None:  # pragma: no cover - PTB before 22.2
        value = exc.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return max(seconds, MIN_RETRY_WAIT)


class Bucket:
    """A token bucket: ``rate`` tokens a second, holding at most ``capacity``; may go into debt."""

    def __init__(
        self, rate: float, capacity: float, now: float, tokens: float | None = None
    ) -> None:
        """A bucket at time ``now`` holding ``tokens`` (full when not given)."""
        if rate <= 0 or capacity < 1:
            raise ValueError("a bucket needs a positive rate and a capacity of at least 1")
        self.rate, self.capacity = rate, capacity
        self.tokens, self.stamp = (capacity if tokens is None else tokens), now

    def _refill(self, now: float) -> None:
        """Adds what accrued since the last look."""
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def ready_at(self, now: float) -> float:
        """The earliest time (``now`` or later) a whole token is available."""
        self._refill(now)
        missing = 1.0 - self.tokens
        return now if missing <= EPSILON else now + missing / self.rate

    def take(self, now: float, cost: int = 1) -> None:
        """Spends ``cost`` tokens (an album may leave the bucket in debt)."""
        self._refill(now)
        self.tokens -= cost

    def full(self, now: float) -> bool:
        """True when an idle chat's bucket holds nothing worth remembering."""
        self._refill(now)
        return self.tokens >= self.capacity - EPSILON


@dataclass(eq=False)
class _Waiter:
    """One request waiting for its turn."""

    future: asyncio.Future[None]
    cost: int


@dataclass(eq=False)
class _Chat:
    """One chat's budget, flood pause and waiting requests, by lane."""

    key: ChatKey
    bucket: Bucket | None  # None: sends with no chat, limited by the overall budget only
    paused_until: float = 0.0
    waiting: dict[Lane, deque[_Waiter]] = field(
        default_factory=lambda: {lane: deque() for lane in LANES}
    )
    listed: set[Lane] = field(default_factory=set)  # lanes whose ready queue holds this chat
    wake_at: float | None = None  # its valid entry in the sleepers' heap, if any

    def head(self, lane: Lane) -> _Waiter | None:
        """The first request of ``lane`` still waiting (cancelled ones are dropped here)."""
        queue = self.waiting[lane]
        while queue and queue[0].future.done():
            queue.popleft()
        return queue[0] if queue else None

    def ready_at(self, now: float) -> float:
        """When this chat may receive its next message."""
        at = max(now, self.paused_until)
        return at if self.bucket is None else max(at, self.bucket.ready_at(now))

    def idle(self, now: float) -> bool:
        """Nothing waits, nothing is scheduled, and its budget is full again."""
        return (
            not self.listed
            and self.wake_at is None
            and self.paused_until <= now
            and all(self.head(lane) is None for lane in LANES)
            and (self.bucket is None or self.bucket.full(now))
        )


class SanadRateLimiter(BaseRateLimiter[PacingArgs]):
    """Paces sends under Telegram's limits, interactive first, and waits out 429s precisely.

    Message sends take one token from a small overall bucket (``overall_per_second``, capacity
    1.5, so sends are evenly spread, never bursts at the start of a second) and one from their
    chat's bucket (``per_chat_per_second`` with ``per_chat_burst``; groups and channels 20 a
    minute). Whenever the overall budget frees up, the oldest ready interactive request goes
    first, then the oldest ready bulk one, so bulk never delays a person by more than one
    token's interval; a chat that must wait never holds up other chats.

    A 429 pauses its chat (or everything, when several chats get 429s together, see
    ``FLOOD_CHATS``) for the full ``retry_after`` and the request is retried at the front of its
    chat's queue, so the chat's order is kept. With ``max_retry_wait=None`` a request keeps
    waiting out 429s for as long as Telegram asks (each wait is Telegram's own, so this never
    spins); otherwise a request whose 429 waits would add up to more than ``max_retry_wait``
    seconds gets the ``RetryAfter`` at once (the pause still applies to everyone else). Time
    spent waiting for its turn is not counted: that is pacing, not failure. A caller may set its
    own bound per request with ``rate_limit_args={"lane": ..., "max_retry_wait": 0}``.

    Nothing here blocks the event loop: waiting requests sleep on futures woken by one timer,
    and a cancelled request simply drops out of its queue.
    """

    __slots__ = (
        "_chats",
        "_floods",
        "_grants",
        "_loop",
        "_max_retry_wait",
        "_overall",
        "_overall_rate",
        "_paused_until",
        "_per_chat_burst",
        "_per_chat_rate",
        "_ready",
        "_seq",
        "_settings",
        "_settings_rate",
        "_sleepers",
        "_starts",
        "_timer",
        "_window_cap",
        "retry_afters",
    )

    def __init__(
        self,
        overall_per_second: float = 28.0,
        per_chat_per_second: float = 1.0,
        per_chat_burst: int = 3,
        max_retry_wait: float | None = None,
        *,
        settings_per_second: float = 20.0,
    ) -> None:
        """Limits in sends per second; ``max_retry_wait`` in seconds (None: no bound)."""
        if min(overall_per_second, per_chat_per_second, settings_per_second) <= 0:
            raise ValueError("rates must be positive")
        if per_chat_burst < 1:
            raise ValueError("per_chat_burst must be at least 1")
        if max_retry_wait is not None and max_retry_wait < 0:
            raise ValueError("max_retry_wait must not be negative")
        self._overall_rate = overall_per_second
        # Evenly spaced sends put exactly the rate in a second, so this cap costs no pace; it
        # leaves Telegram's 30 a margin for sends that arrive bunched by the network.
        self._window_cap = math.ceil(overall_per_second)
        self._per_chat_rate = per_chat_per_second
        self._per_chat_burst = per_chat_burst
        self._settings_rate = settings_per_second
        self._max_retry_wait = max_retry_wait
        self.retry_afters = 0  # 429s received, for benchmarks and operators
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reset(0.0)

    def _reset(self, now: float) -> None:
        """Fresh state (on first use in an event loop)."""
        self._overall = Bucket(self._overall_rate, OVERALL_CAPACITY, now, tokens=1.0)
        self._settings = Bucket(self._settings_rate, 1, now)
        self._chats: dict[ChatKey, _Chat] = {}
        self._ready: dict[Lane, deque[_Chat]] = {lane: deque() for lane in LANES}
        self._sleepers: list[tuple[float, int, _Chat]] = []
        self._seq = itertools.count()
        self._paused_until = 0.0
        self._floods: deque[tuple[float, ChatKey, float]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._grants = 0
        self._starts: deque[float] = deque()  # when the sends of the last second started

    async def initialize(self) -> None:
        """Binds to the running event loop."""
        self._bind()

    async def shutdown(self) -> None:
        """Stops the timer; requests still waiting fail as a network error (transient)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for chat in self._chats.values():
            for lane in LANES:
                for waiter in chat.waiting[lane]:
                    if not waiter.future.done():
                        waiter.future.set_exception(NetworkError("rate limiter shut down"))
                chat.waiting[lane].clear()
        self._loop = None

    def _bind(self) -> asyncio.AbstractEventLoop:
        """The running loop; state is reset when used from a new loop (tests, restarts)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._reset(loop.time())
        return loop

    def paused_until(self, key: ChatKey = None) -> float:
        """Loop time until which sends to ``key`` (None: all sends) are paused by a 429."""
        chat = self._chats.get(key) if key is not None else None
        return max(self._paused_until, chat.paused_until if chat else 0.0)

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: PacingArgs | None,
    ) -> Result:
        """Waits for the request's turn, sends it, and waits out and retries any 429."""
        self._bind()
        lane = lane_of(rate_limit_args)
        bound = self._max_retry_wait
        if isinstance(rate_limit_args, Mapping) and "max_retry_wait" in rate_limit_args:
            bound = rate_limit_args["max_retry_wait"]
        kind = kind_of(endpoint)
        key = chat_key(data)
        cost = cost_of(endpoint, data)
        waited_out = 0.0  # seconds of retry_after this request has waited out so far
        retrying = False
        while True:
            if kind is Kind.MESSAGE:
                await self._acquire(key, lane, cost, front=retrying)
                await self._start_in_window(cost)
            elif kind is Kind.SETTINGS:
                await self._acquire_settings()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = retry_seconds(exc)
                self.retry_afters += 1
                self._note_flood(key if kind is not Kind.SETTINGS else None, wait, kind)
                if bound is not None and waited_out + wait > bound:
                    logger.warning(
                        "429 on %s: giving up after %.1f s of waits", endpoint, waited_out
                    )
                    raise
                logger.info("429 on %s: waiting %.1f s, then retrying", endpoint, wait)
                waited_out += wait
                if kind is not Kind.MESSAGE:
                    await asyncio.sleep(wait)  # message sends wait in _acquire, behind the pause
                retrying = True

    # -- waiting for a turn ---------------------------------------------------------------

    async def _acquire(self, key: ChatKey, lane: Lane, cost: int, *, front: bool) -> None:
        """Returns when this request may be sent (both budgets spent for it)."""
        loop = self._bind()
        chat = self._chat(key, loop.time())
        waiter = _Waiter(loop.create_future(), cost)
        if front:  # a retry keeps its place ahead of the chat's later messages
            chat.waiting[lane].appendleft(waiter)
        else:
            chat.waiting[lane].append(waiter)
        self._route(chat, loop.time())
        self._pump()
        # Cancelled while waiting: the future is cancelled with the task and skipped from then
        # on, so it costs no budget and nobody waits behind it.
        await waiter.future

    async def _start_in_window(self, cost: int) -> None:
        """Holds a granted send while a second already saw the window's cap of sends start.

        Grants are evenly spaced, but a send resumes only when the event loop gets to it: after
        a busy moment, sends granted apart start together, and Telegram counts starts, not
        grants. So at most ``overall_per_second`` (rounded up) start in any second."""
        loop = self._bind()
        starts = self._starts
        while True:
            now = loop.time()
            while starts and now - starts[0] >= 1.0:
                starts.popleft()
            if not starts or len(starts) + cost <= self._window_cap:
                break
            await asyncio.sleep(1.0 - (now - starts[0]))
        starts.extend([now] * cost)

    async def _acquire_settings(self) -> None:
        """Paces bot-settings calls on their own budget (a reservation: they are rare)."""
        loop = self._bind()
        now = loop.time()
        at = self._settings.ready_at(now)
        self._settings.take(now)
        if at > now:
            await asyncio.sleep(at - now)

    def _chat(self, key: ChatKey, now: float) -> _Chat:
        """The state of one chat, created on first use."""
        chat = self._chats.get(key)
        if chat is None:
            bucket = None
            if key is not None:
                group = isinstance(key, str) or key < 0  # groups, supergroups, channels
                rate = GROUP_PER_SECOND if group else self._per_chat_rate
                bucket = Bucket(rate, self._per_chat_burst, now)
            chat = self._chats[key] = _Chat(key, bucket)
        return chat

    def _route(self, chat: _Chat, now: float) -> None:
        """Lists a chat with waiting requests as ready in their lanes, or sets it to wake."""
        lanes = [lane for lane in LANES if chat.head(lane) is not None]
        if not lanes:
            return
        at = chat.ready_at(now)
        if at <= now:
            for lane in lanes:
                if lane not in chat.listed:
                    chat.listed.add(lane)
                    self._ready[lane].append(chat)
        elif chat.wake_at != at:
            chat.wake_at = at  # an older heap entry for this chat is now stale
            heapq.heappush(self._sleepers, (at, next(self._seq), chat))

    def _take_ready(self, now: float) -> tuple[_Chat, _Waiter] | None:
        """Pops the request to serve next: the oldest ready interactive one, else bulk."""
        for lane in LANES:
            queue = self._ready[lane]
            while queue:
                chat = queue.popleft()
                chat.listed.discard(lane)
                waiter = chat.head(lane)
                if waiter is None:
                    continue
                if chat.ready_at(now) > now:  # paused or spent since it was listed
                    self._route(chat, now)
                    continue
                chat.waiting[lane].popleft()
                return chat, waiter
        return None

    def _pump(self) -> None:
        """Grants every request whose turn has come, then sets the timer for the next one."""
        if self._loop is None:
            return
        now = self._loop.time()
        while self._sleepers and self._sleepers[0][0] <= now:
            at, _, chat = heapq.heappop(self._sleepers)
            if chat.wake_at == at:
                chat.wake_at = None
                self._route(chat, now)
        while True:
            has_ready = any(self._ready[lane] for lane in LANES)
            if not has_ready and not self._sleepers:
                self._arm(None)
                return
            if now < self._paused_until:
                self._arm(self._paused_until)
                return
            if not has_ready:
                self._arm(self._sleepers[0][0])
                return
            at = self._overall.ready_at(now)
            if at > now:
                self._arm(at)
                return
            picked = self._take_ready(now)
            if picked is not None:
                chat, waiter = picked
                if chat.bucket is not None:
                    chat.bucket.take(now, waiter.cost)
                self._overall.take(now, waiter.cost)
                waiter.future.set_result(None)
                self._route(chat, now)
                self._grants += 1
                if self._grants % SWEEP_EVERY == 0:
                    self._sweep(now)

    def _arm(self, at: float | None) -> None:
        """Sets the one timer that calls ``_pump`` again at ``at`` (None: nothing waits)."""
        if self._timer is not None:
            if at is not None and math.isclose(self._timer.when(), at, abs_tol=EPSILON):
                return
            self._timer.cancel()
            self._timer = None
        if at is not None and self._loop is not None:
            self._timer = self._loop.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        """The timer fired."""
        self._timer = None
        self._pump()

    def _sweep(self, now: float) -> None:
        """Forgets chats with nothing waiting and a full budget."""
        for key in [key for key, chat in self._chats.items() if chat.idle(now)]:
            del self._chats[key]

    # -- 429s -----------------------------------------------------------------------------

    def _note_flood(self, key: ChatKey, wait: float, kind: Kind) -> None:
        """Pauses what a 429 applies to: its chat, or every send when the flood is global."""
        assert self._loop is not None
        now = self._loop.time()
        until = now + wait
        if key is None:
            if kind is Kind.MESSAGE:
                self._pause_all(until)
            return
        chat = self._chat(key, now)
        chat.paused_until = max(chat.paused_until, until)
        if chat.bucket is not None:
            # The chat resumes at its steady rate after the pause, not with a fresh burst.
            chat.bucket.tokens, chat.bucket.stamp = 1.0, chat.paused_until
        while self._floods and self._floods[0][0] < now - FLOOD_WINDOW:
            self._floods.popleft()
        self._floods.append((now, key, until))
        if len({flood_key for _, flood_key, _ in self._floods}) >= FLOOD_CHATS:
            logger.warning("429s from %d chats at once: pausing every send", FLOOD_CHATS)
            self._pause_all(max(flood_until for _, _, flood_until in self._floods))
            self._floods.clear()
        self._pump()

    def _pause_all(self, until: float) -> None:
        """Pauses every message send until ``until`` (loop time)."""
        self._paused_until = max(self._paused_until, until)
        self._pump()
