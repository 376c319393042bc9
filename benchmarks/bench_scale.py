"""Cost that does not grow with the database: /tickets, start-up and a relayed message.

Two databases side by side in one run: a small one holding only the measured people (one
caseworker, her families and their open requests) and a large one holding the same people plus
10,000 other households and 100,000 messages (bulk inserts into a SQLite file in a temporary
folder). Measured on each: a caseworker's /tickets (the service call, and the whole handler
through the local Bot API), start-up (build_application + post_init, counting setMyCommands),
and transactions and SELECTs per relayed family message (SQLAlchemy engine events).
Run: ``.venv/bin/python -m benchmarks.bench_scale [--households 10000 --messages 100000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert
from sqlmodel import Session, SQLModel, col, select

from bot.app import SanadApp, build_application
from bot.services import menus, people, registry, tickets
from bot.services.tickets import Part
from bot.settings import PROJECT_ROOT, Settings
from handlers.commands import commands_for
from handlers.menu import expected_fingerprints, fingerprint
from localapi import LocalBotAPI, UserHandle
from storage.db import Database
from storage.models import (
    AuditEvent,
    District,
    Household,
    Member,
    Staff,
    StaffRole,
    Ticket,
    TicketMessage,
    TicketStatus,
)

RESULTS = PROJECT_ROOT / "benchmarks" / "results"
SAM, FAMILY = 2001, 1001  # the measured caseworker and the family that relays messages
CASELOAD, UNCLAIMED = 12, 3  # the caseworker's own families and her provider's unclaimed ones
CHUNK = 5000
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WORDS = (
    "السخان لا يعمل منذ يومين والأطفال يشعرون بالبرد، متى يمكن أن يأتي أحد؟",
    "The heating engineer will visit on Thursday morning between 9 and 12.",
    "Please call the school about the bus pass for our son.",
    "شكرا جزيلا، سنكون في البيت يوم الخميس.",
)


class Counts:
    """Transactions and statements an engine runs, counted with SQLAlchemy events."""

    def __init__(self, db: Database) -> None:
        self.lock = threading.Lock()
        self.counts = {"begin": 0, "commit": 0, "rollback": 0, "select": 0, "write": 0}
        self.origins: Counter[str] = Counter()
        event.listen(db.engine, "begin", self._begin)
        event.listen(db.engine, "commit", lambda _c: self._add("commit"))
        event.listen(db.engine, "rollback", lambda _c: self._add("rollback"))
        event.listen(db.engine, "before_cursor_execute", self._statement)

    def _add(self, name: str) -> None:
        """Adds one to a count (listeners run on the database worker threads)."""
        with self.lock:
            self.counts[name] += 1

    def _begin(self, _connection: Any) -> None:
        """Counts a transaction and the project function that opened it."""
        self._add("begin")
        origin = transaction_origin()
        with self.lock:
            self.origins[origin] += 1

    def _statement(self, *args: Any) -> None:
        """Counts a SELECT or a write; BEGIN/COMMIT text is counted by the events above."""
        statement = str(args[2]).lstrip().upper()
        if statement.startswith("SELECT"):
            self._add("select")
        elif statement.startswith(("INSERT", "UPDATE", "DELETE")):
            self._add("write")

    def snapshot(self) -> dict[str, int]:
        """The counts so far, with transactions by origin as ``tx <origin>`` keys."""
        with self.lock:
            return {**self.counts, **{f"tx {k}": v for k, v in self.origins.items()}}


def transaction_origin() -> str:
    """Which project function a transaction is for: the one ``Database.run`` was given, else
    the innermost project frame that opened a session."""
    frames = [
        f
        for f in traceback.extract_stack()
        if f.filename.startswith(str(PROJECT_ROOT))
        and "/.venv/" not in f.filename
        and not f.filename.endswith("bench_scale.py")
    ]
    for index, frame in enumerate(frames):
        ran = frame.filename.endswith("storage/db.py") and frame.name == "_transaction"
        if ran and index + 1 < len(frames):
            given = frames[index + 1]
            return f"{Path(given.filename).stem}.{given.name}"
    outside = [f for f in frames if not f.filename.endswith("storage/db.py")]
    frame = outside[-1] if outside else frames[-1]
    return f"{Path(frame.filename).stem}.{frame.name}"


# ---------------------------------------------------------------- building the databases


def measured_people(db: Database) -> None:
    """The caseworker, her families with open requests, and her provider's unclaimed ones."""
    with db.session() as session:
        registry.seed(session)
        registry.add_provider(session, name="P0", districts=["Dover"])
        sam = registry.add_staff(session, role="caseworker", name="Sam", provider="P0")
        sam.telegram_user_id = SAM
        session.add(sam)
        for index in range(CASELOAD + UNCLAIMED):
            ref = f"KH-{index + 1:04d}"
            own = index < CASELOAD
            registry.add_family(
                session, ref=ref, district="Dover", scheme="VPRS", arrived="2024-05-01",
                caseworker_id=sam.id if own else None,
            )  # fmt: skip
            member = registry.add_member(session, family=ref, name=f"M{index}")
            member.telegram_user_id, member.consent_at = FAMILY + index, NOW
            session.add(member)
            session.flush()
            person = people.identify(session, telegram_user_id=FAMILY + index, language_code="ar")
            tickets.open_ticket(
                session, person=person, category="housing", parts=[Part(text=WORDS[0])]
            )


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Rows in insert-sized pieces."""
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _insert(session: Session, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """One executemany per chunk: fast, and no ORM objects."""
    for chunk in _chunks(rows):
        session.execute(insert(table), chunk)


def bulk(db: Database, households: int, messages: int, seed: int = 7) -> None:
    """Other providers' households, staff, tickets and messages, none visible to the caseworker."""
    rng = random.Random(seed)
    with db.session() as session:
        districts = [
            d.id or 0 for d in session.exec(select(District).where(District.name != "Dover"))
        ]
        providers = []
        for index, district in enumerate(districts):
            name = session.get(District, district).name  # type: ignore[union-attr]
            made, _ = registry.add_provider(session, name=f"Bulk {index}", districts=[name])
            providers.append((made.id or 0, district))
        first_staff = (session.exec(select(Staff.id).order_by(col(Staff.id).desc())).first()) or 0
        staff_rows: list[dict[str, Any]] = []
        count = max(1, households // 50)  # a caseload of 50 families
        for index in range(count):
            provider, _ = providers[index % len(providers)]
            staff_rows.append(
                dict(name=f"CW{index}", role=StaffRole.CASEWORKER, provider_id=provider,
                     telegram_user_id=8_000_000_000 + index, active=True, created_at=NOW)
            )  # fmt: skip
        for index, (provider, _) in enumerate(providers):
            staff_rows.append(
                dict(name=f"Lead{index}", role=StaffRole.LEAD, provider_id=provider,
                     telegram_user_id=8_100_000_000 + index, active=True, created_at=NOW)
            )  # fmt: skip
        _insert(session, Staff, staff_rows)
        caseworkers = list(range(first_staff + 1, first_staff + 1 + count))
        first_household = session.exec(select(Household.id).order_by(col(Household.id).desc()))
        base = first_household.first() or 0
        household_rows, member_rows, where = [], [], {}
        for index in range(households):
            cw = caseworkers[index % len(caseworkers)]
            provider, district = providers[(cw - first_staff - 1) % len(providers)]
            where[base + 1 + index] = (provider, cw)
            household_rows.append(
                dict(reference=f"BH-{index:06d}", district_id=district, scheme_id=1,
                     arrived_on=date(2024, 1, 1), support_ends_on=date(2029, 1, 1),
                     caseworker_id=cw, language="ar", created_at=NOW)
            )  # fmt: skip
            member_rows.append(
                dict(household_id=base + 1 + index, name=f"B{index}",
                     telegram_user_id=7_000_000_000 + index, language="ar", consent_at=NOW,
                     linked_at=NOW, created_at=NOW)
            )  # fmt: skip
        _insert(session, Household, household_rows)
        first_member = session.exec(select(Member.id).order_by(col(Member.id).desc())).first()
        _insert(session, Member, member_rows)
        member_of = {h: (first_member or 0) + 1 + i for i, h in enumerate(where)}
        ticket_rows = []
        for household, (provider, cw) in where.items():
            for _ in range(3):
                status = (
                    rng.choice(list(tickets.OPEN_STATUSES))
                    if rng.random() < 0.1
                    else TicketStatus.RESOLVED
                )
                assigned = status != TicketStatus.RECEIVED
                created = NOW - timedelta(days=rng.randint(1, 700))
                ticket_rows.append(
                    dict(household_id=household, member_id=member_of[household], category_id=1,
                         priority="normal", urgent=False, status=status, provider_id=provider,
                         assignee_id=cw if assigned else None, created_at=created,
                         due_at=created + timedelta(days=2), escalation_level=2,
                         first_response_at=created + timedelta(hours=3) if assigned else None,
                         resolved_at=NOW if status == TicketStatus.RESOLVED else None,
                         reopened=0, family_unreachable=False)
                )  # fmt: skip
        first_ticket = session.exec(select(Ticket.id).order_by(col(Ticket.id).desc())).first()
        _insert(session, Ticket, ticket_rows)
        ticket_ids = list(
            range((first_ticket or 0) + 1, (first_ticket or 0) + 1 + len(ticket_rows))
        )
        message_rows, audit_rows = [], []
        for index in range(messages):
            ticket = ticket_ids[index % len(ticket_ids)]
            direction = ("in", "out", "in", "note")[index % 4]
            message_rows.append(
                dict(ticket_id=ticket, author="member:1", direction=direction, kind="text",
                     text=WORDS[index % len(WORDS)], language="ar" if index % 2 else "en",
                     translation_flagged=False, created_at=NOW)
            )  # fmt: skip
        for ticket in ticket_ids:
            audit_rows.append(
                dict(at=NOW, actor="system", action="ticket.open", subject=f"ticket:{ticket}",
                     detail={})
            )  # fmt: skip
        _insert(session, TicketMessage, message_rows)
        _insert(session, AuditEvent, audit_rows)


def menus_already_set(db: Database) -> None:
    """Records every linked person's current menu, as a previous run would have left it."""
    expected = expected_fingerprints()
    with db.session() as session:
        for stale in (menus.stale_members, menus.stale_staff):
            after = 0
            while batch := stale(session, expected, after=after, limit=5000):
                done = {
                    h.telegram_user_id: fingerprint(
                        commands_for(
                            people.Person(h.telegram_user_id, h.kind, h.language, role=h.role)
                        )
                    )
                    for h in batch
                }
                menus.record(session, done)
                after = batch[-1].telegram_user_id


# ---------------------------------------------------------------- one bot per database


@dataclass
class Side:
    """One database with its own local Bot API, and what was measured on it."""

    name: str
    root: Path
    db: Database | None = None
    api: LocalBotAPI | None = None
    app: SanadApp | None = None
    settings: Settings | None = None
    counter: Counts | None = None
    figures: dict[str, Any] = field(default_factory=dict)

    def setup(self, households: int, messages: int) -> None:
        """Builds the database (file SQLite), timing the bulk part."""
        self.root.mkdir(parents=True)
        url = f"sqlite:///{self.root / 'scale.db'}"
        self.db = Database(url)
        self.db.create_all()
        measured_people(self.db)
        started = time.perf_counter()
        if households:
            bulk(self.db, households, messages)
        menus_already_set(self.db)
        self.figures["build_s"] = round(time.perf_counter() - started, 2)
        with self.db.engine.begin() as connection:
            # The set-up's own notices are not what is measured: start with an empty outbox.
            connection.exec_driver_sql("DELETE FROM notification")
            connection.exec_driver_sql("ANALYZE")
        with self.db.session() as session:
            self.figures["rows"] = {
                "households": len(session.exec(select(Household.id)).all()),
                "ticket_messages": len(session.exec(select(TicketMessage.id)).all()),
                "tickets": len(session.exec(select(Ticket.id)).all()),
            }
        self.counter = Counts(self.db)

    async def start_api(self) -> None:
        """The side's own local Bot API, with the measured people as its users."""
        self.api = LocalBotAPI(token=f"100:{self.name.upper()}", bot_username=f"{self.name}_bot")
        await self.api.start()
        self.settings = Settings(
            bot_token=self.api.token, api_base_url=self.api.base_url,
            api_base_file_url=self.api.base_file_url, database_url=self.db.url,  # type: ignore[union-attr]
            models_dir=self.root / "models", outbox_interval=3600.0,
            # What is measured is the database's share: pacing (1 message a second per chat)
            # would make back-to-back /tickets in one chat wait for Telegram's limit instead.
            send_rate=1000.0, send_rate_per_chat=1000.0,
        )  # fmt: skip

    def user(self, telegram_id: int, language: str) -> UserHandle:
        """A measured person as a Telegram user of this side's API."""
        assert self.api is not None
        return self.api.user(telegram_id, first_name=str(telegram_id), language_code=language)

    async def startup(self) -> tuple[float, int]:
        """Seconds for build_application + initialize + post_init and the menu refresh, and
        how many setMyCommands it sent; then shuts the bot down."""
        assert self.api is not None and self.settings is not None and self.db is not None
        before = len(self.chat_menus())
        started = time.perf_counter()
        app = build_application(self.settings, self.db)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        refresh = app.bot_data.extras.get("menus")
        if refresh is not None:
            await refresh
        elapsed = time.perf_counter() - started
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)  # as run_polling does: stops the background work
        return elapsed, len(self.chat_menus()) - before

    def chat_menus(self) -> list[Any]:
        """Every setMyCommands for one person's chat (the three guest menus are not counted)."""
        assert self.api is not None
        return [p for p in self.api.calls("setMyCommands") if "chat_id" in str(p.get("scope"))]

    async def run_bot(self) -> None:
        """Starts the bot polling this side's API."""
        assert self.settings is not None and self.db is not None and self.api is not None
        self.app = build_application(self.settings, self.db)
        await self.app.initialize()
        assert self.app.post_init is not None
        await self.app.post_init(self.app)
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(poll_interval=0.0, timeout=1)
        await self.api.quiet(0.5)

    async def stop(self) -> None:
        """Stops the bot, its API and the database."""
        if self.app is not None:
            assert self.app.updater is not None
            await self.app.updater.stop()
            await self.app.stop()
            await self.app.shutdown()
            assert self.app.post_shutdown is not None
            await self.app.post_shutdown(self.app)
        if self.api is not None:
            await self.api.stop()
        if self.db is not None:
            self.db.dispose()


