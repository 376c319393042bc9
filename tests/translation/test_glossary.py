"""Glossary data and the protect/restore functions, without any model."""

from __future__ import annotations

import json

import pytest

from bot.services.glossary import (
    DEFAULT_GLOSSARY_PATH,
    FSI,
    PDI,
    Glossary,
    Term,
    default_glossary,
    protect,
    restore,
)

PASS_THROUGH = [
    "K-0042",
    "14:30",
    "07700 900123",
    "+44 7700 900123",
    "116 123",
    "0808 2000 247",
    "https://kent.gov.uk",
    "https://www.kent.gov.uk/council-tax?x=1",
    "family.support@kent.gov.uk",
    "12/05/2025",
    "2025-05-12",
    "case_ref_7",
    "CT1 2AB",
    "£50",
    "3",
]

DISTRICTS = {
    "Ashford": "آشفورد",
    "Canterbury": "كانتربري",
    "Dartford": "دارتفورد",
    "Dover": "دوفر",
    "Folkestone and Hythe": "فوكستون وهايث",
    "Gravesham": "غريفشام",
    "Maidstone": "ميدستون",
    "Sevenoaks": "سيفنوكس",
    "Swale": "سويل",
    "Thanet": "ثانيت",
    "Tonbridge and Malling": "تونبريدج ومالينغ",
    "Tunbridge Wells": "تونبريدج ويلز",
}


def _plain(text: str) -> str:
    return text.replace(FSI, "").replace(PDI, "")


@pytest.mark.parametrize("token", PASS_THROUGH)
def test_pass_through_tokens_become_one_placeholder_and_come_back_verbatim(token: str) -> None:
    text = f"Please note {token} today."
    protected, protection = protect(text, "en", "ar")
    assert token not in protected
    assert [item.original for item in protection.items] == [token]
    assert protected == "Please note [0] today."
    assert restore(protected, protection) == f"Please note {FSI}{token}{PDI} today."


def test_reference_time_phone_url_in_one_message() -> None:
    text = "Ref K-0042 at 14:30, call 07700 900123 or visit https://kent.gov.uk."
    protected, protection = protect(text, "en", "ar")
    assert protected == "Ref [0] at [1], call [2] or visit [3]."
    assert [i.kind for i in protection.items] == ["reference", "time", "phone", "url"]
    assert _plain(restore(protected, protection)) == text


def test_universal_credit_gets_the_arabic_rendering() -> None:
    protected, protection = protect("My Universal Credit payment is late", "en", "ar")
    assert protected == "My [0] payment is late"
    assert restore("دفعة [0] متأخرة", protection) == (
        f"دفعة الائتمان الشامل ({FSI}Universal Credit{PDI}) متأخرة"
    )


def test_arabic_terms_get_the_english_rendering() -> None:
    text = "موعدي مع طبيب العائلة (GP) بخصوص الائتمان الشامل في دوفر"
    protected, protection = protect(text, "ar", "en")
    assert protected == "موعدي مع [0] بخصوص [1] في [2]"
    assert restore("My appointment with [0] about [1] in [2]", protection) == (
        "My appointment with GP about Universal Credit in Dover"
    )


def test_arabic_clitics_stay_in_the_text() -> None:
    protected, protection = protect("سألت بالائتمان الشامل وللائتمان الشامل", "ar", "en")
    assert protected == "سألت ب[0] ول[1]"
    assert [i.replacement for i in protection.items] == ["Universal Credit"] * 2


def test_terms_match_case_insensitively_unless_acronyms() -> None:
    _, protection = protect("universal credit and Council Tax, gp", "en", "ar")
    assert [i.original for i in protection.items] == ["universal credit", "Council Tax"]


def test_longest_term_wins() -> None:
    _, protection = protect("Ring NHS 111 or write to Kent County Council", "en", "ar")
    assert [i.original for i in protection.items] == ["NHS 111", "Kent County Council"]
    assert [i.replacement for i in protection.items] == [
        "خدمة NHS 111",
        "بلدية كِنت (Kent County Council)",
    ]


