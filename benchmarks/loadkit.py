"""Shared parts of the load benchmarks: a populated database, the bot as a real subprocess
(``python -m bot``) against the local Bot API, bulk notices queued in the outbox, and clocks
that stop when a marked message lands in a chat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.services import people, registry, tickets
from bot.services.tickets import Part
from bot.settings import PROJECT_ROOT
from localapi import LocalBotAPI
from storage.db import Database

RESULTS = PROJECT_ROOT / "benchmarks" / "results"
FAMILY_BASE = 6_000_000_000  # family i's Telegram id is FAMILY_BASE + i
CASEWORKER_BASE = 6_500_000_000  # caseworker j's Telegram id is CASEWORKER_BASE + j
BULK_BASE = 7_000_000_000  # bulk recipient k's Telegram id is BULK_BASE + k
MARK = re.compile(r"REF(\d{6})")


def marked(index: int, *, english: bool = False) -> str:
    """A family message carrying a marker the clock looks for in the caseworker's chat."""
    if english:
        return f"The kitchen tap has been leaking since this morning, REF{index:06d}"
    return f"الحنفية في المطبخ تسرب الماء منذ الصباح REF{index:06d}"


@dataclass
class Population:
    """Who exists: families (Telegram ids) with their caseworker's chat, and caseworkers."""

    families: list[int]
    caseworkers: list[int]
    caseworker_of: dict[int, int]


def populate(
    db: Database, *, families: int, caseworkers: int, english_from: int | None = None
) -> Population:
    """Seeds the database: caseworkers, households each with one joined member and one open
    request (families from ``english_from`` on are registered as English speakers)."""
    db.upgrade()
    population = Population([], [], {})
    with db.session() as session:
        registry.seed(session)
        registry.add_provider(session, name="Bench Provider", districts=["Dover"])
        staff_ids = []
        for j in range(caseworkers):
            staff = registry.add_staff(
                session, role="caseworker", name=f"Caseworker {j}", provider="Bench Provider"
            )
            staff.telegram_user_id = CASEWORKER_BASE + j
            session.add(staff)
            staff_ids.append(staff.id)
            population.caseworkers.append(CASEWORKER_BASE + j)
        session.flush()
        for i in range(families):
            english = english_from is not None and i >= english_from
            ref = f"KB-{i:05d}"
            registry.add_family(
                session, ref=ref, district="Dover", scheme="VPRS", arrived="2024-01-01",
                caseworker_id=staff_ids[i % caseworkers], language="en" if english else "ar",
            )  # fmt: skip
            member = registry.add_member(session, family=ref, name=f"Member {i}")
            member.telegram_user_id = FAMILY_BASE + i
            member.consent_at = datetime.now(UTC)
            session.add(member)
            session.flush()
            person = people.identify(
                session, telegram_user_id=FAMILY_BASE + i, language_code="en" if english else "ar"
            )
            tickets.open_ticket(session, person=person, category="housing", parts=[Part(text="x")])
            population.families.append(FAMILY_BASE + i)
            population.caseworker_of[FAMILY_BASE + i] = CASEWORKER_BASE + i % caseworkers
    return population


def queue_bulk(db: Database, chat_ids: Iterable[int], *, prefix: str) -> int:
    """Queues one bulk notice per chat in the outbox, in one transaction; returns how many.

    The one place that knows the outbox's queueing API (the new outbox, else the old one).
    """
    count = 0
    with db.session() as session:
        try:
            from bot.delivery.lanes import Lane
            from bot.services import outbox  # type: ignore[attr-defined]

            for chat_id in chat_ids:
                count += outbox.enqueue(
                    session, key=f"{prefix}:{chat_id}", chat_id=chat_id,
                    kind=outbox.ACCOUNT_UNLINKED, lane=Lane.BULK, language="en",
                )  # fmt: skip
        except ImportError:
            from bot.services import notifications  # type: ignore[attr-defined]

            for chat_id in chat_ids:
                count += notifications.enqueue(
                    session, key=f"{prefix}:{chat_id}", chat_id=chat_id,
                    template=notifications.ACCOUNT_UNLINKED, language="en",
                )  # fmt: skip
    return count


