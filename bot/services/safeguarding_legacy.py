"""The phrase-list matcher Sanad used before levelled triage; only the benchmark baseline now.

Nothing in the bot imports it: ``benchmarks/bench_safeguarding.py`` measures the new matcher
against it on the same messages. The phrases live in ``bot/data/safeguarding_phrases.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.languages import LANGUAGES

PHRASES_FILE = Path(__file__).resolve().parent.parent / "data" / "safeguarding_phrases.json"
CATEGORIES = ("self_harm", "violence", "abuse", "child_at_risk", "medical_emergency")

# Matching rules, and why (false positives cost caseworker attention on every family message):
# * Whole tokens only, never substrings: "rape" must not fire inside "grapes", nor "abuse" inside
#   "disabused"; Arabic "نزيف" must not fire inside a longer word.
# * Everyday words are never phrases on their own. "fire" alone would catch "fire door is stuck"
#   and "fire alarm keeps beeping", so the data uses "on fire" / "house fire" / "kitchen fire";
#   likewise "gas" (gas bill, gas safety check) -> "gas leak" / "smell of gas". In Arabic the
#   same goes for غاز (فاتورة الغاز), حريق (إنذار الحريق), موت (بموت من الضحك), طعن (appeal a
#   decision), سكين, and مفقود / ضايع (lost passport), which only count next to a child noun.
#   Often-figurative phrases are left out too: "touched me" / لمسني ("your help touched me"),
#   اختناق (also a traffic jam, or feeling stifled; the data has عم يختنق instead).
# * Arabic proclitics و/ف then ب/ل, then the article ال (or لل), may be attached to the first
#   word ("وبدي موت", "والنزيف", "بالاسعاف"); later words match with or without the article
#   ("ريحة الغاز" matches "ريحة غاز" and vice versa). Suffixes are never stripped. Levantine ب
#   also marks the present tense ("بموت من الضحك" = dying of laughter), so any listed word is in
#   effect also listed with ب in front; that is one more reason bare موت is not a phrase.
# * Within one category, a phrase inside a longer matched phrase is dropped ("ضربني جوزي" reports
#   that phrase, not also "ضربني"); different categories are all reported.

_TASHKEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_INVISIBLE = re.compile("[\u0640\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")  # tatweel, bidi
_LETTER_MAP = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ی": "ي",  # Persian yeh, common on some keyboards
        "ک": "ك",  # Persian kaf
        "ة": "ه",
        "ؤ": "و",
        "ئ": "ي",
        **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + i): str(i) for i in range(10)},  # Eastern Arabic-Indic digits
    }
)
_WHITESPACE = re.compile(r"\s+")
_APOSTROPHES = re.compile("['\u2019\u2018\u02bc`]")
_NON_WORD = re.compile(r"[\W_]+")
_ARABIC_LETTER = re.compile("[\u0621-\u064a]")
_LATIN_PHRASE = re.compile(r"[a-z0-9 ]+")
_CONJUNCTIONS = "وف"
_PREPOSITIONS = "بل"
_ARTICLE = "ال"
_MIN_STEM = 2


@dataclass(frozen=True)
class DangerSignal:
    """One danger phrase found in a message: its category, the phrase as listed, its language."""

    category: str
    phrase: str
    language: str


@dataclass(frozen=True)
class _Entry:
    """A listed phrase with its normalised tokens."""

    category: str
    phrase: str
    language: str
    tokens: tuple[str, ...]


def normalize_arabic(text: str) -> str:
    """Strips tashkeel/tatweel; unifies alef, yeh, taa marbuta, hamza seats, digits and spaces."""
    text = _INVISIBLE.sub("", _TASHKEEL.sub("", text))
    return _WHITESPACE.sub(" ", text.translate(_LETTER_MAP)).strip()


def normalize_english(text: str) -> str:
    """Casefolds, drops apostrophes, turns punctuation into spaces and collapses whitespace."""
    text = _APOSTROPHES.sub("", text.casefold())
    return _WHITESPACE.sub(" ", _NON_WORD.sub(" ", text)).strip()


def _normalize(text: str) -> str:
    """Both normalisations, Arabic first (so diacritics never split a word)."""
    return normalize_english(normalize_arabic(text))


def _without_article(word: str) -> str | None:
    """The word without a leading ال, if a long enough stem remains."""
    if word.startswith(_ARTICLE) and len(word) - 2 >= _MIN_STEM:
        return word[2:]
    return None


def _bare(word: str) -> str:
    """The word without a leading ال (when a stem remains), else the word itself."""
    return _without_article(word) or word


def _arabic_first_word_forms(word: str) -> set[str]:
    """The word and its stems with و/ف, then ب/ل, then ال (or لل) removed from the front."""
    stems = [word]
    if word[:1] in _CONJUNCTIONS and len(word) - 1 >= _MIN_STEM:
        stems.append(word[1:])
    for stem in list(stems):
        if stem.startswith("لل") and len(stem) - 2 >= _MIN_STEM:
            stems.append(stem[2:])
        if stem[:1] in _PREPOSITIONS and len(stem) - 1 >= _MIN_STEM:
            stems.append(stem[1:])
    forms = set(stems)
    for stem in stems:
        bare = _without_article(stem)
        if bare:
            forms.add(bare)
    return forms


class PhraseBook:
    """The danger phrases by category and language, indexed by first word for fast matching."""

    def __init__(self, phrases: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
        """Validates and indexes ``{category: {language: [phrase, ...]}}``."""
        unknown = set(phrases) - set(CATEGORIES)
        missing = set(CATEGORIES) - set(phrases)
        if unknown or missing:
            raise ValueError(f"categories: unknown {sorted(unknown)}, missing {sorted(missing)}")
        entries: list[_Entry] = []
        seen: dict[tuple[str, tuple[str, ...]], str] = {}
        for category in CATEGORIES:
            by_language = phrases[category]
            if set(by_language) != set(LANGUAGES):
                raise ValueError(f"{category}: languages must be exactly {LANGUAGES}")
            for language, listed in by_language.items():
                for phrase in listed:
                    entry = self._entry(category, language, phrase)
                    key = (language, entry.tokens)
                    if key in seen:
                        raise ValueError(f"duplicate phrase {phrase!r} (same as {seen[key]!r})")
                    seen[key] = phrase
                    entries.append(entry)
        self._entries = tuple(entries)
        self._rank = {category: i for i, category in enumerate(CATEGORIES)}
        self._index: dict[str, dict[str, list[_Entry]]] = {lang: {} for lang in LANGUAGES}
        for entry in entries:
            self._index[entry.language].setdefault(entry.tokens[0], []).append(entry)

    @staticmethod
    def _entry(category: str, language: str, phrase: object) -> _Entry:
        """One validated entry; a phrase must be non-empty and written in its language's script."""
        if not isinstance(phrase, str):
            raise ValueError(f"{category}/{language}: phrase {phrase!r} is not a string")
        tokens = tuple(_normalize(phrase).split())
        if not tokens:
            raise ValueError(f"{category}/{language}: empty phrase {phrase!r}")
        joined = " ".join(tokens)
        if language == "ar" and not _ARABIC_LETTER.search(joined):
            raise ValueError(f"{category}/ar: {phrase!r} has no Arabic letters")
        if language == "en" and not _LATIN_PHRASE.fullmatch(joined):
            raise ValueError(f"{category}/en: {phrase!r} is not plain English")
        return _Entry(category, phrase, language, tokens)

    def __iter__(self) -> Iterator[DangerSignal]:
        """Every listed phrase, as the signal it would raise, in file order."""
        return (DangerSignal(e.category, e.phrase, e.language) for e in self._entries)

    def __len__(self) -> int:
        """How many phrases are listed."""
        return len(self._entries)

    def detect(self, text: str) -> list[DangerSignal]:
        """Danger signals in ``text``, ordered by position, then category, then longer phrase."""
        words = _normalize(text).split()
        if not words:
            return []
        found: list[tuple[int, int, _Entry]] = []  # (start, end, entry)
        for i, word in enumerate(words):
            for entry in self._index["en"].get(word, ()):
                if self._rest_matches(words, i, entry):
                    found.append((i, i + len(entry.tokens), entry))
            if _ARABIC_LETTER.match(word):
                for form in _arabic_first_word_forms(word):
                    for entry in self._index["ar"].get(form, ()):
                        if self._rest_matches(words, i, entry):
                            found.append((i, i + len(entry.tokens), entry))
        found.sort(key=lambda m: (m[0], -(m[1] - m[0]), self._rank[m[2].category], m[2].phrase))
        kept: list[tuple[int, int, _Entry]] = []
        signals: list[DangerSignal] = []
        for start, end, entry in found:
            if any(
                k.category == entry.category and ks <= start and end <= ke for ks, ke, k in kept
            ):
                continue
            kept.append((start, end, entry))
            signal = DangerSignal(entry.category, entry.phrase, entry.language)
            if signal not in signals:
                signals.append(signal)
        return signals

    @staticmethod
    def _rest_matches(words: list[str], start: int, entry: _Entry) -> bool:
        """Whether the phrase's later words follow ``start`` (Arabic: with or without ال)."""
        tokens = entry.tokens
        if start + len(tokens) > len(words):
            return False
        for offset, token in enumerate(tokens[1:], start=1):
            word = words[start + offset]
            if word == token:
                continue
            if entry.language == "ar" and _bare(word) == _bare(token):
                continue
            return False
        return True


@lru_cache(maxsize=8)
def _load(path: Path) -> PhraseBook:
    """Reads and indexes one phrase file (cached by resolved path)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return PhraseBook(data["categories"])


def load_phrases(path: Path | None = None) -> PhraseBook:
    """The phrase book from ``path`` (default: the bundled JSON), parsed once per path."""
    return _load((path or PHRASES_FILE).resolve())


def detect_danger(text: str, phrases: PhraseBook | None = None) -> list[DangerSignal]:
    """Danger signals in the original (untranslated) ``text``; empty when there are none."""
    return (phrases if phrases is not None else load_phrases()).detect(text)