def test_arabic_word_for_i_was_is_not_kent() -> None:
    protected, protection = protect("كنت في البيت", "ar", "en")
    assert protected == "كنت في البيت"
    assert protection.items == ()


def test_gp_renders_with_the_acronym_in_arabic() -> None:
    protected, protection = protect("See your GP", "en", "ar")
    assert restore(protected, protection) == f"See your طبيب العائلة ({FSI}GP{PDI})"


@pytest.mark.parametrize(("english", "arabic"), DISTRICTS.items())
def test_every_district_round_trips(english: str, arabic: str) -> None:
    glossary = default_glossary()
    _, to_ar = glossary.protect(f"We live in {english}.", "en", "ar")
    _, to_en = glossary.protect(f"نسكن في {arabic}.", "ar", "en")
    assert [i.replacement for i in to_ar.items] == [arabic]
    assert [i.replacement for i in to_en.items] == [english]


def test_dropped_placeholders_are_appended_in_source_order() -> None:
    _, protection = protect("Ref K-0042 at 14:30 for Universal Credit", "en", "ar")
    restored = restore("بب", protection)
    assert _plain(restored) == "بب K-0042 14:30 الائتمان الشامل (Universal Credit)"


def test_partly_dropped_placeholders() -> None:
    _, protection = protect("Ref K-0042 at 14:30", "en", "en")
    assert restore("At [1] the reference", protection) == "At 14:30 the reference K-0042"


def test_mangled_and_reordered_placeholders_are_recognised() -> None:
    _, protection = protect("Ref K-0042 at 14:30 on 12/05/2025", "en", "en")
    assert restore("( 2 ) ［1］ [ ٠ ]", protection) == "12/05/2025 14:30 K-0042"


def test_unknown_placeholder_numbers_are_left_alone() -> None:
    _, protection = protect("Ref K-0042", "en", "en")
    assert restore("[0] [9]", protection) == "K-0042 [9]"


def test_existing_brackets_survive() -> None:
    text = "See note [3] and (4)"
    protected, protection = protect(text, "en", "en")
    assert protected == "See note [[0]] and ([1])"
    assert restore(protected, protection) == text


def test_nothing_to_protect() -> None:
    protected, protection = protect("hello there", "en", "ar")
    assert protected == "hello there"
    assert restore("مرحبا", protection) == "مرحبا"


def test_english_target_is_not_isolated() -> None:
    _, protection = protect("رقم K-0042", "ar", "en")
    assert restore("number [0]", protection) == "number K-0042"


def test_glossary_data_is_complete() -> None:
    data = json.loads(DEFAULT_GLOSSARY_PATH.read_text(encoding="utf-8"))
    glossary = default_glossary()
    ids = [term.id for term in glossary.terms]
    assert len(ids) == len(set(ids))
    for term in glossary.terms:
        assert term.en.strip() and term.ar.strip()
    assert len(data["districts"]) == 12
    for district in data["districts"]:
        assert glossary.term(district).en in DISTRICTS
    for required in (
        "universal_credit",
        "esol",
        "gp",
        "brp",
        "jobcentre",
        "council_tax",
        "nhs_111",
        "emergency_999",
        "samaritans",
        "kent_county_council",
        "housing_association",
    ):
        glossary.term(required)
    assert glossary.term("universal_credit").ar == "الائتمان الشامل (Universal Credit)"
    assert glossary.term("gp").ar == "طبيب العائلة (GP)"


def test_a_form_shared_by_two_terms_is_rejected() -> None:
    with pytest.raises(ValueError, match="two terms"):
        Glossary([Term("a", "Dover", "دوفر"), Term("b", "dover", "دوفر")])


TOWNS = {
    "Margate": "مارغيت",
    "Ramsgate": "رامزغيت",
    "Sittingbourne": "سيتينغبورن",
    "Gravesend": "غريفزند",
    "Whitstable": "ويتستابل",
    "Folkestone": "فوكستون",
}


