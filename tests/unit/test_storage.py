"""Storage: UTC round trips on SQLite, BigInteger Telegram ids, and migrations matching models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import StatementError
from sqlmodel import SQLModel, select

from bot.services import registry
from storage.db import Database
from storage.models import AuditEvent, Member


def test_times_come_back_aware_in_utc(db: Database) -> None:
    plus_two = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with db.session() as session:
        session.add(AuditEvent(actor="admin", action="x", subject="y", at=plus_two))
    with db.session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "x")).one()
    assert event.at == datetime(2026, 6, 1, 10, 0, tzinfo=UTC) and event.at.tzinfo is UTC


def test_naive_times_are_refused(db: Database) -> None:
    with pytest.raises(StatementError), db.session() as session:
        session.add(AuditEvent(actor="a", action="b", subject="c", at=datetime(2026, 1, 1)))


def test_telegram_ids_beyond_32_bits(db: Database) -> None:
    with db.session() as session:
        registry.add_family(
            session, ref="F1", district="Dover", scheme="VPRS", arrived="2024-01-01"
        )
        member = registry.add_member(session, family="F1", name="A")
        member.telegram_user_id = 8_000_000_000_123
    with db.session() as session:
        assert session.get(Member, member.id).telegram_user_id == 8_000_000_000_123  # type: ignore[union-attr]


def test_migrations_build_exactly_the_models(tmp_path) -> None:  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'm.db'}")
    database.upgrade()
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    database.dispose()
    assert diff == []


def test_sqlite_uses_wal_and_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    database.dispose()


def test_sqlite_file_is_private(tmp_path: Path) -> None:
    """The database holds special-category data: only the service user may read it."""
    import stat

    from storage.db import Database

    path = tmp_path / "private.db"
    db = Database(f"sqlite:///{path}")
    db.create_all()
    db.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)  # an older file, created before this rule, is narrowed on start
    Database(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
