"""Pacing: achieved send rate against the configured one, under Telegram's limits, and 429s.

PTB's ExtBot with SanadRateLimiter sends to the project's local Bot API with Telegram's limits
on (30/s overall, 1/s per chat after a burst). Scenarios, one run: a bulk fan-out to distinct
chats with interactive replies probing the delay meanwhile; the same fan-out while some chats
answer 429; a burst to one chat; and a naive loop with no limiter for comparison.
Run: ``.venv/bin/python -m benchmarks.bench_pacing [--sends 500] [--rate 28]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.delivery.lanes import Lane
from bot.delivery.ratelimit import SanadRateLimiter
from bot.settings import PROJECT_ROOT
from localapi import LocalBotAPI

RESULTS = PROJECT_ROOT / "benchmarks" / "results"
TOKEN = "424242:PACING-BENCH"
TELEGRAM_OVERALL = 30.0


def _rate(times: list[float]) -> float:
    """Messages a second between the first and the last one stored by the server."""
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def _ms(values: list[float]) -> dict[str, float]:
    """p50/p95/max of seconds, in milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def _bot(api: LocalBotAPI, limiter: SanadRateLimiter | None) -> ExtBot[Any]:
    """A PTB ExtBot on the local API, with the connection pool an Application would give it."""
    return ExtBot(
        api.token,
        base_url=api.base_url,
        base_file_url=api.base_file_url,
        request=HTTPXRequest(connection_pool_size=256),
        rate_limiter=limiter,
    )


