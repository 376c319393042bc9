"""Family message → caseworker's chat: latency through the whole bot, with and without models.

The real PTB Application polls the project's local Bot API on loopback; a family member sends
follow-up messages on an open request and the clock stops when the caseworker's chat holds the
notice. Both configurations run in one process, interleaved message by message, so machine noise
falls on both alike. Run: ``.venv/bin/python -m benchmarks.bench_relay [--messages 60]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import build_application
from bot.services import people, registry, tickets
from bot.services.argos_models import install_models
from bot.services.tickets import Part
from bot.settings import PROJECT_ROOT, Settings
from localapi import LocalBotAPI, UserHandle
from storage.db import Database
from tests.fixtures import AR_EN, AR_EN_SHA, AR_EN_WORD, EN_AR, EN_AR_SHA, missing_fixtures

RESULTS = PROJECT_ROOT / "benchmarks" / "results"


class Bot:
    """One running bot (its own Bot API, database and models folder) with a family and a
    caseworker already joined and one open request."""

    def __init__(self, root: Path, name: str, *, models: bool) -> None:
        self.root, self.name, self.models = root / name, name, models
        self.api = LocalBotAPI(token=f"100:{name.upper()}", bot_username=f"{name}_bot")
        self.app: Any = None
        self.family: UserHandle | None = None
        self.caseworker: UserHandle | None = None

    async def start(self) -> None:
        """Starts everything and waits for the translator to be warm."""
        self.root.mkdir(parents=True)
        await self.api.start()
        models_dir = self.root / "models"
        if self.models:
            install_models([AR_EN], models_dir=models_dir, sha256=AR_EN_SHA)
            install_models([EN_AR], models_dir=models_dir, sha256=EN_AR_SHA)
        settings = Settings(
            bot_token=self.api.token, api_base_url=self.api.base_url,
            api_base_file_url=self.api.base_file_url,
            database_url=f"sqlite:///{self.root / 'bench.db'}", models_dir=models_dir,
            outbox_interval=3600.0,
        )  # fmt: skip
        db = Database(settings.database_url)
        db.create_all()
        with db.session() as session:
            registry.seed(session)
            registry.add_provider(session, name="P", districts=["Dover"])
            staff = registry.add_staff(session, role="caseworker", name="Sam", provider="P")
            registry.add_family(session, ref="KH-1", district="Dover", scheme="VPRS",
                                arrived="2024-01-01", caseworker_id=staff.id)  # fmt: skip
            member = registry.add_member(session, family="KH-1", name="Amina")
            staff.telegram_user_id, member.telegram_user_id = 2001, 1001
            member.consent_at = datetime.now(UTC)
            session.add_all([staff, member])
            session.flush()
            person = people.identify(session, telegram_user_id=1001, language_code="ar")
            tickets.open_ticket(session, person=person, category="housing", parts=[Part(text="x")])
        self.app = build_application(settings, db)
        await self.app.initialize()
        await self.app.post_init(self.app)
        await self.app.start()
        await self.app.updater.start_polling(poll_interval=0.0, timeout=1)
        self.family = self.api.user(1001, first_name="Amina", language_code="ar")
        self.caseworker = self.api.user(2001, first_name="Sam", language_code="en")
        warm = self.app.bot_data.extras.get("warm_up")
        if warm is not None:
            await warm
        await self.api.quiet(0.5)

    async def one(self, index: int) -> float:
        """Seconds from the family's message to the notice in the caseworker's chat."""
        assert self.family is not None and self.caseworker is not None
        marker = f"رقم {index} الحنفية تسرب الماء في المطبخ منذ الصباح"
        started = time.perf_counter()
        self.family.send_text(marker)
        notice = await self.caseworker.wait_for(lambda m: marker in m.text, timeout=30)
        elapsed = time.perf_counter() - started
        # The fixture ar→en model answers with its marker word: proof the model really ran.
        if self.models and AR_EN_WORD not in notice.text:
            raise RuntimeError(f"{self.name}: the notice was not machine-translated")
        return elapsed

    async def stop(self) -> None:
        """Stops the bot and its Bot API."""
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()
        self.app.bot_data.db.dispose()
        await self.api.stop()


def summary(samples: list[float]) -> dict[str, float]:
    """p50, p95 and mean in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


async def run(messages: int) -> dict[str, Any]:
    """Both configurations, interleaved; returns the figures."""
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    with tempfile.TemporaryDirectory() as folder:
        bots = [
            Bot(Path(folder), "plain", models=False),
            Bot(Path(folder), "fixture", models=True),
        ]
        for bot in bots:
            await bot.start()
        samples: dict[str, list[float]] = {bot.name: [] for bot in bots}
        try:
            for index in range(messages):
                for bot in bots if index % 2 == 0 else reversed(bots):
                    samples[bot.name].append(await bot.one(index))
        finally:
            for bot in bots:
                await bot.stop()
    plain, fixture = summary(samples["plain"]), summary(samples["fixture"])
    return {
        "messages": messages,
        "no_model": plain,
        "fixture_models": fixture,
        "ratio_p50": round(fixture["p50_ms"] / plain["p50_ms"], 3),
        "ratio_mean": round(fixture["mean_ms"] / plain["mean_ms"], 3),
    }


def main() -> int:
    """Prints the table and writes JSON under benchmarks/results/."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=60)
    messages = parser.parse_args().messages
    problem = missing_fixtures()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    result = asyncio.run(run(messages))
    print(f"{result['messages']} family messages, each to the caseworker's chat")
    print(f"{'configuration':<28}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for label, key in (
        ("no model (untranslated)", "no_model"),
        ("fixture models", "fixture_models"),
    ):
        row = result[key]
        print(f"{label:<28}{row['p50_ms']:>10}{row['p95_ms']:>10}{row['mean_ms']:>10}")
    print(
        f"ratio with/without translation: p50 {result['ratio_p50']}x, mean {result['ratio_mean']}x"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%z")
    path = RESULTS / f"bench_relay-{stamp}.json"
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
