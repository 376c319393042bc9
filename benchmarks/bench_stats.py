"""/stats at scale: 10,000 households and 100,000 ticket messages (25,000 tickets over a year,
four messages each) with appointments and ESOL marks, bulk-inserted into a SQLite file; then
the time to compute a year's figures (bot.services.stats.compute, as /stats and the admin CLI
do), to draw the chart and to write the CSV, each repeated and reported as median and max.
Run: ``.venv/bin/python -m benchmarks.bench_stats [--households 10000] [--messages 100000]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import select

from benchmarks.loadkit import write_result
from bot.i18n import load_all, texts
from bot.services import registry, stats
from bot.services.tickets import WORKING_HOURS
from handlers import stats_chart
from storage.db import Database
from storage.models import (
    Attendance,
    Category,
    District,
    Household,
    Member,
    Provider,
    Scheme,
    Ticket,
    TicketMessage,
    TicketStatus,
)

YEAR = 2026
PROVIDERS = (("Kent Refugee Action", "Dover,Thanet"), ("East Kent Support", "Canterbury,Swale"),
             ("West Kent Welcome", "Maidstone,Ashford"))  # fmt: skip
BATCH = 5000


def _bulk(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    """Inserts rows in batches with one executemany each."""
    with db.session() as session:
        for start in range(0, len(rows), BATCH):
            session.execute(insert(table), rows[start : start + BATCH])


def populate(db: Database, households: int, messages: int, rng: random.Random) -> dict[str, int]:
    """The reference data, three providers, the households, tickets, messages and marks."""
    with db.session() as session:
        registry.seed(session)
        for name, districts in PROVIDERS:
            registry.add_provider(session, name=name, districts=districts.split(","))
        district_ids = [d.id for d in session.exec(select(District)) if d.lot_id is not None]
        scheme = session.exec(select(Scheme)).first()
        assert scheme is not None
        categories = [c.id for c in session.exec(select(Category))]
        providers = {d.id: d.lot_id for d in session.exec(select(District))}
        provider_ids = [p.id for p in session.exec(select(Provider))]
    _bulk(db, Household, [
        {"reference": f"KH-{i:05d}", "district_id": rng.choice(district_ids),
         "scheme_id": scheme.id, "arrived_on": date(2023, 1, 1),
         "support_ends_on": date(2028, 1, 1) + timedelta(days=i % 700),
         "created_at": datetime(2023, 1, 1, tzinfo=UTC)}
        for i in range(1, households + 1)
    ])  # fmt: skip
    _bulk(db, Member, [
        {"household_id": i, "name": "M", "created_at": datetime(2023, 1, 1, tzinfo=UTC),
         "unreachable_at": datetime(2026, 3, 1, tzinfo=UTC) if i % 97 == 0 else None}
        for i in range(1, households + 1)
    ])  # fmt: skip
    tickets = messages // 4
    start = datetime(YEAR, 1, 1, 9, tzinfo=UTC)
    ticket_rows, message_rows = [], []
    for i in range(1, tickets + 1):
        created = start + timedelta(minutes=rng.randrange(0, 360 * 24 * 60))
        due = WORKING_HOURS.add_working_hours(created, 8)
        answered = created + timedelta(hours=rng.expovariate(1 / 20)) if i % 10 else None
        resolved = answered + timedelta(days=rng.randrange(0, 20)) if answered and i % 5 else None
        household = rng.randrange(1, households + 1)
        ticket_rows.append({
            "household_id": household, "member_id": household,
            "category_id": rng.choice(categories), "priority": "normal",
            "urgent": i % 40 == 0,
            "status": TicketStatus.RESOLVED if resolved else TicketStatus.WITH_CASEWORKER,
            "provider_id": rng.choice(provider_ids), "created_at": created, "due_at": due,
            "first_response_at": answered, "resolved_at": resolved,
            "escalation_level": 0, "reopened": 0, "family_unreachable": False,
        })  # fmt: skip
        for n in range(4):
            message_rows.append({
                "ticket_id": i, "author": "member:1", "direction": "in" if n % 2 == 0 else "out",
                "kind": "text", "text": "x" * 80, "translation_flagged": False,
                "created_at": created + timedelta(hours=n),
            })  # fmt: skip
    _bulk(db, Ticket, ticket_rows)
    _bulk(db, TicketMessage, message_rows)
    marks = ("attended", "attended", "absent", "apology")
    _bulk(db, Attendance, [
        {"household_id": rng.randrange(1, households + 1), "member_id": None,
         "class_id": None, "session_on": date(YEAR, 1, 1) + timedelta(days=i % 360),
         "status": marks[i % 4], "source": "staff:1", "recorded_at": start}
        for i in range(20_000)
    ])  # fmt: skip
    del providers
    return {"households": households, "tickets": tickets, "messages": len(message_rows),
            "attendance_marks": 20_000}  # fmt: skip


def _timed(fn: Any, repeats: int) -> tuple[Any, dict[str, float]]:
    """Runs ``fn`` ``repeats`` times; its last result and the median and max seconds."""
    seconds, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - began)
    return result, {"median_s": round(statistics.median(seconds), 3),
                    "max_s": round(max(seconds), 3)}  # fmt: skip


def main() -> None:
    """Builds the data, times the year's figures, chart and CSV, prints and saves them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    load_all()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'stats.db'}")
        db.create_all()
        began = time.perf_counter()
        sizes = populate(db, args.households, args.messages, rng)
        insert_s = time.perf_counter() - began
        period = stats.Period(date(YEAR, 1, 1), date(YEAR, 12, 31))
        now = datetime(YEAR, 12, 31, 12, tzinfo=UTC)

        def compute() -> stats.Figures:
            with db.session() as session:
                return stats.compute(session, period=period, now=now)

        figures, compute_t = _timed(compute, args.repeats)
        _, chart_en = _timed(lambda: stats_chart.render(figures, texts("en")), args.repeats)
        _, chart_ar = _timed(lambda: stats_chart.render(figures, texts("ar")), args.repeats)
        table, csv_t = _timed(lambda: stats.to_csv(figures), args.repeats)
        db.dispose()
    total = figures.total
    result = {
        **sizes,
        "insert_s": round(insert_s, 1),
        "compute": compute_t,
        "chart_en": chart_en,
        "chart_ar": chart_ar,
        "csv": csv_t,
        "csv_bytes": len(table),
        "rows": len(figures.rows),
        "year_tickets_opened": total.opened,
        "first_response_median_wh": round(total.first_response_median or 0, 2),
        "first_response_p90_wh": round(total.first_response_p90 or 0, 2),
    }
    for key, value in result.items():
        print(f"{key}: {value}")
    print(f"saved: {write_result('bench_stats', result)}")


if __name__ == "__main__":
    main()
