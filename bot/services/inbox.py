"""The update inbox: every Telegram update stored before it is acknowledged, handled from here.

The fetch loop stores a batch with :func:`store` and only then asks Telegram for the next one
(which acknowledges the batch); handlers' completion is recorded with :func:`mark_done`. What a
crash leaves pending is handed over again on start by :func:`take_pending`; an update whose
handlers keep raising is tried a bounded number of times, then ends FAILED, listed for staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from storage.models import InboundState, InboundUpdate
from storage.types import utcnow

# Handled this many times without finishing (a crash, or handlers raising): then FAILED.
MAX_ATTEMPTS = 3
# Handled updates are deleted after this long (they hold names and words).
KEEP_DONE = timedelta(days=1)


@dataclass(frozen=True)
class Incoming:
    """One update as fetched: its id, the chat and user it concerns, and its JSON."""

    update_id: int
    chat_id: int | None
    user_id: int | None
    payload: dict[str, Any]


def store(session: Session, batch: list[Incoming], *, now: datetime | None = None) -> set[int]:
    """Stores the updates not seen before; returns their ids (a redelivered one is left out)."""
    if not batch:
        return set()
    ids = [item.update_id for item in batch]
    known = set(
        session.exec(select(InboundUpdate.update_id).where(col(InboundUpdate.update_id).in_(ids)))
    )
    now = now or utcnow()
    fresh: set[int] = set()
    for item in batch:
        if item.update_id in known or item.update_id in fresh:
            continue
        session.add(
            InboundUpdate(
                update_id=item.update_id,
                payload=item.payload,
                chat_id=item.chat_id,
                user_id=item.user_id,
                received_at=now,
                attempts=1,  # it is handed to the handlers as soon as this commits
            )
        )
        fresh.add(item.update_id)
    return fresh


def mark_done(session: Session, update_ids: list[int], *, now: datetime | None = None) -> int:
    """Records that these updates' handlers ran to the end."""
    if not update_ids:
        return 0
    result = session.execute(
        update(InboundUpdate)
        .where(
            col(InboundUpdate.update_id).in_(update_ids),
            col(InboundUpdate.state) == InboundState.PENDING,
        )
        .values(state=InboundState.DONE, handled_at=now or utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def record_failure(
    session: Session, update_id: int, *, error: str, now: datetime | None = None
) -> bool:
    """A handler raised: True when the update may be tried again, False when it is FAILED."""
    row = session.get(InboundUpdate, update_id)
    if row is None or row.state != InboundState.PENDING:
        return False
    row.last_error = error[:100]
    if row.attempts >= MAX_ATTEMPTS:
        row.state, row.handled_at = InboundState.FAILED, now or utcnow()
        session.add(row)
        return False
    row.attempts += 1
    session.add(row)
    return True


def take_pending(session: Session) -> list[InboundUpdate]:
    """What a crash or stop left unhandled, oldest first, to be handled again.

    A process crash does not count as an attempt: the update may never have started (it was
    fetched just before), and its handlers tolerate running again. Only a handler that raised
    uses up attempts (:func:`record_failure`).
    """
    return list(
        session.exec(
            select(InboundUpdate)
            .where(InboundUpdate.state == InboundState.PENDING)
            .order_by(col(InboundUpdate.update_id))
        )
    )


def failed(session: Session, *, limit: int = 100) -> list[InboundUpdate]:
    """Updates whose handlers failed every time, newest first (for staff)."""
    return list(
        session.exec(
            select(InboundUpdate)
            .where(InboundUpdate.state == InboundState.FAILED)
            .order_by(col(InboundUpdate.update_id).desc())
            .limit(limit)
        )
    )


def counts(session: Session) -> dict[str, int]:
    """How many updates are in each state."""
    found = {state.value: 0 for state in InboundState}
    rows = session.exec(
        select(InboundUpdate.state, func.count()).group_by(col(InboundUpdate.state))
    )
    for state, number in rows:
        found[str(state)] = int(number)
    return found


def oldest_pending(session: Session) -> datetime | None:
    """When the oldest update still waiting to be handled arrived (health: how far behind)."""
    return session.exec(
        select(InboundUpdate.received_at)
        .where(InboundUpdate.state == InboundState.PENDING)
        .order_by(col(InboundUpdate.update_id))
        .limit(1)
    ).first()


def prune(session: Session, *, now: datetime | None = None, keep: timedelta = KEEP_DONE) -> int:
    """Deletes handled updates older than ``keep`` (failed ones stay for staff)."""
    cutoff = (now or utcnow()) - keep
    result = session.execute(
        delete(InboundUpdate).where(
            col(InboundUpdate.state) == InboundState.DONE,
            col(InboundUpdate.handled_at) < cutoff,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
