"""Fixtures for the local Bot API tests: a running server and a PTB Application against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder

from localapi import LocalBotAPI

TOKEN = "123456:LOCAL-TEST-TOKEN"


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt into PTB's timedelta durations: 22.8 otherwise warns (an error here) on RetryAfter."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
async def api() -> AsyncIterator[LocalBotAPI]:
    """A local Bot API server on a free loopback port."""
    async with LocalBotAPI(token=TOKEN, bot_username="sanad_local_bot") as server:
        yield server


@pytest.fixture
async def bot(api: LocalBotAPI) -> AsyncIterator[Bot]:
    """A bare PTB Bot pointed at the local server."""
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as client:
        yield client


@asynccontextmanager
async def running_app(
    api: LocalBotAPI, register: Callable[[Application], None]
) -> AsyncIterator[Application]:
    """Run a real PTB Application (polling) against ``api`` with handlers from ``register``."""
    app = (
        ApplicationBuilder()
        .token(api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )
    register(app)
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=5)
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
