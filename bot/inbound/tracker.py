"""Records, in batches off the event loop, which stored updates were handled or failed.

A handled update is marked DONE shortly after its handlers finish (a crash in between means it
is handled again on start, which the handlers tolerate: every write is keyed by the Telegram
message it came from). A failed one is retried a bounded number of times, then left FAILED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Update

from bot.services import inbox
from storage.db import Database, DatabaseBusy

logger = logging.getLogger(__name__)

FLUSH_EVERY = 0.2  # seconds between writes of finished updates
RETRY_AFTER = 1.0  # seconds before a failed update is handled again (doubling per attempt)


class InboxTracker:
    """Collects finished update ids and marks them done together; retries failed ones."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._done: list[int] = []
        self._failed: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._retries: set[asyncio.Task[None]] = set()
        self._attempts: dict[int, int] = {}  # retries so far in this process, for the pause

    def start(self) -> None:
        """Starts the background writer."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def finished(self, update: object) -> None:
        """An update's handlers returned (called by the update processor)."""
        if not isinstance(update, Update):
            return
        if update.update_id in self._failed:
            self._failed.discard(update.update_id)
            return
        self._done.append(update.update_id)
        if len(self._done) >= 100:
            self._wake.set()

    async def failed(self, update: Update, error: BaseException, requeue: Any) -> bool:
        """A handler raised: True when the update will be handled again later (the person is
        told only when no attempt is left). A busy database is waited out the same way."""
        self._failed.add(update.update_id)
        try:
            again = await self.db.run(
                inbox.record_failure, update.update_id, error=type(error).__name__
            )
        except Exception:  # the database itself is unavailable: the row is still pending
            logger.warning("could not record a failed update; it will be tried again")
            again = isinstance(error, DatabaseBusy)
        if again:
            self._attempts[update.update_id] = self._attempts.get(update.update_id, 0) + 1
            task = asyncio.ensure_future(
                self._requeue(update, requeue, RETRY_AFTER * 2 ** self._attempts[update.update_id])
            )
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)
        return bool(again)

    async def _requeue(self, update: Update, requeue: Any, pause: float) -> None:
        """Hands a failed update to the handlers again after a pause."""
        await asyncio.sleep(pause)
        await requeue(update)

    async def flush(self) -> None:
        """Writes every finished update now."""
        batch, self._done = self._done, []
        if not batch:
            return
        try:
            await self.db.run(inbox.mark_done, batch)
        except Exception:  # kept for the next round; a restart would handle them again
            logger.exception("could not mark updates handled")
            self._done = batch + self._done

    async def _run(self) -> None:
        """Flushes every FLUSH_EVERY seconds, or sooner when many are waiting."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_EVERY)
            self._wake.clear()
            await self.flush()

    async def stop(self) -> None:
        """Stops the writer and the pending retries, then writes what is left."""
        for task in [*self._retries, *([self._task] if self._task else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        await self.flush()
