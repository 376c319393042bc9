"""Shared pieces of the Telegram transport: who is writing, replies, menus, safe sending."""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.context import SanadContext
from bot.i18n import Texts, texts
from bot.services import people
from bot.services.people import Person
from storage.db import Database

logger = logging.getLogger(__name__)

Keyboard = list[list[tuple[str, str]]]


def keyboard(rows: Keyboard) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback_data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def resolve_person(db: Database, update: Update) -> Person | None:
    """The caller of an update, or None when it has no user."""
    user = update.effective_user
    if user is None:
        return None
    with db.session() as session:
        people.remember_telegram_language(
            session, telegram_user_id=user.id, language_code=user.language_code
        )
        return people.identify(session, telegram_user_id=user.id, language_code=user.language_code)


def person_of(update: Update, context: SanadContext) -> Person:
    """The caller resolved by the gate (resolved again if the gate did not run)."""
    if context.person is None:
        context.person = resolve_person(context.db, update)
    assert context.person is not None
    return context.person


def texts_for(update: Update, context: SanadContext) -> Texts:
    """The caller's strings."""
    return texts(person_of(update, context).language)


async def answer(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None, **kwargs: Any
) -> Message | None:
    """Replies in the chat the update came from (to a message or a button press)."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await chat.send_message(text, reply_markup=markup, **kwargs)


async def edit_or_send(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Edits the message a button sits on, or sends a new one when that is not possible."""
    query = update.callback_query
    if query is not None and query.message is not None:
        try:
            await query.edit_message_text(text, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in exc.message:
                return
    await answer(update, text, markup)
