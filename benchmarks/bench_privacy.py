"""Benchmark: the cost of /mydata and of ``admin erase`` for a household with 1,000 messages.

Run ``python -m benchmarks.bench_privacy`` (``--postgres URL`` for PostgreSQL too). The database
also holds other households, so lookups are not trivially on an empty file. /mydata is measured
as its handler works (export in the member's transaction, the Arabic readable file, the JSON);
erase as the admin command runs it (one process call, migrations check included). Time is the
median of the rounds; peak memory is Python's (tracemalloc), measured in a separate pass.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import SQLModel, select

from bot.admin import run as admin_run
from bot.i18n import texts
from bot.services import privacy, registry
from bot.settings import Settings
from handlers import privacy_text
from storage.db import Database
from storage.models import (
    Member,
    NoticeKind,
    NoticeState,
    Notification,
    Ticket,
    TicketMessage,
    TicketStatus,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SENTENCE = "السخان مكسور منذ يومين والأطفال يشعرون بالبرد، أرجو المساعدة في أقرب وقت ممكن. "


def _household(session: Any, ref: str, tg: int, messages: int, tickets: int = 20) -> int:
    """A household with one linked member and ``messages`` messages over ``tickets`` requests."""
    household = registry.add_family(
        session, ref=ref, district="Dover", scheme="VPRS", arrived="2024-01-01"
    )
    member = registry.add_member(session, family=ref, name=f"Member {ref}")
    member.telegram_user_id, member.consent_at = tg, NOW
    session.add(member)
    session.flush()
    per = max(1, messages // tickets)
    rows: list[Any] = []
    for n in range(tickets):
        ticket = Ticket(
            household_id=household.id or 0, member_id=member.id or 0, category_id=1,
            status=TicketStatus.WITH_CASEWORKER, created_at=NOW - timedelta(days=n),
            due_at=NOW,
        )  # fmt: skip
        session.add(ticket)
        session.flush()
        for m in range(per):
            inbound = m % 2 == 0
            rows.append(
                TicketMessage(
                    ticket_id=ticket.id or 0,
                    author=f"member:{member.id}" if inbound else "staff:1",
                    direction="in" if inbound else "out",
                    text=SENTENCE * 3,
                    translation="The heater has been broken for two days. " * 3,
                    language="ar" if inbound else "en",
                    created_at=NOW - timedelta(minutes=m),
                    source_chat_id=tg if inbound else None,
                    source_message_id=tg * 10_000 + n * per + m if inbound else None,
                )
            )
    session.add_all(rows)
    return member.id or 0


def build(
    url: str, *, others: int, messages: int, targets: int, notices: int
) -> list[tuple[str, int]]:
    """A fresh database: ``others`` background households and ``targets`` measured ones."""
    db = Database(url)
    if db.engine.dialect.name == "postgresql":
        SQLModel.metadata.drop_all(db.engine)
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    db.upgrade()
    with db.session() as session:
        registry.seed(session)
        registry.add_provider(session, name="KRA", districts=["Dover"])
    for n in range(others):
        with db.session() as session:
            _household(session, f"BG-{n:04d}", 8_000_000 + n, 20, tickets=4)
    # An outbox of other families' notices (pruned after 30 days, so bounded): export and
    # erasure look through it for anything naming the household.
    for start in range(0, notices, 5000):
        with db.session() as session:
            session.add_all(
                [
                    Notification(
                        key=f"bg:{n}",
                        kind=NoticeKind.FAMILY_BROADCAST,
                        chat_id=8_000_000 + n % 997,
                        payload={"broadcast_id": 1, "member_id": 10_000 + n},
                        expires_at=NOW,
                        state=NoticeState.SENT,
                    )
                    for n in range(start, min(notices, start + 5000))
                ]
            )
    found = []
    for n in range(targets):
        with db.session() as session:
            ref = f"BENCH-{n}"
            found.append((ref, _household(session, ref, 9_000_000 + n, messages)))
    db.dispose()
    return found


def mydata(db: Database, member_id: int) -> tuple[int, int]:
    """What the /mydata copy button does, minus the two Telegram sends: sizes of both files."""
    with db.session() as session:
        data = privacy.export_for_member(session, member_id=member_id, now=NOW)
    readable = privacy_text.document(texts("ar"), data).encode("utf-8")
    machine = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
    return len(readable), len(machine)


def erase(settings: Settings, ref: str) -> None:
    """``python -m bot admin erase --family REF --yes --json`` in this process."""
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = admin_run(["erase", "--family", ref, "--yes", "--json"], settings=settings)
    if code != 0:
        raise RuntimeError(f"admin erase failed: {out.getvalue().strip()}")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``fn`` took, and what it returned."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def peak(fn: Callable[[], Any]) -> float:
    """Peak Python memory (MiB) allocated while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(url: str, *, others: int, messages: int, rounds: int, notices: int) -> dict[str, Any]:
    """Builds the database, then times /mydata (rounds) and admin erase (one per household)."""
    households = build(url, others=others, messages=messages, targets=rounds + 1, notices=notices)
    db = Database(url)
    settings = Settings(database_url=url)
    member_id = households[0][1]
    mydata(db, member_id)  # warm-up: imports, catalog, statement caches
    mydata_times, sizes = [], (0, 0)
    for _ in range(rounds):
        seconds, sizes = timed(lambda: mydata(db, member_id))
        mydata_times.append(seconds)
    mydata_peak = peak(lambda: mydata(db, member_id))
    with db.session() as session:
        stored = sum(1 for _ in session.exec(select(Member)))
    db.dispose()
    erase_times = []
    for target_ref, _ in households[1:-1]:
        erase_times.append(timed(lambda r=target_ref: erase(settings, r))[0])  # type: ignore[misc]
    erase_peak = peak(lambda: erase(settings, households[-1][0]))
    return {
        "backend": make_backend(url),
        "households": others + len(households),
        "members": stored,
        "messages_in_household": messages,
        "outbox_rows": notices,
        "mydata_seconds_median": statistics.median(mydata_times),
        "mydata_seconds_max": max(mydata_times),
        "mydata_peak_mib": round(mydata_peak, 1),
        "readable_file_kib": round(sizes[0] / 1024, 1),
        "json_file_kib": round(sizes[1] / 1024, 1),
        "erase_seconds_median": statistics.median(erase_times),
        "erase_seconds_max": max(erase_times),
        "erase_peak_mib": round(erase_peak, 1),
        "rounds": rounds,
    }


