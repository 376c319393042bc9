"""Starting the bot for real (long polling or webhook), or the offline demo without a token.

Start-up explains itself: an unreachable Bot API, a wrong URL or a refused token is told in one
line (never the token, never a traceback), and a network blip at boot is waited out.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TextIO

import httpx
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import TelegramError

from bot.delivery import heartbeat
from bot.logs import configure_logging, redact
from bot.services import lease
from bot.settings import Settings
from storage.db import Database, DatabaseConfigError, describe_error

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 10.0  # seconds for one getMe at start-up
FIRST_DELAY = 1.0  # seconds before the first retry; doubles up to MAX_DELAY
MAX_DELAY = 60.0
# A blip between the start-up check and PTB's own bootstrap is retried by PTB this many times.
BOOTSTRAP_RETRIES = 3
# Only the updates Sanad handles are asked for (handlers/__init__.py registers each of them).
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
]


@dataclass(frozen=True)
class ProbeFailure:
    """Why the Bot API could not be used, what to check, and whether waiting can help."""

    what: str
    check: str
    retry: bool


def method_url(base_url: str, token: str, method: str) -> str:
    """A Bot API method URL the way PTB builds it (``{token}`` in the base, or appended)."""
    base = base_url.format(token=token) if "{token}" in base_url else base_url + token
    return f"{base}/{method}"


async def probe(settings: Settings, client: httpx.AsyncClient) -> ProbeFailure | None:
    """Calls getMe once; None when the Bot API answered and accepted the token."""
    url = method_url(settings.api_base_url, settings.bot_token, "getMe")
    network = "check TELEGRAM_API_BASE_URL, the network and any proxy or firewall"
    try:
        response = await client.get(url, timeout=PROBE_TIMEOUT)
    except httpx.TimeoutException:
        return ProbeFailure(f"no answer within {PROBE_TIMEOUT:.0f} s", network, retry=True)
    except httpx.HTTPError as exc:
        reason = redact(str(exc), [settings.bot_token])[:200] or type(exc).__name__
        return ProbeFailure(f"cannot connect ({reason})", network, retry=True)
    if response.status_code == 401:
        return ProbeFailure(
            "the token was refused (401 Unauthorized)",
            "check BOT_TOKEN: it must be the token BotFather gave this bot",
            retry=False,
        )
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "ok" not in body:
        return ProbeFailure(
            f"the answer (HTTP {response.status_code}) is not from a Bot API",
            "check TELEGRAM_API_BASE_URL: it must end in /bot, e.g. https://api.telegram.org/bot",
            retry=True,
        )
    if body.get("ok"):
        return None
    description = str(body.get("description", ""))[:200]
    if response.status_code == 404:
        return ProbeFailure(
            f"getMe was not found (404 {description})",
            "check TELEGRAM_API_BASE_URL (it ends in /bot) and that BOT_TOKEN looks like "
            "123456:ABC-DEF…",
            retry=False,
        )
    return ProbeFailure(
        f"the Bot API answered {response.status_code} {description}",
        "check the Bot API server's status",
        retry=response.status_code >= 500 or response.status_code == 429,
    )


async def wait_for_bot_api(
    settings: Settings,
    *,
    out: TextIO | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Checks the Bot API and token before starting, retrying with backoff for a while.

    Prints one line per new kind of failure and one when giving up; False means do not start.
    """
    out = out or sys.stderr
    budget = max(0.0, settings.startup_retry_seconds)
    started = clock()
    delay = FIRST_DELAY
    told: str | None = None
    where = f"the Bot API at {settings.api_base_url}"
    async with httpx.AsyncClient() as client:
        while True:
            failure = await probe(settings, client)
            if failure is None:
                if told is not None:
                    print(f"{where} is reachable now; starting.", file=out, flush=True)
                return True
            left = budget - (clock() - started)
            line = f"cannot start: {where}: {failure.what}; {failure.check}."
            if not failure.retry:
                print(f"{line} Not retrying.", file=out, flush=True)
                return False
            if left <= 0:
                if told is None:
                    print(f"{line} Not retrying (STARTUP_RETRY_SECONDS={budget:g}).", file=out)
                else:
                    print(f"giving up after {budget:g} s: {where}: {failure.what}.", file=out)
                return False
            if failure.what != told:
                print(f"{line} Retrying for up to {left:.0f} s.", file=out, flush=True)
                told = failure.what
            await sleep(min(delay, left))
            delay = min(delay * 2, MAX_DELAY)


