"""The reminder clock: a job-queue job that wakes at the next due reminder and claims it.

The database is the truth (``Reminder`` rows); the job queue only decides when to look. Each
run claims what is due off the event loop (bot/services/reminders.claim_due), kicks the
dispatcher, and re-arms itself for the next due time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.delivery import dispatcher, heartbeat, job_health
from bot.services import reminders
from storage.types import utcnow

logger = logging.getLogger(__name__)

JOB_NAME = "reminders"
# A claim takes at most this many reminders per transaction; a full batch claims again at once.
BATCH = 200
# Never sleep longer than this: reminders planned by another process (the admin CLI enrolling
# someone) are found within it, well inside the 60 s promise.
MAX_SLEEP = 30.0
# After a failed run (the database was busy), look again this soon.
RETRY_SLEEP = 5.0
# ``app.bot_data.extras[CLOCK]``: a callable giving the current UTC time. Only tests set it
# (with set_clock), to move time forward without sleeping; the default is the real clock.
CLOCK = "reminder_clock"


@dataclass
class _State:
    """Whether a run is in progress, whether it must look again, and when the clock is armed."""

    running: bool = False
    again: bool = False
    armed: asyncio.Event = field(default_factory=asyncio.Event)
    next_due: datetime | None = None


def _state(app: Any) -> _State:
    """The application's clock state, created on first use."""
    found = app.bot_data.extras.get("reminder_state")
    if found is None:
        found = app.bot_data.extras["reminder_state"] = _State()
    return found  # type: ignore[no-any-return]


def now(app: Any) -> datetime:
    """The application's current time (the injected clock in tests)."""
    clock: Callable[[], datetime] = app.bot_data.extras.get(CLOCK) or utcnow
    return clock()


def set_clock(app: Any, clock: Callable[[], datetime] | None) -> None:
    """Replaces the application's clock (None: the real one) and looks at once (tests)."""
    app.bot_data.extras[CLOCK] = clock
    rearm(app)


def rearm(app: Any) -> None:
    """Wakes the clock: the job runs now, off the event loop, and re-arms for the next due.

    Cheap and safe from a handler after a transaction that planned or cancelled reminders.
    """
    state = _state(app)
    if state.running:
        state.again = True  # the run in progress looks once more before it re-arms
        return
    _schedule(app, 0.0)


async def wait_armed(app: Any, timeout: float | None = None) -> datetime | None:
    """Waits until the first run has armed the clock; returns the next due time (bench, tests)."""
    state = _state(app)
    await asyncio.wait_for(state.armed.wait(), timeout)
    return state.next_due


def _schedule(app: Any, seconds: float) -> None:
    """Replaces any waiting run by one in ``seconds``."""
    queue = app.job_queue
    if queue is None:
        return
    for job in queue.get_jobs_by_name(JOB_NAME):
        job.schedule_removal()
    queue.run_once(reminder_job, when=max(seconds, 0.0), name=JOB_NAME)


async def reminder_job(context: Any) -> None:
    """One run: claims everything due in batches, kicks the dispatcher, re-arms."""
    app = context.application
    state = _state(app)
    state.running = True
    sleep = MAX_SLEEP
    try:
        state.next_due = await _claim_all(app, state)
        if state.next_due is not None:
            ahead = (state.next_due - now(app)).total_seconds()
            sleep = min(MAX_SLEEP, max(ahead, 0.0))
    except Exception as exc:  # the database was unavailable: look again soon, the rows are safe
        await job_health.failed(app, JOB_NAME, exc)  # staff are told once if it lasts
        sleep = RETRY_SLEEP
    else:
        job_health.succeeded(app, JOB_NAME)
        heartbeat.beat(app, "reminders_at")  # a clock whose every run fails looks stale
    finally:
        state.running = False
    _schedule(app, 0.0 if state.again else sleep)
    state.armed.set()


async def _claim_all(app: Any, state: _State) -> datetime | None:
    """Claims due reminders batch by batch until none is left; returns the next due time."""
    db = app.bot_data.db
    while True:
        state.again = False
        result = await db.run(reminders.claim_due, now=now(app), limit=BATCH)
        if result.queued:
            dispatcher.kick(app)
        if result.queued or result.missed or result.cancelled:
            logger.info(
                "reminders: %d queued, %d missed, %d cancelled",
                result.queued, result.missed, result.cancelled,
            )  # fmt: skip
        if result.claimed < BATCH and not state.again:
            return await db.run(reminders.next_due)