def make_backend(url: str) -> str:
    """sqlite or postgresql."""
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def report(results: dict[str, Any]) -> str:
    """The figures as a small table."""
    lines = [
        f"bench_privacy: a household with {results['runs'][0]['messages_in_household']} "
        f"messages, {results['runs'][0]['outbox_rows']} other notices in the outbox",
        f"{'backend':<11} {'mydata s':>9} {'mydata MiB':>11} {'txt KiB':>8} {'json KiB':>9} "
        f"{'erase s':>8} {'erase MiB':>10}",
    ]
    for run in results["runs"]:
        lines.append(
            f"{run['backend']:<11} {run['mydata_seconds_median']:>9.3f} "
            f"{run['mydata_peak_mib']:>11.1f} {run['readable_file_kib']:>8.1f} "
            f"{run['json_file_kib']:>9.1f} {run['erase_seconds_median']:>8.3f} "
            f"{run['erase_peak_mib']:>10.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print the table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--others", type=int, default=200, help="background households")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--notices", type=int, default=20000, help="other families' notices")
    parser.add_argument("--postgres", default=os.environ.get("SANAD_BENCH_POSTGRES_URL", ""))
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        runs.append(
            measure(
                sqlite_url,
                others=args.others,
                messages=args.messages,
                rounds=args.rounds,
                notices=args.notices,
            )
        )
    if args.postgres:
        runs.append(
            measure(
                args.postgres,
                others=args.others,
                messages=args.messages,
                rounds=args.rounds,
                notices=args.notices,
            )
        )
    results = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "runs": runs,
    }
    print(report(results))
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stamp = results["created_at"].replace(":", "").replace("-", "")
    path = args.output_dir / f"bench_privacy-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
