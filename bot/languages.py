"""The languages Sanad speaks: the one list gettext, audiences, safeguarding and people use.

No telegram or babel import here, so domain services can import it.
"""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    """A language Sanad's texts are written in and people may choose."""

    AR = "ar"
    EN = "en"


# Plain strings in menu order (Arabic first), so reprs, JSON and callback data stay as they were.
LANGUAGES: tuple[str, ...] = tuple(language.value for language in Language)
