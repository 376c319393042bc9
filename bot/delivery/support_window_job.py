"""The monthly support-window notice: a job that looks every hour and queues, once per month
per person (the outbox key makes it idempotent), the list of households whose support ends in
the next six months; it queues only in working hours, so nobody is told at night."""

from __future__ import annotations

import logging
from typing import Any

from bot import failures
from bot.delivery import dispatcher, reminder_clock
from bot.services import support_window

logger = logging.getLogger(__name__)

JOB_NAME = "support_window"
INTERVAL = 3600.0  # an hour: the first working hour of the month is soon enough
FIRST = 60.0  # after start-up has settled


async def support_window_job(context: Any) -> None:
    """One look: queues this month's notices not yet queued, and wakes the dispatcher."""
    app = context.application
    try:
        queued = await app.bot_data.db.run(
            support_window.queue_monthly, now=reminder_clock.now(app)
        )
    except Exception as exc:  # the next run (an hour later) queues the same notices
        logger.warning("support window job failed (%s)", type(exc).__name__)
        await failures.report_failure(app, exc, job=JOB_NAME)
        return
    if queued:
        logger.info("support window: %d monthly notices queued", queued)
        dispatcher.kick(app)


def schedule(app: Any) -> None:
    """Registers the hourly look (called from the composition root's post_init)."""
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            support_window_job, interval=INTERVAL, first=FIRST, name=JOB_NAME
        )
