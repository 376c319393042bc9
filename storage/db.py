"""Engine and sessions: SQLite by default (WAL, foreign keys on), PostgreSQL via DATABASE_URL.

Handlers run their work through :meth:`Database.run`: in a worker thread, one transaction per
call, retried while the database is locked or a concurrent transaction conflicts.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

import storage.models  # noqa: F401  (registers every table on the metadata)

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# SQLite waits this long for another connection's write lock before answering "locked".
BUSY_TIMEOUT_SECONDS = 15.0
# After that, the whole transaction is tried again with backoff for up to this long.
RETRY_FOR_SECONDS = 30.0
# Worker threads for Database.run, each with its own pooled connection.
WORKERS = 16
# PostgreSQL's "could not serialize access" and "deadlock detected": retrying is the cure.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The project's own data folder (default database, demo database) is created when missing;
# any other folder must exist, so a mistyped path never starts a new, empty database.
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
URL_FORMS = "sqlite:///path/to/sanad.db or postgresql+psycopg://user:password@host/dbname"


class DatabaseConfigError(ValueError):
    """DATABASE_URL cannot work as given; the message says why and what to write instead."""


def check_url(url: str) -> URL:
    """Parses DATABASE_URL and refuses forms that cannot work, with a readable reason."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseConfigError(
            f"DATABASE_URL is not a database URL; write it as {URL_FORMS}"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgres":
        raise DatabaseConfigError(
            "DATABASE_URL starts with postgres://, which SQLAlchemy does not accept; "
            "write postgresql+psycopg://user:password@host/dbname"
        )
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseConfigError(
            f"DATABASE_URL names an unsupported database ({backend}); write it as {URL_FORMS}"
        )
    try:
        parsed.get_dialect()
    except (NoSuchModuleError, ImportError):
        raise DatabaseConfigError(
            f"DATABASE_URL names a driver that is not installed ({parsed.drivername}); "
            "write postgresql+psycopg://user:password@host/dbname"
        ) from None
    if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).expanduser().parent
        if folder.resolve() == DEFAULT_DATA_DIR:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise DatabaseConfigError(
                f"the folder of the SQLite database does not exist: {folder}; "
                "create it first, or correct DATABASE_URL"
            )
    return parsed


