"""/support (and its button under /stats): households whose support ends in the next six
months, with their caseworker; coordinators see all, leads their provider's, caseworkers
their own. Families never see this."""

from __future__ import annotations

from telegram import Update

from bot.context import SanadContext
from bot.services import support_window
from bot.services.errors import DomainError
from bot.services.stats import local_today
from handlers import stats_text
from handlers.common import answer, person_of, texts_for
from handlers.render import split_text
from storage.types import utcnow


async def support_command(update: Update, context: SanadContext) -> None:
    """/support or the button: the list, split into Telegram-sized messages."""
    person = person_of(update, context)
    t = texts_for(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer()
    months = support_window.WINDOW_MONTHS
    try:
        endings = await context.db.run(
            support_window.ending_soon, person=person, today=local_today(utcnow()), months=months
        )
    except DomainError as exc:
        await answer(update, stats_text.error_text(t, exc))
        return
    text = stats_text.support_text(t, endings, months=months, coordinator=person.is_coordinator)
    for piece in split_text(text):
        await answer(update, piece)
