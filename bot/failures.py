"""Failures that end for good (an update out of attempts, a job that raised), told by reference.

The log and the staff chat (``ERROR_CHAT_ID``) get the reference, what failed and the error's
class, never the error's message or any content; the person is given the same reference.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.services import error_reports
from storage.types import utcnow

logger = logging.getLogger(__name__)


async def report_failure(
    app: Any, error: BaseException, *, update_id: int | None = None, job: str | None = None
) -> str:
    """Logs a final failure with a new reference, queues the staff chat's notice when one is
    configured, and returns the reference for the person who hit it."""
    reference = error_reports.new_reference()
    what = f"update {update_id}" if update_id is not None else f"job {job or '?'}"
    logger.error("failure %s: %s, %s", reference, what, type(error).__name__)
    chat_id = app.bot_data.settings.error_chat_id
    if chat_id is None:
        return reference
    try:
        queued = await app.bot_data.db.run(
            error_reports.queue_report,
            chat_id=chat_id,
            reference=reference,
            error=type(error).__name__,
            at=utcnow(),
            update_id=update_id,
            job=job,
        )
    except Exception:  # the database itself may be what failed: the log still has it
        logger.warning("could not queue the staff notice of failure %s", reference)
        return reference
    # The dispatcher is looked up, not imported: it reports its own failures through here.
    running = app.bot_data.extras.get("dispatcher")
    if queued and running is not None:
        running.kick()
    return reference