def safe_url(url: str) -> str:
    """DATABASE_URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def describe_error(exc: BaseException, url: str) -> str:
    """One line for an operator: what failed with the database and what to check."""
    if isinstance(exc, DatabaseConfigError):
        return str(exc)
    if isinstance(exc, DBAPIError) and not isinstance(exc, (OperationalError, InterfaceError)):
        return f"the database refused the change ({type(exc).__name__}); nothing was changed"
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        detail = str(orig if orig is not None else exc).strip().splitlines()
        reason = ". ".join(line.strip() for line in detail[:2]) or type(exc).__name__
        return (
            f"cannot use the database at {safe_url(url)}: {reason[:300]}; check DATABASE_URL "
            "and that the database server is running and reachable"
        )
    return f"database error ({type(exc).__name__}) at {safe_url(url)}"


class DatabaseBusy(Exception):
    """The database stayed locked (or kept conflicting) through every retry; nothing changed."""


def is_transient(exc: BaseException) -> bool:
    """Whether a database error goes away when the whole transaction is tried again."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    # SQLite: SQLITE_BUSY ("database is locked", also a stale WAL snapshot) and SQLITE_LOCKED.
    return isinstance(exc, OperationalError) and "locked" in str(orig).lower()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, busy_timeout: float) -> None:
    """Turns on foreign keys, WAL and the busy timeout for every SQLite connection.

    pysqlite's own transaction handling breaks SAVEPOINTs (a CSV import relies on them), so
    autocommit is switched off here and SQLAlchemy emits BEGIN itself (:func:`_sqlite_begin`).
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    cursor.close()


# Marks the connections of Database.run, whose transactions are retried whole.
RETRIED = "sanad_retried"


def _sqlite_begin(connection: Any) -> None:
    """Starts every SQLite transaction explicitly.

    A transaction that cannot be retried (a plain :meth:`Database.session`) takes the write
    lock at once (IMMEDIATE): one that reads and then writes would otherwise fail outright when
    another connection committed in between (a stale WAL snapshot). :meth:`Database.run`'s
    transactions start DEFERRED, so reads never wait for a writer; that failure is retried.
    """
    retried = connection.get_execution_options().get(RETRIED, False)
    connection.exec_driver_sql("BEGIN" if retried else "BEGIN IMMEDIATE")


def is_memory(url: str) -> bool:
    """Whether ``url`` is an in-memory SQLite database (one connection shared by all)."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def make_engine(
    url: str, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS, workers: int = WORKERS
) -> Engine:
    """Creates an engine for ``url`` after :func:`check_url` (raises DatabaseConfigError).

    Every worker thread holds its own pooled connection; a few more serve code that still uses
    sessions directly on the event loop, so it never waits for a worker's connection.
    """
    parsed = check_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False}
        if is_memory(url):
            kwargs["poolclass"] = StaticPool
        else:
            kwargs.update(pool_size=workers, max_overflow=8)
    else:
        kwargs.update(pool_pre_ping=True, pool_size=workers, max_overflow=8)
    if parsed.get_backend_name() == "sqlite" and not is_memory(url) and parsed.database:
        _private_file(Path(parsed.database).expanduser())
    # SQL parameters are a family's words: never in an exception's text, hence never in a log.
    engine = create_engine(url, hide_parameters=True, **kwargs)
    if engine.dialect.name == "sqlite":
        pragmas = functools.partial(_sqlite_pragmas, busy_timeout=busy_timeout)
        event.listen(engine, "connect", pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _private_file(path: Path) -> None:
    """Creates the SQLite file readable by this user only (SQLite gives its -wal and -shm
    files the same mode); an existing file of ours is narrowed to that too."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    elif path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
        path.chmod(0o600)


class Database:
    """Owns the engine and hands out sessions; the one transaction boundary of the app."""

    def __init__(
        self,
        url: str,
        *,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        retry_for: float = RETRY_FOR_SECONDS,
        workers: int = WORKERS,
    ) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout=busy_timeout, workers=workers)
        self._retried_engine = self.engine.execution_options(**{RETRIED: True})
        self.retry_for = retry_for
        self.workers = workers
        # In-memory SQLite is one connection shared by everything: its transactions run
        # inline on the caller's thread, so they can never interleave on that connection.
        self._inline = is_memory(url)
        self._executor: ThreadPoolExecutor | None = None
        self._first: ThreadPoolExecutor | None = None
        # SQLite: a transaction that lost a race is tried again holding this lock and SQLite's
        # write lock from its first statement, so under many writers it cannot lose forever.
        self._sqlite_file = self.engine.dialect.name == "sqlite" and not self._inline
        self._writer = threading.Lock()

    async def run(
        self, fn: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Runs ``fn(session, *args, **kwargs)`` in one transaction, off the event loop.

        A locked database or a conflicting transaction is retried whole, with backoff, for up
        to ``retry_for`` seconds; then :class:`DatabaseBusy` is raised and nothing changed.
        ``fn`` must only touch the database: it may run more than once.
        """
        return await self._run(self._pool, fn, *args, **kwargs)

    async def run_first(
        self, fn: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """:meth:`run` on a thread of its own, never queued behind the workers' transactions:
        for short writes that the outside world is waiting on (a message Telegram accepted is
        recorded as sent through here, so a crash can repeat as few as possible)."""
        return await self._run(self._first_pool, fn, *args, **kwargs)

    async def _run(
        self, pool: Callable[[], ThreadPoolExecutor], fn: Callable[..., T], *args: Any,
        **kwargs: Any,
    ) -> T:  # fmt: skip
        """:meth:`run` on the executor ``pool`` gives."""
        call = functools.partial(self._transaction, fn, *args, **kwargs)
        serialized = False
        deadline = time.monotonic() + self.retry_for
        delay = 0.05
        while True:
            try:
                if self._inline:
                    return call()
                return await asyncio.get_running_loop().run_in_executor(pool(), call)
            except DBAPIError as exc:
                if not is_transient(exc):
                    raise
                if time.monotonic() + delay > deadline:
                    logger.warning("database busy: gave up after retrying for %ss", self.retry_for)
                    raise DatabaseBusy() from exc
                logger.info("database busy (%s): trying again", type(exc.orig).__name__)
            if self._sqlite_file and not serialized:
                # A race lost on SQLite (another writer committed first): again at once, in
                # turn, holding the write lock throughout, so it cannot lose again. Only a wait
                # that outlasted the busy timeout (another process) backs off below.
                serialized = True
                call = functools.partial(self._serialized, fn, *args, **kwargs)
                continue
            # Jitter keeps two retrying transactions from colliding again in step.
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, 2.0)

    def _transaction(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One attempt: ``fn`` in a session of its own, committed on return."""
        with self._session(self._retried_engine) as session:
            return fn(session, *args, **kwargs)

    def _serialized(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A retry on SQLite: one at a time in this process, taking SQLite's write lock at
        BEGIN (IMMEDIATE waits for other processes up to the busy timeout)."""
        with self._writer, self._session(self.engine) as session:
            return fn(session, *args, **kwargs)

    def _first_pool(self) -> ThreadPoolExecutor:
        """The one thread of :meth:`run_first`, started on first use."""
        if self._first is None:
            self._first = ThreadPoolExecutor(1, thread_name_prefix="sanad-db-first")
        return self._first

    def _pool(self) -> ThreadPoolExecutor:
        """The worker threads, started on first use (as many as pooled connections)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="sanad-db")
        return self._executor

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error (blocking: on the event
        loop, prefer :meth:`run`)."""
        with self._session(self.engine) as session:
            yield session

    @contextmanager
    def _session(self, bind: Engine) -> Iterator[Session]:
        """A session on ``bind`` that commits on success and rolls back on error."""
        with Session(bind, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def create_all(self) -> None:
        """Creates every table directly (tests); production uses :meth:`upgrade`."""
        SQLModel.metadata.create_all(self.engine)

    def upgrade(self) -> None:
        """Brings the schema to the newest alembic revision."""
        from alembic import command

        command.upgrade(alembic_config(self.url, self.engine), "head")

    def dispose(self) -> None:
        """Stops the worker threads and closes every pooled connection."""
        for executor in (self._executor, self._first):
            if executor is not None:
                executor.shutdown(wait=True)
        self._executor = self._first = None
        self.engine.dispose()


def alembic_config(url: str, engine: Engine | None = None) -> Any:
    """An alembic Config pointing at this package's migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config
