"""Retention: what is no longer needed is deleted every day, and each purge is audited.

The words, translations and files of requests resolved more than ``RETENTION_DAYS`` ago go
(the anonymous ticket stays for the figures); so do flows left untouched for a day, old failed
invite attempts and the language choices of strangers who never joined.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, update
from sqlmodel import Session, col, select

from bot.services import audit, outbox
from storage.models import (
    Flow,
    JoinAttempt,
    Member,
    NoticeKind,
    Staff,
    Ticket,
    TicketMessage,
    TicketStatus,
    UserSetting,
)

DEFAULT_DAYS = 90
# A conversation step nobody came back to for this long is abandoned.
STALE_FLOW = timedelta(days=1)
# Failed invite attempts matter for the rate limit (15 minutes); a day is plenty.
JOIN_ATTEMPTS_KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Purged:
    """How many rows one daily run purged, by kind."""

    messages: int = 0
    drafts: int = 0
    stale_flows: int = 0
    join_attempts: int = 0
    stranger_settings: int = 0

    @property
    def total(self) -> int:
        """Rows purged in all."""
        return sum(asdict(self).values())


def _count(result: Any) -> int:
    """Rows a bulk statement touched."""
    return cast(CursorResult[Any], result).rowcount or 0


def purge_closed(session: Session, *, now: datetime, days: int) -> tuple[int, int]:
    """Empties the messages of requests resolved more than ``days`` ago, and drops staff drafts
    still open on them; returns (messages, drafts)."""
    closed = select(Ticket.id).where(
        Ticket.status == TicketStatus.RESOLVED,
        col(Ticket.resolved_at) < now - timedelta(days=days),
    )
    messages = _count(
        session.execute(
            update(TicketMessage)
            .where(
                col(TicketMessage.ticket_id).in_(closed), col(TicketMessage.purged_at).is_(None)
            )
            .values(text="", original_text=None, translation=None, file_id=None, purged_at=now)
        )
    )
    closed_ids = set(session.exec(closed).all())
    drafts = 0
    for flow in session.exec(select(Flow)):
        if (flow.data or {}).get("ticket_id") in closed_ids:
            session.delete(flow)
            drafts += 1
    return messages, drafts


def expire_stale_flows(session: Session, *, now: datetime) -> int:
    """Ends conversations untouched for a day (their half-written words with them), and tells
    each person, in the same transaction, that nothing was sent and how to start again."""
    stale = list(session.exec(select(Flow).where(col(Flow.updated_at) < now - STALE_FLOW)))
    for flow in stale:
        outbox.enqueue(
            session,
            key=f"flow-expired:{flow.telegram_user_id}:{flow.updated_at.isoformat()}",
            chat_id=flow.telegram_user_id,
            kind=NoticeKind.FLOW_EXPIRED,
            expires_at=now + STALE_FLOW,
            flow=flow.name,  # due at once (not at ``now``, which tests may move forward)
        )
        session.delete(flow)
    return len(stale)


def purge_join_attempts(session: Session, *, now: datetime) -> int:
    """Deletes failed invite attempts older than a day."""
    return _count(
        session.execute(delete(JoinAttempt).where(col(JoinAttempt.at) < now - JOIN_ATTEMPTS_KEEP))
    )


def purge_stranger_settings(session: Session) -> int:
    """Deletes language choices of Telegram accounts that are neither a member nor staff."""
    member = exists().where(col(Member.telegram_user_id) == col(UserSetting.telegram_user_id))
    staff = exists().where(col(Staff.telegram_user_id) == col(UserSetting.telegram_user_id))
    return _count(session.execute(delete(UserSetting).where(~member, ~staff)))


def run(session: Session, *, now: datetime, days: int = DEFAULT_DAYS) -> Purged:
    """One daily purge, in the caller's transaction, counted in the audit trail."""
    messages, drafts = purge_closed(session, now=now, days=days)
    purged = Purged(
        messages=messages,
        drafts=drafts,
        stale_flows=expire_stale_flows(session, now=now),
        join_attempts=purge_join_attempts(session, now=now),
        stranger_settings=purge_stranger_settings(session),
    )
    audit.record(
        session, actor="system", action="retention.purge", subject="retention", days=days,
        **asdict(purged),
    )  # fmt: skip
    return purged