def _open_database(settings: Settings) -> Database | None:
    """The migrated database, or None after one line saying what is wrong."""
    try:
        db = Database(settings.database_url)
    except DatabaseConfigError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return None
    try:
        db.upgrade()
    except SQLAlchemyError as exc:
        print(f"cannot start: {describe_error(exc, settings.database_url)}", file=sys.stderr)
        db.dispose()
        return None
    return db


def run_bot(settings: Settings) -> int:
    """Runs the bot against Telegram (or TELEGRAM_API_BASE_URL) until stopped."""
    from bot.app import build_application

    db = _open_database(settings)
    if db is None:
        return 1
    try:
        if not asyncio.run(wait_for_bot_api(settings)):
            return 1
        holder = lease.Holder.this_process()
        with db.session() as session:
            taken = lease.acquire(session, holder)
        if taken is not None:
            print(
                "cannot start: another Sanad is already running on this database "
                f"(host {taken.host}, pid {taken.pid}, since {taken.since:%Y-%m-%d %H:%M} UTC); "
                "stop it first. A stopped one frees the database at once; one on another "
                f"machine that died frees it at {taken.expires_at:%H:%M:%S} UTC.",
                file=sys.stderr,
            )
            return 1
        app = build_application(settings, db)
        app.bot_data.extras[heartbeat.HOLDER] = holder
        if settings.webhook_url:
            # Each call is stored in the inbox before it is answered 200 (bot/inbound/webhook.py).
            from bot.inbound import webhook

            logger.info("starting in webhook mode on port %s", settings.webhook_port)
            server = webhook.WebhookServer(
                app,
                db,
                url=settings.webhook_url,
                secret=settings.webhook_secret,
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                allowed_updates=ALLOWED_UPDATES,
            )
            try:
                webhook.run(app, server, bootstrap_retries=BOOTSTRAP_RETRIES)
            except webhook.CannotListen as exc:  # the port is taken, or not this machine's
                print(f"cannot start: {exc}", file=sys.stderr)
                return 1
        else:
            logger.info("starting in long-polling mode")
            app.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=BOOTSTRAP_RETRIES)
    except KeyboardInterrupt:
        return 130
    except TelegramError as exc:
        message = redact(str(exc), [settings.bot_token])[:200]
        print(f"stopped: the Bot API failed ({type(exc).__name__}: {message})", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0


def health_command(argv: list[str]) -> int:
    """``python -m bot health [--json]``: 0 when healthy, 1 when not, 2 when unreadable."""
    from bot.health import render, report

    as_json = "--json" in argv
    try:
        settings = Settings.from_env()
        db = Database(settings.database_url)
    except (ValueError, DatabaseConfigError) as exc:
        print(f"cannot check: {exc}", file=sys.stderr)
        return 2
    try:
        with db.session() as session:
            found = report(session)
    except SQLAlchemyError as exc:
        print(f"cannot check: {describe_error(exc, settings.database_url)}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(render(found, as_json))
    return 0 if found["ok"] else 1


def run_from_command_line(argv: list[str]) -> int:
    """``python -m bot [run|demo|health] [--interactive | --no-interactive | --json]``."""
    if argv[:1] == ["health"]:
        return health_command(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bot")
    parser.add_argument(
        "mode", nargs="?", choices=["run", "demo"],
        help="default: run with a BOT_TOKEN, else the offline demo",
    )  # fmt: skip
    parser.add_argument(
        "--interactive", dest="interactive", action="store_true", default=None,
        help="after the script, chat as each persona (default: on a terminal)",
    )  # fmt: skip
    parser.add_argument("--no-interactive", dest="interactive", action="store_false")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"cannot start: a setting in the environment is not valid: {exc}", file=sys.stderr)
        return 2
    if args.mode == "demo" or (args.mode is None and not settings.bot_token):
        configure_logging("WARNING")
        from bot.demo import run_demo

        interactive = sys.stdin.isatty() if args.interactive is None else args.interactive
        try:
            return asyncio.run(run_demo(interactive=interactive))
        except KeyboardInterrupt:
            return 130
    if not settings.bot_token:
        print("BOT_TOKEN is not set; run without 'run' for the offline demo.", file=sys.stderr)
        return 2
    if settings.webhook_url and len(settings.webhook_secret) < 16:
        print(
            "cannot start: webhook mode (WEBHOOK_URL) needs WEBHOOK_SECRET, a random string of "
            "at least 16 characters (A-Z, a-z, 0-9, _ and -) that Telegram sends with each call",
            file=sys.stderr,
        )
        return 2
    configure_logging(settings.log_level, secrets=[settings.bot_token, settings.webhook_secret])
    return run_bot(settings)
