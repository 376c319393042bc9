"""Logging for every entry point: secrets masked, one-line errors, libraries kept quiet.

The libraries' loggers are capped below the levels at which they log content (request URLs
carry the token, update payloads names and words, SQL parameters a family's words).
"""

from __future__ import annotations

import logging
import sys

REDACTED = "<BOT_TOKEN>"


class SafeFormatter(logging.Formatter):
    """Log lines with the token masked and, unless debugging, exceptions as one line."""

    def __init__(self, fmt: str, *, secrets: list[str], tracebacks: bool) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        """Formats the record, then masks every secret in the whole text."""
        if record.exc_info and not self.tracebacks:
            # Exception messages may carry parameters; the class name says enough here.
            name = record.exc_info[0].__name__ if record.exc_info[0] else "error"
            record = logging.makeLogRecord(record.__dict__)
            record.msg = f"{record.getMessage()} ({name})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return redact(super().format(record), self.secrets)


def redact(text: str, secrets: list[str]) -> str:
    """The text with every secret replaced by a placeholder."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


# Libraries whose DEBUG (and for some, INFO) lines carry request URLs (the token), update
# payloads (names, message text) or SQL parameters (a family's words): capped whatever LOG_LEVEL.
LIBRARY_LEVELS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "apscheduler": logging.WARNING,
    "aiohttp.access": logging.WARNING,
    "alembic": logging.WARNING,
    "telegram": logging.INFO,
    "sqlalchemy": logging.WARNING,
    "argostranslate": logging.WARNING,
    "stanza": logging.WARNING,
    "asyncio": logging.INFO,
}


def log_handler(level: str, *, secrets: list[str] | None = None) -> logging.Handler:
    """The stderr handler every log line goes through, with secrets masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        SafeFormatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s",
            secrets=secrets or [],
            tracebacks=level == "DEBUG",
        )
    )
    return handler


def cap_library_loggers() -> None:
    """Keeps the libraries' own loggers above the levels at which they log content."""
    for name, level in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(level)


def configure_logging(level: str, *, secrets: list[str] | None = None) -> None:
    """Plain logs to stderr; the token never appears, even in httpx's request lines."""
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        handlers=[log_handler(level, secrets=secrets)],
    )
    cap_library_loggers()
