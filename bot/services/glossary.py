"""Glossary terms and pass-through tokens, protected by placeholders around machine translation.

Pure functions: `protect` before the model, `restore` after it (see `restore` for dropped ones).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_GLOSSARY_PATH = Path(__file__).resolve().parent.parent / "data" / "glossary.json"

FSI = "\u2068"
PDI = "\u2069"

_ARABIC_LETTER = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
# Arabic clitics written onto the next word: and/so + by/like/for ("وبالائتمان", "للائتمان").
_AR_CLITICS = "(?:[وف]?[بكل]?)"

_URL = r"(?:https?://|www\.)[^\s<>\"'،]*[^\s<>\"'.,;:!?)\]،؟]"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_DATE = r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"
_TIME = r"\d{1,2}[:.]\d{2}(?:\s?[AaPp]\.?[Mm]\.?)?(?!\d)|\d{1,2}\s?[AaPp]\.?[Mm]\.?(?!\w)"
# Ordinary numbers, and the six-digit helplines (116 123 Samaritans) that must stay one value.
_PHONE = r"(?:\+\d{1,3}[\s-]?)?(?:\(0\)[\s-]?)?\d(?:[\s-]?\d){6,13}|116[\s-]?\d{3}"
_REFERENCE = (
    r"[A-Za-z]{1,5}-\d+(?:-\d+)*"  # K-0042
    r"|[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+"  # ticket_42, CASE_A7
    r"|[A-Za-z]{1,2}\d[A-Za-z\d]?\s\d[A-Za-z]{2}(?![A-Za-z])"  # postcodes: CT1 2AB
    r"|(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{2,}"  # AB123456C, 3B
)
_NUMBER = r"[£$€]?\d+(?:[.,]\d+)*%?"

# A run of English words (digits and & . ' - inside), as in "NHS 111" or "Kent County Council".
_LATIN_RUN = re.compile(r"[A-Za-z](?:[A-Za-z0-9&'. -]*[A-Za-z0-9])?")

_PLACEHOLDER = re.compile(r"[\[(［（]\s*(\d+)\s*[\])］）]")

KINDS = ("url", "email", "date", "time", "phone", "reference", "term", "number")


@dataclass(frozen=True)
class Term:
    """One programme term with its agreed English and Arabic renderings."""

    id: str
    en: str
    ar: str
    match: tuple[str, ...] = ()
    case_sensitive: bool = False
    match_ar: bool = True

    def rendering(self, language: str) -> str:
        """Return the agreed rendering in a language ("en" or "ar")."""
        return self.ar if language == "ar" else self.en

    def forms(self) -> tuple[str, ...]:
        """Return every form recognised in incoming text."""
        forms = [self.en, *self.match]
        if self.match_ar:
            forms.append(self.ar)
        return tuple(dict.fromkeys(f for f in forms if f))


@dataclass(frozen=True)
class Protected:
    """One protected span: its placeholder, the source text and what restore writes back."""

    index: int
    kind: str
    original: str
    replacement: str

    @property
    def placeholder(self) -> str:
        """Return the placeholder written into the text sent to the model."""
        return f"[{self.index}]"


@dataclass(frozen=True)
class Protection:
    """Everything restore needs: the direction and the protected spans in source order."""

    source: str
    target: str
    items: tuple[Protected, ...]


class Glossary:
    """A set of terms compiled into one matcher together with the pass-through patterns."""

    def __init__(self, terms: Iterable[Term]) -> None:
        """Compile the terms; longer forms win over shorter ones."""
        self.terms: tuple[Term, ...] = tuple(terms)
        self._by_form: dict[str, Term] = {}
        latin: list[tuple[str, bool]] = []
        arabic: list[str] = []
        for term in self.terms:
            for form in term.forms():
                key = self._key(form, term.case_sensitive)
                if key in self._by_form and self._by_form[key] is not term:
                    raise ValueError(f"glossary form {form!r} belongs to two terms")
                self._by_form[key] = term
                if _ARABIC_LETTER.search(form):
                    arabic.append(form)
                    if form.startswith("ال"):
                        # "ل" + "الائتمان" is written "للائتمان".
                        self._by_form[self._key(form[1:], True)] = term
                        arabic.append(form[1:])
                else:
                    latin.append((form, term.case_sensitive))
        latin.sort(key=lambda item: len(item[0]), reverse=True)
        arabic.sort(key=len, reverse=True)
        latin_alt = "|".join(
            re.escape(form) if sensitive else f"(?i:{re.escape(form)})"
            for form, sensitive in latin
        )
        arabic_alt = "|".join(re.escape(form) for form in arabic)
        term_parts = []
        if arabic_alt:
            term_parts.append(f"(?<!\\w){_AR_CLITICS}(?P<ar_term>{arabic_alt})(?!\\w)")
        if latin_alt:
            term_parts.append(f"(?<!\\w)(?P<en_term>{latin_alt})(?!\\w)")
        parts = [
            f"(?P<url>{_URL})",
            f"(?<![\\w.+-])(?P<email>{_EMAIL})",
            f"(?<![\\w/.-])(?P<date>{_DATE})(?![\\w/-])",
            f"(?<![\\w:.])(?P<time>{_TIME})",
            f"(?<![\\w+])(?P<phone>{_PHONE})(?!\\w)",
            f"(?<![\\w-])(?P<reference>{_REFERENCE})(?![\\w-])",
            *term_parts,
            f"(?<![\\w.,])(?P<number>{_NUMBER})(?![\\w])",
        ]
        self._pattern = re.compile("|".join(parts))

    @staticmethod
    def _key(form: str, case_sensitive: bool) -> str:
        """Return the lookup key for a matched form."""
        return form if case_sensitive else form.casefold()

    def _term_for(self, form: str) -> Term:
        """Return the term a matched form belongs to."""
        return self._by_form.get(form) or self._by_form[form.casefold()]

    def term(self, term_id: str) -> Term:
        """Return a term by id; raise KeyError if unknown."""
        for term in self.terms:
            if term.id == term_id:
                return term
        raise KeyError(term_id)

    def protect(self, text: str, source: str, target: str) -> tuple[str, Protection]:
        """Replace terms and pass-through tokens with placeholders the model should keep."""
        items: list[Protected] = []
        pieces: list[str] = []
        position = 0
        for match in self._pattern.finditer(text):
            kind = match.lastgroup or "number"
            start, end = match.span(kind)
            original = match.group(kind)
            if kind in ("ar_term", "en_term"):
                replacement = self._term_for(original).rendering(target)
                kind = "term"
            else:
                replacement = original
            item = Protected(len(items), kind, original, replacement)
            items.append(item)
            pieces.append(text[position:start])
            pieces.append(item.placeholder)
            position = end
        pieces.append(text[position:])
        return "".join(pieces), Protection(source, target, tuple(items))


def restore(text: str, protection: Protection) -> str:
    """Put protected spans back; append any whose placeholder the model dropped."""
    # Models may drop or mangle placeholders. Items whose placeholder is missing are appended
    # in source order, separated by spaces: a reference or phone number in the wrong place is
    # better than one silently lost. Terms come back in the target language's rendering,
    # everything else verbatim; left-to-right values are bidi-isolated in Arabic text.
    items = protection.items
    if not items:
        return text
    isolate = protection.target == "ar"
    seen: set[int] = set()

    def render(item: Protected) -> str:
        value = item.replacement
        if isolate and not _ARABIC_LETTER.search(value):
            # Keep left-to-right values (K-0042, 14:30) in order inside Arabic text.
            return f"{FSI}{value}{PDI}"
        if isolate:
            # The English inside an Arabic rendering ("الائتمان الشامل (Universal Credit)").
            return _LATIN_RUN.sub(lambda run: f"{FSI}{run.group(0)}{PDI}", value)
        return value

    def swap(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(items):
            return match.group(0)
        seen.add(index)
        return render(items[index])

    restored = _PLACEHOLDER.sub(swap, text)
    missing = [render(item) for item in items if item.index not in seen]
    if missing:
        logger.debug("appending %d protected items the model dropped", len(missing))
        restored = " ".join([restored.rstrip(), *missing]).lstrip()
    return restored


def _term_from_json(entry: dict[str, Any]) -> Term:
    """Build a Term from one glossary.json entry."""
    return Term(
        id=entry["id"],
        en=entry["en"],
        ar=entry["ar"],
        match=tuple(entry.get("match", ())),
        case_sensitive=bool(entry.get("case_sensitive", False)),
        match_ar=bool(entry.get("match_ar", True)),
    )


def load_glossary(path: Path | None = None) -> Glossary:
    """Load a glossary file (the bundled one by default)."""
    if path is None:
        return default_glossary()
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return Glossary(_term_from_json(entry) for entry in data["terms"])


@functools.cache
def default_glossary() -> Glossary:
    """Return the bundled glossary, loaded once."""
    data = json.loads(DEFAULT_GLOSSARY_PATH.read_text(encoding="utf-8"))
    return Glossary(_term_from_json(entry) for entry in data["terms"])


def protect(
    text: str, source: str, target: str, *, glossary: Glossary | None = None
) -> tuple[str, Protection]:
    """Protect text with the given glossary (the bundled one by default)."""
    return (glossary or default_glossary()).protect(text, source, target)
