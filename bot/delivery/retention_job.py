"""The daily retention job: purges what is no longer needed (bot/services/retention.py).

It runs at night (Europe/London) and once a few minutes after start, so a bot restarted
every day still purges; the database decides what is old, the job only when to look.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

from bot import failures
from bot.services import retention
from bot.settings import TIMEZONE
from storage.types import utcnow

logger = logging.getLogger(__name__)

JOB_NAME = "retention"
AT = time(3, 30, tzinfo=ZoneInfo(TIMEZONE))
FIRST_RUN_SECONDS = 600.0


def schedule(app: Any) -> None:
    """Registers the nightly run and one run shortly after start."""
    if app.job_queue is None:
        return
    app.job_queue.run_daily(retention_job, time=AT, name=JOB_NAME)
    app.job_queue.run_once(retention_job, when=FIRST_RUN_SECONDS, name=f"{JOB_NAME}-first")


async def retention_job(context: Any) -> None:
    """One purge, off the event loop; a failure is logged (class only) and retried tomorrow."""
    app = context.application
    days = app.bot_data.settings.retention_days
    try:
        purged = await app.bot_data.db.run(retention.run, now=utcnow(), days=days)
    except Exception as exc:  # the bot goes on; tomorrow's run catches up
        logger.warning("retention purge failed (%s)", type(exc).__name__)
        await failures.report_failure(app, exc, job=JOB_NAME)  # a day's purge missed: staff told
        return
    logger.info("retention purge: %s", asdict(purged))
