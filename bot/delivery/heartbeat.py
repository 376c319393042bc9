"""Keeps this process's lease (one instance per database) and records its loops' heartbeats.

Each loop notes when it last completed a round in ``beats`` (the update fetch, the outbox tick,
the reminder clock); the renew job writes them with the lease, for ``python -m bot health``.
A process that finds its lease taken over stops, rather than run beside another.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.delivery import job_health
from bot.services import lease
from storage.types import utcnow

logger = logging.getLogger(__name__)

JOB_NAME = "lease"
HOLDER = "lease_holder"
BEATS = "beats"


def beat(app: Any, part: str) -> None:
    """Notes that a loop just completed a round ("updates_at", "outbox_at", "reminders_at")."""
    beats: dict[str, datetime] = app.bot_data.extras.setdefault(BEATS, {})
    beats[part] = utcnow()


def start(app: Any) -> None:
    """Renews the lease every RENEW seconds, when this process holds one."""
    if app.bot_data.extras.get(HOLDER) is None or app.job_queue is None:
        return
    seconds = lease.RENEW.total_seconds()
    # The first renewal comes soon, so health sees the loops running within seconds of start.
    app.job_queue.run_repeating(renew_job, interval=seconds, first=2.0, name=JOB_NAME)


async def renew_job(context: Any) -> None:
    """One renewal with the latest heartbeats; a lost lease stops this process."""
    app = context.application
    holder = app.bot_data.extras.get(HOLDER)
    if holder is None:
        return
    beats = dict(app.bot_data.extras.get(BEATS, {}))
    fetched = getattr(app.bot, "fetched_at", None)
    if fetched is not None:
        beats["updates_at"] = fetched
    try:
        kept = await app.bot_data.db.run(lease.renew, holder, beats=beats)
    except Exception as exc:  # the database is briefly down: the lease outlives a few misses
        await job_health.failed(app, JOB_NAME, exc)  # staff are told once if it lasts
        return
    job_health.succeeded(app, JOB_NAME)
    if not kept:
        logger.error("another process took over this database's lease: stopping")
        app.stop_running()


async def release(app: Any) -> None:
    """Gives the lease up on a clean stop, so a restart need not wait for it to expire."""
    holder = app.bot_data.extras.pop(HOLDER, None)
    if holder is None:
        return
    try:
        await app.bot_data.db.run(lease.release, holder)
    except Exception:
        logger.exception("lease release failed")
