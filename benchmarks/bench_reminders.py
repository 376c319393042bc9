"""Reminders: start-up with many pending, and the lateness of many due at the same second.

Both scenarios build the real Application (bot.app.build_application) over a SQLite file and
the project's local Bot API. (1) N pending reminders (default 50,000): time from
build_application through initialize, post_init and start to the reminder clock being armed,
beside the same start with none pending. (2) M reminders (default 500) to M chats due at the
same second, with Telegram's limits on (30/s overall) and the bot's SEND_RATE at its default:
lateness of each (stored by the local Bot API minus due time), p50/p99, against the goal
p99 <= 1.1 x (M / 30 s) + 2 s.
Run: ``.venv/bin/python -m benchmarks.bench_reminders [--pending 50000] [--due 500]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import select

from benchmarks.loadkit import percentile, write_result
from bot.app import build_application
from bot.delivery import reminder_clock
from bot.services import registry
from bot.settings import Settings
from localapi import LocalBotAPI
from localapi.limits import TelegramLimits
from storage.db import Database
from storage.models import (
    Appointment,
    AppointmentKind,
    AppointmentMode,
    District,
    Household,
    Member,
    Reminder,
    Scheme,
)
from storage.types import utcnow

TOKEN = "515151:REMINDER-BENCH"
TELEGRAM_OVERALL = 30.0
FIRST_CHAT = 8_000_000_000


def _database(folder: Path, name: str) -> tuple[str, Database]:
    """A fresh SQLite file with every table and the reference data."""
    url = f"sqlite:///{folder / name}"
    db = Database(url)
    db.create_all()
    with db.session() as session:
        registry.seed(session)
    return url, db


def _household(db: Database, members: int, starts_at: datetime) -> tuple[int, list[int]]:
    """One household with ``members`` linked, consented members and one booked meeting."""
    now = utcnow()
    with db.session() as session:
        district = session.exec(select(District)).first()
        scheme = session.exec(select(Scheme)).first()
        assert district is not None and scheme is not None
        household = Household(
            reference="BENCH-1", district_id=district.id or 0, scheme_id=scheme.id or 0,
            arrived_on=date(2025, 1, 1), support_ends_on=date(2030, 1, 1),
        )  # fmt: skip
        session.add(household)
        session.flush()
        session.execute(
            insert(Member),
            [
                {
                    "household_id": household.id,
                    "name": f"M{i}",
                    "telegram_user_id": FIRST_CHAT + i,
                    "consent_at": now,
                    "linked_at": now,
                    "created_at": now,
                }
                for i in range(members)
            ],
        )
        appointment = Appointment(
            household_id=household.id or 0, kind=AppointmentKind.BOOKING,
            mode=AppointmentMode.OFFICE, starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=30),
        )  # fmt: skip
        session.add(appointment)
        session.flush()
        ids = list(session.exec(select(Member.id).order_by(Member.id)))  # type: ignore[arg-type]
        return appointment.id or 0, [i for i in ids if i is not None]


def _reminders(db: Database, appointment: int, members: list[int], dues: list[datetime]) -> None:
    """Pending reminder rows, one per due time, round-robin over the members."""
    event = max(dues) + timedelta(hours=1)
    with db.session() as session:
        appointment_row = session.get(Appointment, appointment)
        assert appointment_row is not None
        appointment_row.starts_at, appointment_row.ends_at = event, event + timedelta(minutes=30)
        session.add(appointment_row)
        now = utcnow()
        rows = [
            {
                "key": f"bench:{i}",
                "member_id": members[i % len(members)],
                "appointment_id": appointment,
                "event_at": event,
                "offset_minutes": 60,
                "due_at": due,
                "state": "pending",
                "created_at": now,
            }
            for i, due in enumerate(dues)
        ]
        for start in range(0, len(rows), 5000):
            session.execute(insert(Reminder), rows[start : start + 5000])


def _settings(api: LocalBotAPI, url: str, folder: Path) -> Settings:
    """The bot's settings at their defaults, pointed at the local Bot API and the file."""
    return Settings(
        bot_token=TOKEN, bot_username="sanad_bench_bot", api_base_url=api.base_url,
        api_base_file_url=api.base_file_url, database_url=url, models_dir=folder / "models",
    )  # fmt: skip


async def _start(settings: Settings, db: Database) -> tuple[Any, float]:
    """Builds and starts the Application; returns it and the seconds until the clock is armed."""
    began = time.perf_counter()
    app = build_application(settings, db)
    await app.initialize()
    await app.post_init(app)  # type: ignore[misc]
    await app.start()
    await reminder_clock.wait_armed(app, timeout=600)
    return app, time.perf_counter() - began


