"""Gettext catalogs for Arabic and English, language negotiation, and babel formatting.

Catalogs are compiled from ``locales/*/LC_MESSAGES/messages.po`` in memory at start-up (the
``.mo`` files are build output, never committed); a missing catalog fails fast.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.languages import LANGUAGES
from bot.settings import PROJECT_ROOT, TIMEZONE

LOCALES_DIR = PROJECT_ROOT / "locales"
DOMAIN = "messages"
LANGUAGE_NAMES = {"ar": "العربية", "en": "English"}
LONDON = ZoneInfo(TIMEZONE)
FSI, PDI = "\u2068", "\u2069"
# Marks a copy from an Arabic message may carry: LRM, RLM, ALM, LRE…RLO, LRI…PDI.
BIDI_CONTROLS = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Eastern Arabic (٠–٩) and Persian/Urdu (۰–۹) digits as the ASCII digits people mean.
_TO_ASCII = str.maketrans(
    {**{c: None for c in BIDI_CONTROLS}, **{chr(0x0660 + i): str(i) for i in range(10)},
     **{chr(0x06F0 + i): str(i) for i in range(10)}}
)  # fmt: skip
# Levantine month names (آذار, نيسان…) read naturally to Syrian families; British English dates.
FORMAT_LOCALES = {"ar": "ar_SY", "en": "en_GB"}
DATETIME_PATTERNS = {"ar": "EEEE d MMMM، HH:mm", "en": "EEEE d MMMM, HH:mm"}


def isolate(value: object) -> str:
    """Wraps a value in Unicode first-strong isolates so bidi cannot reorder it."""
    return f"{FSI}{value}{PDI}"


def plain(text: str) -> str:
    """Text typed or copied by a person, without bidi marks and with ASCII digits.

    A reference copied from an Arabic message arrives wrapped in isolates, and Arabic keyboards
    type ٤٢ for 42: both must still parse.
    """
    return text.translate(_TO_ASCII)


@cache
def _catalog(language: str) -> gettext.GNUTranslations:
    """Compiles and loads one language's catalog."""
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        raise FileNotFoundError(f"missing gettext catalog: {po_path}")
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def load_all() -> None:
    """Loads every catalog now, so a missing one stops the bot at start-up."""
    for language in LANGUAGES:
        _catalog(language)


class Texts:
    """The strings of one language: ``t._("…")``, ``t.n_(…, n)``, ``t.p_(context, "…")``."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "en"
        self._gnu = _catalog(self.language)
        self._locale = FORMAT_LOCALES[self.language]

    def _fill(self, text: str, values: dict[str, Any]) -> str:
        """Formats placeholders, isolating each value inside Arabic text."""
        if not values:
            return text
        if self.language == "ar":
            values = {key: isolate(value) for key, value in values.items()}
        return text.format(**values)

    def _(self, message: str, **values: Any) -> str:
        """Translates a whole sentence and fills its ``{placeholders}``."""
        return self._fill(self._gnu.gettext(message), values)

    def n_(self, singular: str, plural: str, n: int, **values: Any) -> str:
        """Translates a sentence whose form depends on ``n`` (six forms in Arabic)."""
        return self._fill(self._gnu.ngettext(singular, plural, n), {"n": n, **values})

    def p_(self, context: str, message: str, **values: Any) -> str:
        """Translates a sentence whose English is used in several roles (a button, a status).

        ``context`` becomes the catalog's ``msgctxt``: "Resolve" the button and "Resolved" the
        status are different Arabic words, and so are the same English words in two places.
        """
        return self._fill(self._gnu.pgettext(context, message), values)

    def np_(self, context: str, singular: str, plural: str, n: int, **values: Any) -> str:
        """A plural sentence with a ``msgctxt`` (see :meth:`p_`)."""
        text = self._gnu.npgettext(context, singular, plural, n)
        return self._fill(text, {"n": n, **values})

    def datetime(self, value: dt.datetime) -> str:
        """A UTC instant as a London weekday, date and time in this language."""
        pattern = DATETIME_PATTERNS[self.language]
        return _babel_format_datetime(value, pattern, tzinfo=LONDON, locale=self._locale)

    def date(self, value: dt.date) -> str:
        """A calendar date in this language."""
        return _babel_format_date(value, "d MMMM y", locale=self._locale)

    def time(self, value: dt.datetime) -> str:
        """The London wall-clock time of a UTC instant."""
        return _babel_format_datetime(value, "HH:mm", tzinfo=LONDON, locale=self._locale)

    def day(self, value: dt.date) -> str:
        """A weekday and date without the year ("Tuesday 12 January"), for buttons and lists."""
        return _babel_format_date(value, "EEEE d MMMM", locale=self._locale)

    def weekday(self, value: dt.date) -> str:
        """The weekday's name alone ("Tuesday")."""
        return _babel_format_date(value, "EEEE", locale=self._locale)


@cache
def texts(language: str | None) -> Texts:
    """The shared :class:`Texts` for a language (English when unknown)."""
    return Texts(language or "en")


def negotiate(language_code: str | None) -> str | None:
    """Maps Telegram's ``language_code`` (``ar-EG``, ``en-GB``…) to a supported language."""
    if not language_code:
        return None
    try:
        found = Locale.negotiate([language_code.replace("-", "_")], list(LANGUAGES), sep="_")
    except (ValueError, UnknownLocaleError):
        return None
    return str(found) if found else None


def plural_index(language: str, n: int) -> int:
    """Which plural form the catalog picks for ``n`` (for tests of the pinned header)."""
    catalog = _catalog(language)
    return int(catalog.plural(n))  # type: ignore[attr-defined]


def catalog_path(language: str) -> Path:
    """Where a language's .po file lives."""
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
