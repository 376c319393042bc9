"""Runs before every handler: private chats only, strangers only join, families consent first."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.context import SanadContext
from bot.i18n import Texts, texts
from bot.services import intake
from bot.services.people import Person
from handlers.common import answer, load_person
from handlers.report import render_arrival, tell_danger
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


def _plain_text(update: Update) -> bool:
    """A new text message that is not a command: for a family, a message to relay."""
    text = update.message.text if update.message is not None else None
    return bool(text) and not str(text).startswith("/")


async def _take_text(update: Update, context: SanadContext) -> Person | None:
    """Resolves the caller of a plain text and, for a consented family member, takes the text
    in within the same transaction (one per relayed message, not two) and tells them; the
    update then stops here, as messages.on_private_message would have done the same."""
    message, user = update.message, update.effective_user
    if message is None or user is None:
        return None
    replied = message.reply_to_message
    arrival = await context.db.run(
        intake.text_arrives,
        telegram_user_id=user.id,
        language_code=user.language_code,
        text=message.text or "",
        source=(message.chat_id, message.message_id),
        reply_to=replied.message_id if replied is not None else None,
    )
    context.person = arrival.person
    if arrival.outcome is None:
        return arrival.person
    await tell_danger(update, context, arrival.outcome.checked, arrival.outcome.seen)
    await render_arrival(update, context, arrival.outcome)
    raise ApplicationHandlerStop


def edited_command_text(t: Texts) -> str:
    """Said when someone edits a command they already sent: the edit is not acted on."""
    return t._(
        "You edited a command you had already sent. Sanad does not act on edited commands, "
        "so nothing was changed. Please send the corrected command again as a new message."
    )


def edited_staff_text(t: Texts) -> str:
    """Said when staff edit a message they already sent: edits are never passed on."""
    return t._(
        "You edited a message you had already sent. Sanad does not pass edits on, so nothing "
        "was sent or changed. Please send the correction as a new message."
    )


async def gate(update: Update, context: SanadContext) -> None:
    """Resolves the caller once and stops updates they may not make; edits pass it too."""
    chat = update.effective_chat
    if update.my_chat_member is not None:
        return
    edited = update.edited_message
    if chat is None:
        raise ApplicationHandlerStop
    if edited is not None and edited.location is not None:
        raise ApplicationHandlerStop  # a live location moving: nothing to take in or answer
    if chat.type != chat.PRIVATE:
        if update.message is not None:
            await answer(update, bilingual(group_text))
        elif update.callback_query is not None:
            await update.callback_query.answer()
        raise ApplicationHandlerStop
    if _plain_text(update):
        person = await _take_text(update, context)
    else:
        person = await load_person(update, context)
    if person is None:
        raise ApplicationHandlerStop
    command, data = _command(update), _callback(update)
    if person.kind == "guest":
        if edited is None and (command in GUEST_COMMANDS or data.startswith("lang:")):
            return
        if update.callback_query is not None:
            await update.callback_query.answer()
        if edited is None:
            await answer(update, bilingual(not_registered_text))
        raise ApplicationHandlerStop
    if person.is_member and not person.consented:
        if edited is None and (
            command in UNCONSENTED_COMMANDS or data.startswith(("lang:", "consent:"))
        ):
            return
        if update.callback_query is not None:
            await update.callback_query.answer()
        if edited is None:
            await show_privacy_notice(update, context, person)
        raise ApplicationHandlerStop
    if edited is not None and (edited.text or "").startswith("/"):
        await answer(update, edited_command_text(texts(person.language)))
        raise ApplicationHandlerStop
    if edited is not None and person.is_staff:
        # A reply, note or broadcast already went as first written; a correction is a new one.
        await answer(update, edited_staff_text(texts(person.language)))
        raise ApplicationHandlerStop