@dataclass
class Clock:
    """Times from a family's message to its marker landing in a watched chat, and the time of
    every bot message per chat, read from the local Bot API as each message is stored."""

    watched: set[int] = field(default_factory=set)
    sent_at: dict[int, float] = field(default_factory=dict)
    landed_at: dict[int, float] = field(default_factory=dict)
    arrivals: dict[int, list[float]] = field(default_factory=dict)
    machine_translated: set[int] = field(default_factory=set)  # markers seen with "[mt]"

    def attach(self, api: LocalBotAPI) -> None:
        """Start listening to ``api``."""
        api.on_message(self._on_message)

    def _on_message(self, chat_id: int, message: dict[str, Any]) -> None:
        now = time.perf_counter()
        self.arrivals.setdefault(chat_id, []).append(now)
        if chat_id in self.watched:
            text = message.get("text") or message.get("caption") or ""
            for found in MARK.finditer(text):
                self.landed_at.setdefault(int(found.group(1)), now)
                if "[mt]" in text:  # benchmarks.slow_translation_bot's fake translation
                    self.machine_translated.add(int(found.group(1)))

    def send(self, api: LocalBotAPI, family: int, index: int, *, english: bool = False) -> None:
        """A family sends marked message ``index`` now."""
        self.sent_at[index] = time.perf_counter()
        api.user(family).send_text(marked(index, english=english))

    async def settle(self, timeout: float) -> None:
        """Waits (at most ``timeout`` s) until every marked message sent so far has landed."""
        deadline = time.perf_counter() + timeout
        while len(self.landed_at) < len(self.sent_at) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)

    def latency(self, index: int) -> float | None:
        """Seconds from message ``index`` to its marker in a watched chat (None: not yet)."""
        landed = self.landed_at.get(index)
        return None if landed is None else landed - self.sent_at[index]


class BotProcess:
    """``python -m bot`` (or another module) as a subprocess against a local Bot API."""

    def __init__(self, api: LocalBotAPI, database_url: str, folder: Path, **env: str) -> None:
        self.api, self.database_url, self.folder = api, database_url, folder
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "bot.log"
        self.maxrss_kb = 0
        self.starts = 0

    def start(self, module: str = "bot") -> None:
        """Starts the process (returns at once; it polls when ready)."""
        models = Path(self.env.get("SANAD_MODELS_DIR", self.folder / "models"))
        models.mkdir(exist_ok=True)
        env = {
            **os.environ,
            "BOT_TOKEN": self.api.token,
            "TELEGRAM_API_BASE_URL": self.api.base_url,
            "TELEGRAM_API_BASE_FILE_URL": self.api.base_file_url,
            "DATABASE_URL": self.database_url,
            "SANAD_MODELS_DIR": str(models),
            "LOG_LEVEL": "WARNING",
            "PTB_TIMEDELTA": "1",
            "PYTHONPATH": str(PROJECT_ROOT),
            **self.env,
        }
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", module], cwd=PROJECT_ROOT, env=env, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.starts += 1

    def _note_peak(self) -> None:
        """Keeps the process's own peak resident memory (VmHWM), read while it still runs.

        wait4's ru_maxrss is no good here: for a child it counts the memory the child had as a
        copy of this (large) benchmark process before it started the bot."""
        assert self.proc is not None
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.maxrss_kb = max(self.maxrss_kb, int(line.split()[1]))

    def _reaped(self, *, block: bool) -> bool:
        """Reaps the process if it ended."""
        assert self.proc is not None
        if self.proc.returncode is not None:  # already reaped by poll()
            self.proc = None
            return True
        pid, status = os.waitpid(self.proc.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return False
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.proc = None
        return True

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        if self.proc is not None:
            self._note_peak()
            self.proc.send_signal(signal.SIGKILL)
            self._reaped(block=True)

    async def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM and wait, serving the Bot API meanwhile (SIGKILL after ``timeout``)."""
        if self.proc is None:
            return
        self._note_peak()
        self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._reaped(block=False):
                return
            await asyncio.sleep(0.05)
        self.kill()

    def tail(self, lines: int = 20) -> str:
        """The end of the bot's log, for a failed run."""
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


async def wait_ready(api: LocalBotAPI, bot: BotProcess, timeout: float = 120.0) -> None:
    """Waits until the bot polls and has sent what start-up owed (menus, queued cards)."""
    deadline = time.monotonic() + timeout
    polls = api.counters.requests["getUpdates"]
    while api.counters.requests["getUpdates"] == polls:
        if bot.proc is None or bot.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the bot did not start:\n{bot.tail()}")
        await asyncio.sleep(0.1)
    await api.quiet(2.0, max_wait=timeout)


def percentile(samples: list[float], share: float) -> float:
    """The ``share`` percentile (0..1) by nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary_ms(samples: list[float]) -> dict[str, float | int]:
    """p50, p95, max and mean in milliseconds, and the count."""
    if not samples:
        return {"count": 0}
    return {
        "count": len(samples),
        "p50_ms": round(statistics.median(samples) * 1000, 1),
        "p95_ms": round(percentile(samples, 0.95) * 1000, 1),
        "max_ms": round(max(samples) * 1000, 1),
        "mean_ms": round(statistics.fmean(samples) * 1000, 1),
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Writes the figures as JSON under benchmarks/results/ and returns the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%z")
    path = RESULTS / f"{name}-{stamp}.json"
    environment = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the machine
        "source": str(PROJECT_ROOT),
    }
    path.write_text(json.dumps({**result, "environment": environment}, indent=2), "utf-8")
    return path