async def fan_out(sends: int, rate: float, *, flooded: int = 0) -> dict[str, Any]:
    """``sends`` bulk messages to as many chats, interactive probes every 0.5 s meanwhile;
    with ``flooded`` > 0, that many chats answer one 429 (retry_after 3) first."""
    async with LocalBotAPI(token=TOKEN, rate_limits=True) as api:
        chats = [api.user(10_000 + i).id for i in range(sends)]
        probes = [api.user(900_000 + i).id for i in range(200)]
        for chat in chats[:: max(1, sends // flooded)][:flooded] if flooded else []:
            api.inject("429", chat_id=chat, retry_after=3, times=1)
        limiter = SanadRateLimiter(overall_per_second=rate)
        stored: list[tuple[float, int]] = []  # (time, chat) of each message the server stored
        api.on_message(lambda chat, _message: stored.append((time.monotonic(), chat)))
        async with _bot(api, limiter) as bot:
            api.counters.reset()
            stored.clear()
            lost = 0

            async def bulk(chat: int, i: int) -> None:
                nonlocal lost
                try:
                    await bot.send_message(
                        chat, f"notice {i}", rate_limit_args={"lane": Lane.BULK}
                    )
                except Exception:  # a loss is counted, not raised
                    lost += 1

            started = time.monotonic()
            tasks = [asyncio.ensure_future(bulk(c, i)) for i, c in enumerate(chats)]
            delays: list[float] = []
            for chat in probes:
                if all(t.done() for t in tasks):
                    break
                await asyncio.sleep(0.5)
                asked = time.monotonic()
                await bot.send_message(chat, "reply")
                delays.append(time.monotonic() - asked)
            await asyncio.gather(*tasks)
            elapsed = time.monotonic() - started
            bulk_times = [t for t, chat in stored if chat < 900_000]
            # The probes share the overall budget: the achieved rate counts every message.
            achieved = _rate([t for t, _ in stored])
            return {
                "sends": sends,
                "configured_per_s": rate,
                "achieved_per_s": round(achieved, 2),
                "ratio_to_configured": round(achieved / rate, 3),
                "ratio_to_telegram_30": round(achieved / TELEGRAM_OVERALL, 3),
                "bulk_only_per_s": round(_rate(bulk_times), 2),
                "elapsed_s": round(elapsed, 2),
                "peak_in_one_second": api.counters.peak_per_second(),
                "injected_429s": flooded,
                "server_429s": api.counters.too_many_requests,
                "limiter_429s": limiter.retry_afters,
                "lost": lost,
                "delivered": sum(1 for c in chats if api.counters.delivered[c] == 1),
                "interactive_probes": len(delays),
                "interactive_delay": _ms(delays) if delays else {},
            }


async def one_chat(messages: int) -> dict[str, Any]:
    """``messages`` sent at once to one chat: per-chat rate achieved, order and 429s."""
    async with LocalBotAPI(token=TOKEN, rate_limits=True) as api:
        user = api.user(77)
        limiter = SanadRateLimiter()
        async with _bot(api, limiter) as bot:
            api.counters.reset()
            await asyncio.gather(*(bot.send_message(77, f"part {i}") for i in range(messages)))
            times = api.counters.send_times
            in_order = [m.text for m in user.messages] == [f"part {i}" for i in range(messages)]
            return {
                "messages": messages,
                "per_chat_configured_per_s": 1.0,
                "burst": 3,
                "achieved_after_burst_per_s": round(_rate(times[2:]), 3),
                "in_order": in_order,
                "server_429s": api.counters.too_many_requests,
            }


async def naive(sends: int) -> dict[str, Any]:
    """A plain await loop with no limiter (what Sanad did before): rate, 429s, failures."""
    async with LocalBotAPI(token=TOKEN, rate_limits=True) as api:
        chats = [api.user(10_000 + i).id for i in range(sends)]
        async with _bot(api, None) as bot:
            api.counters.reset()
            failed = 0
            for i, chat in enumerate(chats):
                try:
                    await bot.send_message(chat, f"notice {i}")
                except RetryAfter:
                    failed += 1
            return {
                "sends": sends,
                "achieved_per_s": round(_rate(api.counters.send_times), 2),
                "server_429s": api.counters.too_many_requests,
                "failed_on_429": failed,
            }


async def run(sends: int, rate: float) -> dict[str, Any]:
    """All scenarios, one after the other."""
    return {
        "fan_out": await fan_out(sends, rate),
        "fan_out_with_429s": await fan_out(sends, rate, flooded=10),
        "one_chat": await one_chat(10),
        "naive_no_limiter": await naive(min(sends, 200)),
    }


def main() -> int:
    """Prints the figures and writes JSON under benchmarks/results/."""
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sends", type=int, default=500)
    parser.add_argument("--rate", type=float, default=28.0)
    args = parser.parse_args()
    result = asyncio.run(run(args.sends, args.rate))
    for name in ("fan_out", "fan_out_with_429s"):
        row = result[name]
        print(
            f"{name}: {row['sends']} sends to {row['sends']} chats at {row['configured_per_s']}/s:"
            f" achieved {row['achieved_per_s']}/s in all (ratio {row['ratio_to_configured']} of"
            f" configured, {row['ratio_to_telegram_30']} of 30/s; bulk alone"
            f" {row['bulk_only_per_s']}/s), peak {row['peak_in_one_second']}"
            f" in one second, 429s {row['server_429s']} (injected {row['injected_429s']}),"
            f" lost {row['lost']}, delivered once {row['delivered']}"
        )
        delay = row["interactive_delay"]
        if delay:
            print(
                f"  interactive replies during it ({row['interactive_probes']}): p50"
                f" {delay['p50_ms']} ms, p95 {delay['p95_ms']} ms, max {delay['max_ms']} ms"
            )
    chat = result["one_chat"]
    print(
        f"one chat, {chat['messages']} at once: {chat['achieved_after_burst_per_s']}/s after the"
        f" burst (configured 1/s), in order {chat['in_order']}, 429s {chat['server_429s']}"
    )
    plain = result["naive_no_limiter"]
    print(
        f"naive loop, no limiter, {plain['sends']} sends: {plain['achieved_per_s']}/s,"
        f" 429s {plain['server_429s']}, failed {plain['failed_on_429']}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%z")
    path = RESULTS / f"bench_pacing-{stamp}.json"
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
