"""Normalises a message for safeguarding matching, keeping where each character came from.

Arabic is written many ways on a phone; the matcher sees one canonical spelling and maps every
match back to the words as the person wrote them (``Normalized.span``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

SENTENCE_BREAK = "\n"
# Letters that differ only by hamza seat, dots or keyboard (Persian yeh/kaf) are one letter here;
# taa marbuta is written as haa by many people, so both become haa.
_LETTER_MAP = {
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ى": "ي",
    "ی": "ي",
    "ې": "ي",
    "ک": "ك",
    "ة": "ه",
    "ۀ": "ه",
    "ؤ": "و",
    "ئ": "ي",
    "ء": "",  # a lone hamza is dropped by half of writers (سماء/سما); drop it for all
    "گ": "ك",  # Iraqi gaf: يگتلني
    "چ": "ج",
    "پ": "ب",
    "ڤ": "ف",
    "\u2019": "",  # apostrophes inside words: "can't", Arabizi "3'"
    "'": "",
    "\u2018": "",
    "\u02bc": "",
    "`": "",
}
# Tashkeel, Quranic marks and tatweel disappear; so do invisible characters that phones and
# copy-paste put inside words (zero-width joiners, bidi marks and isolates, BOM, soft hyphen).
_DROPPED = re.compile(
    "[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed\u0640"
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\ufe00-\ufe0f\ufeff]"
)
_SENTENCE_END = frozenset(".!?؟;؛\n\r\u2029\u2028…")
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True)
class Normalized:
    """Canonical text (letters, digits, single spaces, newline between sentences) and its origin.

    ``origin[i]`` is the index in the original text of the first character behind ``text[i]``
    and ``origin_end[i]`` of the last (they differ for a stretched letter or a ligature).
    """

    original: str
    text: str
    origin: tuple[int, ...]
    origin_end: tuple[int, ...]

    def span(self, start: int, end: int) -> str:
        """The original words behind ``text[start:end]`` (as the person wrote them)."""
        if start >= end:
            return ""
        return self.original[self.origin[start] : self.origin_end[end - 1] + 1].strip()


@lru_cache(maxsize=4096)
def _char(ch: str) -> str:
    """What one character becomes: letters canonical, punctuation a space or a sentence break."""
    if ch in _SENTENCE_END:
        return SENTENCE_BREAK
    if _DROPPED.match(ch):
        return ""
    out = []
    # NFKC turns presentation forms (ﻻ, ﺏ), full-width Latin and Arabic-Indic digits into plain
    # characters; casefold handles English capitals and ß.
    for part in unicodedata.normalize("NFKC", ch).casefold():
        if part in _LETTER_MAP:
            out.append(_LETTER_MAP[part])
        elif _DROPPED.match(part):
            continue
        elif part.isdigit():
            out.append(str(unicodedata.digit(part, 0)))
        elif part.isalpha():
            out.append(part)
        elif unicodedata.category(part).startswith("M"):
            continue  # other combining marks
        elif part in _SENTENCE_END:
            out.append(SENTENCE_BREAK)
        else:
            out.append(" ")
    return "".join(out)


def normalize(text: str) -> Normalized:
    """Canonical form for matching: see the module docstring and ``_char``.

    A letter stretched for emphasis becomes one letter (خاااايفة → خايفه, ساعدووووني → ساعدوني,
    "hellllp" → "help"): three or more of the same letter, or two alefs, which Arabic never
    writes. A real double (هددني, "kill") stays. Digits are never collapsed (999).
    """
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        for out in _char(ch):
            if out in (" ", SENTENCE_BREAK):
                previous = chars[-1] if chars else SENTENCE_BREAK
                if previous == SENTENCE_BREAK:
                    continue
                if previous == " ":
                    chars[-1] = out if out == SENTENCE_BREAK else previous
                    continue
            chars.append(out)
            origin.append(index)
    while chars and chars[-1] in (" ", SENTENCE_BREAK):
        chars.pop()
        origin.pop()
    keep: list[tuple[int, int]] = []  # (kept index, index of the last letter of its run)
    run_start = 0
    for i in range(len(chars) + 1):
        if i < len(chars) and chars[i] == chars[run_start]:
            continue
        if run_start < len(chars):
            letter, length = chars[run_start], i - run_start
            stretched = letter not in _DIGITS and (length >= 3 or (letter == "ا" and length > 1))
            if stretched:
                keep.append((run_start, i - 1))
            else:
                keep.extend((j, j) for j in range(run_start, i))
        run_start = i
    return Normalized(
        text,
        "".join(chars[i] for i, _ in keep),
        tuple(origin[i] for i, _ in keep),
        tuple(origin[last] for _, last in keep),
    )


def canonical(text: str) -> str:
    """Only the canonical text (used to write patterns in the same spelling as messages)."""
    return normalize(text).text
