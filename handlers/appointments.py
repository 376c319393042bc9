"""/appointments for everyone: staff see their diary (and add with ``add``), families their own."""

from __future__ import annotations

from telegram import Update

from bot.context import SanadContext
from bot.i18n import plain
from handlers import diary, diary_add
from handlers.common import person_of


async def appointments_command(update: Update, context: SanadContext) -> None:
    """/appointments and the menu button: the diary for staff, the family's list for members."""
    person = person_of(update, context)
    if person.is_staff:
        message = update.message
        words = plain(message.text or "").split(None, 2) if message is not None else []
        if len(words) >= 2 and words[1].lower() == "add":
            await diary_add.add_command(update, context, words[2] if len(words) == 3 else "")
            return
        await diary.show(update, context)
        return
    from handlers import family_appointments  # helper A's module: the family's list

    await family_appointments.show(update, context)
