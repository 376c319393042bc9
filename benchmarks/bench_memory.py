"""The bot's resident memory (VmRSS, peak VmHWM from /proc/PID/status): ``python -m bot`` idle
on an empty database and on 10,000 households with 100,000 ticket messages, then after activity.
Run: ``.venv/bin/python -m benchmarks.bench_memory`` (``--households 2000`` is quick).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.bench_scale import bulk, menus_already_set
from benchmarks.loadkit import BotProcess, Clock, populate, wait_ready, write_result
from bot.services import registry
from localapi import LocalBotAPI
from storage.db import Database

FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile")  # kB, from /proc/PID/status
# Limits off on both sides (the local Bot API's and the bot's own pacing): memory is measured,
# and waiting for Telegram's 1 message a second per chat would only make the run longer.
UNPACED = {"SEND_RATE": "100000", "SEND_RATE_PER_CHAT": "100000", "OUTBOX_INTERVAL": "1"}


def memory_kb(pid: int) -> dict[str, int]:
    """The process's resident memory figures in kB, read from /proc/PID/status."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in FIELDS:
            figures[name] = int(value.split()[0])
    return figures


def mb(kb: int) -> float:
    """kB as MB (MiB, as ``ps`` and the other benchmarks count them), one decimal."""
    return round(kb / 1024, 1)


@dataclass
class Side:
    """One database and the bot run over it, with what was measured."""

    name: str
    root: Path
    url: str = ""
    figures: dict[str, Any] = field(default_factory=dict)

    def build(self, households: int, messages: int) -> None:
        """A migrated SQLite file; with ``households``, the bulk built as bench_scale builds it."""
        self.root.mkdir(parents=True)
        self.url = f"sqlite:///{self.root / 'memory.db'}"
        db = Database(self.url)
        db.upgrade()
        if households:
            started = time.perf_counter()
            with db.session() as session:
                registry.seed(session)
            bulk(db, households, messages)
            menus_already_set(db)  # as a previous run leaves them: no 10,000 menus at start-up
            with db.engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
            self.figures["build_s"] = round(time.perf_counter() - started, 1)
        with db.engine.connect() as connection:
            count = connection.exec_driver_sql
            self.figures["rows_before_activity"] = {
                "households": count("SELECT count(*) FROM household").scalar_one(),
                "ticket_messages": count("SELECT count(*) FROM ticketmessage").scalar_one(),
            }
        db.dispose()
        self.figures["db_file_mb"] = mb((self.root / "memory.db").stat().st_size // 1024)

    async def measure(self, families: int, caseworkers: int, settle: float) -> None:
        """Starts the bot, measures it idle, adds the active people, drives them, measures."""
        api = LocalBotAPI(token=f"100:BENCH-MEMORY-{self.name.upper()}")
        await api.start()
        bot = BotProcess(api, self.url, self.root, **UNPACED)
        try:
            bot.start()
            await wait_ready(api, bot)
            assert bot.proc is not None
            pid = bot.proc.pid
            self.figures["idle"] = await settled(pid, settle)
            # The people who will be active, added while the bot runs (as `admin` would): the
            # idle figure above is the bot over the database alone.
            db = Database(self.url)
            population = populate(db, families=families, caseworkers=caseworkers)
            db.dispose()
            started = time.perf_counter()
            await activity(api, population.families, population.caseworkers)
            self.figures["activity_s"] = round(time.perf_counter() - started, 1)
            self.figures["after_activity"] = await settled(pid, settle)
            self.figures["requests"] = dict(api.counters.requests)
        finally:
            await bot.stop()
            await api.stop()
        # Not BotProcess.maxrss_kb: wait4's ru_maxrss counts the pages the child had as a fork
        # of this (large) benchmark process before exec, so it reports our size, not the bot's.


async def settled(pid: int, seconds: float) -> dict[str, Any]:
    """Samples for ``seconds`` (every 0.5 s) and gives the last figures in MB, with the VmRSS
    samples, so a bot still growing shows it."""
    samples: list[dict[str, int]] = []
    deadline = time.monotonic() + seconds
    while True:
        samples.append(memory_kb(pid))
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.5)
    last = {name: mb(kb) for name, kb in samples[-1].items()}
    return {**last, "vmrss_samples_mb": [mb(s["VmRSS"]) for s in samples]}


