"""Failures told to a staff chat by reference: what failed, the error's class and when, no content.

The person who hit the failure is given the same reference, so staff can match the two; the
notice never holds message text, names, or the exception's message (it may quote values).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import Session

from bot.services import outbox
from storage.models import NoticeKind

# Letters and digits that cannot be mistaken for one another when read out or typed.
ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
LENGTH = 6


def new_reference() -> str:
    """A short reference for one failure (E-7KXM3P), random so it reveals nothing."""
    return "E-" + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def queue_report(
    session: Session,
    *,
    chat_id: int,
    reference: str,
    error: str,
    at: datetime,
    update_id: int | None = None,
    job: str | None = None,
) -> bool:
    """Queues the notice of one failure to the staff chat (once per reference)."""
    return outbox.enqueue(
        session,
        key=f"error:{reference}",
        chat_id=chat_id,
        kind=NoticeKind.STAFF_ERROR_REPORT,
        now=at,
        reference=reference,
        error=error[:100],
        at=at.isoformat(),
        update_id=update_id,
        job=job,
    )
