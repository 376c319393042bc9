"""The vocabulary of safeguarding rules: levels, categories, and Arabic-aware pattern builders.

Patterns are written in plain spelling and normalised like messages (see safeguarding_text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.services.safeguarding_text import canonical


class DangerLevel(StrEnum):
    """How soon a message needs a person: none < high < urgent."""

    NONE = "none"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """0 for none, 1 for high, 2 for urgent."""
        return _RANK[self]

    # Ordered by rank, never alphabetically ("high" < "none" as strings).
    def __lt__(self, other: object) -> bool:
        """Lower rank than ``other``."""
        return self.rank < _other_rank(other)

    def __le__(self, other: object) -> bool:
        """Rank at most ``other``'s."""
        return self.rank <= _other_rank(other)

    def __gt__(self, other: object) -> bool:
        """Higher rank than ``other``."""
        return self.rank > _other_rank(other)

    def __ge__(self, other: object) -> bool:
        """Rank at least ``other``'s."""
        return self.rank >= _other_rank(other)


def _other_rank(other: object) -> int:
    """The rank of a level given as a DangerLevel or its value; TypeError otherwise."""
    if isinstance(other, str) and other in _RANK_BY_VALUE:
        return _RANK_BY_VALUE[other]
    raise TypeError(f"cannot compare a danger level with {other!r}")


_RANK = {DangerLevel.NONE: 0, DangerLevel.HIGH: 1, DangerLevel.URGENT: 2}
_RANK_BY_VALUE = {level.value: rank for level, rank in _RANK.items()}


class Category(StrEnum):
    """What kind of danger a signal points to."""

    VIOLENCE = "violence"
    THREAT = "threat"
    SELF_HARM = "self_harm"
    SEXUAL_ABUSE = "sexual_abuse"
    CHILD_MISSING_OR_HURT = "child_missing_or_hurt"
    MEDICAL_EMERGENCY = "medical_emergency"
    AMBIGUOUS_MEDICAL = "ambiguous_medical"
    FIRE_GAS_CO = "fire_gas_co"
    FORCED_MARRIAGE = "forced_marriage"
    TRAFFICKING = "trafficking"
    EVICTION_HOMELESS = "eviction_homeless"
    NO_FOOD = "no_food"


class Effect(StrEnum):
    """What a context rule does to a signal near it."""

    CAP_NONE = "none"  # a harmless use: not a signal at all
    CAP_HIGH = "high"  # worth a review, not an emergency (negated, long ago)
    RAISE_URGENT = "urgent"  # an ambiguous word made clear (bleeding that will not stop)


class Where(StrEnum):
    """Where a context rule looks, relative to the matched words, within one sentence."""

    BEFORE = "before"
    AFTER = "after"
    SENTENCE = "sentence"
    MESSAGE = "message"


# --- pattern building ------------------------------------------------------------------------
# Patterns are written in plain spelling and pass through the same normaliser as messages, so
# they never need to list alef/yeh/taa-marbuta variants. A pattern covers whole words only.

B = r"(?<!\S)"  # start of a word
E = r"(?!\S)"  # end of a word
WORD = r"\S+"


def lit(text: str) -> str:
    """One literal word or phrase, normalised and escaped (spaces match one space)."""
    return re.escape(canonical(text))


def alt(*words: str) -> str:
    """Alternation of literal words or phrases, longest first."""
    forms = sorted({canonical(w) for w in words if canonical(w)}, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(f) for f in forms) + ")"


def gap(most: int) -> str:
    """Up to ``most`` other words in between (a space-separated run)."""
    return rf"(?: {WORD}){{0,{most}}} "


# Arabic affixes. Proclitics: و/ف "and", then an attached tense or preposition particle:
# ب (Levantine/Egyptian present, or "with"), د (Iraqi present), ح/ه (future, Levantine/Egyptian),
# س (MSA future), ل, عم/رح when glued on. Person prefixes of the imperfect: ي ت ن ا.
CONJ = "[وف]?"
PARTICLE = "(?:عم|رح|ب|د|ح|ه|س|ل)?"
PERSON = "[يتنا]?"
# Subject endings of dialect and MSA verbs (وا/و plural, ت/تي past persons, ين/ون imperfect).
SUBJECT = "(?:وا|و|ون|ين|ي|تي|تو|تم|ت|نا|ان)?"
# Object pronouns: ني me, نا us, ك/كي/كم you, ه/و him (ة is written ه), ها her, هم/هن them.
OBJECT = "(?:ني|نا|كي|كم|كن|ك|ها|هم|هن|ه|و)"
# Objects that make violence clearly about the writer or their family (see the violence rule).
PERSON_OBJECT = "(?:ني|نا|ها|هم|هن)"


def verb(*stems: str, obj: str | None = None) -> str:
    """One Arabic verb token from ``stems`` with any prefix and subject ending.

    ``obj`` is the object suffix the token must end with (None: optional). The stem keeps its
    letters (a root plus its pattern letters, e.g. ضرب، هدد، انتحر), so a stemmer's guess is
    never needed: the affixes are the only thing allowed to vary.
    """
    stem = "(?:" + "|".join(re.escape(canonical(s)) for s in stems) + ")"
    ending = f"{SUBJECT}{obj}" if obj else f"{SUBJECT}{OBJECT}?"
    return f"{B}{CONJ}{PARTICLE}{PERSON}{stem}{ending}{E}"


def noun(*stems: str) -> str:
    """Arabic nouns with optional و/ف، ب/ل/ك and the article ال (or لل), and any suffix."""
    stem = alt(*stems)
    return f"{B}{CONJ}(?:[بلك]|لل)?(?:ال)?{stem}(?:ي|ه|ها|هم|نا|كم|ات)?{E}"


def words(*forms: str) -> str:
    """Whole words or phrases, with an optional و/ف glued to the first Arabic word."""
    return f"{B}{CONJ}{alt(*forms)}{E}"


@dataclass(frozen=True)
class Rule:
    """A danger pattern: what it means, how urgent on its own, and which contexts apply."""

    id: str
    category: Category
    level: DangerLevel
    pattern: str
    why: str
    contexts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    """Words near a match that change its level (negation, long ago, a gas *bill* ...)."""

    id: str
    effect: Effect
    where: Where
    pattern: str
    why: str
    window: int = 4  # words before/after (BEFORE/AFTER); SENTENCE/MESSAGE ignore it


# Nouns for the people a family writes about (used in several rules).
