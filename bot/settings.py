"""Configuration from the environment (and an optional .env); secrets never have defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.services.reminder_times import (
    ReminderPolicy,
    parse_duration,
    parse_offsets,
    parse_quiet_hours,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The random-weight Argos packages the project's tests, demo checks and benchmarks use; built by
# tools/build_fixture_models.py into the repository itself (SANAD_FIXTURE_MODELS overrides).
FIXTURE_MODELS = Path(
    os.environ.get("SANAD_FIXTURE_MODELS", PROJECT_ROOT / "tests" / "fixtures" / "models")
)
TIMEZONE = "Europe/London"


def _env(name: str, default: str = "") -> str:
    """One environment variable, stripped."""
    return os.environ.get(name, default).strip()


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment."""

    bot_token: str = ""
    bot_username: str = "SanadKentBot"
    api_base_url: str = "https://api.telegram.org/bot"
    api_base_file_url: str = "https://api.telegram.org/file/bot"
    database_url: str = field(
        default_factory=lambda: f"sqlite:///{PROJECT_ROOT / 'data' / 'sanad.db'}"
    )
    models_dir: Path = PROJECT_ROOT / "data" / "models"
    invite_ttl_days: int = 14
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    log_level: str = "INFO"
    outbox_interval: float = 5.0
    # Pacing of sends (bot/delivery/ratelimit.py): messages a second overall (Telegram allows
    # about 30) and to one chat (Telegram allows about one, with short bursts).
    send_rate: float = 28.0
    send_rate_per_chat: float = 1.0
    # Sent and cancelled notices are deleted after this many days (failed ones are kept).
    outbox_keep_days: int = 30
    # Words, translations and files of requests resolved longer ago than this are deleted.
    retention_days: int = 90
    # This process's name on its outbox claims: each process draining one database needs its own.
    outbox_worker: str = "main"
    # An arrival date may be planned ahead, but not further than this many days from today.
    arrival_horizon_days: int = 90
    # How long start-up keeps retrying an unreachable Bot API before exiting with status 1.
    startup_retry_seconds: float = 300.0
    # Families book free slots starting at least BOOKING_MIN_NOTICE from now, within BOOKING_DAYS.
    booking_days: int = 14
    booking_min_notice: timedelta = timedelta(hours=2)
    # REMINDERS_APPOINTMENT, REMINDERS_CLASS and QUIET_HOURS (see reminder_times).
    reminder_policy: ReminderPolicy = field(default_factory=ReminderPolicy)
    # A staff chat (a person's or a group's Telegram id) told of each update or job that failed
    # for good, by reference only; unset, failures are only logged.
    error_chat_id: int | None = None

    @classmethod
    def from_env(cls) -> Settings:
        """Reads the settings, loading ``.env`` first when it exists."""
        try:
            from dotenv import load_dotenv

            load_dotenv(PROJECT_ROOT / ".env", override=False)
        except ImportError:  # pragma: no cover - python-dotenv is a dependency
            pass
        defaults = cls()
        return cls(
            bot_token=_env("BOT_TOKEN"),
            bot_username=_env("BOT_USERNAME", defaults.bot_username).lstrip("@"),
            api_base_url=_env("TELEGRAM_API_BASE_URL", defaults.api_base_url),
            api_base_file_url=_env("TELEGRAM_API_BASE_FILE_URL", defaults.api_base_file_url),
            database_url=_env("DATABASE_URL", defaults.database_url),
            models_dir=Path(_env("SANAD_MODELS_DIR", str(defaults.models_dir))),
            invite_ttl_days=int(_env("INVITE_TTL_DAYS", str(defaults.invite_ttl_days))),
            webhook_url=_env("WEBHOOK_URL"),
            webhook_secret=_env("WEBHOOK_SECRET"),
            webhook_listen=_env("WEBHOOK_LISTEN", defaults.webhook_listen),
            webhook_port=int(_env("WEBHOOK_PORT", str(defaults.webhook_port))),
            log_level=_env("LOG_LEVEL", defaults.log_level).upper(),
            outbox_interval=float(_env("OUTBOX_INTERVAL", str(defaults.outbox_interval))),
            send_rate=float(_env("SEND_RATE", str(defaults.send_rate))),
            send_rate_per_chat=float(_env("SEND_RATE_PER_CHAT", str(defaults.send_rate_per_chat))),
            outbox_keep_days=int(_env("OUTBOX_KEEP_DAYS", str(defaults.outbox_keep_days))),
            retention_days=int(_env("RETENTION_DAYS", str(defaults.retention_days))),
            outbox_worker=_env("OUTBOX_WORKER", defaults.outbox_worker),
            arrival_horizon_days=int(
                _env("ARRIVAL_HORIZON_DAYS", str(defaults.arrival_horizon_days))
            ),
            startup_retry_seconds=float(
                _env("STARTUP_RETRY_SECONDS", str(defaults.startup_retry_seconds))
            ),
            booking_days=int(_env("BOOKING_DAYS", str(defaults.booking_days))),
            booking_min_notice=parse_duration(_env("BOOKING_MIN_NOTICE", "2h")),
            reminder_policy=ReminderPolicy(
                appointment=parse_offsets(_env("REMINDERS_APPOINTMENT", "24h,2h")),
                esol_class=parse_offsets(_env("REMINDERS_CLASS", "2h")),
                quiet=parse_quiet_hours(_env("QUIET_HOURS", "21:00-08:00")),
            ),
            error_chat_id=int(_env("ERROR_CHAT_ID")) if _env("ERROR_CHAT_ID") else None,
        )
