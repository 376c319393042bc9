"""A family's own appointments: the list, cancelling a booking, and moving it to another time.

``show`` is called by /appointments (handlers/appointments.py) for family members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import Update

from bot.context import SanadContext
from bot.delivery import dispatcher, reminder_clock
from bot.services import booking
from bot.services.errors import DomainError
from handlers.booking import show_days
from handlers.booking_text import local_day, summary, when_text
from handlers.callbacks import AppointmentAction, BookingAction, Prefix, build, ids
from handlers.common import answer, edit_or_send, keyboard, person_of, texts_for
from handlers.menu import menu_for
from storage.models import AppointmentKind, AppointmentMode
from storage.types import utcnow

if TYPE_CHECKING:
    pass


async def show(update: Update, context: SanadContext) -> None:
    """My household's upcoming appointments, with cancel and change buttons for bookings."""
    query = update.callback_query
    if query is not None:
        await query.answer()
    person = person_of(update, context)
    t = texts_for(update, context)
    items = await context.db.run(
        booking.upcoming, household_id=person.household_id or 0, now=utcnow()
    )
    book_row = [(t._("📅 Book a meeting"), build(Prefix.BOOKING, BookingAction.START))]
    if not items:
        await answer(update, t._("You have no appointments coming up."), keyboard([book_row]))
        return
    blocks, rows = [], []
    for item in items:
        block = summary(t, item)
        if item.kind == AppointmentKind.EXTERNAL:
            block += "\n" + t._("To change this appointment, please contact your caseworker.")
        else:
            short = f"{t.day(local_day(item.starts_at))} {t.time(item.starts_at)}"
            rows.append(
                [
                    (
                        t._("✖️ Cancel {when}", when=short),
                        build(Prefix.APPOINTMENTS, AppointmentAction.CANCEL, item.appointment_id),
                    ),
                    (
                        t._("🔁 Change {when}", when=short),
                        build(Prefix.APPOINTMENTS, AppointmentAction.MOVE, item.appointment_id),
                    ),
                ]
            )
        blocks.append(block)
    rows.append(book_row)
    header = t.n_(
        "You have {n} appointment coming up:", "You have {n} appointments coming up:", len(items)
    )
    await answer(update, header + "\n\n" + "\n\n".join(blocks), keyboard(rows))


async def _gone(update: Update, context: SanadContext) -> None:
    """The appointment is not one the family can change now."""
    query = update.callback_query
    assert query is not None
    t = texts_for(update, context)
    await query.answer(
        t._("This meeting can no longer be changed. Please look at your appointments."),
        show_alert=True,
    )


async def cancel_button(update: Update, context: SanadContext) -> None:
    """Cancel: asks first."""
    query = update.callback_query
    assert query is not None
    found = ids(query.data, Prefix.APPOINTMENTS, AppointmentAction.CANCEL)
    person = person_of(update, context)
    t = texts_for(update, context)
    if found is None:
        await _gone(update, context)
        return
    try:
        item = await context.db.run(
            booking.own_booking,
            member_id=person.member_id or 0,
            appointment_id=found[0],
            now=utcnow(),
        )
    except DomainError:
        await _gone(update, context)
        return
    await query.answer()
    rows = [
        [
            (
                t._("Yes, cancel it"),
                build(Prefix.APPOINTMENTS, AppointmentAction.CANCEL_OK, item.appointment_id),
            )
        ],
        [(t._("No, keep it"), build(Prefix.APPOINTMENTS, AppointmentAction.LIST))],
    ]
    await answer(
        update,
        t._("Cancel your meeting on {when}?", when=when_text(t, item.starts_at, item.ends_at)),
        keyboard(rows),
    )


async def cancel_ok_button(update: Update, context: SanadContext) -> None:
    """Cancels the booking; the caseworker is told."""
    query = update.callback_query
    assert query is not None
    found = ids(query.data, Prefix.APPOINTMENTS, AppointmentAction.CANCEL_OK)
    person = person_of(update, context)
    t = texts_for(update, context)
    if found is None:
        await _gone(update, context)
        return
    try:
        item = await context.db.run(
            booking.cancel, member_id=person.member_id or 0, appointment_id=found[0], now=utcnow()
        )
    except DomainError:
        await _gone(update, context)
        return
    await query.answer()
    await edit_or_send(
        update,
        t._(
            "Your meeting on {when} is cancelled. Your caseworker has been told.",
            when=when_text(t, item.starts_at, item.ends_at),
        ),
        None,
    )
    await answer(update, t._("Here is the menu."), menu_for(t, person))
    dispatcher.kick(context.application)
    reminder_clock.rearm(context.application)


async def move_button(update: Update, context: SanadContext) -> None:
    """Change the time: the booking's day and time choice, then confirm."""
    query = update.callback_query
    assert query is not None
    found = ids(query.data, Prefix.APPOINTMENTS, AppointmentAction.MOVE)
    person = person_of(update, context)
    if found is None:
        await _gone(update, context)
        return
    try:
        item = await context.db.run(
            booking.own_booking,
            member_id=person.member_id or 0,
            appointment_id=found[0],
            now=utcnow(),
        )
    except DomainError:
        await _gone(update, context)
        return
    await query.answer()
    mode = (item.mode or AppointmentMode.OFFICE).value
    await show_days(update, context, mode, item.appointment_id)


async def list_button(update: Update, context: SanadContext) -> None:
    """Back to the list."""
    await show(update, context)


BUTTONS = [
    (list_button, AppointmentAction.LIST, 0),
    (cancel_button, AppointmentAction.CANCEL, 1),
    (cancel_ok_button, AppointmentAction.CANCEL_OK, 1),
    (move_button, AppointmentAction.MOVE, 1),
]
