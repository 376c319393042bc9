"""The catalogs: Arabic plural header, placeholder parity, completeness, bidi, msgctxt, dates."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot import i18n
from bot.i18n import FSI, PDI, isolate, negotiate, plain, plural_index, texts
from bot.services.tickets import parse_reference

PLACEHOLDER = re.compile(r"\{(\w+)\}")
ARABIC_LETTER = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
ISOLATES = "\u2066\u2067\u2068"
# The same English as a button and as a status must be two catalog entries.
BUTTON_STATUS_PAIRS = [
    (("button", "✅ Resolve"), ("family status", "Resolved")),
    (("button", "🙋 Claim"), ("family status", "Received")),
]


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
    assert texts("ar")._("How can we help? Tap a button.") == (
        "كيف نساعدك؟ يمكنك الضغط على أحد الأزرار."
    )
    assert texts("en")._("How can we help? Tap a button.") == "How can we help? Tap a button."


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


def _arabic_strings() -> list[tuple[object, str]]:
    """Every Arabic msgstr (each plural form), with its msgid."""
    found = []
    for message in _catalog("ar"):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found.extend((message.id, string) for string in strings)
    return found


def _outside_isolates(text: str) -> str:
    """The text with every isolated run (nested ones included) removed."""
    out, depth = [], 0
    for char in text:
        if char in ISOLATES:
            depth += 1
        elif char == PDI:
            depth = max(depth - 1, 0)
        elif depth == 0:
            out.append(char)
    return "".join(out)


def test_isolation_helper_sees_only_unisolated_text() -> None:
    assert _outside_isolates(f"اتصلوا بالرقم {FSI}116 123{PDI} الآن") == "اتصلوا بالرقم  الآن"
    assert _outside_isolates(f"{FSI}a {FSI}1 2{PDI} b{PDI}c") == "c"


def test_numbers_with_spaces_are_isolated_in_arabic() -> None:
    # "116 123" shown bare in an Arabic sentence reads "123 116".
    bare = re.compile(r"\d[\s\u00a0\u202f]+\d")
    offenders = [(i, s) for i, s in _arabic_strings() if bare.search(_outside_isolates(s))]
    assert offenders == []


def test_latin_runs_are_isolated_in_arabic() -> None:
    # Slash commands, references, URLs and English names keep their order only when isolated.
    latin = re.compile(r"[A-Za-z]")
    offenders = [
        (i, s)
        for i, s in _arabic_strings()
        if latin.search(PLACEHOLDER.sub("", _outside_isolates(s)))
    ]
    assert offenders == []


def _first_significant(line: str) -> str:
    """The first character of a line that decides its direction, or an isolate/placeholder."""
    for char in line:
        if char in ISOLATES or char == "{" or char.isalpha():
            return char
    return ""


def test_no_arabic_line_starts_with_an_isolate() -> None:
    # A line whose first strong character sits inside an isolate takes the client's default
    # direction (often left-to-right), so an Arabic line must open with an Arabic letter.
    offenders = [
        (i, line)
        for i, s in _arabic_strings()
        for line in s.split("\n")
        if ARABIC_LETTER.search(line) and not ARABIC_LETTER.match(_first_significant(line))
    ]
    assert offenders == []


def test_line_rule_catches_isolates_placeholders_and_latin_at_the_start() -> None:
    assert not ARABIC_LETTER.match(_first_significant(f"🆘 {FSI}999{PDI} اتصلوا"))
    assert not ARABIC_LETTER.match(_first_significant("{ref} مغلق"))
    assert not ARABIC_LETTER.match(_first_significant("/reply K-0042 النص"))
    assert ARABIC_LETTER.match(_first_significant(f"• اتصلوا بالرقم {FSI}999{PDI}"))


@pytest.mark.parametrize("language", ["ar", "en"])
def test_button_and_status_pairs_have_their_own_msgctxt(language: str) -> None:
    entries = {(m.context, m.id): m.string for m in _catalog(language) if m.id}
    for button, status in BUTTON_STATUS_PAIRS:
        assert button in entries and status in entries
        if language == "ar":
            assert entries[button] != entries[status]


def test_pgettext_picks_the_entry_of_its_context() -> None:
    ar, en = texts("ar"), texts("en")
    assert ar.p_("button", "✅ Resolve") == "✅ إغلاق الطلب"
    assert ar.p_("family status", "Resolved") == "تم الحل"
    assert ar.p_("button", "🙋 Claim") == "🙋 تولّي الطلب"
    assert ar.p_("family status", "Received") == "تم الاستلام"
    assert en.p_("button", "✅ Resolve") == "✅ Resolve"
    # Without its context the msgid is a different (absent) entry: gettext returns the English.
    assert ar._("✅ Resolve") == "✅ Resolve"


def test_pgettext_fills_and_isolates_placeholders() -> None:
    ar = texts("ar")
    assert ar.p_("nowhere", "Ticket {ref}", ref="K-0042") == f"Ticket {FSI}K-0042{PDI}"
    assert texts("en").np_("nowhere", "{n} file", "{n} files", 2) == "2 files"
    assert texts("en").np_("nowhere", "{n} file", "{n} files", 1) == "1 file"


def test_priority_agrees_with_the_feminine_word_for_priority() -> None:
    assert texts("ar").p_("priority", "urgent") == "عاجلة"
    line = texts("ar")._(
        "Category: {category} · priority {priority}",
        category="x",
        priority=texts("ar").p_("priority", "urgent"),
    )
    assert "الأولوية \u2068عاجلة\u2069" in line


def test_extraction_knows_the_context_keywords(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        't.p_("button", "Go")\nt.np_("list", "{n} item", "{n} items", n)\nt._("Plain")\n',
        encoding="utf-8",
    )
    from tools.i18n import KEYWORDS, PYBABEL

    pot = tmp_path / "out.pot"
    subprocess.run(
        [*PYBABEL, "extract", *KEYWORDS, "-o", str(pot), str(source)],
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        found = {(m.context, m.id) for m in read_po(handle) if m.id}
    assert found == {("button", "Go"), ("list", ("{n} item", "{n} items")), (None, "Plain")}


@pytest.mark.parametrize("language", ["ar", "en"])
def test_catalog_headers_are_complete(language: str) -> None:
    head = i18n.catalog_path(language).read_text(encoding="utf-8").split('msgid ""')[0]
    assert "#, fuzzy" not in head
    catalog = _catalog(language)
    assert catalog.last_translator == "Sanad team <sanad@kent.gov.uk>"
    assert "LL@li.org" not in (catalog.language_team or "")
    assert "sanad@kent.gov.uk" in (catalog.language_team or "")
    assert isinstance(catalog.revision_date, datetime) and catalog.revision_date.year >= 2026
    assert catalog.version and catalog.version != "VERSION"


@pytest.mark.parametrize(
    "typed",
    ["K-0042", "\u2068K-0042\u2069", "\u200fK-0042\u200e", "K-\u0660\u0660\u0664\u0662",
     "k\u06f4\u06f2", "\u061cK 42\u2069", "\u202bK-0042\u202c"],
)  # fmt: skip
def test_a_reference_copied_from_arabic_or_typed_in_arabic_digits_parses(typed: str) -> None:
    assert parse_reference(plain(typed)) == 42


def test_plain_keeps_the_words() -> None:
    assert plain("رقم \u2068K-0042\u2069 الساعة ٣") == "رقم K-0042 الساعة 3"


def test_arabic_never_reads_as_reporting_someone() -> None:
    # «الإبلاغ عن» sounds like informing on someone to the authorities.
    offenders = [(i, s) for i, s in _arabic_strings() if "الإبلاغ" in s or "المجلس" in s]
    assert offenders == []
