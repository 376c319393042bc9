"""The composition root: builds the PTB Application with its database, settings and handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlmodel import col, select
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes

import handlers
from bot import i18n
from bot.context import BotData, SanadContext
from bot.services.people import identify
from bot.services.translation import Translator
from bot.settings import Settings
from handlers import notify
from handlers.commands import set_default_commands, set_person_commands
from handlers.common import answer, person_of
from storage.db import Database
from storage.models import Member, Staff

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
        .concurrent_updates(False)
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
    notify.kick(app)
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            notify.outbox_job, interval=app.bot_data.settings.outbox_interval, first=1.0,
            name="outbox",
        )  # fmt: skip


async def _refresh_menus(app: SanadApp, per_second: float = 20.0) -> None:
    """Sets every linked person's command menu, in their language and role, paced."""
    db = app.bot_data.db
    with db.session() as session:
        linked = [
            *session.exec(select(Member.telegram_user_id).where(col(Member.telegram_user_id) > 0)),
            *session.exec(select(Staff.telegram_user_id).where(col(Staff.telegram_user_id) > 0)),
        ]
        people = [identify(session, telegram_user_id=uid, language_code=None) for uid in linked]
    for person in people:
        await set_person_commands(app.bot, person)
        await asyncio.sleep(1 / per_second)


async def _post_shutdown(app: SanadApp) -> None:
    """Lets delivery in progress finish, then stops background work and the translator."""
    menus = app.bot_data.extras.pop("menus", None)
    if menus is not None and not menus.done():
        menus.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await menus
    await notify.settle(app)
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
            t = i18n.texts(person_of(update, context).language)
            await answer(update, t._("Sorry, something went wrong. Please try again."))
        except Exception:
            logger.exception("could not report an error to the chat")
