"""Benchmark: our Translator's per-message overhead against calling argostranslate directly.

Run ``python -m benchmarks.bench_translation``. Uses the random-weight fixture models, so the
figures measure plumbing (detection, glossary, thread hand-off, cache), not translation quality.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import os
import platform
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.services import argos_models
from bot.services.translation import SimpleSentencizer, Translator
from tests.fixtures import AR_EN, AR_EN_SHA, EN_AR, EN_AR_SHA, missing_fixtures

logger = logging.getLogger(__name__)

# The project's own random-weight packages (tests/fixtures/models, SANAD_FIXTURE_MODELS).
FIXTURE_SHAS = {AR_EN: AR_EN_SHA, EN_AR: EN_AR_SHA}
RESULTS_DIR = Path(__file__).resolve().parent / "results"

EN_TEMPLATES = [
    "Hello, my Universal Credit payment has not arrived. My reference is K-{ref:04d}.",
    "Can I change my ESOL class on {day} at {hour}:30? Call me on 07700 {phone:06d}.",
    "The GP in {district} says I need a council tax letter for K-{ref:04d}.",
    "Thank you. See you at the Jobcentre at {hour}:00 tomorrow, ticket K-{ref:04d}.",
    "My BRP expires on 1{hour}/0{digit}/2026, what should I do? Case K-{ref:04d}.",
    "Please read https://www.kent.gov.uk/{district_lower}/{ref} before {day}.",
    "Is the housing association in {district} open on {day}? Flat {ref}.",
]
AR_TEMPLATES = [
    "مرحبا، لم تصل دفعة الائتمان الشامل. رقم الملف K-{ref:04d}.",
    "هل يمكن تغيير موعد طبيب العائلة إلى الساعة {hour}:30؟ الملف K-{ref:04d}",
    "أسكن في {district_ar} وعندي {digit} أطفال. رقمي 07700 {phone:06d}.",
    "شكرا جزيلا، سأحضر إلى مركز التوظيف غدا بخصوص K-{ref:04d}.",
    "متى تصل رسالة ضريبة البلدية للشقة {ref}؟",
]
DISTRICTS = [("Dover", "دوفر"), ("Thanet", "ثانيت"), ("Ashford", "آشفورد"), ("Swale", "سويل")]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


class NetworkBlockedError(RuntimeError):
    """Raised if anything tries to go online during the benchmark."""


def _block_network() -> None:
    """Make every outgoing connection fail, to prove the run is offline."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise NetworkBlockedError("network access attempted")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]


def make_inputs(count: int, seed: int, *, offset: int = 0) -> list[tuple[str, str, str]]:
    """Return distinct (text, source, target) messages, about two thirds English."""
    rng = random.Random(seed)
    inputs: list[tuple[str, str, str]] = []
    for index in range(count):
        district, district_ar = rng.choice(DISTRICTS)
        values = {
            "ref": offset + index,
            "day": rng.choice(DAYS),
            "hour": rng.randint(9, 16) % 10,
            "phone": 900000 + offset + index,
            "district": district,
            "district_lower": district.lower(),
            "district_ar": district_ar,
            "digit": rng.randint(1, 9),
        }
        if index % 3 == 2:
            inputs.append((rng.choice(AR_TEMPLATES).format(**values), "ar", "en"))
        else:
            inputs.append((rng.choice(EN_TEMPLATES).format(**values), "en", "ar"))
    if len({text for text, _, _ in inputs}) != count:
        raise ValueError("benchmark inputs must be distinct")
    return inputs


def percentile(values: list[float], pct: float) -> float:
    """Return the pct-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(values_s: list[float]) -> dict[str, float]:
    """Return p50/p95/mean in milliseconds."""
    ms = [v * 1000 for v in values_s]
    return {
        "p50_ms": round(percentile(ms, 50), 4),
        "p95_ms": round(percentile(ms, 95), 4),
        "mean_ms": round(statistics.fmean(ms), 4),
    }


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """Return (seconds, result) of one call."""
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def raw_translator(translate_mod: Any) -> Callable[[str, str, str], str]:
    """Return argostranslate's own translate(), made offline with our sentence splitter."""
    for source, target in (("ar", "en"), ("en", "ar")):
        translation = translate_mod.get_translation_from_codes(source, target)
        getattr(translation, "underlying", translation).sentencizer = SimpleSentencizer()
    return translate_mod.translate


