"""The periodic tick: escalations, expired and abandoned notices, pruning; then a kick.

Domain work runs here as service calls on the job queue's clock, never inside the dispatcher.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.delivery import dispatcher, heartbeat, job_health
from bot.services import escalation, outbox, undelivered
from storage.db import Database

logger = logging.getLogger(__name__)

TICK_JOB = "outbox-tick"  # its name in job_health (and in a staff report)


def housekeeping(db: Database, *, keep_days: int) -> dict[str, int]:
    """One tick of outbox housekeeping, each step in its own transaction."""
    done: dict[str, int] = {}
    with db.session() as session:
        done["escalated"] = len(escalation.escalate_overdue(session))
    with db.session() as session:  # a worker that died mid-send: its claims are taken over
        done["recovered"] = outbox.recover_interrupted(session)
    with db.session() as session:
        done["expired"] = undelivered.expire(session)
    with db.session() as session:
        done["pruned"] = outbox.prune(session, keep_days=keep_days)
    return done


async def outbox_job(context: Any) -> None:
    """Job queue tick: housekeeping off the event loop, then wake the dispatcher."""
    app = context.application
    try:
        done = await asyncio.to_thread(
            housekeeping, app.bot_data.db, keep_days=app.bot_data.settings.outbox_keep_days
        )
    except Exception as exc:  # the next tick tries again; a lasting outage is told once
        await job_health.failed(app, TICK_JOB, exc)
    else:
        job_health.succeeded(app, TICK_JOB)
        if any(done.values()):
            logger.info("outbox tick: %s", done)
        heartbeat.beat(app, "outbox_at")
    dispatcher.kick(app)
