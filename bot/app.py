"""The composition root: builds the PTB Application with its database, settings and handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes

import handlers
from bot import i18n
from bot.concurrency import ChatOrderedProcessor
from bot.context import BotData, SanadContext
from bot.delivery import dispatcher, periodic, reminder_clock
from bot.delivery.ratelimit import SanadRateLimiter
from bot.services.translation import Translator
from bot.settings import Settings
from handlers.commands import set_default_commands
from handlers.common import tell_failure
from handlers.menu import refresh_menus
from storage.db import Database

logger = logging.getLogger(__name__)

SanadApp = Application[Any, SanadContext, Any, Any, BotData, Any]


def build_application(
    settings: Settings,
    db: Database,
    *,
    token: str | None = None,
    translator: Translator | None = None,
) -> SanadApp:
    """A ready-to-start Application talking to ``settings.api_base_url``."""
    i18n.load_all()
    context_types = ContextTypes(context=SanadContext, bot_data=BotData)
    builder = (
        ApplicationBuilder()
        .token(token or settings.bot_token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_base_file_url)
        .context_types(context_types)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        # Chats run concurrently, each chat in order (bot/concurrency.py).
        .concurrent_updates(ChatOrderedProcessor())
        # Every send is paced under Telegram's limits and waits out 429s (bot/delivery).
        .rate_limiter(
            SanadRateLimiter(
                overall_per_second=settings.send_rate,
                per_chat_per_second=settings.send_rate_per_chat,
            )
        )
    )
    app: SanadApp = builder.build()  # type: ignore[assignment]
    app.bot_data.db = db
    app.bot_data.settings = settings
    app.bot_data.translator = translator or Translator(models_dir=settings.models_dir)
    handlers.register(app)
    app.add_error_handler(_on_error)
    return app


async def _post_init(app: SanadApp) -> None:
    """Command menus, translation warm-up, and delivery of anything a restart left pending."""
    translator = app.bot_data.translator
    if translator is not None and translator.available_directions():
        # Models load in the translator's own thread (about 3 s); start-up does not wait.
        app.bot_data.extras["warm_up"] = asyncio.ensure_future(translator.warm_up())
    await set_default_commands(app.bot)
    # Telegram keeps each chat's menu; refreshing them (after a release changed the commands)
    # runs paced in the background so start-up never waits for hundreds of chats.
    app.bot_data.extras["menus"] = asyncio.ensure_future(_refresh_menus(app))
    # Notices queued before a crash or restart go out now, in the background; then every few
    # seconds (retries and escalations). The database is the truth; the job queue is a clock.
    await dispatcher.start(app)
    if app.job_queue is not None:
        # The first tick comes one interval after start (the dispatcher already sends what a
        # restart left pending): tests that set a long interval never escalate on the wall clock.
        interval = app.bot_data.settings.outbox_interval
        app.job_queue.run_repeating(
            periodic.outbox_job, interval=interval, first=interval, name="outbox"
        )
    # Reminders pending from before a restart: due ones are claimed at once (sent if their
    # event is ahead, else recorded missed), then the clock wakes at the next due time.
    reminder_clock.rearm(app)


async def _refresh_menus(app: SanadApp, per_second: float = 20.0) -> None:
    """Re-sends, paced, only the command menus that changed (handlers.menu.refresh_menus)."""
    try:
        sent = await refresh_menus(app.bot, app.bot_data.db, per_second)
    except Exception:  # a menu is a convenience: a failure here must not stop the bot
        logger.exception("command menu refresh failed")
        return
    if sent:
        logger.info("command menus refreshed: %s", sent)


async def _post_shutdown(app: SanadApp) -> None:
    """Lets delivery in progress finish, then stops background work and the translator."""
    menus = app.bot_data.extras.pop("menus", None)
    if menus is not None and not menus.done():
        menus.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await menus
    await dispatcher.settle(app)
    warm_up = app.bot_data.extras.pop("warm_up", None)
    if warm_up is not None and not warm_up.done():
        warm_up.cancel()
    if app.bot_data.translator is not None:
        app.bot_data.translator.close()


async def _on_error(update: object, context: SanadContext) -> None:
    """Logs the failure (no message text) and tells the person, in their language."""
    logger.error("update failed: %s", type(context.error).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await tell_failure(update, context)
        except Exception:
            logger.exception("could not report an error to the chat")
