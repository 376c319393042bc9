"""The broadcaster: a job-queue job that starts scheduled broadcasts, queues their copies in
batches, keeps the coordinator's one progress message up to date and writes the report.

The database is the truth: each batch of copies is queued in its own transaction (a restart
resumes after the last member queued) and the dispatcher sends them in the bulk lane. The job
only decides when to look.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.delivery import dispatcher, job_health
from bot.i18n import texts
from bot.services import broadcasts
from bot.services.broadcasts import Progress
from handlers import broadcast_text
from handlers.callbacks import BroadcastAction, Prefix, build
from handlers.common import keyboard
from storage.types import utcnow

logger = logging.getLogger(__name__)

JOB_NAME = "broadcasts"
EDIT_EVERY = 3.0  # seconds between edits of a progress message (Telegram tolerates far more)
ACTIVE_SLEEP = 1.0  # while a broadcast is sending: look again this soon
MAX_SLEEP = 30.0  # idle: broadcasts scheduled by another process are found within this
RETRY_SLEEP = 5.0
CLOCK = "broadcast_clock"  # tests may set a callable returning the current UTC time


@dataclass
class _State:
    """Whether a run is in progress, and when each progress message was last edited."""

    running: bool = False
    again: bool = False
    edited: dict[int, float] = field(default_factory=dict)
    shown: dict[int, str] = field(default_factory=dict)


def _state(app: Any) -> _State:
    """The application's broadcaster state, created on first use."""
    found = app.bot_data.extras.get("broadcast_state")
    if found is None:
        found = app.bot_data.extras["broadcast_state"] = _State()
    return found  # type: ignore[no-any-return]


def now(app: Any) -> datetime:
    """The application's current time (an injected clock in tests)."""
    clock: Callable[[], datetime] = app.bot_data.extras.get(CLOCK) or utcnow
    return clock()


def rearm(app: Any) -> None:
    """Looks now (after a confirm or cancel), or once more after the run in progress."""
    state = _state(app)
    if state.running:
        state.again = True
        return
    _schedule(app, 0.0)


def _schedule(app: Any, seconds: float) -> None:
    """Replaces any waiting run by one in ``seconds``."""
    queue = app.job_queue
    if queue is None:
        return
    for job in queue.get_jobs_by_name(JOB_NAME):
        job.schedule_removal()
    queue.run_once(broadcast_job, when=max(seconds, 0.0), name=JOB_NAME)


async def broadcast_job(context: Any) -> None:
    """One run: start what is due, queue copies, update progress, report what is finished."""
    app = context.application
    state = _state(app)
    state.running = True
    sleep = MAX_SLEEP
    try:
        active = await run_once(app)
        if active:
            sleep = ACTIVE_SLEEP
        else:
            due = await app.bot_data.db.run(broadcasts.next_scheduled)
            if due is not None:
                sleep = min(MAX_SLEEP, max((due - now(app)).total_seconds(), 0.0))
    except Exception as exc:  # the database was busy: the rows are safe, look again soon
        await job_health.failed(app, JOB_NAME, exc)  # staff are told once if it lasts
        sleep = RETRY_SLEEP
    else:
        job_health.succeeded(app, JOB_NAME)
    finally:
        state.running = False
    _schedule(app, 0.0 if state.again else sleep)
    state.again = False


async def run_once(app: Any) -> int:
    """Works on every open broadcast once; returns how many are still open."""
    db = app.bot_data.db
    open_ids = await db.run(broadcasts.start_due, now=now(app))
    still = 0
    for broadcast_id in open_ids:
        while await db.run(broadcasts.queue_batch, broadcast_id=broadcast_id, now=now(app)):
            dispatcher.kick(app)  # each batch goes out while the next is queued
        report = await db.run(broadcasts.finish, broadcast_id=broadcast_id, now=now(app))
        if report is not None:
            dispatcher.kick(app)  # the caseworkers' notices
            await _show(app, report, final=True)
            logger.info(
                "broadcast %s: %d delivered, %d failed, %d blocked",
                broadcast_id, report.delivered, report.failed, report.blocked,
            )  # fmt: skip
            continue
        still += 1
        seen = await db.run(broadcasts.progress, broadcast_id=broadcast_id)
        await _show(app, seen, final=False)
    return still


def _stop_button(seen: Progress) -> InlineKeyboardMarkup:
    """The button under a progress message that stops the broadcast."""
    t = texts(seen.language)
    return keyboard(
        [
            [
                (
                    t._("⏹ Stop sending"),
                    build(Prefix.BROADCAST, BroadcastAction.STOP, seen.broadcast_id),
                )
            ]
        ]
    )


async def _show(app: Any, seen: Progress, *, final: bool) -> None:
    """Sends or edits the one progress message, at most every EDIT_EVERY seconds until final."""
    if seen.chat_id is None:
        return
    state = _state(app)
    clock = time.monotonic()
    if not final and clock - state.edited.get(seen.broadcast_id, -EDIT_EVERY) < EDIT_EVERY:
        return
    t = texts(seen.language)
    text = broadcast_text.report_text(t, seen) if final else broadcast_text.progress_text(t, seen)
    markup = None if final else _stop_button(seen)
    if state.shown.get(seen.broadcast_id) == text and not final:
        return
    state.edited[seen.broadcast_id] = clock
    try:
        if seen.message_id is None:
            message = await app.bot.send_message(seen.chat_id, text, reply_markup=markup)
            await app.bot_data.db.run(
                broadcasts.set_progress_message, broadcast_id=seen.broadcast_id,
                chat_id=seen.chat_id, message_id=message.message_id,
            )  # fmt: skip
        else:
            await app.bot.edit_message_text(
                text, chat_id=seen.chat_id, message_id=seen.message_id, reply_markup=markup
            )
        state.shown[seen.broadcast_id] = text
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            logger.warning("broadcast %s: progress message: %s", seen.broadcast_id, "400")
    except TelegramError as exc:  # a progress message is a courtesy: sending goes on
        logger.warning("broadcast %s: progress message: %s", seen.broadcast_id, type(exc).__name__)
    if final:
        state.edited.pop(seen.broadcast_id, None)
        state.shown.pop(seen.broadcast_id, None)
