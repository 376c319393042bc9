"""The Telegram transport: every handler, registered in one place and in order."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import fallback, gate, invite, language, menu, start

UNSUPPORTED = (
    filters.Sticker.ALL
    | filters.LOCATION
    | filters.VENUE
    | filters.CONTACT
    | filters.POLL
    | filters.Dice.ALL
    | filters.GAME
    | filters.ANIMATION
    | filters.VIDEO_NOTE
    | filters.VIDEO
)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Adds every handler. Order matters: the gate runs first, fallbacks last."""
    private = filters.ChatType.PRIVATE
    # Group -1: resolve the caller; strangers and unconsented families stop here.
    app.add_handler(TypeHandler(Update, gate.gate), group=-1)
    app.add_handler(ChatMemberHandler(fallback.bot_blocked, ChatMemberHandler.MY_CHAT_MEMBER))

    app.add_handler(CommandHandler("start", start.start_command, filters=private))
    app.add_handler(CommandHandler("help", menu.help_command, filters=private))
    app.add_handler(CommandHandler("menu", menu.menu_command, filters=private))
    app.add_handler(CommandHandler("language", language.language_command, filters=private))
    app.add_handler(CommandHandler("cancel", fallback.cancel_command, filters=private))
    app.add_handler(CommandHandler("invite", invite.invite_command, filters=private))
    app.add_handler(CommandHandler("mydata", menu.mydata_command, filters=private))

    app.add_handler(CallbackQueryHandler(start.consent_button, pattern=r"^consent:ok$"))
    app.add_handler(CallbackQueryHandler(language.language_button, pattern=r"^lang:(ar|en)$"))
    app.add_handler(
        CallbackQueryHandler(language.language_menu_button, pattern=r"^menu:language$")
    )
    app.add_handler(CallbackQueryHandler(menu.help_button, pattern=r"^menu:help$"))
    app.add_handler(
        CallbackQueryHandler(
            menu.not_ready_button,
            pattern=r"^menu:(book|appts|classes|slots|broadcast|stats|report|tickets)$",
        )
    )
    app.add_handler(CallbackQueryHandler(invite.invite_button, pattern=r"^menu:invite$"))

    # Last: whatever nobody above took.
    app.add_handler(MessageHandler(filters.COMMAND & private, fallback.unknown_command))
    app.add_handler(MessageHandler(UNSUPPORTED & private, fallback.unsupported_message))
    app.add_handler(MessageHandler(private & ~filters.COMMAND, menu.menu_command))
    app.add_handler(CallbackQueryHandler(fallback.stale_button))
