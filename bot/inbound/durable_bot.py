"""The bot whose ``getUpdates`` stores each batch before returning it.

PTB's Updater acknowledges a batch by asking for the next one (the new offset); since this
method returns only after the batch is committed to the inbox, no update is acknowledged
before it is stored. A redelivered update (already in the inbox) is not returned again.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import ExtBot

from bot.services import inbox
from storage.db import Database
from storage.types import utcnow

logger = logging.getLogger(__name__)


def incoming(update: Update) -> inbox.Incoming:
    """What the inbox keeps of an update: ids to find it by, and its JSON to handle it again."""
    chat = update.effective_chat
    user = update.effective_user
    return inbox.Incoming(
        update_id=update.update_id,
        chat_id=chat.id if chat is not None else None,
        user_id=user.id if user is not None else None,
        payload=json.loads(update.to_json()),
    )


class DurableBot(ExtBot[Any]):
    """An ExtBot that commits every fetched update to the inbox before handing it over."""

    def __init__(self, *args: Any, inbox_db: Database, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inbox_db = inbox_db
        self._fetched_at: datetime | None = None

    @property
    def fetched_at(self) -> datetime | None:
        """When the last fetch completed (for health)."""
        return self._fetched_at

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        """Fetches a batch, stores the new updates in one transaction, returns only those.

        A batch of nothing but redelivered updates (their acknowledgement was lost in a crash)
        is acknowledged by fetching past it at once: the Updater advances its offset only
        from what it is given, and would otherwise ask for the same batch forever.
        """
        while True:
            updates = await super().get_updates(*args, **kwargs)
            self._fetched_at = utcnow()
            if not updates:
                return updates
            fresh = await self._inbox_db.run(inbox.store, [incoming(u) for u in updates])
            if len(fresh) < len(updates):
                logger.info("inbox: %d redelivered updates skipped", len(updates) - len(fresh))
            if fresh:
                return tuple(u for u in updates if u.update_id in fresh)
            args, kwargs = (), {**_as_kwargs(args, kwargs), "offset": updates[-1].update_id + 1}


def _as_kwargs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """get_updates' positional arguments (offset, limit, timeout, allowed_updates) by name."""
    names = ("offset", "limit", "timeout", "allowed_updates")
    return {**dict(zip(names, args, strict=False)), **kwargs}
