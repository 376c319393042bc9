"""Updates from different chats run concurrently; each chat's updates run one at a time, in order.

Installed with ``ApplicationBuilder().concurrent_updates(ChatOrderedProcessor())``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

logger = logging.getLogger(__name__)

# Handlers running at once, across chats.
RUNNING = 64
# Updates PTB may hand over at once (running plus those waiting behind their own chat). PTB's
# semaphore counts both, so it is set far above RUNNING: a chat with many waiting updates
# must never hold the slots that other chats need.
ACCEPTED = 100_000


def order_key(update: object) -> Hashable | None:
    """What must stay in order: the chat, else the user (a callback without a chat), else None."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    return None


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Runs up to ``running`` updates at once, never two of the same chat, each chat in order.

    Order is fixed the moment PTB hands an update over (before any ``await``): each update
    waits only for the one before it in its own chat, so a slow chat delays nobody else.
    """

    def __init__(
        self,
        running: int = RUNNING,
        accepted: int = ACCEPTED,
        on_finished: Callable[[object], None] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates=max(accepted, running))
        self.running = running
        # Told when an update's handlers have run to the end (the inbox marks it handled).
        self.on_finished = on_finished
        self._slots = asyncio.BoundedSemaphore(running)
        self._tails: dict[Hashable, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Waits for the chat's previous update, then for a free slot, then runs this one."""
        key = order_key(update)
        previous = self._tails.get(key) if key is not None else None
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if key is not None:
            self._tails[key] = done
        started = False
        try:
            if previous is not None:
                await asyncio.shield(previous)
            async with self._slots:
                started = True
                await coroutine
            if self.on_finished is not None:
                self.on_finished(update)
        finally:
            if not started and isinstance(coroutine, Coroutine):
                coroutine.close()  # cancelled while waiting: never leave it un-awaited
            done.set_result(None)
            if key is not None and self._tails.get(key) is done:
                del self._tails[key]

    @property
    def waiting_chats(self) -> int:
        """Chats with an update running or waiting (for tests and diagnostics)."""
        return len(self._tails)

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free: PTB awaits the updates in progress before shutting down."""
