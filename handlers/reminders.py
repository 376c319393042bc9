"""The buttons under a reminder: "I will come" and "I can't come"."""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.context import SanadContext
from bot.delivery import dispatcher, reminder_clock
from bot.i18n import Texts
from bot.services import reminders
from bot.services.errors import ReminderClosed, ReminderGone
from bot.services.reminders import Response
from handlers.callbacks import Prefix, ReminderAction, build, ids
from handlers.common import answer, keyboard, person_of, texts_for
from handlers.fallback import stale_button
from storage.models import AttendanceStatus

# The families' appointment buttons (handlers of helper A): "move" takes the appointment id.
MOVE = "move"


async def yes_button(update: Update, context: SanadContext) -> None:
    """ "I will come": recorded once, with thanks."""
    await _respond(update, context, ReminderAction.YES)


async def no_button(update: Update, context: SanadContext) -> None:
    """ "I can't come": recorded as an apology, the caseworker told, a booking offered anew."""
    await _respond(update, context, ReminderAction.NO)


async def _respond(update: Update, context: SanadContext, action: ReminderAction) -> None:
    """Records the answer off the event loop and says what happened, in the caller's language."""
    query = update.callback_query
    assert query is not None
    found = ids(query.data, Prefix.REMINDER, action)
    person = person_of(update, context)
    if found is None or person.member_id is None:
        await stale_button(update, context)
        return
    t = texts_for(update, context)
    try:
        result = await context.db.run(
            reminders.respond,
            found[0],
            member_id=person.member_id,
            will_come=action == ReminderAction.YES,
            now=reminder_clock.now(context.application),
        )
    except ReminderGone:
        await stale_button(update, context)
        return
    except ReminderClosed as exc:
        await query.answer()
        await answer(update, _closed_text(t, str(exc.details.get("reason"))))
        return
    if result.staff_told:
        dispatcher.kick(context.application)
    await query.answer()
    with contextlib.suppress(TelegramError):  # the answer stands even if the edit fails
        await query.edit_message_reply_markup(None)
    text, markup = _answer(t, result)
    await answer(update, text, markup)


def _closed_text(t: Texts, reason: str) -> str:
    """Why nothing was recorded."""
    if reason == "past":
        return t._("This has already started or is over, so nothing was recorded.")
    return t._("This appointment or class was cancelled, so nothing was recorded.")


def _answer(t: Texts, result: Response) -> tuple[str, InlineKeyboardMarkup | None]:
    """The reply to a recorded answer, with a rebooking button after a "can't come"."""
    if result.answer == AttendanceStatus.WILL_COME:
        if not result.changed:
            return t._("We already have your answer: you will come. Thank you!"), None
        return t._("Thank you! We have noted that you will come."), None
    if not result.changed:
        text = t._("We already have your answer: you cannot come.")
    elif result.staff_told:
        text = t._("Thank you for telling us. Your caseworker has been told that you cannot come.")
    else:
        text = t._("Thank you for telling us. We have noted that you cannot come.")
    if result.rebook_appointment_id is None:
        return text, None
    text += "\n" + t._("Would you like to choose another time?")
    button = build(Prefix.APPOINTMENTS, MOVE, result.rebook_appointment_id)
    return text, keyboard([[(t._("📅 Choose another time"), button)]])
