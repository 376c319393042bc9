"""The bot whose ``getUpdates`` stores each batch before returning it.

PTB's Updater acknowledges a batch by asking for the next one (the new offset); since this
method returns only after the batch is committed to the inbox, no update is acknowledged
before it is stored. A redelivered update (already in the inbox) is not returned again. An
update handled a second time (after a crash) meets a button press that can no longer be answered
and edits that change nothing: both are let go here, so no handler fails on them.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.error import BadRequest
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

    async def answer_callback_query(self, *args: Any, **kwargs: Any) -> bool:
        """Answers a button press; one that can no longer be answered (handled again after a
        restart, or answered already) is let go: the press itself is still acted on, and every
        action keyed by the message the button is on happens once."""
        try:
            return await super().answer_callback_query(*args, **kwargs)
        except BadRequest as exc:
            if not _stale_query(exc):
                raise
            logger.info("a button press could not be answered (too old or answered already)")
            return False

    async def edit_message_text(self, *args: Any, **kwargs: Any) -> Any:
        """Edits a message; an edit to what it already says (a press handled again) is done."""
        try:
            return await super().edit_message_text(*args, **kwargs)
        except BadRequest as exc:
            if not _not_modified(exc):
                raise
            return True

    async def edit_message_reply_markup(self, *args: Any, **kwargs: Any) -> Any:
        """Changes a message's buttons; buttons it already has are a change done."""
        try:
            return await super().edit_message_reply_markup(*args, **kwargs)
        except BadRequest as exc:
            if not _not_modified(exc):
                raise
            return True


def _not_modified(exc: BadRequest) -> bool:
    """Telegram's answer to an edit that would change nothing."""
    return "message is not modified" in exc.message.lower()


def _stale_query(exc: BadRequest) -> bool:
    """Telegram's answer to a callback query answered before or past its time."""
    text = exc.message.lower()
    return "query is too old" in text or "query id is invalid" in text


def _as_kwargs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """get_updates' positional arguments (offset, limit, timeout, allowed_updates) by name."""
    names = ("offset", "limit", "timeout", "allowed_updates")
    return {**dict(zip(names, args, strict=False)), **kwargs}
