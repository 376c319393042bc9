"""The /stats chart renders to a phone-sized PNG, empty or not, in English and Arabic (a
missing glyph would warn, and warnings are errors in this suite)."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime

import pytest

from bot.i18n import texts
from bot.services.stats import Figures, Period, Row, RowLevel
from handlers import stats_chart, stats_text

PERIOD = Period(date(2026, 1, 1), date(2026, 3, 31))
AT = datetime(2026, 4, 2, 9, 30, tzinfo=UTC)


def _size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG header."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _figures(rows: list[Row], provider_id: int | None = None) -> Figures:
    """Figures for the first quarter of 2026."""
    return Figures(PERIOD, AT, provider_id, ["housing", "health"], rows)


def _busy() -> Figures:
    """Two providers with tickets, times and attendance."""
    rows = [Row(RowLevel.TOTAL, None, "")]
    for pid, name, opened in ((1, "Kent Refugee Action", 40), (2, "خدمات الدعم", 12)):
        row = Row(RowLevel.PROVIDER, pid, name, opened=opened, urgent=3, breached=4,
                  overdue_now=2, first_response=[1.0, 2.5, 9.0], resolution=[20.0],
                  kept=5, missed=1, attended=8, absent=2)  # fmt: skip
        rows[0].add(row)
        rows.append(row)
    return _figures(rows)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_chart_with_figures_is_a_phone_sized_png(language: str) -> None:
    png = stats_chart.render(_busy(), texts(language))
    width, height = _size(png)
    assert width == 1080 and 1000 < height < 4000
    assert len(png) > 20_000


@pytest.mark.parametrize("language", ["en", "ar"])
def test_an_empty_period_gives_an_honest_empty_chart(language: str) -> None:
    empty = _figures([Row(RowLevel.TOTAL, None, "")])
    assert empty.empty
    png = stats_chart.render(empty, texts(language))
    width, height = _size(png)
    assert width == 1080 and height == 750
    t = texts(language)
    assert stats_text.caption(t, empty).count("\n") >= 2
    assert stats_text.period_text(t, PERIOD) in stats_text.caption(t, empty)


def test_arabic_is_joined_and_put_in_visual_order() -> None:
    word = "مرحبا"
    drawn = stats_chart.shaped(word)
    assert drawn != word and len(drawn) == len(word)
    assert all("\ufe70" <= ch <= "\ufeff" for ch in drawn)  # presentation (joined) forms
    assert stats_chart.shaped("Kent 2026") == "Kent 2026"


def test_the_arabic_caption_names_the_period_in_arabic() -> None:
    t = texts("ar")
    caption = stats_text.caption(t, _busy())
    assert "مارس" in caption or "آذار" in caption  # 31 March in Arabic
    assert "52" in caption  # tickets opened in total
