"""Injected faults: the local server answers some requests the way a troubled Telegram would.

A rule matches by method (sends by default) and chat (any by default), for its next ``times``
matching requests or for ``seconds`` from now; the first matching rule applies.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from localapi.limits import SEND_METHODS

__all__ = ["ALL_METHODS", "Fault", "FaultRule", "chat_of"]

ALL_METHODS = "*"


class Fault(StrEnum):
    """What an injected fault does to a request."""

    TOO_MANY_REQUESTS = "429"  # answer 429 with parameters.retry_after
    BLOCKED = "403"  # answer 403 "Forbidden: bot was blocked by the user"
    SERVER_ERROR = "5xx"  # answer a 5xx status (502 by default)
    TIMEOUT = "timeout"  # hang past the client's timeout, never answering
    DISCONNECT = "disconnect"  # drop the connection without an answer


# Faults that make sense after the request took effect ("accepted, then the answer was lost").
AFTER_EFFECT = frozenset({Fault.SERVER_ERROR, Fault.TIMEOUT, Fault.DISCONNECT})


@dataclass
class FaultRule:
    """One injected fault and what it matches; ``hits`` counts requests it has answered."""

    kind: Fault
    chat_id: int | None = None
    methods: frozenset[str] | None = None  # lower-case names; None: SEND_METHODS
    times: int | None = 1  # requests left; None: unlimited within the window
    until: float | None = None  # time.monotonic() after which the rule is over
    retry_after: int = 5
    status: int = 502
    hang: float = 60.0
    after_store: bool = False
    hits: int = 0

    @classmethod
    def build(
        cls,
        kind: Fault | str,
        *,
        chat_id: int | None = None,
        methods: Iterable[str] | str | None = None,
        times: int | None = None,
        seconds: float | None = None,
        retry_after: int = 5,
        status: int = 502,
        hang: float = 60.0,
        after_store: bool = False,
    ) -> FaultRule:
        """A rule from keyword options; with neither ``times`` nor ``seconds`` it fires once."""
        kind = Fault(kind)
        if after_store and kind not in AFTER_EFFECT:
            raise ValueError(f"{kind.name} cannot happen after the message was stored")
        if kind is Fault.SERVER_ERROR and not 500 <= status <= 599:
            raise ValueError("a server error needs a 5xx status")
        if times is None and seconds is None:
            times = 1
        if isinstance(methods, str):
            methods = [methods]
        names = None if methods is None else frozenset(m.lower() for m in methods)
        return cls(
            kind=kind,
            chat_id=chat_id,
            methods=names,
            times=times,
            until=None if seconds is None else time.monotonic() + seconds,
            retry_after=retry_after,
            status=status,
            hang=hang,
            after_store=after_store,
        )

    @property
    def active(self) -> bool:
        """Whether the rule can still fire."""
        if self.times is not None and self.times <= 0:
            return False
        return self.until is None or time.monotonic() < self.until

    def matches(self, method: str, chat_id: int | None) -> bool:
        """Whether a request to ``method`` for ``chat_id`` falls under this rule now."""
        if not self.active:
            return False
        names = SEND_METHODS if self.methods is None else self.methods
        if ALL_METHODS not in names and method.lower() not in names:
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def fire(self) -> None:
        """Count one request answered by this rule."""
        self.hits += 1
        if self.times is not None:
            self.times -= 1

    def cancel(self) -> None:
        """Stop the rule now."""
        self.times = 0


def chat_of(raw: object) -> int | None:
    """The numeric chat id of a request's ``chat_id`` parameter, if it has one."""
    try:
        return int(str(raw))
    except ValueError:
        return None