@pytest.mark.parametrize(("english", "arabic"), TOWNS.items())
def test_towns_families_name_round_trip(english: str, arabic: str) -> None:
    glossary = default_glossary()
    _, to_ar = glossary.protect(f"The school in {english} called.", "en", "ar")
    _, to_en = glossary.protect(f"المدرسة في {arabic} اتصلت.", "ar", "en")
    assert [i.replacement for i in to_ar.items] == [arabic]
    assert [i.replacement for i in to_en.items] == [english]


def test_towns_are_listed() -> None:
    data = json.loads(DEFAULT_GLOSSARY_PATH.read_text(encoding="utf-8"))
    glossary = default_glossary()
    names = {glossary.term(town).en for town in data["towns"]}
    assert names == {*TOWNS, "Deal"}


def test_deal_is_a_town_only_with_a_capital_and_never_from_sudanese_these() -> None:
    _, protection = protect("I can't deal with it; we moved to Deal.", "en", "ar")
    assert [i.original for i in protection.items] == ["Deal"]
    assert [i.replacement for i in protection.items] == ["ديل"]
    # «ديل» means "these" in Sudanese Arabic.
    protected, protection = protect("الأولاد ديل تعبانين", "ar", "en")
    assert protected == "الأولاد ديل تعبانين" and protection.items == ()


@pytest.mark.parametrize(
    "spoken",
    ["اليونيفرسال كريدت", "يونيفرسال كريدت", "يونيفرسال كريديت", "الائتمان الشامل"],
)
def test_spoken_forms_of_universal_credit_are_recognised(spoken: str) -> None:
    protected, protection = protect(f"ما وصلني {spoken} هالشهر", "ar", "en")
    assert protected == "ما وصلني [0] هالشهر"
    assert protection.items[0].replacement == "Universal Credit"


def test_samaritans_reads_in_arabic_with_the_english_name() -> None:
    _, protection = protect("Call Samaritans on 116 123.", "en", "ar")
    restored = restore("اتصلوا بـ[0] على الرقم [1].", protection)
    assert restored == f"اتصلوا بـساماريتانز ({FSI}Samaritans{PDI}) على الرقم {FSI}116 123{PDI}."
    _, back = protect("اتصلت بساماريتانز", "ar", "en")
    assert back.items[0].replacement == "Samaritans"


def test_kent_with_its_kasra_is_kent_but_i_was_is_not() -> None:
    _, protection = protect("نحن في كِنت وكنت مريضة", "ar", "en")
    assert [i.replacement for i in protection.items] == ["Kent"]
    _, to_ar = protect("We live in Kent.", "en", "ar")
    assert to_ar.items[0].replacement == "كِنت"


@pytest.mark.parametrize(
    ("term_id", "english", "arabic"),
    [
        ("evisa", "My eVisa is not working", "التأشيرة الإلكترونية"),
        ("caseworker", "Ask your caseworker", "مسؤول الحالة"),
        ("landlord", "The landlord wants the keys", "صاحب البيت"),
        ("food_bank", "There is a food bank on Monday", "بنك الطعام"),
        ("interpreter", "We will book an interpreter", "مترجم فوري"),
    ],
)
def test_everyday_programme_words(term_id: str, english: str, arabic: str) -> None:
    glossary = default_glossary()
    _, protection = glossary.protect(english, "en", "ar")
    assert [i.replacement for i in protection.items] == [glossary.term(term_id).ar]
    assert arabic in glossary.term(term_id).ar
    _, back = glossary.protect(f"بخصوص {arabic} اليوم", "ar", "en")
    assert [i.replacement for i in back.items] == [glossary.term(term_id).en]


def test_evisa_sits_beside_brp() -> None:
    glossary = default_glossary()
    ids = [term.id for term in glossary.terms]
    assert ids.index("evisa") == ids.index("brp") + 1
    _, protection = protect("BRP or e-visa", "en", "ar")
    assert [i.replacement for i in protection.items] == [
        "تصريح الإقامة البيومتري (BRP)",
        "التأشيرة الإلكترونية (eVisa)",
    ]
