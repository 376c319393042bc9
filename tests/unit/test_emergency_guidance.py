"""The emergency guidance: the right numbers, readable in Arabic, one text wherever it is shown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.i18n import FSI, PDI, texts
from bot.services.people import Person
from handlers.menu import help_text
from handlers.render import emergency_guidance

MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 09:00 in London (GMT)


def test_english_guidance_names_each_number_for_its_use() -> None:
    text = emergency_guidance(texts("en"))
    assert "danger now" in text and "call 999." in text
    assert "not life-threatening, call 111 (NHS 111)" in text
    assert 'say "Arabic" to get an interpreter' in text
    assert "Samaritans free on 116 123" in text
    assert "0800 111 999" in text  # gas emergencies are not 999 calls
    assert "Domestic Abuse" not in text and "closed" not in text


def test_arabic_guidance_is_readable_and_never_reversed() -> None:
    text = emergency_guidance(texts("ar"))
    for number in ("999", "111", "116 123", "0800 111 999"):
        assert f"{FSI}{number}{PDI}" in text
    assert f"ساماريتانز ({FSI}Samaritans{PDI})" in text
    assert f"«{FSI}Arabic{PDI}»" in text and "مترجم" in text
    assert "اتصلوا" in text  # plural: a woman, a man or a family
    for line in text.split("\n"):
        assert not line.startswith(FSI)
    assert "123 116" not in text


@pytest.mark.parametrize("language", ["ar", "en"])
def test_abuse_adds_the_domestic_abuse_helpline(language: str) -> None:
    t = texts(language)
    plain = emergency_guidance(t)
    with_abuse = emergency_guidance(t, abuse=True)
    assert with_abuse.startswith(plain)
    assert "0808 2000 247" in with_abuse and "0808 2000 247" not in plain
    assert "55" in with_abuse.removeprefix(plain)


def test_abuse_helpline_is_isolated_in_arabic() -> None:
    text = emergency_guidance(texts("ar"), abuse=True)
    assert f"{FSI}0808 2000 247{PDI}" in text
    assert "الخط الوطني لمساعدة ضحايا العنف الأسري" in text


@pytest.mark.parametrize("language", ["ar", "en"])
def test_out_of_hours_says_when_the_office_opens_and_promises_no_reader(language: str) -> None:
    t = texts(language)
    text = emergency_guidance(t, out_of_hours=True, opens_at=MONDAY_9)
    first = text.split("\n\n")[0]
    assert t.datetime(MONDAY_9) in first and "999" in first
    if language == "en":
        assert (
            "Nobody will read messages here until it opens on Monday 30 November, 09:00" in first
        )
    else:
        assert "المكتب مغلق الآن" in first and "لن يقرأ أحدٌ الرسائل" in first
    assert text.endswith(emergency_guidance(t))


def test_out_of_hours_without_a_time_uses_the_next_opening() -> None:
    text = emergency_guidance(texts("en"), out_of_hours=True)
    assert "until it opens on " in text and ":00" in text


@pytest.mark.parametrize("language", ["ar", "en"])
def test_family_help_shows_the_same_guidance(language: str) -> None:
    t = texts(language)
    family = Person(kind="member", telegram_user_id=1, language=language)
    assert emergency_guidance(t) in help_text(t, family)