async def _stop(app: Any) -> None:
    """Stops the Application as run_polling does."""
    await app.stop()
    await app.post_shutdown(app)
    await app.shutdown()


async def startup(pending: int, folder: Path) -> dict[str, Any]:
    """Seconds from build to armed, with ``pending`` reminders and with none."""
    figures: dict[str, Any] = {}
    async with LocalBotAPI(token=TOKEN, bot_username="sanad_bench_bot") as api:
        # The first start pays for imports and catalogues: a warm-up, not a figure.
        for label, count in (("warm-up", 0), ("empty", 0), ("pending", pending)):
            url, db = _database(folder, f"start-{label}.db")
            horizon = utcnow() + timedelta(days=1)
            appointment, members = _household(db, 50, horizon)
            spread = [horizon + timedelta(seconds=50 * i) for i in range(count)]
            _reminders(db, appointment, members, spread or [horizon])
            if count == 0:
                with db.session() as session:
                    session.execute(Reminder.__table__.delete())  # type: ignore[attr-defined]
            app, seconds = await _start(_settings(api, url, folder), db)
            figures[label] = round(seconds, 3)
            await _stop(app)
            db.dispose()
    figures.pop("warm-up")
    figures["ratio"] = round(figures["pending"] / figures["empty"], 2)
    return figures


async def lateness(due_count: int, folder: Path) -> dict[str, Any]:
    """Lateness of ``due_count`` reminders due at one second, under Telegram's limits."""
    url, db = _database(folder, "due.db")
    due_at = utcnow() + timedelta(seconds=8)  # after start-up, so the clock is armed first
    appointment, members = _household(db, due_count, due_at + timedelta(hours=1))
    _reminders(db, appointment, members, [due_at] * due_count)
    arrived: dict[int, float] = {}
    async with LocalBotAPI(
        token=TOKEN, bot_username="sanad_bench_bot", rate_limits=TelegramLimits()
    ) as api:
        for i in range(due_count):
            api.user(FIRST_CHAT + i, first_name=f"M{i}", language_code="ar")
        api.on_message(lambda chat, _: arrived.setdefault(chat, time.time()))
        settings = _settings(api, url, folder)
        app, _ = await _start(settings, db)
        deadline = time.monotonic() + 300
        while len(arrived) < due_count and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        too_many = api.counters.too_many_requests
        await _stop(app)
    db.dispose()
    late = sorted(at - due_at.timestamp() for at in arrived.values())
    needed = due_count / TELEGRAM_OVERALL
    goal = 1.1 * needed + 2.0
    p99 = percentile(late, 0.99) if late else float("nan")
    return {
        "reminders": due_count,
        "delivered": len(late),
        "send_rate": settings.send_rate,
        "p50_s": round(percentile(late, 0.50), 2) if late else None,
        "p99_s": round(p99, 2),
        "max_s": round(late[-1], 2) if late else None,
        "needed_at_30_per_s": round(needed, 2),
        "goal_p99_s": round(goal, 2),
        "p99_over_goal": round(p99 / goal, 2),
        "429s": too_many,
    }


def _table(start: dict[str, Any], late: dict[str, Any], pending: int) -> str:
    """The figures as a small table."""
    rows = [
        ("start to armed, none pending (s)", start["empty"]),
        (f"start to armed, {pending:,} pending (s)", start["pending"]),
        ("ratio pending / none", start["ratio"]),
        (f"{late['reminders']} due at once: delivered", late["delivered"]),
        ("lateness p50 (s)", late["p50_s"]),
        ("lateness p99 (s)", late["p99_s"]),
        ("lateness max (s)", late["max_s"]),
        ("time 30/s makes necessary (s)", late["needed_at_30_per_s"]),
        ("goal for p99: 1.1 x that + 2 (s)", late["goal_p99_s"]),
        ("p99 / goal", late["p99_over_goal"]),
        ("429s from the local Bot API", late["429s"]),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


async def main(pending: int, due: int) -> None:
    """Runs both scenarios and prints and stores the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = await startup(pending, folder)
        late = await lateness(due, folder)
    print(_table(start, late, pending))
    path = write_result("bench_reminders", {"startup_s": start, "lateness": late})
    print(f"written to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=50_000)
    parser.add_argument("--due", type=int, default=500)
    options = parser.parse_args()
    asyncio.run(main(options.pending, options.due))
