"""The ``admin triage`` report: runs ``safeguarding.triage`` on texts for the safeguarding lead.

English for operators (not gettext); it uses exactly the code path the bot uses.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.services.safeguarding import Signal, triage


def read_lines(path: str) -> list[str]:
    """The non-empty lines of a UTF-8 file (``-`` reads standard input), in order."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def _signal_row(signal: Signal) -> dict[str, str]:
    """One signal as JSON: category, the words as written, and the rule that decided."""
    return {"category": str(signal.category), "matched": signal.matched, "rule": signal.rule}


def triage_rows(texts: Iterable[str]) -> list[dict[str, Any]]:
    """One result per text, in order: the text, its level and its signals."""
    rows: list[dict[str, Any]] = []
    for text in texts:
        result = triage(text)
        rows.append(
            {
                "text": text,
                "level": str(result.level),
                "signals": [_signal_row(s) for s in result.signals],
                "suppressed": [_signal_row(s) for s in result.suppressed],
            }
        )
    return rows


def json_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as the JSON output gives them (text, level, signals)."""
    return [{k: row[k] for k in ("text", "level", "signals")} for row in rows]


def format_table(rows: list[dict[str, Any]]) -> str:
    """A readable report: one block per text, its level, each signal and each suppressed match."""
    lines: list[str] = []
    for number, row in enumerate(rows, start=1):
        lines.append(f"{number:>3}. [{row['level'].upper():<6}] {row['text']}")
        for signal in row["signals"]:
            lines.append(f"       {signal['category']}: «{signal['matched']}»")
            lines.append(f"         rule {signal['rule']}")
        for signal in row.get("suppressed", []):
            lines.append(f"       not counted, {signal['category']}: «{signal['matched']}»")
            lines.append(f"         rule {signal['rule']}")
    counts = {level: sum(r["level"] == level for r in rows) for level in ("urgent", "high")}
    lines.append(
        f"{len(rows)} text(s): {counts['urgent']} urgent, {counts['high']} high, "
        f"{len(rows) - counts['urgent'] - counts['high']} none"
    )
    return "\n".join(lines)
