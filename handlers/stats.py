"""/stats: contract figures for coordinators (every provider) and leads (their own), for a
period chosen with buttons or typed, sent as a chart and a CSV file; the work runs off the
event loop (the figures in the database thread, the chart in a worker thread)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from telegram import InlineKeyboardMarkup, InputFile, Update

from bot.context import SanadContext
from bot.i18n import Texts, plain
from bot.services import stats
from bot.services.errors import BadPeriod, DomainError
from bot.services.stats import Figures, Period, PeriodChoice
from handlers import stats_text
from handlers.callbacks import MAX_ID, Prefix, StatsAction, args, build
from handlers.common import answer, keyboard, person_of, texts_for
from storage.types import utcnow


def period_keyboard(t: Texts) -> InlineKeyboardMarkup:
    """The four periods and the support window (the service decides whose figures)."""

    def button(choice: PeriodChoice) -> tuple[str, str]:
        return stats_text.choice_label(t, choice), build(
            Prefix.STATS, StatsAction.PERIOD, choice, 0
        )

    return keyboard(
        [
            [button(PeriodChoice.THIS_MONTH), button(PeriodChoice.LAST_MONTH)],
            [button(PeriodChoice.LAST_QUARTER), button(PeriodChoice.THIS_YEAR)],
            [(stats_text.support_button(t), build(Prefix.STATS, StatsAction.SUPPORT))],
        ]
    )


def _provider(text: str) -> int:
    """A typed provider number; BadPeriod (shown as the usage line) when it is not one."""
    number = plain(text).strip().lstrip("#")
    if not number.isdigit() or len(number) > 10 or not 0 < int(number) <= MAX_ID:
        raise BadPeriod("bad_date", reason="bad_date", value=text[:20])
    return int(number)


def parse_args(words: list[str], now: datetime) -> tuple[Period, int | None]:
    """``FROM TO [PROVIDER]`` or ``PROVIDER`` (this month); BadPeriod otherwise."""
    if len(words) == 1:
        return stats.period_for(PeriodChoice.THIS_MONTH, stats.local_today(now)), _provider(
            words[0]
        )
    if len(words) in (2, 3):
        period = stats.parse_period(words[0], words[1])
        return period, _provider(words[2]) if len(words) == 3 else None
    raise BadPeriod("bad_date", reason="bad_date")


def _render(figures: Figures, t: Texts) -> tuple[bytes, bytes]:
    """The chart and the CSV (run in a worker thread)."""
    # matplotlib loads on the first chart, not at start-up (it costs seconds and memory).
    from handlers import stats_chart

    return stats_chart.render(figures, t), stats.to_csv(figures)


async def send_figures(
    update: Update, context: SanadContext, period: Period, provider_id: int | None
) -> None:
    """Works the figures out for the caller and sends the chart and the CSV."""
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        figures = await context.db.run(
            stats.figures_for, person=person, period=period, now=utcnow(), provider_id=provider_id
        )
    except DomainError as exc:
        await answer(update, stats_text.error_text(t, exc))
        return
    png, table = await asyncio.to_thread(_render, figures, t)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_photo(photo=png, caption=stats_text.caption(t, figures))
    name = f"sanad-figures-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    await chat.send_document(
        document=InputFile(table, filename=name), caption=stats_text.csv_caption(t)
    )


async def stats_command(update: Update, context: SanadContext) -> None:
    """/stats (and the menu button): the period buttons, or typed dates and provider."""
    person = person_of(update, context)
    t = texts_for(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer()
    words = list(context.args or []) if update.callback_query is None else []
    try:
        # Refused roles hear so before choosing a period (the service checks again).
        stats.scope_role(person)
        if words:
            period, provider_id = parse_args(words, utcnow())
            await send_figures(update, context, period, provider_id)
            return
    except DomainError as exc:
        await answer(update, stats_text.error_text(t, exc))
        return
    await answer(update, stats_text.choose_text(t), period_keyboard(t))


async def period_button(update: Update, context: SanadContext) -> None:
    """A period button: ``st:p:CHOICE:PROVIDER`` (0: every provider the caller may see)."""
    query = update.callback_query
    assert query is not None
    t = texts_for(update, context)
    found = args(query.data, Prefix.STATS, StatsAction.PERIOD)
    choices = {str(c) for c in PeriodChoice}
    if (
        found is None or len(found) != 2 or found[0] not in choices or not found[1].isdigit()
        or len(found[1]) > 10 or int(found[1]) > MAX_ID
    ):  # fmt: skip
        await query.answer(t._("This button is out of date."), show_alert=True)
        return
    await query.answer()
    period = stats.period_for(found[0], stats.local_today(utcnow()))
    await send_figures(update, context, period, int(found[1]) or None)