async def activity(api: LocalBotAPI, families: list[int], caseworkers: list[int]) -> None:
    """Every family sends one message at once (relayed to its caseworker), then every
    caseworker runs /tickets at once; returns when everything landed and the bot is quiet."""
    clock = Clock(watched=set(caseworkers))
    clock.attach(api)
    for chat in families + caseworkers:
        api.user(chat)
    for index, family in enumerate(families):
        clock.send(api, family, index)
    await clock.settle(timeout=120)
    if len(clock.landed_at) < len(families):
        raise RuntimeError(f"{len(families) - len(clock.landed_at)} family messages never landed")
    await api.quiet(1.0, max_wait=120)
    handles = [api.user(chat) for chat in caseworkers]
    counts = [len(handle.messages) for handle in handles]
    for handle in handles:
        handle.send_text("/tickets")
    for handle, count in zip(handles, counts, strict=True):
        reply = await handle.wait_for_count(count + 1, timeout=60)
        if "K-" not in reply[-1].text:  # the list names the requests by reference
            raise RuntimeError("/tickets did not list the caseworker's requests")
    await api.quiet(1.0, max_wait=120)


async def run(
    households: int, messages: int, families: int, caseworkers: int, settle: float
) -> dict[str, Any]:
    """Both databases built, then each bot measured in turn; returns the figures."""
    result: dict[str, Any] = {
        "households": households,
        "messages": messages,
        "active_families": families,
        "active_caseworkers": caseworkers,
        "settle_s": settle,
    }
    with tempfile.TemporaryDirectory() as folder:
        sides = [Side("empty", Path(folder) / "empty"), Side("big", Path(folder) / "big")]
        sides[0].build(0, 0)
        sides[1].build(households, messages)
        for side in sides:
            await side.measure(families, caseworkers, settle)
            result[side.name] = side.figures
    empty, big = result["empty"], result["big"]
    result["ratios_big_over_empty"] = {
        "idle_rss": round(big["idle"]["VmRSS"] / empty["idle"]["VmRSS"], 2),
        "after_activity_rss": round(
            big["after_activity"]["VmRSS"] / empty["after_activity"]["VmRSS"], 2
        ),
        "peak_hwm": round(big["after_activity"]["VmHWM"] / empty["after_activity"]["VmHWM"], 2),
    }
    return result


def main() -> int:
    """Prints the table and writes JSON under benchmarks/results/."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=None,
                        help="ticket messages in the big database (default 10 per household)")  # fmt: skip
    parser.add_argument("--families", type=int, default=200, help="families who each write once")
    parser.add_argument("--caseworkers", type=int, default=20, help="caseworkers who run /tickets")
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds sampled after start-up and after the activity")  # fmt: skip
    args = parser.parse_args()
    messages = args.messages if args.messages is not None else args.households * 10
    result = asyncio.run(
        run(args.households, messages, args.families, args.caseworkers, args.settle)
    )
    empty, big, ratios = result["empty"], result["big"], result["ratios_big_over_empty"]
    print(
        f"python -m bot resident memory: empty (migrated) database vs {args.households} "
        f"households and {messages} ticket messages; activity: {args.families} families write, "
        f"{args.caseworkers} caseworkers run /tickets"
    )
    print(f"{'MB':<36}{'empty':>9}{'big':>9}{'big/empty':>11}")
    for label, moment, name, ratio in (
        ("idle after start-up (VmRSS)", "idle", "VmRSS", "idle_rss"),
        ("after the activity (VmRSS)", "after_activity", "VmRSS", "after_activity_rss"),
        ("peak over the run (VmHWM)", "after_activity", "VmHWM", "peak_hwm"),
    ):
        print(f"{label:<36}{empty[moment][name]:>9}{big[moment][name]:>9}{ratios[ratio]:>11}")
    for label, moment in (("  of which anonymous, idle", "idle"),
                          ("  of which anonymous, after", "after_activity")):  # fmt: skip
        print(f"{label:<36}{empty[moment]['RssAnon']:>9}{big[moment]['RssAnon']:>9}")
    print(f"{'database file':<36}{empty['db_file_mb']:>9}{big['db_file_mb']:>9}")
    print(f"wrote {write_result('bench_memory', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
