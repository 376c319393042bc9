"""Shared pieces of the Telegram transport: who is writing, replies, menus, safe sending."""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.context import SanadContext
from bot.i18n import Texts, negotiate, texts
from bot.services import accounts
from bot.services.people import Person
from storage.db import DatabaseBusy

logger = logging.getLogger(__name__)

Keyboard = list[list[tuple[str, str]]]


def keyboard(rows: Keyboard) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback_data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def load_person(update: Update, context: SanadContext) -> Person | None:
    """Resolves the caller off the event loop and keeps them on the context."""
    user = update.effective_user
    if user is None:
        return None
    context.person = await context.db.run(
        accounts.resolve_caller, telegram_user_id=user.id, language_code=user.language_code
    )
    return context.person


def person_of(update: Update, context: SanadContext) -> Person:
    """The caller resolved by the gate (which runs before every handler with a user)."""
    # The gate resolves every private chat's caller off the event loop; looking them up here
    # would block it, so a handler reached without the gate is a wiring mistake.
    if context.person is None:
        raise RuntimeError("the caller was not resolved: the gate did not run for this update")
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


def busy_text(t: Texts) -> str:
    """Said when the database stayed busy through every retry: nothing was kept."""
    return t._(
        "Sorry, Sanad is very busy and could not save that just now. Please send it again in "
        "a few minutes."
    )


def busy_message_text(t: Texts, text: str) -> str:
    """The same, with the person's own words, so they can send them again without retyping."""
    return t._(
        "Sorry, Sanad is very busy and could not save your message just now, so it has not "
        "reached anyone yet. Please send it again in a few minutes. This is what you wrote:"
        "\n\n{text}",
        text=text,
    )


def failure_text(t: Texts, reference: str) -> str:
    """Said when an update failed for good; staff find the failure by its reference."""
    # TRANSLATORS: {reference} is a code such as E-7KXM3P, read out to staff as it is.
    return t._(
        "Sorry, something went wrong. Please try again. If it happens again, tell your "
        "caseworker this reference: {reference}",
        reference=reference,
    )


async def tell_failure(update: Update, context: SanadContext, reference: str = "") -> None:
    """Tells the person an update failed, in their language: a busy database (nothing was
    saved: their words are given back to send again) or any other error, with its reference."""
    user = update.effective_user
    person: Person | None = context.person
    language = person.language if person else negotiate(user.language_code if user else None)
    t = texts(language or "ar")
    if not isinstance(context.error, DatabaseBusy):
        if reference:
            await answer(update, failure_text(t, reference))
        else:
            await answer(update, t._("Sorry, something went wrong. Please try again."))
        return
    message = update.message
    words = (message.text or message.caption or "") if message is not None else ""
    if words and not words.startswith("/"):
        # Telegram takes 4,096 characters a message; the sentence around the words needs room.
        await answer(update, busy_message_text(t, words[:3500]))
    else:
        await answer(update, busy_text(t))
