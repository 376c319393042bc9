"""Shared fixtures: a fresh database per test and settings that never touch the real home."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from bot.services import registry
from bot.settings import Settings
from storage.db import Database

POSTGRES_URL = os.environ.get("SANAD_TEST_POSTGRES_URL", "")

# `make test-fast` deselects both markers. e2e: a real PTB Application against the local Bot
# API (by path). translation: argostranslate with the fixture packages (by the fixtures that
# provide them, so the model-free tests under tests/translation stay in the fast run).
E2E_PATHS = ("tests/e2e/", "tests/localapi/test_ptb_flow.py")
TRANSLATION_FIXTURES = frozenset(
    {"models_dir", "fixture_packages", "with_models", "built_packages"}
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow end-to-end tests and the real-library translation tests."""
    for item in items:
        where = item.path.relative_to(config.rootpath).as_posix()
        if where.startswith(E2E_PATHS):
            item.add_marker(pytest.mark.e2e)
        if TRANSLATION_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.translation)


def postgres_url() -> str:
    """The test PostgreSQL URL; without one the test is skipped, except in CI
    (``SANAD_REQUIRE_POSTGRES``, set by ``.ci/run``), where a missing database is a failure.

    Under pytest-xdist each worker gets a schema of its own in that database (``gw0``, ...),
    so two workers never drop each other's tables."""
    if not POSTGRES_URL:
        if os.environ.get("SANAD_REQUIRE_POSTGRES"):
            pytest.fail("SANAD_REQUIRE_POSTGRES is set but SANAD_TEST_POSTGRES_URL is not")
        pytest.skip("SANAD_TEST_POSTGRES_URL is not set (PostgreSQL is optional outside CI)")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return _worker_schema(POSTGRES_URL, worker) if worker else POSTGRES_URL


@functools.cache
def _worker_schema(url: str, worker: str) -> str:
    """``url`` with ``worker``'s own schema first on the search path (created once)."""
    if not worker.isidentifier():
        raise ValueError(f"unexpected xdist worker name {worker!r}")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {worker}")
    engine.dispose()
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{worker}"


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A fresh database with every table and the reference data: in-memory SQLite, and
    PostgreSQL when ``SANAD_TEST_POSTGRES_URL`` names one (``.ci/run`` starts it)."""
    if request.param == "postgres":
        database = Database(postgres_url())
        SQLModel.metadata.drop_all(database.engine)
    else:
        database = Database("sqlite://")
    database.create_all()
    with database.session() as session:
        registry.seed(session)
    yield database
    database.dispose()


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22 warns on integer durations unless this is set; warnings are errors here."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: a file database and model folder under tmp_path."""
    return Settings(
        bot_token="123456:TEST-TOKEN",
        bot_username="sanad_test_bot",
        database_url=f"sqlite:///{tmp_path / 'sanad.db'}",
        models_dir=tmp_path / "models",
    )
