"""Safeguarding triage: how urgent a family's original message is, and why.

Rules (``safeguarding_rules``) match normalised text (``safeguarding_text``); context rules lower
or raise each match. ``triage`` is the one entry point the bot and the admin CLI use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from bot.services.safeguarding_patterns import Category, Context, DangerLevel, Effect, Rule, Where
from bot.services.safeguarding_rules import ANCHORS, CONTEXTS, RULES
from bot.services.safeguarding_text import SENTENCE_BREAK, Normalized, canonical, normalize

__all__ = [
    "Category",
    "DangerLevel",
    "Signal",
    "Triage",
    "max_level",
    "triage",
]


@dataclass(frozen=True)
class Signal:
    """One reason a message looks dangerous: what, the words as written, how urgent, which rule."""

    category: Category
    matched: str
    level: DangerLevel
    rule: str


@dataclass(frozen=True)
class Triage:
    """The result of checking one message: the highest level and every signal found.

    ``suppressed`` lists matches that a context rule made harmless (shown to the safeguarding
    lead by the admin CLI so wording can be checked; they never count).
    """

    level: DangerLevel
    signals: tuple[Signal, ...]
    suppressed: tuple[Signal, ...] = ()

    @property
    def urgent(self) -> bool:
        """Whether the message needs emergency guidance and an alert now."""
        return self.level is DangerLevel.URGENT


@dataclass(frozen=True)
class _Compiled:
    """A rule with its regex and its context rules compiled."""

    rule: Rule
    regex: re.Pattern[str]
    contexts: tuple[tuple[Context, re.Pattern[str]], ...]
    anchors: tuple[str, ...]  # empty: always run

    def may_match(self, text: str) -> bool:
        """False only when none of the rule's stems occurs in ``text`` (a cheap prefilter)."""
        return not self.anchors or any(anchor in text for anchor in self.anchors)


@dataclass(frozen=True)
class _Match:
    """A rule match before de-duplication: span in the normalised text and its signal."""

    start: int
    end: int
    signal: Signal


def max_level(levels: Iterable[DangerLevel]) -> DangerLevel:
    """The highest of ``levels`` (NONE when empty)."""
    return max(levels, key=lambda level: level.rank, default=DangerLevel.NONE)


@lru_cache(maxsize=1)
def _compiled() -> tuple[_Compiled, ...]:
    """Every rule compiled once; context patterns are shared between rules."""
    contexts = {name: (c, re.compile(c.pattern)) for name, c in CONTEXTS.items()}
    return tuple(
        _Compiled(
            rule,
            re.compile(rule.pattern),
            tuple(contexts[n] for n in rule.contexts),
            tuple(canonical(a) for a in ANCHORS.get(rule.id, ())),
        )
        for rule in RULES
    )


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (between sentence breaks) holding ``text[start:end]``."""
    left = text.rfind(SENTENCE_BREAK, 0, start) + 1
    right = text.find(SENTENCE_BREAK, end)
    return left, len(text) if right < 0 else right


def _context_text(text: str, start: int, end: int, context: Context) -> str:
    """The words a context rule looks at around the match ``text[start:end]``."""
    if context.where is Where.MESSAGE:
        return text
    left, right = _sentence_bounds(text, start, end)
    if context.where is Where.BEFORE:
        return " ".join(text[left:start].split()[-context.window :])
    if context.where is Where.AFTER:
        return " " + " ".join(text[end:right].split()[: context.window])
    return text[left:right]


def _apply_contexts(
    compiled: _Compiled, text: str, start: int, end: int
) -> tuple[DangerLevel, list[str]]:
    """The rule's level after its context rules, and a note per context rule that applied."""
    level = compiled.rule.level
    notes: list[str] = []
    raised = False
    caps: list[Context] = []
    for context, regex in compiled.contexts:
        if not regex.search(_context_text(text, start, end, context)):
            continue
        if context.effect is Effect.RAISE_URGENT:
            raised = level < DangerLevel.URGENT
            if raised:
                level = DangerLevel.URGENT
                notes.append(f"{context.id} -> urgent ({context.why})")
        else:
            caps.append(context)
    for context in caps:
        cap = DangerLevel(context.effect.value)
        if level > cap:
            level = cap
            notes.append(f"{context.id} -> {cap} ({context.why})")
    return level, notes


def _matches(normalized: Normalized) -> list[_Match]:
    """Every rule match in the message with its level after context."""
    text = normalized.text
    found: list[_Match] = []
    for compiled in _compiled():
        if not compiled.may_match(text):
            continue
        for m in compiled.regex.finditer(text):
            start, end = m.span()
            # Patterns may take the space before a word; the span is the words themselves.
            while start < end and text[start].isspace():
                start += 1
            if start >= end:
                continue
            level, notes = _apply_contexts(compiled, text, start, end)
            rule = compiled.rule
            explanation = "; ".join([f"{rule.id}: {rule.why}", *notes])
            signal = Signal(rule.category, normalized.span(start, end), level, explanation)
            found.append(_Match(start, end, signal))
    return found


def _deduplicate(found: list[_Match]) -> list[_Match]:
    """Drops a match inside a kept match of at least its level; orders by position."""
    ordered = sorted(found, key=lambda m: (-m.signal.level.rank, m.start - m.end, m.start))
    kept: list[_Match] = []
    for match in ordered:
        if any(
            k.start <= match.start
            and match.end <= k.end
            and k.signal.level >= match.signal.level
            and (k.signal.category == match.signal.category or k.signal.level.rank > 0)
            for k in kept
        ):
            continue
        kept.append(match)
    return sorted(kept, key=lambda m: (m.start, m.end))


def triage(text: str) -> Triage:
    """Checks one original (untranslated) message; pure, fast, never raises on any str."""
    normalized = normalize(text if isinstance(text, str) else str(text))
    if not normalized.text:
        return Triage(DangerLevel.NONE, ())
    kept = _deduplicate(_matches(normalized))
    signals = tuple(m.signal for m in kept if m.signal.level is not DangerLevel.NONE)
    suppressed = tuple(m.signal for m in kept if m.signal.level is DangerLevel.NONE)
    return Triage(max_level(s.level for s in signals), signals, suppressed)