def service_tickets(side: Side, repeat: int) -> list[float]:
    """Seconds for the service call /tickets makes, in its own transaction each time."""
    assert side.db is not None
    samples = []
    with side.db.session() as session:
        sam = people.identify(session, telegram_user_id=SAM, language_code="en")
    for _ in range(repeat):
        started = time.perf_counter()
        with side.db.session() as session:
            view = tickets.staff_tickets(session, person=sam)
        samples.append(time.perf_counter() - started)
    side.figures["shown"] = {"mine": view.mine_total, "queue": view.queue_total}
    return samples


async def handler_tickets(side: Side, sam: UserHandle, index: int) -> float:
    """Seconds from /tickets to the list in the caseworker's chat."""
    before = len(sam.messages)
    started = time.perf_counter()
    sam.send_text("/tickets")
    await sam.wait_for_count(before + 1, timeout=30)
    elapsed = time.perf_counter() - started
    if "K-" not in sam.messages[-1].text:
        raise RuntimeError(f"{side.name}: /tickets did not list the tickets")
    return elapsed


async def relay(side: Side, family: UserHandle, sam: UserHandle, index: int) -> dict[str, int]:
    """Counts for one family message until it is in the caseworker's chat and all is quiet."""
    assert side.counter is not None and side.api is not None
    await side.api.quiet(0.2)
    before = side.counter.snapshot()
    marker = f"رسالة رقم {index} عن السخان"
    family.send_text(marker)
    await sam.wait_for(lambda m: marker in m.text, timeout=30)
    await side.api.quiet(0.3)
    after = side.counter.snapshot()
    return {key: after[key] - before.get(key, 0) for key in after}


