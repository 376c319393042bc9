"""Bulk notices at Telegram's limits while families keep talking to their caseworkers.

The bot runs as ``python -m bot`` against the local Bot API with Telegram's limits on (30
messages a second overall, 1 a second per chat after a short burst). N bulk notices to N chats
are queued in the real outbox while 100 families send about one message a second in all. Run:
``.venv/bin/python -m benchmarks.bench_delivery [--notices 10000]`` (``--notices 2000`` is quick).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.loadkit import (
    BULK_BASE,
    BotProcess,
    Clock,
    percentile,
    populate,
    queue_bulk,
    summary_ms,
    wait_ready,
    write_result,
)
from localapi import LocalBotAPI, TelegramLimits
from storage.db import Database

TELEGRAM_RATE = 30.0


async def family_traffic(api: LocalBotAPI, clock: Clock, families: list[int], rate: float,
                         stop: asyncio.Event) -> None:  # fmt: skip
    """Families take turns sending one message every 1/rate seconds until ``stop``."""
    index = 0
    started = time.perf_counter()
    while not stop.is_set():
        clock.send(api, families[index % len(families)], index)
        index += 1
        next_at = started + index / rate
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))


async def run(notices: int, families: int, caseworkers: int, rate: float, stall: float) -> Any:
    """One run; returns the figures."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        api = LocalBotAPI(token="100:BENCH-DELIVERY", rate_limits=TelegramLimits())
        await api.start()
        url = f"sqlite:///{root / 'bench.db'}"
        db = Database(url)
        population = populate(db, families=families, caseworkers=caseworkers)
        for chat in population.families + population.caseworkers:
            api.user(chat, language_code="ar" if chat in population.caseworker_of else "en")
        bulk = [BULK_BASE + k for k in range(notices)]
        for chat in bulk:
            api.user(chat, language_code="en")
        clock = Clock(watched=set(population.caseworkers))
        clock.attach(api)
        bot = BotProcess(api, url, root, OUTBOX_INTERVAL="1")
        bot.start()
        try:
            await wait_ready(api, bot)
            api.counters.reset()
            queued_at = time.perf_counter()
            queued = queue_bulk(db, bulk, prefix="bench-delivery")
            stop = asyncio.Event()
            talk = asyncio.create_task(family_traffic(api, clock, population.families, rate, stop))
            last_progress, seen = time.perf_counter(), 0
            while True:
                await asyncio.sleep(0.2)
                done = sum(1 for chat in bulk if chat in clock.arrivals)
                now = time.perf_counter()
                if done > seen:
                    last_progress, seen = now, done
                if done == notices or now - last_progress > stall:
                    break
            stop.set()
            await talk
            await clock.settle(timeout=min(stall, 10.0))  # family messages in flight land
            fanout_end = max((clock.arrivals[c][0] for c in bulk if c in clock.arrivals),
                             default=queued_at)  # fmt: skip
            counters = api.counters
            peak = counters.peak_per_second()
            too_many = counters.too_many_requests
        finally:
            await bot.stop()
            db.dispose()
            await api.stop()
    firsts = sorted(clock.arrivals[c][0] for c in bulk if c in clock.arrivals)
    span = firsts[-1] - firsts[0] if len(firsts) > 1 else 0.0
    achieved = (len(firsts) - 1) / span if span > 0 else 0.0
    # Everything sent meanwhile (bulk, cards, acknowledgements) shares Telegram's 30/s.
    sent_meanwhile = sum(
        1
        for times in clock.arrivals.values()
        for t in times
        if firsts and firsts[0] < t <= firsts[-1]
    )
    overall = sent_meanwhile / span if span > 0 else 0.0
    during = [i for i, sent in clock.sent_at.items() if sent <= fanout_end]
    latencies = [lat for i in during if (lat := clock.latency(i)) is not None]
    return {
        "notices": notices,
        "queued": queued,
        "families": families,
        "caseworkers": caseworkers,
        "bulk_delivered": len(firsts),
        "bulk_missing": notices - len(firsts),
        "bulk_sent_twice": sum(len(clock.arrivals[c]) - 1 for c in bulk if c in clock.arrivals),
        "bulk_seconds": round(span, 2),
        "first_notice_after_s": round(firsts[0] - queued_at, 2) if firsts else None,
        "bulk_rate_per_s": round(achieved, 2),
        "bulk_rate_ratio_of_30": round(achieved / TELEGRAM_RATE, 3),
        "all_messages_rate_per_s": round(overall, 2),
        "all_messages_rate_ratio_of_30": round(overall / TELEGRAM_RATE, 3),
        "too_many_requests_429": too_many,
        "peak_messages_in_one_second": peak,
        "family_messages_during_fanout": len(during),
        "family_messages_not_delivered": len(during) - len(latencies),
        "family_to_caseworker": summary_ms(latencies),
        "family_p95_s": round(percentile(latencies, 0.95), 3) if latencies else None,
        "bot_peak_rss_mb": round(bot.maxrss_kb / 1024, 1),
    }


def main() -> int:
    """Prints the figures and writes JSON under benchmarks/results/."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--families", type=int, default=100)
    parser.add_argument("--caseworkers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=1.0, help="family messages a second")
    parser.add_argument("--stall", type=float, default=30.0, help="give up after s without one")
    args = parser.parse_args()
    result = asyncio.run(run(args.notices, args.families, args.caseworkers, args.rate, args.stall))
    print(f"{result['notices']} bulk notices to as many chats, Telegram's limits on; "
          f"{result['families']} families talking at {args.rate}/s")  # fmt: skip
    rows = [
        ("bulk delivered / missing / twice", f"{result['bulk_delivered']} / "
         f"{result['bulk_missing']} / {result['bulk_sent_twice']}"),
        ("bulk rate (goal ratio >= 0.93)",
         f"{result['bulk_rate_per_s']}/s = {result['bulk_rate_ratio_of_30']} of 30/s"),
        ("all sent meanwhile (bulk + interactive)",
         f"{result['all_messages_rate_per_s']}/s = {result['all_messages_rate_ratio_of_30']}"),
        ("429s received (goal 0)", result["too_many_requests_429"]),
        ("peak messages in one second", result["peak_messages_in_one_second"]),
        ("family -> caseworker p95 (goal <= 1 s)", f"{result['family_p95_s']} s"),
        ("family messages not delivered", result["family_messages_not_delivered"]),
        ("bot peak RSS", f"{result['bot_peak_rss_mb']} MB"),
    ]  # fmt: skip
    for label, value in rows:
        print(f"  {label:<42}{value}")
    print(f"  family -> caseworker: {result['family_to_caseworker']}")
    print(f"wrote {write_result('bench_delivery', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
