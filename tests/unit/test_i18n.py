"""The catalogs: Arabic plural header, placeholder parity, completeness, negotiation, dates."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from babel.messages.pofile import read_po

from bot import i18n
from bot.i18n import FSI, PDI, isolate, negotiate, plural_index, texts

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _catalog(language: str):  # type: ignore[no-untyped-def]
    with i18n.catalog_path(language).open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize(("n", "form"), [(0, 0), (1, 1), (2, 2), (3, 3), (11, 4), (100, 5)])
def test_arabic_plural_header_picks_the_six_cldr_forms(n: int, form: int) -> None:
    assert plural_index("ar", n) == form


def test_arabic_plural_forms_in_use_read_naturally() -> None:
    t = texts("ar")
    text = (
        "Too many wrong codes. Please wait {n} minute and try again, or ask your caseworker "
        "for a new invite link."
    )
    plural = text.replace("{n} minute", "{n} minutes")
    assert "دقيقة واحدة" in t.n_(text, plural, 1)
    assert "دقيقتين" in t.n_(text, plural, 2)
    assert "دقائق" in t.n_(text, plural, 5)
    assert f"{FSI}15{PDI} دقيقة" in t.n_(text, plural, 15)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_every_message_is_translated(language: str) -> None:
    catalog = _catalog(language)
    missing = [
        m.id
        for m in catalog
        if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple) else [m.string]))
    ]
    assert missing == []


@pytest.mark.parametrize("language", ["ar", "en"])
def test_placeholders_match_between_msgid_and_msgstr(language: str) -> None:
    for message in _catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for string in strings:
            found = set(PLACEHOLDER.findall(string))
            if isinstance(message.id, tuple):
                # Arabic's one and two forms may spell the number out ("دقيقتين").
                assert found <= wanted, (message.id, string)
            else:
                assert found == wanted, (message.id, string)


def test_template_and_catalogs_are_in_sync() -> None:
    from tools.i18n import check

    assert check() == 0


def test_arabic_catalog_is_really_arabic() -> None:
    assert texts("ar")._("What would you like to do? Tap a button.") == (
        "ماذا تريد أن تفعل؟ اضغط على زر."
    )
    assert texts("en")._("What would you like to do? Tap a button.").startswith("What would")


@pytest.mark.parametrize(
    ("code", "expected"),
    [("ar", "ar"), ("ar-EG", "ar"), ("ar-SY", "ar"), ("en", "en"), ("en-GB", "en"),
     ("fr", None), ("", None), (None, None), ("zz-@@", None)],
)  # fmt: skip
def test_negotiate_maps_telegram_language_codes(code: str | None, expected: str | None) -> None:
    assert negotiate(code) == expected


def test_values_inside_arabic_sentences_are_bidi_isolated() -> None:
    assert isolate("K-0042") == "\u2068K-0042\u2069"
    text = texts("ar")._("{name} of family {ref}", name="Amina", ref="KH-0001")
    assert f"{FSI}KH-0001{PDI}" in text
    english = texts("en")._("{name} of family {ref}", name="Amina", ref="KH-0001")
    assert english == "Amina of family KH-0001"


def test_dates_are_london_time_across_dst_changes() -> None:
    en, ar = texts("en"), texts("ar")
    before = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)  # Saturday, GMT
    after = datetime(2027, 3, 28, 12, 0, tzinfo=UTC)  # Sunday, BST began at 01:00 UTC
    assert en.datetime(before) == "Saturday 27 March, 12:00"
    assert en.datetime(after) == "Sunday 28 March, 13:00"
    autumn = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)  # back to GMT that morning
    assert en.time(autumn) == "12:00"
    assert en.time(datetime(2026, 10, 24, 12, 0, tzinfo=UTC)) == "13:00"
    assert ar.datetime(after) == "الأحد 28 آذار، 13:00"


def test_unknown_language_falls_back_to_english() -> None:
    assert texts("fr").language == "en"
