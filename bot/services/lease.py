"""One running instance per database: a lease row, renewed while alive, taken over when stale.

The lease lives in the database, so it holds across machines on PostgreSQL. A holder on the same
machine whose process is gone (killed) is taken over at once; another machine's holder only
when its lease has expired. The renewing holder also writes heartbeats for ``health``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from storage.models import Lease
from storage.types import utcnow

POLLER = "poller"
TTL = timedelta(seconds=45)  # a holder renews every RENEW; three missed renewals free it
RENEW = timedelta(seconds=15)


@dataclass(frozen=True)
class Holder:
    """Who this process is, for the lease: its host, pid and a random part."""

    host: str
    pid: int
    token: str

    @classmethod
    def this_process(cls) -> Holder:
        """The current process."""
        return cls(host=socket.gethostname(), pid=os.getpid(), token=uuid.uuid4().hex[:12])

    @property
    def name(self) -> str:
        """The holder's label as stored."""
        return f"{self.host}:{self.pid}:{self.token}"


@dataclass(frozen=True)
class Taken:
    """The lease is held by someone else: who, since when, and until when."""

    host: str
    pid: int
    since: datetime
    expires_at: datetime


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def _locked(session: Session, name: str) -> Lease | None:
    """The lease row, locked for this transaction on PostgreSQL (SQLite locks on write)."""
    query = select(Lease).where(Lease.name == name)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.exec(query).first()


def acquire(
    session: Session,
    holder: Holder,
    *,
    name: str = POLLER,
    now: datetime | None = None,
    alive: Callable[[int], bool] = pid_alive,
) -> Taken | None:
    """Takes the lease for ``holder``; returns who holds it instead when it is not free."""
    now = now or utcnow()
    row = _locked(session, name)
    if row is not None and row.holder != holder.name:
        stale = row.expires_at <= now or (row.host == holder.host and not alive(row.pid))
        if not stale:
            return Taken(row.host, row.pid, row.acquired_at, row.expires_at)
    if row is None:
        row = Lease(name=name, holder=holder.name, host=holder.host, pid=holder.pid,
                    expires_at=now + TTL)  # fmt: skip
    row.holder, row.host, row.pid = holder.name, holder.host, holder.pid
    row.acquired_at, row.expires_at = now, now + TTL
    row.updates_at = row.outbox_at = row.reminders_at = None
    session.add(row)
    return None


def renew(
    session: Session,
    holder: Holder,
    *,
    name: str = POLLER,
    now: datetime | None = None,
    beats: dict[str, datetime] | None = None,
) -> bool:
    """Extends the lease and records heartbeats; False when another process took it."""
    now = now or utcnow()
    row = _locked(session, name)
    if row is None or row.holder != holder.name:
        return False
    row.expires_at = now + TTL
    for part, at in (beats or {}).items():
        if part in ("updates_at", "outbox_at", "reminders_at"):
            setattr(row, part, at)
    session.add(row)
    return True


def release(session: Session, holder: Holder, *, name: str = POLLER) -> bool:
    """Gives the lease up on a clean stop."""
    row = _locked(session, name)
    if row is None or row.holder != holder.name:
        return False
    session.delete(row)
    return True


def current(session: Session, *, name: str = POLLER) -> Lease | None:
    """The lease row, if anyone holds (or held) it."""
    return session.get(Lease, name)
