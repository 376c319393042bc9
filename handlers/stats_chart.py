"""The /stats chart: matplotlib (Agg, no pyplot, so safe in a worker thread) to PNG bytes, sized
for a phone, with the period and the data date on it, in the viewer's language (Arabic shaped
and ordered with arabic-reshaper and python-bidi; DejaVu Sans, bundled with matplotlib, has the
glyphs). An empty period is an honest chart that says so."""

from __future__ import annotations

import io
import re

import arabic_reshaper
from bidi import get_display
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.i18n import Texts
from bot.services.stats import Figures, Row
from handlers.stats_text import data_date, period_text, provider_name

WIDTH_INCHES, DPI = 7.2, 150  # 1080 pixels wide: a phone screen's width, no zooming needed
FONT = "DejaVu Sans"
NAME_CHARS = 26
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
COLOURS = {"main": "#1f5f8b", "second": "#e07b39", "late": "#c0392b", "grey": "#7f8c8d"}


def shaped(text: str) -> str:
    """Text ready to draw: Arabic letters joined and right-to-left runs put in visual order."""
    if not _ARABIC.search(text):
        return text
    return str(get_display(arabic_reshaper.reshape(text)))


def _short(name: str) -> str:
    """A provider name short enough for a bar label."""
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def _hours(value: float | None) -> float:
    """A bar length (0 when there is no value)."""
    return 0.0 if value is None else value


def _one(value: float | None) -> float | None:
    """Hours to one decimal place."""
    return None if value is None else round(value, 1)


def _bars(
    ax: Axes,
    t: Texts,
    rows: list[Row],
    series: list[tuple[str, list[float | None], str]],
    title: str,
    *,
    integer: bool = False,
) -> None:
    """Horizontal grouped bars, one group per provider, each bar labelled with its value."""
    names = [shaped(_short(provider_name(t, r))) for r in rows]
    height = 0.8 / len(series)
    for index, (label, values, colour) in enumerate(series):
        positions = [i + index * height for i in range(len(rows))]
        lengths = [_hours(v) for v in values]
        bars = ax.barh(positions, lengths, height=height, color=colour, label=shaped(label))
        # No value (nothing answered or resolved) is a dash, never a misleading 0.
        marks = ["–" if v is None else f"{v:g}" for v in values]
        ax.bar_label(bars, labels=marks, padding=3, fontsize=9)
    ax.set_yticks([i + height * (len(series) - 1) / 2 for i in range(len(rows))], names)
    ax.invert_yaxis()
    ax.set_title(shaped(title), fontsize=12, loc="left", pad=18)
    ax.margins(x=0.18)
    ax.tick_params(labelsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if integer:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(series) > 1:
        # Above the bars, right-aligned, so it never hides a bar or its value.
        ax.legend(
            fontsize=9, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=len(series),
            frameon=False, borderaxespad=0.1,
        )  # fmt: skip


def _heading(fig: Figure, t: Texts, figures: Figures) -> None:
    """Title, period and data date, at the top."""
    title = t._("Sanad contract figures")
    if figures.provider_id is not None:
        title = t._("Sanad figures: {provider}", provider=provider_name(t, figures.total))
    fig.text(0.03, 0.985, shaped(title), fontsize=16, weight="bold", va="top")
    fig.text(0.03, 0.955, shaped(period_text(t, figures.period)), fontsize=12, va="top")
    fig.text(
        0.03, 0.932, shaped(data_date(t, figures.generated_at)), fontsize=10, va="top",
        color=COLOURS["grey"],
    )  # fmt: skip


def _summary(t: Texts, total: Row) -> str:
    """The bottom lines: appointments, ESOL attendance and unreachable families."""
    rate = total.esol_rate
    esol = (
        t._("ESOL attendance: {rate}% of marked sessions", rate=round(rate * 100))
        if rate is not None
        else t._("ESOL attendance: no sessions marked")
    )
    return "\n".join(
        shaped(line)
        for line in (
            t._(
                "Appointments: {kept} kept, {missed} missed", kept=total.kept, missed=total.missed
            ),
            esol,
            t._("Families unreachable now: {n}", n=total.unreachable),
            t._("Times in working hours: weekdays 9:00-17:00, bank holidays excluded."),
        )
    )


def render(figures: Figures, t: Texts) -> bytes:
    """The chart as PNG bytes."""
    rows = figures.providers
    if figures.empty:
        fig = Figure(figsize=(WIDTH_INCHES, 5.0), dpi=DPI)
        FigureCanvasAgg(fig)
        fig.set_facecolor("white")
        _heading(fig, t, figures)
        message = t._(
            "Nothing was recorded in this period:\nno tickets, appointments or registers."
        )
        fig.text(0.5, 0.45, shaped(message), ha="center", va="center", fontsize=14,
                 color=COLOURS["grey"])  # fmt: skip
        return _png(fig)
    per_panel = 0.55 * max(len(rows), 1) + 1.1
    fig = Figure(figsize=(WIDTH_INCHES, 2.2 + 4 * per_panel + 1.4), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.set_facecolor("white")
    _heading(fig, t, figures)
    height = fig.get_figheight()
    grid = fig.add_gridspec(
        4, 1, top=1 - 1.7 / height, bottom=1.3 / height, left=0.32, right=0.97, hspace=0.55
    )
    _bars(
        fig.add_subplot(grid[0]), t, rows,
        [(t._("opened"), [float(r.opened) for r in rows], COLOURS["main"]),
         (t._("urgent"), [float(r.urgent) for r in rows], COLOURS["late"])],
        t._("Tickets opened"), integer=True,
    )  # fmt: skip
    _bars(
        fig.add_subplot(grid[1]), t, rows,
        [(t._("median"), [_one(r.first_response_median) for r in rows],
          COLOURS["main"]),
         (t._("90th percentile"), [_one(r.first_response_p90) for r in rows],
          COLOURS["second"])],
        t._("First response (working hours)"),
    )  # fmt: skip
    _bars(
        fig.add_subplot(grid[2]), t, rows,
        [(t._("median"), [_one(r.resolution_median) for r in rows], COLOURS["main"]),
         (t._("90th percentile"), [_one(r.resolution_p90) for r in rows],
          COLOURS["second"])],
        t._("Resolution (working hours)"),
    )  # fmt: skip
    _bars(
        fig.add_subplot(grid[3]), t, rows,
        [(t._("overdue now"), [float(r.overdue_now) for r in rows], COLOURS["late"]),
         (t._("breached in the period"), [float(r.breached) for r in rows], COLOURS["grey"])],
        t._("Deadlines"), integer=True,
    )  # fmt: skip
    fig.text(0.03, 0.015, _summary(t, figures.total), fontsize=10, va="bottom")
    return _png(fig)


def _png(fig: Figure) -> bytes:
    """Saves a figure as PNG bytes."""
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, facecolor="white")
    return out.getvalue()
