"""The composition root: builds the PTB Application with its database, settings and handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ApplicationHandlerStop, ContextTypes
from telegram.request import HTTPXRequest

import handlers
from bot import failures, i18n
from bot.concurrency import ChatOrderedProcessor
from bot.context import BotData, SanadContext
from bot.delivery import (
    broadcaster,
    dispatcher,
    heartbeat,
    periodic,
    reminder_clock,
    retention_job,
    support_window_job,
)
from bot.delivery.ratelimit import SanadRateLimiter
from bot.inbound.durable_bot import DurableBot
from bot.inbound.tracker import InboxTracker
from bot.services import inbox
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
    tracker = InboxTracker(db)
    bot = DurableBot(
        token or settings.bot_token,
        base_url=settings.api_base_url,
        base_file_url=settings.api_base_file_url,
        # The pool sizes python-telegram-bot's builder would choose.
        request=HTTPXRequest(connection_pool_size=256),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
        # Every send is paced under Telegram's limits and waits out 429s (bot/delivery).
        rate_limiter=SanadRateLimiter(
            overall_per_second=settings.send_rate,
            per_chat_per_second=settings.send_rate_per_chat,
        ),
        # Each fetched update is committed to the inbox before it is acknowledged (bot/inbound).
        inbox_db=db,
    )
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(context_types)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        # Chats run concurrently, each chat in order (bot/concurrency.py); each update's end
        # is recorded in the inbox.
        .concurrent_updates(ChatOrderedProcessor(on_finished=tracker.finished))
    )
    app: SanadApp = builder.build()  # type: ignore[assignment]
    app.bot_data.extras["inbox"] = tracker
    app.bot_data.db = db
    app.bot_data.settings = settings
    app.bot_data.translator = translator or Translator(models_dir=settings.models_dir)
    handlers.register(app)
    app.add_error_handler(_on_error)
    return app


async def _post_init(app: SanadApp) -> None:
    """Command menus, translation warm-up, and delivery of anything a restart left pending."""
    heartbeat.start(app)  # renews this process's lease, when run_bot took one
    # Updates stored but not handled before a crash are handled first, in their order.
    app.bot_data.extras["inbox"].start()
    for row in await app.bot_data.db.run(inbox.take_pending):
        await app.update_queue.put(Update.de_json(row.payload, app.bot))
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
    # Broadcasts being sent before a restart resume; scheduled ones start at their time.
    broadcaster.rearm(app)
    # Nightly retention purge (and one soon after start): bot/delivery/retention_job.py.
    retention_job.schedule(app)
    # The monthly support-window notice to coordinators and caseworkers (queued once a month).
    support_window_job.schedule(app)


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
    await app.bot_data.extras["inbox"].stop()
    await heartbeat.release(app)
    warm_up = app.bot_data.extras.pop("warm_up", None)
    if warm_up is not None and not warm_up.done():
        warm_up.cancel()
    if app.bot_data.translator is not None:
        app.bot_data.translator.close()


async def _on_error(update: object, context: SanadContext) -> None:
    """Logs the failure (no message text); the update is handled again a bounded number of
    times, and only when no attempt is left is the person told, in their language.

    It always ends the update's handling (ApplicationHandlerStop): a later handler group must
    never run after an earlier one failed (the gate, say), and the retry runs them all again.
    """
    try:
        await _report_failure(update, context)
    except Exception:
        logger.exception("could not handle a failed update")
    raise ApplicationHandlerStop


async def _report_failure(update: object, context: SanadContext) -> None:
    """Schedules a retry, or tells the person (and the staff chat) when no attempt is left."""
    logger.error("update failed: %s", type(context.error).__name__, exc_info=context.error)
    app = context.application
    tracker: InboxTracker | None = app.bot_data.extras.get("inbox")
    retried = (
        isinstance(update, Update)
        and tracker is not None
        and context.error is not None
        and await tracker.failed(update, context.error, context.application.update_queue.put)
    )
    if retried:
        return
    error = context.error or RuntimeError("unknown")
    if isinstance(update, Update):
        # The same reference goes to the person, the log and the staff chat (ERROR_CHAT_ID).
        reference = await failures.report_failure(app, error, update_id=update.update_id)
    elif context.job is not None:
        await failures.report_failure(app, error, job=context.job.name)
        return
    else:
        return
    if update.effective_chat is not None:
        try:
            await tell_failure(update, context, reference)
        except Exception:
            logger.exception("could not report an error to the chat")
