"""A bare python-telegram-bot relay: each family's text goes to its caseworker's chat.

The baseline of ``bench_inbound``; run as ``python -m benchmarks.echo_bot`` with BOT_TOKEN and
TELEGRAM_API_BASE_URL set (as ``benchmarks.loadkit.BotProcess`` does).
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from benchmarks.loadkit import CASEWORKER_BASE, FAMILY_BASE


async def relay(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends the family's text to their caseworker, as Sanad's notice would."""
    message = update.effective_message
    if message is None or message.from_user is None or message.text is None:
        return
    caseworkers = int(os.environ["ECHO_CASEWORKERS"])
    target = CASEWORKER_BASE + (message.from_user.id - FAMILY_BASE) % caseworkers
    await context.bot.send_message(target, message.text)


def main() -> None:
    """Polls until SIGTERM."""
    app = (
        Application.builder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, relay))
    app.run_polling(poll_interval=0.0)


if __name__ == "__main__":
    main()
