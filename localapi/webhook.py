"""Webhook delivery of the local server: each update POSTed to the bot, as Telegram does.

While a webhook is set, every pending update is sent alone in one request (with the secret
header when one was set); a 2xx answer confirms it, anything else (or no answer within
``timeout``) is retried after a short backoff. Each chat's updates go in order, one at a time;
different chats go in parallel up to the webhook's ``max_connections``. Only loopback addresses
are called, so no test ever reaches the internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from localapi.state import World, now

__all__ = ["SECRET_HEADER", "Delivery", "WebhookSender"]

JSON = dict[str, Any]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
NO_ANSWER = 0  # the status recorded for a timeout, a refused or a dropped connection


@dataclass(frozen=True)
class Delivery:
    """One webhook request: the update it carried, the status answered, and when."""

    update_id: int
    status: int  # HTTP status, or NO_ANSWER
    answered_at: float  # time.monotonic() when the answer (or the failure) came
    lost: bool = False  # a 2xx treated as lost on purpose (``lose_answers``): sent again


def _order_key(update: JSON) -> Hashable:
    """What must stay in order: the chat the update belongs to, else the update alone."""
    body: JSON = next((v for k, v in update.items() if k != "update_id"), {})
    chat = body.get("chat") or (body.get("message") or {}).get("chat")
    if isinstance(chat, dict) and "id" in chat:
        return ("chat", chat["id"])
    sender = body.get("from")
    if isinstance(sender, dict) and "id" in sender:
        return ("user", sender["id"])
    return ("update", update["update_id"])


def _reachable(url: str) -> bool:
    """Whether the webhook URL is one the local server may call (loopback only)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and (host in LOOPBACK or host.startswith("127."))


class WebhookSender:
    """Delivers the world's pending updates to its webhook until stopped."""

    def __init__(
        self,
        world: World,
        *,
        timeout: float = 5.0,
        first_backoff: float = 0.05,
        max_backoff: float = 1.0,
    ) -> None:
        self.world = world
        self.timeout = timeout  # seconds the bot has to answer one request
        self.first_backoff = first_backoff  # seconds before the first retry; doubles
        self.max_backoff = max_backoff
        self.deliveries: list[Delivery] = []
        # The next this many 2xx answers are treated as lost (the update is sent again), the
        # way a connection dropped after the bot answered looks to Telegram.
        self.lose_answers = 0
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._failures: dict[int, int] = {}  # update id -> failed attempts so far
        self._retry_at: dict[int, float] = {}  # update id -> monotonic time of the next try

    async def start(self) -> None:
        """Starts the delivery loop (idle while no webhook is set)."""
        if self._task is None:
            self._session = aiohttp.ClientSession()
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Stops delivering; requests in flight are abandoned (their updates stay pending)."""
        tasks = [*self._inflight.values(), *([self._task] if self._task else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._inflight.clear()
        self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def busy(self) -> bool:
        """Whether an update is waiting for (or in) delivery to a set webhook."""
        return bool(self.world.webhook.get("url")) and bool(self.world.updates)

    async def _run(self) -> None:
        """Starts what may be delivered now, then sleeps until a change or the next retry."""
        while True:
            wake = 1.0
            url = str(self.world.webhook.get("url") or "")
            if url and _reachable(url) and self.world.updates:
                wake = self._dispatch(url)
            await self.world.wait_change(wake)

    def _dispatch(self, url: str) -> float:
        """Starts each chat's oldest pending update if it is due; returns seconds to sleep."""
        clock = time.monotonic()
        limit = int(self.world.webhook.get("max_connections") or 40)
        updates = self.world.pending(len(self.world.updates))  # drops types not allowed
        seen: set[Hashable] = set()
        wake = 1.0
        for update in updates:
            key = _order_key(update)
            if key in seen:
                continue  # an earlier update of this chat is not confirmed yet
            seen.add(key)
            update_id = int(update["update_id"])
            if update_id in self._inflight:
                continue
            due = self._retry_at.get(update_id, 0.0)
            if due > clock:
                wake = min(wake, due - clock)
                continue
            if len(self._inflight) >= limit:
                break
            secret = self.world.webhook.get("secret_token")
            task = asyncio.ensure_future(self._deliver(url, secret, update))
            self._inflight[update_id] = task
        return max(wake, 0.001)

    async def _deliver(self, url: str, secret: str | None, update: JSON) -> None:
        """POSTs one update; confirms it on 2xx, else schedules a retry."""
        update_id = int(update["update_id"])
        headers = {"Content-Type": "application/json"}
        if secret:
            headers[SECRET_HEADER] = secret
        self.world.counters.webhook_attempts += 1
        status = NO_ANSWER
        assert self._session is not None
        try:
            async with self._session.post(
                url,
                data=json.dumps(update, ensure_ascii=False).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError):
            status = NO_ANSWER
        finally:
            self._inflight.pop(update_id, None)
        ok = 200 <= status < 300
        lost = ok and self.lose_answers > 0
        if lost:
            self.lose_answers -= 1
        self.world.counters.webhook_answers[status] += 1
        self.deliveries.append(Delivery(update_id, status, time.monotonic(), lost))
        if ok and not lost:
            self.world.updates = [u for u in self.world.updates if u["update_id"] != update_id]
            self._failures.pop(update_id, None)
            self._retry_at.pop(update_id, None)
        else:
            failures = self._failures[update_id] = self._failures.get(update_id, 0) + 1
            pause = min(self.first_backoff * 2 ** (failures - 1), self.max_backoff)
            self._retry_at[update_id] = time.monotonic() + pause
            if self.world.webhook.get("url"):
                reason = f"{status}" if status else "no answer"
                self.world.webhook["last_error_date"] = now()
                self.world.webhook["last_error_message"] = (
                    f"Wrong response from the webhook: {reason}"
                )
        self.world.touch()
