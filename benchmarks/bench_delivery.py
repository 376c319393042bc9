"""Bulk notices at Telegram's limits while families keep talking to their caseworkers.

The bot runs as ``python -m bot`` against the local Bot API with Telegram's limits on (30
messages a second overall, 1 a second per chat after a short burst). N bulk notices to N chats
are queued in the real outbox while 100 families send about one message a second in all. Run:
``.venv/bin/python -m benchmarks.bench_delivery [--notices 10000]`` (``--notices 2000`` is quick).

``--broadcast`` sends a real broadcast instead: a coordinator's notice to every family (10,000
by default, ``--families 1000`` is quick), confirmed through the broadcasts service and expanded
by the bot's own broadcaster job, while 100 of those families keep writing to their caseworkers.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import select

from benchmarks.bench_scale import menus_already_set
from benchmarks.loadkit import (
    BULK_BASE,
    FAMILY_BASE,
    BotProcess,
    Clock,
    percentile,
    populate,
    queue_bulk,
    summary_ms,
    wait_ready,
    write_result,
)
from bot.services import registry
from localapi import LocalBotAPI, TelegramLimits
from storage.db import Database
from storage.models import Broadcast, District, Household, Member, Scheme

TELEGRAM_RATE = 30.0
COORDINATOR = 6_900_000_000
NOTICE = "The council offices are closed on Friday 5 June. Call 0300 041 2000 if it is urgent."


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


def add_quiet_families(db: Database, start: int, count: int) -> list[int]:
    """``count`` more households, each with one joined member and no open request (every
    third reads English), inserted in bulk; returns their Telegram ids."""
    now = datetime.now(UTC)
    with db.session() as session:
        dover = session.exec(select(District).where(District.name == "Dover")).one()
        vprs = session.exec(select(Scheme).where(Scheme.code == "VPRS")).one()
        households = [
            Household(
                reference=f"KQ-{i:05d}",
                district_id=dover.id or 0,
                scheme_id=vprs.id or 0,
                arrived_on=date(2024, 1, 1),
                support_ends_on=date(2029, 1, 1),
                language="en" if i % 3 == 0 else "ar",
            )
            for i in range(count)
        ]
        session.add_all(households)
        session.flush()
        chats = [FAMILY_BASE + start + i for i in range(count)]
        session.add_all(
            Member(
                household_id=household.id or 0,
                name="M",
                telegram_user_id=chat,
                consent_at=now,
                linked_at=now,
            )
            for household, chat in zip(households, chats, strict=True)
        )
    return chats


def add_coordinator(db: Database) -> None:
    """A council coordinator, joined, reading English."""
    with db.session() as session:
        kim = registry.add_staff(session, role="coordinator", name="Kim", language="en")
        kim.telegram_user_id = COORDINATOR
        session.add(kim)


async def confirm_broadcast(api: LocalBotAPI) -> int:
    """The coordinator writes the notice to all families in Telegram, previews it and taps
    "Send now"; returns how many it reaches, as the preview says."""
    kim = api.user(COORDINATOR)
    kim.send_text("/broadcast")
    await kim.wait_for("New notice to families", timeout=60)
    kim.send_text(NOTICE)
    await kim.wait_for("Audience: all families.", timeout=60)
    kim.press_button("👁 Preview")
    ready = await kim.wait_for("Ready to send to", timeout=60)
    kim.press_button("✅ Send now")
    return int(ready.content.split("Ready to send to ")[1].split()[0].replace(",", ""))


def report_written(db: Database) -> bool:
    """Whether the broadcaster has written the broadcast's report."""
    with db.session() as session:
        found = session.exec(select(Broadcast)).one()
        return found.finished_at is not None


