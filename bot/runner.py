"""Starting the bot for real (long polling or webhook), or the offline demo without a token."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from telegram import Update

from bot.settings import Settings
from storage.db import Database

logger = logging.getLogger(__name__)


def configure_logging(level: str) -> None:
    """Plain logs to stderr; httpx's per-request lines (they carry the token) are silenced."""
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_bot(settings: Settings) -> int:
    """Runs the bot against Telegram (or TELEGRAM_API_BASE_URL) until stopped."""
    from bot.app import build_application

    db = Database(settings.database_url)
    db.upgrade()
    app = build_application(settings, db)
    if settings.webhook_url:
        logger.info("starting in webhook mode on port %s", settings.webhook_port)
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret or None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        logger.info("starting in long-polling mode")
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    db.dispose()
    return 0


def run_from_command_line(argv: list[str]) -> int:
    """``python -m bot [run|demo] [--interactive | --no-interactive]``."""
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
    settings = Settings.from_env()
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
    configure_logging(settings.log_level)
    return run_bot(settings)
