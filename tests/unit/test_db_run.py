"""Database.run: work off the event loop, retried while SQLite is locked, then a clear refusal."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session, select

from storage.db import Database, DatabaseBusy, is_transient
from storage.models import UserSetting

GUARD = 20.0  # only keeps a broken retry from hanging the run


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A file database with every table."""
    file = tmp_path / "run.db"
    database = Database(f"sqlite:///{file}")
    database.create_all()
    database.dispose()
    return file


@pytest.fixture
def locker(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection (as an admin import would be) that can hold the write lock."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    yield connection
    if connection.in_transaction:
        connection.execute("ROLLBACK")
    connection.close()


def add_setting(session: Session, user_id: int, language: str = "ar") -> int:
    """A small write, as a handler's service call makes."""
    session.add(UserSetting(telegram_user_id=user_id, language=language))
    return user_id


def settings_of(session: Session) -> list[int]:
    """Every stored setting's user id."""
    return sorted(s.telegram_user_id for s in session.exec(select(UserSetting)))


async def test_run_works_in_a_worker_thread_not_on_the_loop(path: Path) -> None:
    database = Database(f"sqlite:///{path}")
    try:
        thread = await database.run(lambda _session: threading.current_thread())
        assert thread is not threading.current_thread()
        assert await database.run(add_setting, 1) == 1
        assert await database.run(settings_of) == [1]
    finally:
        database.dispose()


async def test_a_locked_database_delays_the_write_until_the_lock_is_released(
    path: Path, locker: sqlite3.Connection
) -> None:
    # A short busy timeout, so the retry loop (not only SQLite's wait) is what carries it.
    database = Database(f"sqlite:///{path}", busy_timeout=0.2, retry_for=GUARD)
    try:
        locker.execute("BEGIN IMMEDIATE")
        locker.execute("INSERT INTO usersetting (telegram_user_id, language) VALUES (99, 'en')")
        write = asyncio.ensure_future(database.run(add_setting, 1))
        # Readers are not blocked by the writer (WAL), and the loop stays free meanwhile.
        assert await database.run(settings_of) == []
        await asyncio.sleep(0.6)  # several busy timeouts pass while the lock is held
        assert not write.done()
        locker.execute("COMMIT")  # a stale snapshot after this commit is retried too
        assert await asyncio.wait_for(write, GUARD) == 1
        assert await database.run(settings_of) == [1, 99]
    finally:
        database.dispose()


async def test_a_lock_held_past_the_retry_budget_is_refused_and_nothing_is_kept(
    path: Path, locker: sqlite3.Connection
) -> None:
    database = Database(f"sqlite:///{path}", busy_timeout=0.1, retry_for=0.5)
    try:
        locker.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseBusy) as refused:
            await asyncio.wait_for(database.run(add_setting, 1), GUARD)
        assert is_transient(refused.value.__cause__ or refused.value)
        locker.execute("ROLLBACK")
        assert await database.run(settings_of) == []
    finally:
        database.dispose()


async def test_other_errors_are_not_retried(path: Path) -> None:
    database = Database(f"sqlite:///{path}")
    calls = 0

    def duplicate(session: Session) -> None:
        nonlocal calls
        calls += 1
        session.add(UserSetting(telegram_user_id=5, language="ar"))
        session.flush()
        session.add(UserSetting(telegram_user_id=5, language="en"))
        session.flush()

    try:
        with pytest.raises(IntegrityError):
            await database.run(duplicate)
        assert calls == 1
        assert await database.run(settings_of) == []  # rolled back whole
    finally:
        database.dispose()


async def test_in_memory_sqlite_runs_inline_on_its_one_connection() -> None:
    database = Database("sqlite://")
    database.create_all()
    try:
        assert await database.run(lambda _s: threading.current_thread()) is (
            threading.current_thread()
        )
        await asyncio.gather(*(database.run(add_setting, n) for n in range(5)))
        assert await database.run(settings_of) == [0, 1, 2, 3, 4]
    finally:
        database.dispose()


class _DriverError(Exception):
    """A driver exception carrying a SQLSTATE, as psycopg's do."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OperationalError("INSERT", {}, _DriverError("database is locked")), True),
        (OperationalError("COMMIT", {}, _DriverError("database table is locked")), True),
        (DBAPIError("UPDATE", {}, _DriverError("could not serialize", "40001")), True),
        (DBAPIError("UPDATE", {}, _DriverError("deadlock detected", "40P01")), True),
        (OperationalError("SELECT", {}, _DriverError("no such table: ticket")), False),
        (IntegrityError("INSERT", {}, _DriverError("UNIQUE constraint failed", "23505")), False),
        (ValueError("not a database error"), False),
    ],
)
def test_what_is_retried(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient
