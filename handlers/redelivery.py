"""Where a staff command came from, so that handling its update again creates nothing twice.

A typed command is keyed by its own message; a button by the message it sits on. Telegram
refuses a second answer to a callback query (and any answer after a restart: "query is too
old"), so buttons that create something acknowledge through :func:`ack`.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Update
from telegram.error import BadRequest

logger = logging.getLogger(__name__)


def source_of(update: Update) -> tuple[int, int] | None:
    """(chat id, message id) of the typed message, or of the message a pressed button is on."""
    query = update.callback_query
    message = query.message if query is not None else update.message
    if message is None:
        return None
    return message.chat.id, message.message_id


async def ack(query: CallbackQuery, text: str | None = None, *, show_alert: bool = False) -> None:
    """Answers a button press; a redelivered press can no longer be answered, and need not be."""
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest:
        logger.info("a button press could not be answered (redelivered or too old)")
