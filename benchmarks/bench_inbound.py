"""Families' messages relayed to caseworkers: Sanad against a bare python-telegram-bot relay.

One local Bot API (limits off) serves, one after the other, a bare PTB bot that sends each
family's text to their caseworker's chat, the same relay that also confirms to the family, the
same again storing each update in an inbox first (what Sanad's promises cost a bare relay), then
Sanad (``python -m bot``), then Sanad with a
fake translator taking 0.1 s a message. Each is timed unloaded (one message at a time: p50)
and loaded (every message pushed at once: rate); with slow translation, messages that need no
translation are timed while translated ones queue. Run:
``.venv/bin/python -m benchmarks.bench_inbound [--messages 2000 --families 200]``
(``--messages 600`` is quick; ``--postgres URL`` or ``SANAD_BENCH_POSTGRES_URL`` adds a run of
Sanad on that PostgreSQL database, which is emptied first).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlmodel import SQLModel

from benchmarks.loadkit import (
    BotProcess,
    Clock,
    Population,
    populate,
    summary_ms,
    wait_ready,
    write_result,
)
from bot.services.argos_models import install_models
from localapi import LocalBotAPI
from storage.db import Database
from tests.fixtures import AR_EN, AR_EN_SHA, EN_AR, EN_AR_SHA


class Phase:
    """Marked messages for one bot under test, numbered from ``base``."""

    def __init__(self, api: LocalBotAPI, clock: Clock, population: Population, base: int):
        """The second half of the families speak English (no translation needed)."""
        self.api, self.clock, self.population = api, clock, population
        self.next = base
        self.english_from = len(population.families) // 2

    def send(self, family_index: int, *, english: bool | None = None) -> int:
        """A family sends a marked message in its own language (or as told)."""
        family = self.population.families[family_index % len(self.population.families)]
        if english is None:
            english = family_index % len(self.population.families) >= self.english_from
        index, self.next = self.next, self.next + 1
        self.clock.send(self.api, family, index, english=english)
        return index

    async def landed(self, indexes: list[int], stall: float) -> float:
        """Waits until all landed (or nothing new for ``stall`` s); returns the last landing."""
        last_count, last_change = -1, time.perf_counter()
        while True:
            count = sum(1 for i in indexes if i in self.clock.landed_at)
            if count == len(indexes):
                break
            if count != last_count:
                last_count, last_change = count, time.perf_counter()
            elif time.perf_counter() - last_change > stall:
                break
            await asyncio.sleep(0.01)
        return max((self.clock.landed_at[i] for i in indexes if i in self.clock.landed_at),
                   default=time.perf_counter())  # fmt: skip

    async def unloaded(self, count: int, stall: float, *, english: bool | None = None) -> Any:
        """One message at a time; latency figures."""
        samples = []
        for n in range(count):
            index = self.send(n * 7 + 3, english=english)
            await self.landed([index], stall)
            latency = self.clock.latency(index)
            if latency is not None:
                samples.append(latency)
            await asyncio.sleep(0.05)
        return summary_ms(samples)

    async def loaded(self, messages: int, stall: float) -> Any:
        """Every message pushed at once; the rate at which they landed."""
        started = time.perf_counter()
        indexes = [self.send(n) for n in range(messages)]
        last = await self.landed(indexes, stall)
        delivered = sum(1 for i in indexes if i in self.clock.landed_at)
        return {
            "messages": messages,
            "delivered": delivered,
            "seconds": round(last - started, 2),
            "rate_per_s": round(delivered / (last - started), 1),
        }


async def slow_translation(phase: Phase, translated: int, stall: float) -> Any:
    """Arabic messages that need translation pushed at once; English ones timed meanwhile."""
    started = time.perf_counter()
    arabic = [phase.send(n % phase.english_from, english=False) for n in range(translated)]
    english: list[int] = []
    while any(i not in phase.clock.landed_at for i in arabic):
        english.append(phase.send(phase.english_from + len(english), english=True))
        await asyncio.sleep(0.25)
        if time.perf_counter() - started > stall + translated:
            break
    last = await phase.landed(arabic, stall)
    await phase.landed(english, stall)
    latencies = [lat for i in english if (lat := phase.clock.latency(i)) is not None]
    delivered = sum(1 for i in arabic if i in phase.clock.landed_at)
    if not any(i in phase.clock.machine_translated for i in arabic):
        raise RuntimeError("no notice was machine-translated: the slow path was not timed")
    return {
        "translated_messages": translated,
        "translated_delivered": delivered,
        "translated_rate_per_s": round(delivered / (last - started), 2),
        "translated_with_fake_translation": sum(
            1 for i in arabic if i in phase.clock.machine_translated
        ),
        "untranslated_while_loaded": summary_ms(latencies),
    }


def fresh(url: str) -> Database:
    """The database at ``url``, emptied when it is PostgreSQL (a SQLite file is new)."""
    db = Database(url)
    if db.engine.dialect.name == "postgresql":
        SQLModel.metadata.drop_all(db.engine)
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    return db


async def run(
    messages: int, families: int, probes: int, translated: int, stall: float, postgres: str = ""
) -> Any:
    """All the bots against one local Bot API; returns the figures."""
    caseworkers = max(1, families // 10)
    result: dict[str, Any] = {"messages": messages, "families": families}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        api = LocalBotAPI(token="100:BENCH-INBOUND")
        await api.start()
        url = f"sqlite:///{root / 'bench.db'}"
        population = None
        for each in (url, postgres) if postgres else (url,):
            db = fresh(each)
            population = populate(db, families=families, caseworkers=caseworkers,
                                  english_from=families // 2)  # fmt: skip
            db.dispose()
        assert population is not None
        for chat in population.families + population.caseworkers:
            api.user(chat)
        clock = Clock(watched=set(population.caseworkers))
        clock.attach(api)
        slow_models = root / "slow-models"
        install_models([AR_EN], models_dir=slow_models, sha256=AR_EN_SHA)
        install_models([EN_AR], models_dir=slow_models, sha256=EN_AR_SHA)
        # Limits off on both sides: Sanad's own pacing is lifted too, as the bare bot has none.
        unpaced = {"SEND_RATE": "100000", "SEND_RATE_PER_CHAT": "100000"}
        bots = [
            ("echo", "benchmarks.echo_bot", {"ECHO_CASEWORKERS": str(caseworkers)}),
            ("echo_acked", "benchmarks.echo_bot",
             {"ECHO_CASEWORKERS": str(caseworkers), "ECHO_MODE": "acked"}),
            ("echo_durable", "benchmarks.echo_bot",
             {"ECHO_CASEWORKERS": str(caseworkers), "ECHO_MODE": "durable",
              "ECHO_DATABASE": str(root / "echo.db")}),
            ("sanad", "bot", unpaced),
            ("sanad_slow_translation", "benchmarks.slow_translation_bot",
             {"SANAD_MODELS_DIR": str(slow_models), "SANAD_BENCH_TRANSLATION_DELAY": "0.1",
              **unpaced}),
        ]  # fmt: skip
        if postgres:
            bots.append(("sanad_postgres", "bot", {"DATABASE_URL": postgres, **unpaced}))
        try:
            for number, (name, module, env) in enumerate(bots):
                bot = BotProcess(api, env.pop("DATABASE_URL", url), root, OUTBOX_INTERVAL="1",
                                 **env)  # fmt: skip
                bot.start(module)
                phase = Phase(api, clock, population, base=(number + 1) * 100_000)
                try:
                    await wait_ready(api, bot)
                    figures: dict[str, Any] = {}
                    if name == "sanad_slow_translation":
                        figures["unloaded_untranslated"] = await phase.unloaded(
                            probes, stall, english=True
                        )
                        figures.update(await slow_translation(phase, translated, stall))
                    else:
                        figures["unloaded"] = await phase.unloaded(probes, stall)
                        figures["loaded"] = await phase.loaded(messages, stall)
                    result[name] = figures
                finally:
                    await bot.stop()
        finally:
            await api.stop()
    echo, sanad, slow = result["echo"], result["sanad"], result["sanad_slow_translation"]
    result["rate_ratio"] = round(sanad["loaded"]["rate_per_s"] / echo["loaded"]["rate_per_s"], 3)
    result["unloaded_p50_ratio"] = round(
        sanad["unloaded"]["p50_ms"] / echo["unloaded"]["p50_ms"], 2
    )
    # What Sanad's promises cost a bare relay: a confirmation to the family, then a durable inbox.
    for name in ("echo_acked", "echo_durable"):
        result[f"{name}_rate_ratio"] = round(
            result[name]["loaded"]["rate_per_s"] / echo["loaded"]["rate_per_s"], 3
        )
    result["rate_ratio_vs_durable_relay"] = round(
        sanad["loaded"]["rate_per_s"] / result["echo_durable"]["loaded"]["rate_per_s"], 3
    )
    loaded_p50 = slow["untranslated_while_loaded"].get("p50_ms")
    result["untranslated_p50_ratio_loaded_vs_unloaded"] = (
        round(loaded_p50 / slow["unloaded_untranslated"]["p50_ms"], 2) if loaded_p50 else None
    )
    result["translated_rate_ratio_of_translator"] = round(slow["translated_rate_per_s"] / 10.0, 3)
    if "sanad_postgres" in result:
        pg = result["sanad_postgres"]
        result["postgres_rate_ratio"] = round(
            pg["loaded"]["rate_per_s"] / echo["loaded"]["rate_per_s"], 3
        )
        result["postgres_unloaded_p50_ratio"] = round(
            pg["unloaded"]["p50_ms"] / echo["unloaded"]["p50_ms"], 2
        )
    return result


def main() -> int:
    """Prints the figures and writes JSON under benchmarks/results/."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--families", type=int, default=200)
    parser.add_argument("--probes", type=int, default=30, help="unloaded messages, one by one")
    parser.add_argument("--translated", type=int, default=100,
                        help="messages needing the 0.1 s translation, pushed at once")  # fmt: skip
    parser.add_argument("--stall", type=float, default=30.0)
    parser.add_argument("--postgres", default=os.environ.get("SANAD_BENCH_POSTGRES_URL", ""),
                        help="also run Sanad on this (emptied) PostgreSQL database")  # fmt: skip
    args = parser.parse_args()
    result = asyncio.run(
        run(args.messages, args.families, args.probes, args.translated, args.stall, args.postgres)
    )
    echo, sanad, slow = result["echo"], result["sanad"], result["sanad_slow_translation"]
    print(f"{args.messages} messages from {args.families} families, limits off")
    print(f"{'bot':<26}{'rate/s':>9}{'delivered':>11}{'p50 ms':>9}{'p95 ms':>9}")
    rows = [
        ("bare PTB relay", echo),
        ("  + confirmation", result["echo_acked"]),
        ("  + confirmation + inbox", result["echo_durable"]),
        ("Sanad (SQLite)", sanad),
    ]
    if "sanad_postgres" in result:
        rows.append(("Sanad (PostgreSQL)", result["sanad_postgres"]))
    for label, row in rows:
        loaded, unloaded = row["loaded"], row["unloaded"]
        print(f"{label:<26}{loaded['rate_per_s']:>9}{loaded['delivered']:>11}"
              f"{unloaded['p50_ms']:>9}{unloaded['p95_ms']:>9}")  # fmt: skip
    print(f"  rate ratio (goal >= 0.5)                 {result['rate_ratio']}")
    print(f"  unloaded p50 ratio (goal <= 2)           {result['unloaded_p50_ratio']}")
    print(f"  bare relay + confirmation: rate ratio    {result['echo_acked_rate_ratio']}")
    print(f"  bare relay + confirmation + inbox        {result['echo_durable_rate_ratio']}")
    print(f"  Sanad / that durable relay               {result['rate_ratio_vs_durable_relay']}")
    if "postgres_rate_ratio" in result:
        print(f"  PostgreSQL: rate ratio {result['postgres_rate_ratio']}, "
              f"unloaded p50 ratio {result['postgres_unloaded_p50_ratio']}")  # fmt: skip
    print("with translation taking 0.1 s a message:")
    print(f"  untranslated p50 unloaded / while {args.translated} translate: "
          f"{slow['unloaded_untranslated'].get('p50_ms')} / "
          f"{slow['untranslated_while_loaded'].get('p50_ms')} ms "
          f"(ratio {result['untranslated_p50_ratio_loaded_vs_unloaded']})")  # fmt: skip
    print(f"  translated: {slow['translated_rate_per_s']}/s = "
          f"{result['translated_rate_ratio_of_translator']} of the translator's 10/s")  # fmt: skip
    print(f"wrote {write_result('bench_inbound', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
