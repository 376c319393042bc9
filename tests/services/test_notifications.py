"""The outbox: queued once per key, claimed by one dispatcher, sent once, retried after a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services import notifications
from storage.db import Database
from storage.models import Notification

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _queue(db: Database, key: str = "k1") -> int:
    with db.session() as session:
        assert notifications.enqueue(session, key=key, chat_id=10**12, template="family.reply")
        assert not notifications.enqueue(session, key=key, chat_id=10**12, template="family.reply")
    with db.session() as session:
        return notifications.pending_ids(session, now=NOW)[0]


def test_a_key_is_queued_once_and_claimed_by_one_dispatcher(db: Database) -> None:
    notice = _queue(db)
    with db.session() as session:
        assert notifications.claim(session, notice, now=NOW)
    with db.session() as session:
        assert not notifications.claim(session, notice, now=NOW)
        assert notifications.pending_ids(session, now=NOW) == []


def test_sent_notices_never_go_again(db: Database) -> None:
    notice = _queue(db)
    with db.session() as session:
        notifications.claim(session, notice, now=NOW)
        notifications.mark_sent(session, notice, now=NOW)
    later = NOW + timedelta(days=1)
    with db.session() as session:
        assert notifications.pending_ids(session, now=later) == []
        assert not notifications.claim(session, notice, now=later)


def test_a_dispatcher_that_died_mid_send_is_taken_over(db: Database) -> None:
    notice = _queue(db)
    with db.session() as session:
        notifications.claim(session, notice, now=NOW)  # then the process dies
    soon = NOW + timedelta(seconds=30)
    stale = NOW + notifications.STALE_CLAIM + timedelta(seconds=1)
    with db.session() as session:
        assert notifications.pending_ids(session, now=soon) == []
        assert notifications.pending_ids(session, now=stale) == [notice]
        assert notifications.claim(session, notice, now=stale)
        assert session.get(Notification, notice).attempts == 2  # type: ignore[union-attr]


def test_failures_retry_until_final(db: Database) -> None:
    notice = _queue(db)
    with db.session() as session:
        notifications.claim(session, notice, now=NOW)
        notifications.mark_failed(session, notice, "retry after", final=False, now=NOW)
    with db.session() as session:
        assert notifications.pending_ids(session, now=NOW) == [notice]
        notifications.claim(session, notice, now=NOW)
        notifications.mark_failed(session, notice, "forbidden", final=True, now=NOW)
    with db.session() as session:
        assert notifications.pending_ids(session, now=NOW + timedelta(days=1)) == []
        assert session.get(Notification, notice).error == "forbidden"  # type: ignore[union-attr]


def test_too_many_attempts_stop_retrying(db: Database) -> None:
    notice = _queue(db)
    for _ in range(notifications.MAX_ATTEMPTS):
        with db.session() as session:
            assert notifications.claim(session, notice, now=NOW)
            notifications.mark_failed(session, notice, "network", final=False, now=NOW)
    with db.session() as session:
        assert notifications.pending_ids(session, now=NOW) == []