async def run(count: int, seed: int) -> dict[str, Any]:
    """Install the fixtures, then measure raw argos and our Translator on the same inputs."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-translation-"))
    models_dir = workdir / "models"
    for path, sha in FIXTURE_SHAS.items():
        argos_models.install_models([path], models_dir=models_dir, sha256=sha)
    argos_models.configure_argos(models_dir, intra_threads=1)
    started = time.perf_counter()
    translate_mod = argos_models.load_argos(models_dir)
    import_s = time.perf_counter() - started
    raw = raw_translator(translate_mod)

    translator = Translator(models_dir=models_dir, cache_size=count * 2)
    started = time.perf_counter()
    await translator.warm_up()
    warm_up_s = time.perf_counter() - started
    for text, source, target in make_inputs(5, seed + 1, offset=100_000):
        raw(text, source, target)
        await translator.translate(text, source=source, target=target)

    inputs = make_inputs(count, seed)
    raw_s: list[float] = []
    cold_s: list[float] = []
    statuses: dict[str, int] = {}
    loop = asyncio.get_running_loop()
    # Interleave the two paths message by message so machine drift hits both equally.
    for text, source, target in inputs:
        seconds, _ = timed(functools.partial(raw, text, source, target))
        raw_s.append(seconds)
        begin = loop.time()
        result = await translator.translate(text, target=target)
        cold_s.append(loop.time() - begin)
        statuses[result.status] = statuses.get(result.status, 0) + 1
    hit_s: list[float] = []
    for text, _, target in inputs:
        begin = loop.time()
        await translator.translate(text, target=target)
        hit_s.append(loop.time() - begin)
    stats = translator.stats
    translator.close()

    overhead = [ours - base for ours, base in zip(cold_s, raw_s, strict=True)]
    raw_summary = summary(raw_s)
    cold_summary = summary(cold_s)
    return {
        "benchmark": "translation",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "models": "tiny-random fixtures (random weights; output meaningless)",
        "messages": count,
        "seed": seed,
        "network": "blocked",
        "environment": {
            "python": platform.python_version(),
            "argostranslate": metadata.version("argostranslate"),
            "ctranslate2": metadata.version("ctranslate2"),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
        },
        "setup_s": {"import_argostranslate": round(import_s, 3), "warm_up": round(warm_up_s, 3)},
        "raw_argos": raw_summary,
        "translator_cold": cold_summary,
        "translator_cached": summary(hit_s),
        "overhead_per_message": {
            **summary(overhead),
            "ratio_p50": round(cold_summary["p50_ms"] / raw_summary["p50_ms"], 3),
            "ratio_mean": round(cold_summary["mean_ms"] / raw_summary["mean_ms"], 3),
        },
        "statuses": statuses,
        "counters": {"hits": stats.hits, "misses": stats.misses, "failures": stats.failures},
    }


def report(results: dict[str, Any]) -> str:
    """Return a short human-readable table of the results."""
    rows = [
        ("raw argostranslate", results["raw_argos"]),
        ("Translator, cold (miss)", results["translator_cold"]),
        ("Translator, cached (hit)", results["translator_cached"]),
        ("overhead (cold - raw)", results["overhead_per_message"]),
    ]
    lines = [
        f"{results['messages']} messages, fixture models, network blocked",
        f"{'path':<26}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}",
    ]
    for label, row in rows:
        lines.append(
            f"{label:<26}{row['p50_ms']:>10.3f}{row['p95_ms']:>10.3f}{row['mean_ms']:>10.3f}"
        )
    ratio = results["overhead_per_message"]
    lines.append(f"ratio Translator/raw: p50 {ratio['ratio_p50']}x, mean {ratio['ratio_mean']}x")
    lines.append(f"statuses {results['statuses']}, counters {results['counters']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print the table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300, help="distinct inputs (default 300)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    problem = missing_fixtures()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    _block_network()
    results = asyncio.run(run(args.messages, args.seed))
    print(report(results))
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stamp = results["created_at"].replace(":", "").replace("-", "")
    path = args.output_dir / f"bench_translation-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
