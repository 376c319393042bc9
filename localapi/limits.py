"""Telegram's send limits as the local server enforces them, and counters of what it answered.

Off unless asked for: ``LocalBotAPI(rate_limits=True)`` (or a ``TelegramLimits``) answers 429
with ``parameters.retry_after`` once the bot sends faster than Telegram tolerates.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["SEND_METHODS", "Counters", "Limiter", "TelegramLimits", "peak_per_second"]

# Methods that put a new message in a chat: the ones Telegram's flood limits count.
SEND_METHODS = frozenset(
    m.lower()
    for m in (
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendAudio",
        "sendSticker",
        "sendLocation",
        "sendContact",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
    )
)


@dataclass(frozen=True)
class TelegramLimits:
    """How fast the bot may send: overall, per private chat (with a burst), per group."""

    overall_per_second: int = 30
    per_chat_per_second: float = 1.0
    # Telegram lets a private chat take a short burst before it starts answering 429.
    per_chat_burst: int = 5
    group_per_minute: int = 20


def too_many(retry_after: int) -> tuple[int, str, dict[str, int]]:
    """Telegram's 429 answer: status, description and parameters."""
    return 429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}


@dataclass
class _Bucket:
    """A token bucket: ``tokens`` refill at ``rate`` a second up to ``capacity``."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        # A hair of tolerance: a third of a token three times is one token, float or not.
        return 0.0 if self.tokens >= 1.0 - 1e-9 else (1.0 - self.tokens) / self.rate


class Limiter:
    """Decides whether a send to a chat is allowed now; a refused send costs nothing."""

    def __init__(
        self, limits: TelegramLimits, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Start with every chat's full burst available and nothing sent."""
        self.limits = limits
        self.clock = clock  # tests pass a fake clock to step time exactly
        self._overall: deque[float] = deque()
        self._chats: dict[int, _Bucket] = {}
        self._groups: dict[int, deque[float]] = {}

    def check(self, chat_id: int, *, private: bool, now: float | None = None) -> int | None:
        """Record the send and return None, or return the retry_after (s) of a 429."""
        now = self.clock() if now is None else now
        waits = [_window_wait(self._overall, 1.0, self.limits.overall_per_second, now)]
        bucket: _Bucket | None = None
        if private:
            bucket = self._chats.get(chat_id)
            if bucket is None:
                burst = float(self.limits.per_chat_burst)
                rate = self.limits.per_chat_per_second
                bucket = self._chats[chat_id] = _Bucket(burst, rate, burst, now)
            waits.append(bucket.wait(now))
        else:
            group = self._groups.setdefault(chat_id, deque())
            waits.append(_window_wait(group, 60.0, self.limits.group_per_minute, now))
        wait = max(waits)
        if wait > 0:
            return max(1, math.ceil(wait))
        self._overall.append(now)
        if bucket is not None:
            bucket.tokens -= 1.0
        else:
            self._groups[chat_id].append(now)
        return None


def _window_wait(times: deque[float], span: float, cap: int, now: float) -> float:
    """Seconds until a sliding window of ``span`` s holds fewer than ``cap`` sends."""
    while times and now - times[0] >= span:
        times.popleft()
    return 0.0 if len(times) < cap else span - (now - times[0])


@dataclass
class Counters:
    """What the server saw and answered, for tests and benchmarks to read."""

    requests: Counter[str] = field(default_factory=Counter)  # by method, as the bot spelled it
    answered: Counter[int] = field(default_factory=Counter)  # error answers by HTTP status
    faults: Counter[str] = field(default_factory=Counter)  # injected faults applied, by kind
    delivered: Counter[int] = field(default_factory=Counter)  # new bot messages per chat
    send_times: list[float] = field(default_factory=list)  # monotonic time of each new message
    webhook_attempts: int = 0  # webhook requests made (one update each)
    webhook_answers: Counter[int] = field(default_factory=Counter)  # by status; 0: no answer

    @property
    def too_many_requests(self) -> int:
        """How many 429s the server answered (limits and injected floods alike)."""
        return self.answered[429]

    @property
    def messages(self) -> int:
        """New bot messages stored, all chats together."""
        return len(self.send_times)

    def peak_per_second(self) -> int:
        """The most new bot messages stored within any one second (sliding window)."""
        return peak_per_second(self.send_times)

    def reset(self) -> None:
        """Start counting afresh."""
        self.requests.clear()
        self.answered.clear()
        self.faults.clear()
        self.delivered.clear()
        self.send_times.clear()
        self.webhook_attempts = 0
        self.webhook_answers.clear()


def peak_per_second(times: list[float]) -> int:
    """The largest number of ``times`` (sorted seconds) that fall within one second."""
    peak, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak
