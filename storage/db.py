"""Engine and sessions: SQLite by default (WAL, foreign keys on), PostgreSQL via DATABASE_URL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
            folder.mkdir(parents=True, exist_ok=True)
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Turns on foreign keys and WAL for every SQLite connection.

    pysqlite's own transaction handling breaks SAVEPOINTs (a CSV import relies on them), so
    autocommit is switched off here and SQLAlchemy emits BEGIN itself (:func:`_sqlite_begin`).
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    """Starts every SQLite transaction explicitly."""
    connection.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    """Creates an engine for ``url`` after :func:`check_url` (raises DatabaseConfigError)."""
    parsed = check_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False}
        if parsed.database in (None, "", ":memory:"):
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


class Database:
    """Owns the engine and hands out sessions; the one transaction boundary of the app."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
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
        """Closes every pooled connection."""
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
