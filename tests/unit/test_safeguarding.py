"""Safeguarding phrase detection: every listed phrase, spelling variants, and everyday casework."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from bot.services.safeguarding import (
    CATEGORIES,
    PHRASES_FILE,
    DangerSignal,
    PhraseBook,
    detect_danger,
    load_phrases,
    normalize_arabic,
    normalize_english,
)

_DATA = json.loads(PHRASES_FILE.read_text(encoding="utf-8"))["categories"]
ALL = [
    DangerSignal(category, phrase, language)
    for category, by_language in _DATA.items()
    for language, phrases in by_language.items()
    for phrase in phrases
]
ENGLISH = [s for s in ALL if s.language == "en"]
ARABIC = [s for s in ALL if s.language == "ar"]


def _ids(signal: DangerSignal) -> str:
    """A readable test id."""
    return f"{signal.category}:{signal.phrase}"


def _with_tashkeel(text: str) -> str:
    """Adds a fatha after each Arabic letter, a shadda on the first, a tatweel mid-word."""
    marked = re.sub("([\u0621-\u064a])", "\\1\u064e", text)
    marked = re.sub("^([\u0621-\u064a])\u064e", "\\1\u0651\u064e", marked)
    middle = len(marked) // 2
    if "\u0621" <= marked[middle - 1] <= "\u064a" and "\u0621" <= marked[middle] <= "\u064a":
        marked = marked[:middle] + "\u0640" + marked[middle:]
    return marked


def _alef_hamza_variant(text: str) -> str:
    """Writes every alef as hamza-on-alef (phone autocorrect) and final yeh as alef maqsura."""
    text = text.replace("إ", "ا").replace("آ", "ا").replace("أ", "ا").replace("ا", "أ")
    return re.sub("ي\\b", "ى", text)


def _bare_keyboard_variant(text: str) -> str:
    """Drops hamza seats and swaps taa marbuta/haa at word ends, as hurried typing does."""
    text = text.replace("أ", "ا").replace("إ", "ا").replace("ؤ", "و").replace("ئ", "ي")
    return re.sub("[ةه]\\b", lambda m: "ه" if m.group() == "ة" else "ة", text)


# --- the data itself ------------------------------------------------------------------------


def test_data_has_every_category_and_language_with_a_realistic_list() -> None:
    assert tuple(_DATA) == CATEGORIES
    for by_language in _DATA.values():
        assert set(by_language) == {"en", "ar"}
        for phrases in by_language.values():
            assert 10 <= len(phrases) <= 40
            assert all(p == p.strip() and p for p in phrases)


def test_load_phrases_indexes_every_phrase_and_is_cached() -> None:
    book = load_phrases()
    assert load_phrases() is book
    assert load_phrases(PHRASES_FILE) is book
    assert list(book) == ALL
    assert len(book) == len(ALL)


# --- every phrase, alone and in a sentence --------------------------------------------------


@pytest.mark.parametrize("signal", ALL, ids=_ids)
def test_each_phrase_alone_is_detected(signal: DangerSignal) -> None:
    assert signal in detect_danger(signal.phrase)


@pytest.mark.parametrize("signal", ENGLISH, ids=_ids)
def test_each_english_phrase_in_a_sentence(signal: DangerSignal) -> None:
    text = f"Hello, sorry to write so late. {signal.phrase}! Please, what should I do?"
    assert signal in detect_danger(text)
    assert signal in detect_danger(f"HELP   {signal.phrase.upper()}...")


@pytest.mark.parametrize("signal", ENGLISH, ids=_ids)
def test_each_english_phrase_with_curly_apostrophes_and_hyphens(signal: DangerSignal) -> None:
    text = signal.phrase.replace("'", "\u2019").replace(" ", "-", 1)
    assert signal in detect_danger(f"my neighbour said: {text}")


@pytest.mark.parametrize("signal", ARABIC, ids=_ids)
def test_each_arabic_phrase_in_a_sentence(signal: DangerSignal) -> None:
    text = f"السلام عليكم، {signal.phrase} وما بعرف شو لازم أعمل؟"
    assert signal in detect_danger(text)


@pytest.mark.parametrize("signal", ARABIC, ids=_ids)
def test_each_arabic_phrase_with_a_waw_proclitic(signal: DangerSignal) -> None:
    assert signal in detect_danger(f"مرحبا، و{signal.phrase} من مبارح")


@pytest.mark.parametrize("signal", ARABIC, ids=_ids)
def test_each_arabic_phrase_with_tashkeel_and_tatweel(signal: DangerSignal) -> None:
    text = _with_tashkeel(signal.phrase)
    assert text != signal.phrase
    assert signal in detect_danger(f"يا أستاذ {text}.")


@pytest.mark.parametrize("signal", ARABIC, ids=_ids)
def test_each_arabic_phrase_with_alef_and_yeh_variants(signal: DangerSignal) -> None:
    assert signal in detect_danger(f"أرجوك ساعدني {_alef_hamza_variant(signal.phrase)}")


@pytest.mark.parametrize("signal", ARABIC, ids=_ids)
def test_each_arabic_phrase_with_bare_hamza_and_taa_marbuta_swapped(signal: DangerSignal) -> None:
    assert signal in detect_danger(f"{_bare_keyboard_variant(signal.phrase)} الله يخليك")


# --- everyday casework must stay quiet ------------------------------------------------------

ORDINARY_ENGLISH = [
    "the boiler is broken",
    "my son needs a school place",
    "fire door is stuck",
    "The fire alarm keeps beeping, can someone change the battery?",
    "We had a fire drill at school today",
    "I need help with Universal Credit",
    "The gas bill is too high this month",
    "When is the gas safety check?",
    "Can you help me fill in the housing form?",
    "My daughter missed her dentist appointment, can we rebook?",
    "The heating is not working and the kids are cold",
    "My husband lost his job last week",
    "I'm dying to see my family in Lebanon",
    "My phone is dead, I will call tomorrow",
    "Can I get a bus pass for college?",
    "Thank you, your help touched me a lot",
    "We bought grapes and a therapist appointment is on Monday",
    "The landlord said the rent is late",
    "I need an interpreter for the GP",
    "",
    "   ",
    "?!...",
]

ORDINARY_ARABIC = [
    "أريد موعد مع الطبيب",
    "الحنفية عم تنقط",
    "فاتورة الغاز كتير غالية هالشهر",
    "إنذار الحريق عم يزمّر بدو بطارية",
    "بدي سجل ابني بالمدرسة",
    "ابني بحاجة لمدرسة قريبة",
    "الغسالة خربانة من يومين",
    "الشوفاج ما عم يشتغل والبيت بارد",
    "متى بينزل اليونيفرسال كريدت؟",
    "عندي سؤال عن الإقامة والباسبور",
    "جواز سفري مفقود، شو لازم أعمل؟",
    "بموت من الضحك على هالفيديو",
    "قتلني الحر اليوم",
    "بدي اعمل طعن بقرار السكن",
    "بدي سكين مطبخ جديد",
    "الولد مريض شوي وعنده حرارة، بدي موعد",
    "شكراً كتير الله يعطيك العافية",
    "عندي اختناق مروري ورح أتأخر على الموعد",
    "بدي أعرف وين مكتب الجوب سنتر",
    "ضربة شمس خفيفة، منيح هلأ",
]


@pytest.mark.parametrize("text", ORDINARY_ENGLISH)
def test_ordinary_english_casework_is_not_flagged(text: str) -> None:
    assert detect_danger(text) == []


@pytest.mark.parametrize("text", ORDINARY_ARABIC)
def test_ordinary_arabic_casework_is_not_flagged(text: str) -> None:
    assert detect_danger(text) == []


@pytest.mark.parametrize("text", ["grapes", "therapist", "disabused", "shooting star", "misfire"])
def test_phrases_never_match_inside_other_words(text: str) -> None:
    assert detect_danger(text) == []


# --- behaviour ------------------------------------------------------------------------------


def test_empty_text() -> None:
    assert detect_danger("") == []


def test_mixed_arabic_and_english_in_position_order() -> None:
    text = "Hi, ابني مفقود since this morning and my husband hits me, ما عم يتنفس"
    assert detect_danger(text) == [
        DangerSignal("child_at_risk", "ابني مفقود", "ar"),
        DangerSignal("violence", "hits me", "en"),
        DangerSignal("medical_emergency", "ما عم يتنفس", "ar"),
    ]


def test_levantine_proclitics_and_article() -> None:
    assert detect_danger("وبدي موت") == [DangerSignal("self_harm", "بدي موت", "ar")]
    assert detect_danger("فبدي انتحر") == [DangerSignal("self_harm", "بدي انتحر", "ar")]
    assert detect_danger("والنزيف ما وقف") == [DangerSignal("medical_emergency", "نزيف", "ar")]
    assert detect_danger("إجت بنزيف قوي") == [DangerSignal("medical_emergency", "نزيف", "ar")]
    assert detect_danger("ريحة الغاز بالمطبخ") == [
        DangerSignal("medical_emergency", "ريحة غاز", "ar")
    ]
    assert detect_danger("اطلبوا اسعاف") == [
        DangerSignal("medical_emergency", "اطلبوا الإسعاف", "ar")
    ]


def test_shorter_phrase_inside_a_longer_one_of_the_same_category_is_not_repeated() -> None:
    assert detect_danger("ضربني جوزي مبارح") == [DangerSignal("violence", "ضربني جوزي", "ar")]
    assert detect_danger("هددني بالقتل") == [DangerSignal("violence", "هددني بالقتل", "ar")]


def test_overlapping_phrases_of_different_categories_are_all_reported() -> None:
    assert detect_danger("she reported a sexual assault") == [
        DangerSignal("abuse", "sexual assault", "en"),
        DangerSignal("violence", "assault", "en"),
    ]


def test_a_repeated_phrase_is_reported_once() -> None:
    assert detect_danger("kill myself. I said kill myself") == [
        DangerSignal("self_harm", "kill myself", "en")
    ]


def test_digits_in_any_script() -> None:
    assert detect_danger("please call ٩٩٩ now") == [
        DangerSignal("medical_emergency", "call 999", "en")
    ]
    assert detect_danger("call 07999 123456") == []


def test_detection_is_deterministic() -> None:
    text = "I can't breathe, he hits me, بدي موت, ابني ضايع, والبيت عم يحترق"
    first = detect_danger(text)
    assert len(first) == 5
    assert all(detect_danger(text) == first for _ in range(5))


def test_detection_is_fast_enough_for_every_message() -> None:
    text = ("مرحبا، الحنفية عم تنقط والشوفاج خربان. Hello, the boiler is broken again. " * 20)[
        :2000
    ]
    detect_danger(text)
    started = time.perf_counter()
    for _ in range(200):
        detect_danger(text)
    assert time.perf_counter() - started < 2.0


# --- normalisation --------------------------------------------------------------------------


def test_normalize_arabic() -> None:
    assert normalize_arabic("أَنَا  إِبْنِي آمِن ٱلْيَوْمَ") == "انا ابني امن اليوم"
    assert normalize_arabic("مكتبة مستشفى سؤال قائمة") == "مكتبه مستشفي سوال قايمه"
    assert normalize_arabic("جـــلطة") == "جلطه"
    assert normalize_arabic("رقم ٠١٢٣٤٥٦٧٨٩ و ۰۱۲") == "رقم 0123456789 و 012"
    assert normalize_arabic("  \u200fبدي\u200e \n موت ") == "بدي موت"


def test_normalize_english() -> None:
    assert normalize_english("  I CAN’T   breathe!!! ") == "i cant breathe"
    assert normalize_english("Self-harm,\tplease") == "self harm please"
    assert normalize_english("STRASSE Straße") == "strasse strasse"


# --- loading other phrase files -------------------------------------------------------------


def _write(tmp_path: Path, categories: dict[str, object]) -> Path:
    """A phrase file in ``tmp_path`` with the given categories."""
    path = tmp_path / "phrases.json"
    path.write_text(json.dumps({"categories": categories}, ensure_ascii=False), encoding="utf-8")
    return path


def _minimal() -> dict[str, dict[str, list[str]]]:
    """One phrase per category and language."""
    return {c: {"en": [f"{c} alarm"], "ar": [f"خطر {i}"]} for i, c in enumerate(CATEGORIES)}


def test_load_phrases_from_another_file(tmp_path: Path) -> None:
    book = load_phrases(_write(tmp_path, _minimal()))
    assert len(book) == 2 * len(CATEGORIES)
    assert detect_danger("the self_harm alarm went off", book) == [
        DangerSignal("self_harm", "self_harm alarm", "en")
    ]


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("abuse"),
        lambda d: d.update(weather={"en": ["storm"], "ar": ["عاصفة"]}),
        lambda d: d["abuse"].pop("ar"),
        lambda d: d["abuse"]["en"].append("violence   ALARM"),
        lambda d: d["abuse"]["en"].append("خطر"),
        lambda d: d["abuse"]["ar"].append("danger"),
        lambda d: d["abuse"]["ar"].append("  ...  "),
        lambda d: d["abuse"]["en"].append(42),
    ],
    ids=["missing", "unknown", "no-arabic", "duplicate", "en-script", "ar-script", "empty", "int"],
)
def test_bad_phrase_data_is_rejected(change: object) -> None:
    data = _minimal()
    change(data)  # type: ignore[operator]
    with pytest.raises(ValueError):
        PhraseBook(data)
