"""Runs before every handler: private chats only, strangers only join, families consent first."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.context import SanadContext
from bot.i18n import Texts
from handlers.common import answer, load_person
from handlers.start import bilingual, not_registered_text, show_privacy_notice

GUEST_COMMANDS = ("/start", "/language")
UNCONSENTED_COMMANDS = ("/start", "/language", "/cancel")


def group_text(t: Texts) -> str:
    """Said in a group the bot was added to."""
    return t._(
        "Sanad only works in a private chat, to keep your information safe. "
        "Please write to me directly."
    )


def _command(update: Update) -> str | None:
    """The /command a message starts with, without any @botname."""
    message = update.message
    if message is None or not message.text or not message.text.startswith("/"):
        return None
    return message.text.split()[0].split("@", 1)[0].lower()


def _callback(update: Update) -> str:
    """The callback data of a button press, or ''."""
    query = update.callback_query
    return (query.data or "") if query is not None else ""


async def gate(update: Update, context: SanadContext) -> None:
    """Resolves the caller once and stops updates they may not make."""
    chat = update.effective_chat
    if update.edited_message is not None or update.my_chat_member is not None:
        if update.edited_message is not None and chat is not None and chat.type == chat.PRIVATE:
            await load_person(update, context)  # resolved here, so no handler blocks on it
        return
    if chat is None:
        raise ApplicationHandlerStop
    if chat.type != chat.PRIVATE:
        if update.message is not None:
            await answer(update, bilingual(group_text))
        elif update.callback_query is not None:
            await update.callback_query.answer()
        raise ApplicationHandlerStop
    person = await load_person(update, context)
    if person is None:
        raise ApplicationHandlerStop
    command, data = _command(update), _callback(update)
    if person.kind == "guest":
        if command in GUEST_COMMANDS or data.startswith("lang:"):
            return
        if update.callback_query is not None:
            await update.callback_query.answer()
        await answer(update, bilingual(not_registered_text))
        raise ApplicationHandlerStop
    if person.is_member and not person.consented:
        if command in UNCONSENTED_COMMANDS or data.startswith(("lang:", "consent:")):
            return
        if update.callback_query is not None:
            await update.callback_query.answer()
        await show_privacy_notice(update, context, person)
        raise ApplicationHandlerStop
