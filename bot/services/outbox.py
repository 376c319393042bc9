"""The outbox: notices queued with the change that causes them, claimed, and their outcome.

No Telegram here: the dispatcher (bot/delivery/dispatcher.py) claims rows with
:func:`claim_due`, sends them, and records what happened with the ``record_*`` functions, each
in its own short transaction. A chat's notices go strictly in queue order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, literal, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.delivery.lanes import Lane
from storage.models import NoticeKind, NoticeState, Notification
from storage.types import UTCDateTime, utcnow

__all__ = ["NoticeKind", "NoticeState"]

# Told to a Telegram account cut off by a relink (kept for callers of the old name).
ACCOUNT_UNLINKED = NoticeKind.ACCOUNT_UNLINKED

# How long a notice is still worth sending; later kinds (reminders) pass ``expires_at``.
DEFAULT_TTL = timedelta(days=7)
TTL: dict[NoticeKind, timedelta] = {kind: DEFAULT_TTL for kind in NoticeKind}
# Retry backoff: doubling from the first delay up to the cap, with jitter, until expiry.
FIRST_RETRY = timedelta(seconds=2)
MAX_RETRY = timedelta(minutes=10)
# A claim this old belongs to a dispatcher that died mid-send (another worker recovers it).
STALE_CLAIM = timedelta(minutes=10)
OPEN_STATES = (NoticeState.QUEUED, NoticeState.SENDING, NoticeState.UNKNOWN)
# Kinds read by staff; those about a ticket are ordered per ticket within the chat (_eligible).
STAFF_KIND_PREFIX = "staff."
CLAIMABLE = (NoticeState.QUEUED, NoticeState.UNKNOWN)
CLOSED_STATES = (NoticeState.SENT, NoticeState.FAILED, NoticeState.CANCELLED)


def enqueue(
    session: Session,
    *,
    key: str,
    chat_id: int,
    kind: NoticeKind,
    ticket_id: int | None = None,
    message_id: int | None = None,
    lane: Lane = Lane.INTERACTIVE,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
    **payload: Any,
) -> bool:
    """Queues a notice once per key (in the caller's transaction); False when already queued."""
    if session.exec(select(Notification.id).where(Notification.key == key)).first() is not None:
        return False
    now = now or utcnow()
    session.add(
        Notification(
            key=key,
            chat_id=chat_id,
            kind=NoticeKind(kind),
            lane=str(lane),
            ticket_id=ticket_id,
            message_id=message_id,
            payload=payload,
            created_at=now,
            next_attempt_at=not_before or now,
            expires_at=expires_at or now + TTL[NoticeKind(kind)],
        )
    )
    return True


@dataclass(frozen=True)
class Claimed:
    """A notice a dispatcher holds: what to render and how far a previous attempt got."""

    id: int
    chat_id: int
    kind: NoticeKind
    lane: Lane
    attempts: int
    parts_sent: int
    ticket_id: int | None
    message_id: int | None
    payload: dict[str, Any]


LANE_ORDER = (Lane.INTERACTIVE, Lane.REMINDER, Lane.BULK)  # claimed in this order


def _lane_rank() -> Any:
    """Sorts interactive first, then reminders, then bulk."""
    return case(
        *((col(Notification.lane) == str(lane), rank) for rank, lane in enumerate(LANE_ORDER)),
        else_=len(LANE_ORDER),
    )


def _conversation_card(row: Any) -> Any:
    """SQL: the row is a staff card about a ticket (ordered within that ticket only)."""
    return and_(col(row.kind).startswith(STAFF_KIND_PREFIX), col(row.ticket_id).is_not(None))


def _eligible(now: datetime) -> Any:
    """Rows that may be claimed now: due, not expired, and first in their queue.

    A queue is a chat, except that a staff member's cards about different tickets are separate
    queues: one family's card waiting for its translation never holds up another family's. A
    family's chat, and any notice about no ticket, keep strict chat order."""
    earlier = aliased(Notification)
    other_conversation = and_(
        _conversation_card(Notification),
        _conversation_card(earlier),
        col(earlier.ticket_id) != col(Notification.ticket_id),
    )
    ahead = exists().where(
        col(earlier.chat_id) == col(Notification.chat_id),
        col(earlier.state).in_(OPEN_STATES),
        col(earlier.id) < Notification.id,
        ~other_conversation,
    )
    return and_(
        col(Notification.state).in_(CLAIMABLE),
        col(Notification.next_attempt_at) <= now,
        col(Notification.expires_at) > now,
        ~ahead,
    )


def claim_due(
    session: Session, *, worker: str, limit: int = 50, now: datetime | None = None
) -> list[Claimed]:
    """Claims up to ``limit`` due notices (at most one per queue, interactive first) for
    ``worker`` in one statement, so two workers never claim the same row: an UPDATE whose
    first act is taking SQLite's write lock, or FOR UPDATE SKIP LOCKED on PostgreSQL. The
    caller commits before sending anything."""
    now = now or utcnow()
    candidates = (
        select(Notification.id)
        .where(_eligible(now))
        .order_by(_lane_rank(), col(Notification.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    rows = session.execute(
        update(Notification)
        .where(
            col(Notification.id).in_(candidates.scalar_subquery()),
            col(Notification.state).in_(CLAIMABLE),
        )
        .values(
            state=NoticeState.SENDING,
            claimed_by=worker,
            claimed_at=now,
            attempts=Notification.attempts + 1,
        )
        .returning(col(Notification.id))
    ).all()
    found = session.exec(
        select(Notification)
        .where(col(Notification.id).in_([row[0] for row in rows]))
        .execution_options(populate_existing=True)
    ).all()
    claimed = [
        Claimed(
            id=row.id or 0,
            chat_id=row.chat_id,
            kind=NoticeKind(row.kind),
            lane=Lane(row.lane),
            attempts=row.attempts,
            parts_sent=row.parts_sent,
            ticket_id=row.ticket_id,
            message_id=row.message_id,
            payload=dict(row.payload or {}),
        )
        for row in found
    ]
    return sorted(claimed, key=lambda c: (LANE_ORDER.index(c.lane), c.id))


def next_due(session: Session, *, after: datetime | None = None) -> datetime | None:
    """When the earliest waiting notice becomes due (None when nothing waits); with ``after``,
    only notices due later than that (a claim just took everything due before it)."""
    query = select(Notification.next_attempt_at).where(col(Notification.state).in_(CLAIMABLE))
    if after is not None:
        query = query.where(
            col(Notification.next_attempt_at) > after, col(Notification.expires_at) > after
        )
    return session.exec(query.order_by(col(Notification.next_attempt_at)).limit(1)).first()


def chats_waiting(session: Session, chat_ids: list[int]) -> set[int]:
    """Which of these chats have a notice waiting (behind the one being sent)."""
    if not chat_ids:
        return set()
    return set(
        session.exec(
            select(Notification.chat_id)
            .where(
                col(Notification.chat_id).in_(chat_ids),
                col(Notification.state).in_(CLAIMABLE),
            )
            .distinct()
        )
    )


def _held(session: Session, notice_id: int, worker: str) -> Notification | None:
    """The row, if ``worker`` still holds it (a stale claim may have been taken over)."""
    row = session.get(Notification, notice_id)
    if row is None or row.state != NoticeState.SENDING or row.claimed_by != worker:
        return None
    return row


def record_part_sent(
    session: Session, notice_id: int, *, worker: str, parts_total: int, now: datetime | None = None
) -> bool:
    """One more part reached Telegram; the last one makes the notice sent. False when lost.

    One UPDATE, so the transaction's first act takes SQLite's write lock (waiting for it): a
    read first would fail at the write whenever another sender committed in between, and every
    send of a broadcast would be retried with backoff."""
    at = literal(now or utcnow(), UTCDateTime())
    last = col(Notification.parts_sent) + 1 >= parts_total
    result = session.execute(
        update(Notification)
        .where(
            col(Notification.id) == notice_id,
            col(Notification.state) == NoticeState.SENDING,
            col(Notification.claimed_by) == worker,
        )
        .values(
            parts_sent=col(Notification.parts_sent) + 1,
            claimed_at=at,  # a live sender keeps its claim fresh
            state=case((last, str(NoticeState.SENT)), else_=col(Notification.state)),
            sent_at=case((last, at), else_=col(Notification.sent_at)),
            closed_at=case((last, at), else_=col(Notification.closed_at)),
            last_error=case((last, None), else_=col(Notification.last_error)),
        )
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: 2 s, 4 s, 8 s … up to 10 minutes, each 50–100 %."""
    base = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)
    return base * (0.5 + (rng or random).random() / 2)


def record_retry(
    session: Session,
    notice_id: int,
    *,
    worker: str,
    error: str,
    wait: timedelta | None = None,
    now: datetime | None = None,
) -> NoticeState:
    """A transient error: tried again after ``wait`` (a 429's retry_after, in full) or the
    backoff; a notice that would only be retried past its expiry fails now."""
    row = _held(session, notice_id, worker)
    if row is None:
        return NoticeState.SENDING
    now = now or utcnow()
    row.last_error = error[:200]
    row.next_attempt_at = now + (wait if wait is not None else retry_delay(row.attempts))
    if row.next_attempt_at >= row.expires_at:
        row.state, row.closed_at = NoticeState.FAILED, now
        row.last_error = f"expired: {error}"[:200]
    else:
        row.state = NoticeState.QUEUED
    session.add(row)
    return NoticeState(row.state)


def record_failed(
    session: Session, notice_id: int, *, worker: str, error: str, now: datetime | None = None
) -> Notification | None:
    """A permanent error: the notice ends now; returns it for the follow-up, None when lost."""
    row = _held(session, notice_id, worker)
    if row is None:
        return None
    row.state, row.closed_at = NoticeState.FAILED, now or utcnow()
    row.last_error = error[:200]
    session.add(row)
    return row


def record_cancelled(
    session: Session, notice_id: int, *, worker: str, reason: str, now: datetime | None = None
) -> None:
    """The recipient may no longer see the notice; it ends unsent, with the reason."""
    row = _held(session, notice_id, worker)
    if row is not None:
        row.state, row.closed_at = NoticeState.CANCELLED, now or utcnow()
        row.last_error = reason[:200]
        session.add(row)


def retarget(
    session: Session,
    notice_id: int,
    *,
    worker: str,
    recipients: list[tuple[int, int]],
    reason: str,
    now: datetime | None = None,
) -> int:
    """Cancels a staff notice whose recipient may no longer see its ticket and queues it for
    ``recipients`` ((staff id, chat id) pairs: where the ticket now is); returns how many."""
    row = _held(session, notice_id, worker)
    if row is None:
        return 0
    queued = 0
    for staff_id, chat_id in recipients:
        queued += enqueue(
            session,
            key=f"{row.key}:to:{staff_id}",
            chat_id=chat_id,
            kind=NoticeKind(row.kind),
            ticket_id=row.ticket_id,
            message_id=row.message_id,
            lane=Lane(row.lane),
            expires_at=row.expires_at,
            now=now,
            **row.payload,
        )
    record_cancelled(session, notice_id, worker=worker, reason=reason, now=now)
    return queued


def recover_interrupted(
    session: Session, *, worker: str | None = None, now: datetime | None = None
) -> int:
    """Marks sends cut by a crash as unknown, to be sent again from the part in flight (which
    may therefore arrive twice). With ``worker``: that worker's own claims (at its start-up);
    without: any claim older than STALE_CLAIM (a worker that died)."""
    now = now or utcnow()
    owner = (
        col(Notification.claimed_by) == worker
        if worker is not None
        else col(Notification.claimed_at) < now - STALE_CLAIM
    )
    result = session.execute(
        update(Notification)
        .where(col(Notification.state) == NoticeState.SENDING, owner)
        .values(state=NoticeState.UNKNOWN, next_attempt_at=now, last_error="interrupted")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def expire_overdue(session: Session, *, now: datetime | None = None) -> list[Notification]:
    """Fails waiting notices that are no longer worth sending; returns them for follow-up."""
    now = now or utcnow()
    rows = list(
        session.exec(
            select(Notification).where(
                col(Notification.state).in_(CLAIMABLE), col(Notification.expires_at) <= now
            )
        )
    )
    for row in rows:
        row.state, row.closed_at = NoticeState.FAILED, now
        row.last_error = f"expired: {row.last_error or 'never sent'}"[:200]
        session.add(row)
    return rows


def prune(session: Session, *, keep_days: int, now: datetime | None = None) -> int:
    """Deletes sent and cancelled notices older than ``keep_days`` (failed ones stay for staff)."""
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    result = session.execute(
        delete(Notification).where(
            col(Notification.state).in_((NoticeState.SENT, NoticeState.CANCELLED)),
            col(Notification.closed_at) < cutoff,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def failed(session: Session, *, limit: int = 100) -> list[Notification]:
    """Notices that finally failed, newest first (for the admin listing)."""
    return list(
        session.exec(
            select(Notification)
            .where(Notification.state == NoticeState.FAILED)
            .order_by(col(Notification.closed_at).desc(), col(Notification.id).desc())
            .limit(limit)
        )
    )


def counts(session: Session) -> dict[str, int]:
    """How many notices are in each state."""
    rows = session.exec(
        select(Notification.state, func.count()).group_by(col(Notification.state))
    ).all()
    return {str(state): int(n) for state, n in rows}