def ms(samples: list[float]) -> dict[str, float]:
    """Median and p95 in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p95_ms": round(p95 * 1000, 2)}


async def run(households: int, messages: int, repeat: int) -> dict[str, Any]:
    """Both databases, measured interleaved; returns the figures."""
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    with tempfile.TemporaryDirectory() as folder:
        sides = [Side("small", Path(folder) / "small"), Side("large", Path(folder) / "large")]
        sides[0].setup(0, 0)
        sides[1].setup(households, messages)
        try:
            for side in sides:
                await side.start_api()
                side.user(SAM, "en")
                side.user(FAMILY, "ar")
            service: dict[str, list[float]] = {s.name: [] for s in sides}
            for _ in range(repeat):
                for side in sides:
                    service[side.name] += service_tickets(side, 1)
            startup: dict[str, list[float]] = {s.name: [] for s in sides}
            menu_calls: dict[str, list[int]] = {s.name: [] for s in sides}
            for _ in range(3):
                for side in sides:
                    seconds, calls = await side.startup()
                    startup[side.name].append(seconds)
                    menu_calls[side.name].append(calls)
            for side in sides:
                await side.run_bot()
            handler: dict[str, list[float]] = {s.name: [] for s in sides}
            relays: dict[str, list[dict[str, int]]] = {s.name: [] for s in sides}
            # /tickets first, with the bot idle; then the relays (their background delivery
            # would otherwise overlap the next /tickets).
            for index in range(repeat):
                for side in sides if index % 2 == 0 else reversed(sides):
                    sam = side.user(SAM, "en")
                    handler[side.name].append(await handler_tickets(side, sam, index))
            for index in range(max(10, repeat // 2)):
                for side in sides if index % 2 == 0 else reversed(sides):
                    sam, family = side.user(SAM, "en"), side.user(FAMILY, "ar")
                    relays[side.name].append(await relay(side, family, sam, index))
        finally:
            for side in sides:
                await side.stop()
    result: dict[str, Any] = {"households": households, "messages": messages}
    for side in sides:
        keys = sorted({key for r in relays[side.name] for key in r})
        per_message = {
            key: round(statistics.fmean(r.get(key, 0) for r in relays[side.name]), 2)
            for key in keys
        }
        per_message = {k: v for k, v in per_message.items() if v or not k.startswith("tx ")}
        result[side.name] = {
            **side.figures,
            "tickets_service": ms(service[side.name]),
            "tickets_handler": ms(handler[side.name]),
            "startup": ms(startup[side.name]),
            "startup_set_my_commands": menu_calls[side.name],
            "relay_per_message": per_message,
        }
    small, large = result["small"], result["large"]
    result["ratios"] = {
        "tickets_service_p50": round(
            large["tickets_service"]["p50_ms"] / small["tickets_service"]["p50_ms"], 2
        ),
        "tickets_handler_p50": round(
            large["tickets_handler"]["p50_ms"] / small["tickets_handler"]["p50_ms"], 2
        ),
        "startup_p50": round(large["startup"]["p50_ms"] / small["startup"]["p50_ms"], 2),
    }
    return result


def main() -> int:
    """Prints the table and writes JSON under benchmarks/results/."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    result = asyncio.run(run(args.households, args.messages, args.repeat))
    print(
        f"small database (the measured people only) vs large "
        f"({args.households} more households, {args.messages} messages)"
    )
    print(f"{'':<34}{'small':>12}{'large':>12}{'ratio':>8}")
    small, large, ratios = result["small"], result["large"], result["ratios"]
    for label, key, ratio in (
        ("/tickets service p50 ms", "tickets_service", "tickets_service_p50"),
        ("/tickets handler p50 ms", "tickets_handler", "tickets_handler_p50"),
        ("start-up p50 ms", "startup", "startup_p50"),
    ):
        print(f"{label:<34}{small[key]['p50_ms']:>12}{large[key]['p50_ms']:>12}{ratios[ratio]:>8}")
    print(
        f"{'chat setMyCommands per start-up':<34}{small['startup_set_my_commands']!s:>12}"
        f"{large['startup_set_my_commands']!s:>12}"
    )
    keys = ["begin", "commit", "rollback", "select", "write"]
    origins = set(small["relay_per_message"]) | set(large["relay_per_message"])
    keys += sorted(origins - set(keys))
    print("per relayed message (family message → caseworker's chat, until all is quiet):")
    for key in keys:
        label = f"  {key}"[:34]
        print(
            f"{label:<34}{small['relay_per_message'].get(key, 0):>12}"
            f"{large['relay_per_message'].get(key, 0):>12}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%z")
    path = RESULTS / f"bench_scale-{stamp}.json"
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
