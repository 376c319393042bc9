"""The audit trail: every staff and admin action, without message text or names.

Rows are hash-chained: each row's hash covers its own fields and the previous row's hash, so
:func:`verify` finds any row changed, deleted or reordered since it was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, or_, select

from storage.models import AuditEvent, AuditHead

HEAD_ID = 1
GENESIS = ""  # the "previous hash" of the first row


def record(session: Session, *, actor: str, action: str, subject: str, **detail: Any) -> None:
    """Appends one audit event to the chain, in the caller's transaction.

    The chain head is locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite writers
    are serialized by the database), so concurrent writers append one after another.
    """
    head = _locked_head(session)
    prev = _catch_up(session, head)
    event = AuditEvent(actor=actor, action=action, subject=subject, detail=detail)
    session.add(event)
    session.flush()  # the id is part of what is hashed
    _seal(event, prev)
    head.last_event_id, head.last_hash = event.id, event.hash or ""
    session.add_all([event, head])
    session.flush()


def canonical(event: AuditEvent) -> str:
    """The row's fields as canonical JSON: what its hash covers."""
    at = event.at if event.at.tzinfo is not None else event.at.replace(tzinfo=UTC)
    fields = {
        "id": event.id,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "detail": event.detail,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link_hash(prev_hash: str, event: AuditEvent) -> str:
    """sha256 of the previous hash followed by the row's canonical JSON."""
    return hashlib.sha256((prev_hash + canonical(event)).encode()).hexdigest()


def _seal(event: AuditEvent, prev_hash: str) -> str:
    """Sets the row's chain fields after ``prev_hash``; returns its hash."""
    event.prev_hash = prev_hash
    event.hash = link_hash(prev_hash, event)
    return event.hash


def _locked_head(session: Session) -> AuditHead:
    """The chain head, created when missing and locked for this transaction."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(AuditHead).values(id=HEAD_ID, last_hash=GENESIS).on_conflict_do_nothing()
    )
    head = session.exec(
        select(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return head


def _catch_up(session: Session, head: AuditHead) -> str:
    """Chains rows written without a hash after the head (rows older than the chain itself,
    or added directly); returns the hash the next row follows."""
    prev = head.last_hash
    loose = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.id) > (head.last_event_id or 0), col(AuditEvent.hash).is_(None))
        .order_by(col(AuditEvent.id))
    ).all()
    for event in loose:
        prev = _seal(event, prev)
        head.last_event_id = event.id
        session.add(event)
    return prev


@dataclass(frozen=True)
class Verdict:
    """What :func:`verify` found: how many rows were checked and the first broken link."""

    checked: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when every link holds."""
        return self.broken_id is None and not self.reason


def verify(session: Session, *, batch: int = 1000) -> Verdict:
    """Walks the chain in id order and reports the first row that breaks it."""
    prev, last_id, checked = GENESIS, 0, 0
    while True:
        rows = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.id) > last_id)
            .order_by(col(AuditEvent.id))
            .limit(batch)
        ).all()
        if not rows:
            break
        for event in rows:
            checked += 1
            if event.hash is None:
                return Verdict(checked, event.id, "row has no hash (written outside the chain)")
            if event.prev_hash != prev:
                return Verdict(
                    checked, event.id, "link broken: a row before it was deleted or reordered"
                )
            if link_hash(prev, event) != event.hash:
                return Verdict(checked, event.id, "row changed after it was written")
            prev, last_id = event.hash, event.id or 0
    head = session.get(AuditHead, HEAD_ID)
    head_id = head.last_event_id if head is not None else None
    head_hash = head.last_hash if head is not None else GENESIS
    if (head_id or 0) != last_id or head_hash != prev:
        return Verdict(checked, head_id, "the newest rows were deleted (head does not match)")
    return Verdict(checked)


def events_about(
    session: Session, subjects: Iterable[str], actors: Iterable[str] = (), *, limit: int = 0
) -> Sequence[AuditEvent]:
    """Events whose subject (or actor) is one of those given, oldest first."""
    subjects, actors = list(subjects), list(actors)
    if not subjects and not actors:
        return []
    query = (
        select(AuditEvent)
        .where(or_(col(AuditEvent.subject).in_(subjects), col(AuditEvent.actor).in_(actors)))
        .order_by(col(AuditEvent.id))
    )
    if limit:
        query = query.order_by(None).order_by(col(AuditEvent.id).desc()).limit(limit)
        return list(reversed(session.exec(query).all()))
    return session.exec(query).all()


def stamp(at: datetime) -> str:
    """An ISO UTC timestamp, for exports."""
    return at.astimezone(UTC).isoformat(timespec="seconds")
