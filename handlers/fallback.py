"""Whatever no other handler took: unknown commands, stickers, stale buttons, blocks."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update

from bot.context import SanadContext
from bot.services import flows, people
from handlers.common import answer, person_of, texts_for
from handlers.menu import menu_for

logger = logging.getLogger(__name__)


async def unknown_command(update: Update, context: SanadContext) -> None:
    """A /command the bot does not have."""
    t = texts_for(update, context)
    await answer(
        update,
        t._("I don't know that command. Tap a button below, or send /help."),
        menu_for(t, person_of(update, context)),
    )


async def unsupported_message(update: Update, context: SanadContext) -> None:
    """Stickers, locations, contacts and the like, where the bot expects words."""
    t = texts_for(update, context)
    await answer(
        update,
        t._(
            "I can't use stickers, locations or contacts here. Please write a message, "
            "or send a photo or a voice note."
        ),
        menu_for(t, person_of(update, context)),
    )


async def stale_button(update: Update, context: SanadContext) -> None:
    """A button whose data we don't know (old, or forged): says so and changes nothing."""
    query = update.callback_query
    assert query is not None
    t = texts_for(update, context)
    await query.answer(t._("This button no longer works."), show_alert=True)
    await answer(update, t._("Here is the menu."), menu_for(t, person_of(update, context)))


async def cancel_command(update: Update, context: SanadContext) -> None:
    """/cancel: leaves any flow; nothing half-done is kept."""
    person = person_of(update, context)
    t = texts_for(update, context)
    left = await context.db.run(flows.clear, person.telegram_user_id)
    text = t._("Cancelled. Nothing was sent.") if left else t._("There is nothing to cancel.")
    await answer(update, text, menu_for(t, person))


async def bot_blocked(update: Update, context: SanadContext) -> None:
    """Notes when a person blocks the bot in their private chat, and clears it on unblock."""
    change = update.my_chat_member
    if change is None or change.chat.type != change.chat.PRIVATE:
        return
    if change.new_chat_member.status == ChatMember.BANNED:
        await context.db.run(people.mark_unreachable, telegram_user_id=change.chat.id)
        logger.info("a private chat blocked the bot")
    elif change.new_chat_member.status == ChatMember.MEMBER and await context.db.run(
        people.mark_reachable, telegram_user_id=change.chat.id
    ):
        logger.info("a private chat unblocked the bot")
