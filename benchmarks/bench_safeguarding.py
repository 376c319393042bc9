"""Benchmark: levelled safeguarding triage against the old phrase matcher, on the labelled set.

Run ``python -m benchmarks.bench_safeguarding``. Prints urgent recall, harmless messages marked
urgent, the high level, and time per message for both matchers measured side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.services import safeguarding_legacy
from bot.services.safeguarding import triage

ROOT = Path(__file__).resolve().parent.parent
EVAL_FILE = ROOT / "tests" / "unit" / "data" / "safeguarding_eval.jsonl"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
LONG_MESSAGE = ("مرحبا كيفك انا بدي اسأل عن موعد الطبيب والمدرسة والسكن " * 80)[:4096]


def load_rows(path: Path = EVAL_FILE) -> list[dict[str, str]]:
    """The labelled messages (text, expected, lang, note)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def new_level(text: str) -> str:
    """The level the current triage gives."""
    return str(triage(text).level)


def old_level(text: str) -> str:
    """The old matcher had one flag: any phrase meant urgent."""
    return "urgent" if safeguarding_legacy.detect_danger(text) else "none"


def quality(rows: list[dict[str, str]], level_of: Callable[[str], str]) -> dict[str, Any]:
    """Urgent recall, harmless marked urgent, high-level agreement and the confusion counts."""
    confusion = Counter((row["expected"], level_of(row["text"])) for row in rows)
    urgent = sum(row["expected"] == "urgent" for row in rows)
    harmless = len(rows) - urgent
    high = sum(row["expected"] == "high" for row in rows)
    false_alarms = confusion[("none", "urgent")] + confusion[("high", "urgent")]
    return {
        "urgent_recall": round(confusion[("urgent", "urgent")] / urgent, 4),
        "harmless_marked_urgent": round(false_alarms / harmless, 4),
        "high_exact": round(confusion[("high", "high")] / high, 4) if high else None,
        "high_at_least_high": (
            round((confusion[("high", "high")] + confusion[("high", "urgent")]) / high, 4)
            if high
            else None
        ),
        "none_exact": round(confusion[("none", "none")] / (harmless - high), 4),
        "exact_level": round(sum(n for (e, g), n in confusion.items() if e == g) / len(rows), 4),
        "confusion": {f"{e}->{g}": n for (e, g), n in sorted(confusion.items())},
    }


def per_language(rows: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Urgent recall and harmless-marked-urgent of the current triage by dialect or language."""
    out: dict[str, dict[str, Any]] = {}
    for lang in sorted({row["lang"] for row in rows}):
        subset = [row for row in rows if row["lang"] == lang]
        result = quality(subset, new_level)
        out[lang] = {
            "messages": len(subset),
            "urgent_recall": result["urgent_recall"],
            "harmless_marked_urgent": result["harmless_marked_urgent"],
        }
    return out


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(values_s: list[float]) -> dict[str, float]:
    """p50/p95/mean in milliseconds."""
    ms = [v * 1000 for v in values_s]
    return {
        "p50_ms": round(percentile(ms, 50), 4),
        "p95_ms": round(percentile(ms, 95), 4),
        "mean_ms": round(statistics.fmean(ms), 4),
    }


def timing(texts: list[str], rounds: int) -> dict[str, dict[str, float]]:
    """Time per message of both matchers, interleaved message by message so drift hits both."""
    new_s: list[float] = []
    old_s: list[float] = []
    for text in texts[:5]:  # warm-up: compile patterns, load the phrase file
        triage(text)
        safeguarding_legacy.detect_danger(text)
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            triage(text)
            new_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            safeguarding_legacy.detect_danger(text)
            old_s.append(time.perf_counter() - started)
    new, old = summary(new_s), summary(old_s)
    return {
        "triage": new,
        "old_phrases": old,
        "ratio": {
            "p50": round(new["p50_ms"] / old["p50_ms"], 2),
            "p95": round(new["p95_ms"] / old["p95_ms"], 2),
            "mean": round(new["mean_ms"] / old["mean_ms"], 2),
        },
    }


def run(rounds: int) -> dict[str, Any]:
    """Quality of both matchers on the labelled set, then timings on the same messages."""
    rows = load_rows()
    texts = [row["text"] for row in rows]
    long_s = []
    for _ in range(20):
        started = time.perf_counter()
        triage(LONG_MESSAGE)
        long_s.append(time.perf_counter() - started)
    return {
        "benchmark": "safeguarding",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "messages": len(rows),
        "labels": dict(Counter(row["expected"] for row in rows)),
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
        },
        "triage": quality(rows, new_level),
        "old_phrases": quality(rows, old_level),
        "triage_by_language": per_language(rows),
        "time_per_message": timing(texts, rounds),
        "time_4096_arabic_chars": summary(long_s),
    }


def report(results: dict[str, Any]) -> str:
    """A short human-readable table of the results."""
    new, old = results["triage"], results["old_phrases"]
    lines = [
        f"{results['messages']} labelled messages {results['labels']}",
        f"{'':<30}{'triage':>10}{'old list':>10}",
    ]
    for key in ("urgent_recall", "harmless_marked_urgent", "exact_level"):
        lines.append(f"{key:<30}{new[key]:>10.3f}{old[key]:>10.3f}")
    lines.append(f"{'high exact / at least high':<30}{new['high_exact']:>10.3f}"
                 f"{new['high_at_least_high']:>10.3f}")  # fmt: skip
    lines.append(f"confusion (triage): {new['confusion']}")
    for lang, row in results["triage_by_language"].items():
        lines.append(
            f"  {lang:<10} {row['messages']:>4} msgs  recall {row['urgent_recall']:.3f}  "
            f"harmless->urgent {row['harmless_marked_urgent']:.3f}"
        )
    times = results["time_per_message"]
    lines.append(f"{'time per message':<20}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for label in ("triage", "old_phrases"):
        row = times[label]
        lines.append(
            f"{label:<20}{row['p50_ms']:>10.4f}{row['p95_ms']:>10.4f}{row['mean_ms']:>10.4f}"
        )
    ratio = times["ratio"]
    lines.append(
        f"ratio triage/old: p50 {ratio['p50']}x, p95 {ratio['p95']}x, mean {ratio['mean']}x"
    )
    long = results["time_4096_arabic_chars"]
    lines.append(f"4,096 Arabic characters: p50 {long['p50_ms']} ms, p95 {long['p95_ms']} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print the table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="timing passes over the set")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    results = run(args.rounds)
    print(report(results))
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stamp = results["created_at"].replace(":", "").replace("-", "")
    path = args.output_dir / f"bench_safeguarding-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
