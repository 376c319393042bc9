"""The labelled evaluation set: urgent recall and harmless messages marked urgent, with thresholds.

The messages in data/safeguarding_eval.jsonl were written as families write, before tuning.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bot.services.safeguarding import DangerLevel, _compiled, triage
from bot.services.safeguarding_text import normalize

EVAL_FILE = Path(__file__).resolve().parent / "data" / "safeguarding_eval.jsonl"
LANGUAGES = {"msa", "syrian", "iraqi", "egyptian", "sudanese", "arabizi", "english"}
MIN_URGENT_RECALL = 0.95
MAX_HARMLESS_URGENT = 0.05


def _rows() -> list[dict[str, str]]:
    """Every labelled message."""
    lines = EVAL_FILE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _confusion(rows: list[dict[str, str]]) -> Counter[tuple[str, str]]:
    """(expected, got) counts over the set."""
    return Counter((row["expected"], str(triage(row["text"]).level)) for row in rows)


def _report(confusion: Counter[tuple[str, str]]) -> str:
    """The confusion table as text, for assertion messages."""
    levels = [str(level) for level in DangerLevel]
    lines = ["expected \\ got  " + "  ".join(f"{g:>6}" for g in levels)]
    for expected in levels:
        cells = "  ".join(f"{confusion[(expected, got)]:>6}" for got in levels)
        lines.append(f"{expected:<15} {cells}")
    return "\n".join(lines)


def test_the_set_is_large_varied_and_well_formed() -> None:
    rows = _rows()
    assert len(rows) >= 150
    assert {row["lang"] for row in rows} == LANGUAGES
    assert all(set(row) == {"text", "expected", "lang", "note"} for row in rows)
    assert {row["expected"] for row in rows} == {str(level) for level in DangerLevel}
    texts = [row["text"] for row in rows]
    assert len(set(texts)) == len(texts), "duplicate messages"
    not_urgent = sum(row["expected"] != "urgent" for row in rows)
    assert not_urgent >= len(rows) * 0.45, "about half must be harmless or only high"
    per_language = Counter(row["lang"] for row in rows)
    assert min(per_language.values()) >= 10, per_language


def test_urgent_recall_and_harmless_marked_urgent() -> None:
    rows = _rows()
    confusion = _confusion(rows)
    urgent = [r for r in rows if r["expected"] == "urgent"]
    harmless = [r for r in rows if r["expected"] != "urgent"]
    caught = confusion[("urgent", "urgent")]
    false_alarms = confusion[("none", "urgent")] + confusion[("high", "urgent")]
    recall = caught / len(urgent)
    false_rate = false_alarms / len(harmless)
    missed = [r["text"] for r in urgent if triage(r["text"]).level is not DangerLevel.URGENT]
    alarms = [r["text"] for r in harmless if triage(r["text"]).level is DangerLevel.URGENT]
    message = (
        f"urgent recall {recall:.3f} ({caught}/{len(urgent)}), harmless marked urgent "
        f"{false_rate:.3f} ({false_alarms}/{len(harmless)})\n{_report(confusion)}\n"
        f"missed: {missed}\nfalse alarms: {alarms}"
    )
    assert recall >= MIN_URGENT_RECALL, message
    assert false_rate <= MAX_HARMLESS_URGENT, message


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_no_language_is_left_behind(language: str) -> None:
    rows = [r for r in _rows() if r["lang"] == language and r["expected"] == "urgent"]
    caught = sum(triage(r["text"]).level is DangerLevel.URGENT for r in rows)
    assert rows and caught / len(rows) >= 0.9, (language, caught, len(rows))


def test_the_anchor_prefilter_never_hides_a_match() -> None:
    # Every message of the set: wherever a rule's regex matches,
    # one of its anchors is in the text, so skipping rules without an anchor changes nothing.
    texts = [row["text"] for row in _rows()]
    checked = 0
    for compiled in _compiled():
        if not compiled.anchors:
            continue
        for text in texts:
            normalized = normalize(text).text
            if compiled.regex.search(normalized):
                checked += 1
                assert compiled.may_match(normalized), (compiled.rule.id, text)
    assert checked > 50
