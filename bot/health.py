"""``python -m bot health [--json]``: is the running instance alive, and how far behind is it?

Read from the database alone (the lease's heartbeats, the inbox, the outbox, the reminders), so
it works from any machine that can reach the database, with the bot running or not.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.services import inbox, lease
from bot.services.outbox import CLAIMABLE
from storage.models import Notification, Reminder, ReminderState
from storage.types import utcnow

# A loop whose last round is older than this is reported stalled.
STALE = timedelta(seconds=90)
# Work waiting longer than this counts as behind.
BEHIND = timedelta(minutes=2)


def _ago(now: datetime, at: datetime | None) -> float | None:
    """Seconds since ``at`` (None when never)."""
    return None if at is None else round((now - at).total_seconds(), 1)


def report(session: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """The health of the instance holding the lease, and the backlogs in the database."""
    now = now or utcnow()
    held = lease.current(session)
    alive = held is not None and held.expires_at > now
    oldest_update = inbox.oldest_pending(session)
    counts = inbox.counts(session)
    due = select(func.count(), func.min(Notification.next_attempt_at)).where(
        col(Notification.state).in_(CLAIMABLE),
        col(Notification.next_attempt_at) <= now,
        col(Notification.expires_at) > now,
    )
    outbox_due, oldest_notice = session.exec(due).one()
    late = select(func.count(), func.min(Reminder.due_at)).where(
        Reminder.state == ReminderState.PENDING, col(Reminder.due_at) <= now
    )
    reminders_due, oldest_reminder = session.exec(late).one()
    loops = {
        "updates": held.updates_at if held else None,
        "outbox": held.outbox_at if held else None,
        "reminders": held.reminders_at if held else None,
    }
    stalled = [name for name, at in loops.items() if at is None or now - at > STALE]
    behind = {
        "updates": oldest_update is not None and now - oldest_update > BEHIND,
        "outbox": oldest_notice is not None and now - oldest_notice > BEHIND,
        "reminders": oldest_reminder is not None and now - oldest_reminder > BEHIND,
    }
    return {
        "ok": alive and not stalled and not any(behind.values()),
        "instance": {
            "running": alive,
            "host": held.host if held else None,
            "pid": held.pid if held else None,
            "since_s": _ago(now, held.acquired_at) if held else None,
        },
        "updates": {
            "last_fetch_s_ago": _ago(now, loops["updates"]),
            "pending": counts["pending"],
            "failed": counts["failed"],
            "oldest_pending_s": _ago(now, oldest_update),
        },
        "outbox": {
            "last_tick_s_ago": _ago(now, loops["outbox"]),
            "due": int(outbox_due or 0),
            "oldest_due_s": _ago(now, oldest_notice),
        },
        "reminders": {
            "last_run_s_ago": _ago(now, loops["reminders"]),
            "due": int(reminders_due or 0),
            "oldest_due_s": _ago(now, oldest_reminder),
        },
        "stalled": stalled,
    }


def render(found: dict[str, Any], as_json: bool) -> str:
    """One JSON object, or readable lines for an operator (English)."""
    if as_json:
        return json.dumps(found, sort_keys=True)
    instance = found["instance"]
    lines = [
        "healthy" if found["ok"] else "NOT healthy",
        (
            f"instance: {instance['host']} pid {instance['pid']}, up {instance['since_s']} s"
            if instance["running"]
            else "instance: none running (no live lease)"
        ),
    ]
    for part, last in (
        ("updates", "last_fetch_s_ago"),
        ("outbox", "last_tick_s_ago"),
        ("reminders", "last_run_s_ago"),
    ):
        values = found[part]
        rest = ", ".join(f"{k} {v}" for k, v in values.items() if k != last)
        lines.append(f"{part}: last round {values[last]} s ago; {rest}")
    if found["stalled"]:
        lines.append("stalled: " + ", ".join(found["stalled"]))
    return "\n".join(lines)
