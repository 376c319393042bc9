"""Start-up explains itself: one line per problem, backoff for a while, never the token."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import sys
from pathlib import Path

import pytest

from bot.logs import SafeFormatter
from bot.runner import wait_for_bot_api
from bot.settings import Settings
from localapi import LocalBotAPI

TOKEN = "123456:STARTUP-SECRET-TOKEN"
SECRET = "STARTUP-SECRET-TOKEN"


def _closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _settings(base_url: str, *, retry: float = 0.0, token: str = TOKEN) -> Settings:
    """Settings pointing the bot at ``base_url``."""
    return Settings(bot_token=token, api_base_url=base_url, startup_retry_seconds=retry)


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        """The current fake time."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Records the delay and moves the clock."""
        self.sleeps.append(seconds)
        self.now += seconds


async def test_an_unreachable_api_is_retried_with_backoff_then_given_up() -> None:
    fake, out = FakeTime(), io.StringIO()
    base = f"http://127.0.0.1:{_closed_port()}/bot"
    ok = await wait_for_bot_api(
        _settings(base, retry=10), out=out, sleep=fake.sleep, clock=fake.clock
    )
    assert ok is False
    assert fake.sleeps == [1.0, 2.0, 4.0, 3.0]
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"cannot start: the Bot API at {base}: cannot connect")
    assert "check TELEGRAM_API_BASE_URL" in lines[0] and "Retrying for up to 10 s" in lines[0]
    assert lines[1].startswith("giving up after 10 s")
    assert SECRET not in out.getvalue()


async def test_start_up_goes_on_once_the_api_comes_back() -> None:
    port, out = _closed_port(), io.StringIO()
    servers: list[LocalBotAPI] = []

    async def sleep_then_start(seconds: float) -> None:
        """The Bot API comes up while the bot waits."""
        if not servers:
            servers.append(LocalBotAPI(token=TOKEN, port=port))
            await servers[0].start()

    settings = _settings(f"http://127.0.0.1:{port}/bot", retry=300)
    try:
        assert await wait_for_bot_api(settings, out=out, sleep=sleep_then_start) is True
    finally:
        for server in servers:
            await server.stop()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "Retrying" in lines[0] and "reachable now" in lines[1]


async def test_a_refused_token_is_reported_at_once() -> None:
    fake, out = FakeTime(), io.StringIO()
    async with LocalBotAPI(token="123456:THE-RIGHT-ONE") as api:
        settings = _settings(api.base_url, retry=300)
        assert (
            await wait_for_bot_api(settings, out=out, sleep=fake.sleep, clock=fake.clock) is False
        )
    assert fake.sleeps == []
    line = out.getvalue().strip()
    assert "401 Unauthorized" in line and "check BOT_TOKEN" in line and "Not retrying" in line
    assert SECRET not in line and "THE-RIGHT-ONE" not in line


async def test_a_malformed_token_and_a_wrong_url_are_named() -> None:
    out = io.StringIO()
    async with LocalBotAPI(token=TOKEN) as api:
        malformed = _settings(api.base_url, token="not-a-token")
        assert await wait_for_bot_api(malformed, out=out) is False
        wrong_path = _settings(api.base_url.replace("/bot", "/api/bot"))
        assert await wait_for_bot_api(wrong_path, out=out) is False
    first, second = out.getvalue().splitlines()
    assert "getMe was not found (404" in first and "123456:ABC" in first
    assert "is not from a Bot API" in second and "it must end in /bot" in second
    assert "not-a-token" not in first and SECRET not in second


def test_log_lines_never_carry_the_token_nor_a_traceback() -> None:
    formatter = SafeFormatter("%(levelname)s %(message)s", secrets=[TOKEN], tracebacks=False)
    try:
        raise ConnectionError(f"GET https://api.telegram.org/bot{TOKEN}/getMe failed")
    except ConnectionError:
        record = logging.LogRecord(
            "httpx", logging.ERROR, __file__, 1, "HTTP Request: %s", (f"/bot{TOKEN}/x",),
            sys.exc_info(),
        )  # fmt: skip
    text = formatter.format(record)
    assert text == "ERROR HTTP Request: /bot<BOT_TOKEN>/x (ConnectionError)"
    verbose = SafeFormatter("%(message)s", secrets=[TOKEN], tracebacks=True).format(record)
    assert "Traceback" in verbose and TOKEN not in verbose


async def _run_bot(env: dict[str, str], tmp_path: Path) -> tuple[int, str, str]:
    """Runs ``python -m bot`` as a process; returns (status, stdout, stderr)."""
    full = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "BOT_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "SANAD_MODELS_DIR": str(tmp_path / "models"),
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", env=full,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.e2e
async def test_the_bot_process_says_one_line_for_a_closed_port(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{_closed_port()}/bot"
    status, out, err = await _run_bot(
        {"TELEGRAM_API_BASE_URL": base, "STARTUP_RETRY_SECONDS": "0"}, tmp_path
    )
    assert status == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert base in lines[0] and "cannot connect" in lines[0] and "STARTUP_RETRY_SECONDS=0" in err
    assert SECRET not in err and "Traceback" not in err
    # Debug logging adds lines, but still neither the token nor a traceback.
    status, out, err = await _run_bot(
        {"TELEGRAM_API_BASE_URL": base, "STARTUP_RETRY_SECONDS": "0", "LOG_LEVEL": "DEBUG"},
        tmp_path,
    )
    assert status == 1 and "cannot connect" in err
    assert SECRET not in out + err and "Traceback" not in err


@pytest.mark.e2e
async def test_the_bot_process_reports_a_bad_token_at_once(tmp_path: Path) -> None:
    async with LocalBotAPI(token="123456:ANOTHER-TOKEN") as api:
        # A long retry budget: a retried 401 would hang until the timeout and fail the test.
        status, out, err = await _run_bot(
            {"TELEGRAM_API_BASE_URL": api.base_url, "STARTUP_RETRY_SECONDS": "300"}, tmp_path
        )
        calls = [name for name, _ in api.world.requests_log]
    assert status == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "401 Unauthorized" in lines[0] and "check BOT_TOKEN" in lines[0]
    assert SECRET not in err and "Traceback" not in err
    assert calls == []  # refused before any method ran


@pytest.mark.e2e
async def test_webhook_mode_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    for secret in ("", "short"):
        status, out, err = await _run_bot(
            {"WEBHOOK_URL": "https://sanad.example/hook", "WEBHOOK_SECRET": secret}, tmp_path
        )
        assert status == 2 and out == ""
        assert "WEBHOOK_SECRET" in err and "Traceback" not in err
        assert secret == "" or secret not in err  # the wrong value is never echoed
        assert not (tmp_path / "bot.db").exists()  # refused before anything was touched


def test_only_handled_update_types_are_asked_for() -> None:
    from bot.runner import ALLOWED_UPDATES

    assert sorted(ALLOWED_UPDATES) == [
        "callback_query", "edited_message", "message", "my_chat_member"
    ]  # fmt: skip
