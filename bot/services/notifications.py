"""The outbox: notices owed to people, queued in the same transaction as the change they report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from storage.models import Notification
from storage.types import utcnow

MAX_ATTEMPTS = 5
# A claim older than this belongs to a dispatcher that died mid-send; the row is retried.
STALE_CLAIM = timedelta(minutes=2)
# Told to a Telegram account cut off by a relink; ``data["language"]`` is the language it read
# in, since the account is a stranger by the time the notice is rendered.
ACCOUNT_UNLINKED = "account.unlinked"


def enqueue(
    session: Session,
    *,
    key: str,
    chat_id: int,
    template: str,
    ticket_id: int | None = None,
    message_id: int | None = None,
    **data: Any,
) -> bool:
    """Queues a notice once per key; False when that key was already queued."""
    if session.exec(select(Notification.id).where(Notification.key == key)).first() is not None:
        return False
    session.add(
        Notification(
            key=key,
            chat_id=chat_id,
            template=template,
            ticket_id=ticket_id,
            message_id=message_id,
            data=data,
        )
    )
    return True


def pending_ids(session: Session, *, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Notices still to send, oldest first."""
    now = now or utcnow()
    rows = session.exec(
        select(Notification.id)
        .where(
            col(Notification.sent_at).is_(None),
            col(Notification.failed_at).is_(None),
            or_(
                col(Notification.claimed_at).is_(None),
                col(Notification.claimed_at) < now - STALE_CLAIM,
            ),
        )
        .order_by(col(Notification.id))
        .limit(limit)
    ).all()
    return [row for row in rows if row is not None]


def claim(session: Session, notification_id: int, *, now: datetime | None = None) -> bool:
    """Takes a notice for sending; only one dispatcher can win it."""
    now = now or utcnow()
    result = session.execute(
        update(Notification)
        .where(
            col(Notification.id) == notification_id,
            col(Notification.sent_at).is_(None),
            col(Notification.failed_at).is_(None),
            or_(
                col(Notification.claimed_at).is_(None),
                col(Notification.claimed_at) < now - STALE_CLAIM,
            ),
        )
        .values(claimed_at=now, attempts=Notification.attempts + 1)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_sent(session: Session, notification_id: int, *, now: datetime | None = None) -> None:
    """Records delivery."""
    notification = session.get(Notification, notification_id)
    if notification is not None:
        notification.sent_at = now or utcnow()
        notification.error = None
        session.add(notification)


def mark_failed(
    session: Session, notification_id: int, error: str, *, final: bool, now: datetime | None = None
) -> None:
    """Records a failed attempt; a final failure (or too many) is never retried."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        return
    notification.error = error[:200]
    notification.claimed_at = None
    if final or notification.attempts >= MAX_ATTEMPTS:
        notification.failed_at = now or utcnow()
    session.add(notification)