async def run_broadcast(families: int, talkers: int, caseworkers: int, rate: float,
                        stall: float) -> Any:  # fmt: skip
    """One broadcast run; returns the figures."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        api = LocalBotAPI(token="100:BENCH-BROADCAST", rate_limits=TelegramLimits())
        await api.start()
        url = f"sqlite:///{root / 'bench.db'}"
        db = Database(url)
        started = time.perf_counter()
        # The talkers have an open request; the others have none (an open request each would
        # queue 10,000 new-request cards to 20 caseworkers before the broadcast even started).
        population = populate(db, families=talkers, caseworkers=caseworkers)
        quiet = add_quiet_families(db, talkers, families - talkers)
        add_coordinator(db)
        menus_already_set(db)  # as a previous run left them: start-up sends no menus
        populate_s = time.perf_counter() - started
        for chat in quiet:
            api.user(chat, language_code="en")
        for chat in population.families + population.caseworkers:
            api.user(chat, language_code="ar" if chat in population.caseworker_of else "en")
        api.user(COORDINATOR, language_code="en")
        clock = Clock(watched=set(population.caseworkers))
        clock.attach(api)
        everyone = population.families + quiet
        copies = Copies(set(everyone))
        copies.attach(api)
        bot = BotProcess(api, url, root, OUTBOX_INTERVAL="1")
        bot.start()
        try:
            await wait_ready(api, bot)
            api.counters.reset()
            recipients = await confirm_broadcast(api)
            confirmed_at = time.perf_counter()
            stop = asyncio.Event()
            talk = asyncio.create_task(
                family_traffic(api, clock, population.families[:talkers], rate, stop)
            )
            last_progress, seen = time.perf_counter(), 0
            while True:
                await asyncio.sleep(0.5)
                done = len(copies.times)
                now = time.perf_counter()
                if done > seen:
                    last_progress, seen = now, done
                if (done == recipients and report_written(db)) or now - last_progress > stall:
                    break
            stop.set()
            await talk
            await clock.settle(timeout=min(stall, 10.0))
            fanout_end = max((max(t) for t in copies.times.values()), default=confirmed_at)
            reported = report_written(db)
            counters = api.counters
            peak = counters.peak_per_second()
            too_many = counters.too_many_requests
        finally:
            await bot.stop()
            db.dispose()
            await api.stop()
    firsts = sorted(min(times) for times in copies.times.values())
    span = firsts[-1] - firsts[0] if len(firsts) > 1 else 0.0
    achieved = (len(firsts) - 1) / span if span > 0 else 0.0
    # Everything sent meanwhile (copies, cards, acknowledgements) shares Telegram's 30/s.
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
        "mode": "broadcast",
        "families": families,
        "recipients": recipients,
        "talkers": talkers,
        "caseworkers": caseworkers,
        "populate_s": round(populate_s, 1),
        "broadcast_delivered": len(firsts),
        "broadcast_missing": recipients - len(firsts),
        "broadcast_sent_twice": sum(len(times) - 1 for times in copies.times.values()),
        "report_written": reported,
        "first_copy_after_s": round(firsts[0] - confirmed_at, 2) if firsts else None,
        "broadcast_seconds": round(span, 2),
        "broadcast_rate_per_s": round(achieved, 2),
        "broadcast_rate_ratio_of_30": round(achieved / TELEGRAM_RATE, 3),
        "all_messages_rate_per_s": round(overall, 2),
        "all_messages_rate_ratio_of_30": round(overall / TELEGRAM_RATE, 3),
        "too_many_requests_429": too_many,
        "peak_messages_in_one_second": peak,
        "family_messages_during_broadcast": len(during),
        "family_messages_lost": len(during) - len(latencies),
        "family_to_caseworker": summary_ms(latencies),
        "family_p95_s": round(percentile(latencies, 0.95), 3) if latencies else None,
        "bot_peak_rss_mb": round(bot.maxrss_kb / 1024, 1),
    }


@dataclass
class Copies:
    """When each family's chat received the broadcast, read from the local Bot API as it stores it."""

    chats: set[int]
    times: dict[int, list[float]] = field(default_factory=dict)

    def attach(self, api: LocalBotAPI) -> None:
        """Start listening to ``api``."""
        api.on_message(self._on_message)

    def _on_message(self, chat_id: int, message: dict[str, Any]) -> None:
        if chat_id in self.chats and NOTICE in (
            message.get("text") or message.get("caption") or ""
        ):
            self.times.setdefault(chat_id, []).append(time.perf_counter())


def main_broadcast(args: argparse.Namespace) -> int:
    """The broadcast mode: prints the figures and writes JSON under benchmarks/results/."""
    result = asyncio.run(
        run_broadcast(args.families, args.talkers, args.caseworkers, args.rate, args.stall)
    )
    print(f"a broadcast to {result['recipients']} families, Telegram's limits on; "
          f"{result['talkers']} of them writing at {args.rate}/s")  # fmt: skip
    rows = [
        ("delivered / missing / twice", f"{result['broadcast_delivered']} / "
         f"{result['broadcast_missing']} / {result['broadcast_sent_twice']}"),
        ("report written", result["report_written"]),
        ("first copy after confirm", f"{result['first_copy_after_s']} s"),
        ("broadcast rate (goal ratio >= 0.93)",
         f"{result['broadcast_rate_per_s']}/s = {result['broadcast_rate_ratio_of_30']} of 30/s"),
        ("all sent meanwhile (copies + interactive)",
         f"{result['all_messages_rate_per_s']}/s = {result['all_messages_rate_ratio_of_30']}"),
        ("429s received (goal 0)", result["too_many_requests_429"]),
        ("peak messages in one second", result["peak_messages_in_one_second"]),
        ("family -> caseworker p95 (goal <= 1 s)", f"{result['family_p95_s']} s"),
        ("family messages lost (goal 0)", result["family_messages_lost"]),
        ("bot peak RSS", f"{result['bot_peak_rss_mb']} MB"),
    ]  # fmt: skip
    for label, value in rows:
        print(f"  {label:<42}{value}")
    print(f"  family -> caseworker: {result['family_to_caseworker']}")
    print(f"wrote {write_result('bench_delivery_broadcast', result)}")
    return 0


def main() -> int:
    """Prints the figures and writes JSON under benchmarks/results/."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--broadcast", action="store_true", help="a real broadcast instead")
    parser.add_argument(
        "--families", type=int, default=None,
        help="families (default 100; with --broadcast, its audience: 10,000)",
    )  # fmt: skip
    parser.add_argument("--talkers", type=int, default=100, help="with --broadcast: who write")
    parser.add_argument("--caseworkers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=1.0, help="family messages a second")
    parser.add_argument("--stall", type=float, default=30.0, help="give up after s without one")
    args = parser.parse_args()
    if args.broadcast:
        args.families = args.families or 10_000
        return main_broadcast(args)
    args.families = args.families or 100
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
