"""Bare python-telegram-bot relays: each family's text goes to its caseworker's chat.

The baselines of ``bench_inbound``; run as ``python -m benchmarks.echo_bot`` with BOT_TOKEN and
TELEGRAM_API_BASE_URL set (as ``benchmarks.loadkit.BotProcess`` does). ``ECHO_MODE`` says how
much of what Sanad promises the relay also does, so the cost of each promise is measured apart:

- ``bare`` (the goal's baseline): one send, nothing stored;
- ``acked``: also tells the family "received" (Sanad confirms every message): two sends;
- ``durable``: also stores each update with SQLModel before handling it and marks it handled
  after (Sanad's inbox), in one SQLite file (``ECHO_DATABASE``): two sends, two transactions,
  64 updates handled at once.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime

from sqlalchemy import create_engine
from sqlmodel import Field, Session, SQLModel
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from benchmarks.loadkit import CASEWORKER_BASE, FAMILY_BASE


class EchoInbox(SQLModel, table=True):
    """An update as received, and when it was handled."""

    update_id: int = Field(primary_key=True)
    payload: str
    received_at: datetime
    handled_at: datetime | None = None


ENGINE = (
    create_engine(f"sqlite:///{os.environ['ECHO_DATABASE']}")
    if os.environ.get("ECHO_MODE") == "durable"
    else None
)


def _store(update_id: int, payload: str) -> None:
    """Commits the update before it is handled."""
    with Session(ENGINE) as session:
        session.add(EchoInbox(update_id=update_id, payload=payload, received_at=datetime.now(UTC)))
        session.commit()


def _mark(update_id: int) -> None:
    """Commits that the update was handled."""
    with Session(ENGINE) as session:
        row = session.get(EchoInbox, update_id)
        if row is not None:
            row.handled_at = datetime.now(UTC)
            session.commit()


async def relay(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends the family's text to their caseworker, as Sanad's notice would."""
    message = update.effective_message
    if message is None or message.from_user is None or message.text is None:
        return
    mode = os.environ.get("ECHO_MODE", "bare")
    if mode == "durable":
        await asyncio.to_thread(_store, update.update_id, json.dumps(update.to_dict()))
    caseworkers = int(os.environ["ECHO_CASEWORKERS"])
    target = CASEWORKER_BASE + (message.from_user.id - FAMILY_BASE) % caseworkers
    await context.bot.send_message(target, message.text)
    if mode in ("acked", "durable"):
        await message.reply_text("received")
    if mode == "durable":
        await asyncio.to_thread(_mark, update.update_id)


def main() -> None:
    """Polls until SIGTERM."""
    if ENGINE is not None:
        SQLModel.metadata.create_all(ENGINE)
    builder = (
        Application.builder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
    )
    if ENGINE is not None:
        # Waiting on the database one update at a time would understate it: 64 run at once,
        # as many as Sanad runs.
        builder = builder.concurrent_updates(64)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, relay))
    app.run_polling(poll_interval=0.0)


if __name__ == "__main__":
    main()
