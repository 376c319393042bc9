"""Routes messages and shared commands to the family or staff side by who is writing."""

from __future__ import annotations

from telegram import Update

from bot.context import SanadContext
from handlers import (
    broadcast,
    diary_add,
    family_edits,
    family_tickets,
    reference_data,
    report,
    staff_tickets,
)
from handlers.common import answer, person_of, texts_for
from handlers.menu import menu_for


async def on_private_message(update: Update, context: SanadContext) -> None:
    """A message outside any command: families and staff are handled apart."""
    person = person_of(update, context)
    if person.is_staff:
        # A broadcast being written, then typed details of an appointment being added from
        # the diary's buttons, come first.
        if await broadcast.on_staff_message(update, context):
            return
        # A coordinator typing a name or reference asked for by the invite or admin buttons.
        if await reference_data.on_coordinator_text(update, context):
            return
        if not await diary_add.on_staff_text(update, context):
            await staff_tickets.on_staff_message(update, context)
    elif person.is_member and update.edited_message is not None:
        # The gate stops a family that has not consented before their edit is read.
        if person.consented:
            await family_edits.on_family_edit(update, context)
    elif person.is_member:
        await report.on_family_message(update, context)


async def tickets_command(update: Update, context: SanadContext) -> None:
    """/tickets (and the menu button): a family's requests, or a caseworker's queue."""
    if person_of(update, context).is_staff:
        await staff_tickets.staff_tickets_command(update, context)
    else:
        await family_tickets.family_tickets_command(update, context)


async def report_command(update: Update, context: SanadContext) -> None:
    """/report is for families; staff are told where their tools are."""
    person = person_of(update, context)
    if person.is_member:
        await report.report_command(update, context)
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    t = texts_for(update, context)
    await answer(
        update,
        t._("Reporting a problem is for families. Your tickets are in /tickets."),
        menu_for(t, person),
    )
