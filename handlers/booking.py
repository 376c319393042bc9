"""Families booking a meeting with buttons only: how, day, time, interpreter, confirm.

Every step's state travels in the button data (``bk:…``); the slot is checked again by the
service at each step and at confirmation, so a stale or forged button is refused plainly.
Moving a booking uses the same day and time steps (``move`` = the appointment id, else 0).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from datetime import date, datetime

from telegram import Update

from bot.context import SanadContext
from bot.delivery import dispatcher, reminder_clock
from bot.i18n import Texts
from bot.services import booking
from bot.services.booking import FreeTime, Why, Window
from bot.services.errors import (
    DomainError,
    NoBookableStaff,
    SlotTaken,
    SlotUnavailable,
)
from handlers.booking_text import interpreter_text, local_day, mode_name, summary, when_text
from handlers.callbacks import BookingAction, Prefix, args, build
from handlers.common import answer, edit_or_send, keyboard, person_of, texts_for
from handlers.menu import menu_for
from storage.models import AppointmentMode
from storage.types import utcnow

_MODES = {mode.value: mode for mode in AppointmentMode}
_DAY = re.compile(r"^\d{8}$")


def window(context: SanadContext) -> Window:
    """The booking window now, from the settings."""
    settings = context.settings
    return Window(utcnow(), settings.booking_days, settings.booking_min_notice)


def _unavailable_text(t: Texts, exc: DomainError) -> str:
    """Why that time cannot be booked."""
    reason = exc.details.get("reason")
    if reason == Why.PAST:
        return t._("This time has already passed. Please choose another time.")
    if reason == Why.NOTICE:
        return t._("This time is too soon to book now. Please choose a later time.")
    if reason == Why.WINDOW:
        return t._("This time is too far ahead to book now. Please choose an earlier time.")
    return t._("This time can no longer be booked. Please choose another time.")


def no_staff_text(t: Texts, exc: NoBookableStaff) -> str:
    """Whom to contact when nobody can be booked."""
    provider = exc.details.get("provider")
    if provider:
        return t._(
            "We can't book a meeting for you in Sanad yet. Please contact {provider} and "
            "they will help you.",
            provider=provider,
        )
    return t._(
        "We can't book a meeting for you in Sanad yet. Please contact the council's "
        "resettlement team and they will help you."
    )


def no_times_text(t: Texts, days: int) -> str:
    """No free time in the window."""
    return t.n_(
        "Sorry, there are no free times in the next {n} day. Please try again later, or "
        "send a message to your caseworker with 📝 Report a problem.",
        "Sorry, there are no free times in the next {n} days. Please try again later, or "
        "send a message to your caseworker with 📝 Report a problem.",
        days,
    )


def times_keyboard(
    t: Texts, mode: str, times: list[FreeTime], move: int, *, with_day: bool
) -> list[list[tuple[str, str]]]:
    """Time buttons, three to a row (with the day when the times span several days)."""
    buttons = [
        (
            when_text(t, item.starts_at, item.ends_at) if with_day else t.time(item.starts_at),
            build(Prefix.BOOKING, BookingAction.TIME, mode, item.slot_id, move),
        )
        for item in times
    ]
    per_row = 1 if with_day else 3
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def _stop_row(t: Texts) -> list[tuple[str, str]]:
    """The row that leaves the booking."""
    return [(t._("✖️ Stop"), build(Prefix.BOOKING, BookingAction.STOP))]


# ---------------------------------------------------------------- parsing button data


def _parse(data: str | None, action: BookingAction, count: int) -> list[str] | None:
    """The arguments of a booking button, or None when malformed."""
    found = args(data, Prefix.BOOKING, action)
    if found is None or len(found) != count:
        return None
    return found


def _number(text: str) -> int | None:
    """A positive row id, or None (forged)."""
    if not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 <= value <= 2**31 - 1 else None


async def _stale(update: Update, context: SanadContext) -> None:
    """A button that no longer works."""
    query = update.callback_query
    assert query is not None
    t = texts_for(update, context)
    await query.answer(t._("This button no longer works."), show_alert=True)


# ---------------------------------------------------------------- the steps


async def book_command(update: Update, context: SanadContext) -> None:
    """/book and the menu button: how shall we meet? (or straight to days for the office)."""
    query = update.callback_query
    if query is not None:
        await query.answer()
    person = person_of(update, context)
    t = texts_for(update, context)
    if not person.is_member:
        await answer(
            update, t._("Booking a meeting is for families. Your free time is in /slots.")
        )
        return
    try:
        who = await context.db.run(booking.book_with, person.household_id or 0)
    except NoBookableStaff as exc:
        await answer(update, no_staff_text(t, exc), menu_for(t, person))
        return
    if who.office_only:
        await answer(
            update,
            t._(
                "You don't have a caseworker yet. You can book a meeting at the office of "
                "{provider}.",
                provider=who.provider or "",
            ),
        )
        await show_days(update, context, AppointmentMode.OFFICE.value, 0)
        return
    rows = [
        [(mode_name(t, mode), build(Prefix.BOOKING, BookingAction.MODE, mode.value, 0))]
        for mode in (AppointmentMode.HOME, AppointmentMode.OFFICE, AppointmentMode.PHONE)
    ]
    rows.append(_stop_row(t))
    await answer(update, t._("How would you like to meet your caseworker?"), keyboard(rows))


async def show_days(update: Update, context: SanadContext, mode: str, move: int) -> None:
    """The days with free times, as buttons."""
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        times = await context.db.run(booking.free_times, person.household_id or 0, window(context))
    except NoBookableStaff as exc:
        await answer(update, no_staff_text(t, exc), menu_for(t, person))
        return
    if not times:
        await answer(update, no_times_text(t, context.settings.booking_days), menu_for(t, person))
        return
    days: OrderedDict[date, None] = OrderedDict((local_day(i.starts_at), None) for i in times)
    buttons = [
        (t.day(day), build(Prefix.BOOKING, BookingAction.DAY, mode, f"{day:%Y%m%d}", move))
        for day in days
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(_stop_row(t))
    await edit_or_send(update, t._("Which day suits you?"), keyboard(rows))


async def mode_button(update: Update, context: SanadContext) -> None:
    """How was chosen: pick a day."""
    query = update.callback_query
    assert query is not None
    found = _parse(query.data, BookingAction.MODE, 2)
    move = _number(found[1]) if found else None
    if found is None or found[0] not in _MODES or move is None:
        await _stale(update, context)
        return
    await query.answer()
    await show_days(update, context, found[0], move)


async def day_button(update: Update, context: SanadContext) -> None:
    """A day was chosen: its free times."""
    query = update.callback_query
    assert query is not None
    found = _parse(query.data, BookingAction.DAY, 3)
    move = _number(found[2]) if found else None
    if found is None or found[0] not in _MODES or not _DAY.match(found[1]) or move is None:
        await _stale(update, context)
        return
    try:
        day = datetime.strptime(found[1], "%Y%m%d").date()
    except ValueError:
        await _stale(update, context)
        return
    await query.answer()
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        times = await context.db.run(booking.free_times, person.household_id or 0, window(context))
    except NoBookableStaff as exc:
        await answer(update, no_staff_text(t, exc), menu_for(t, person))
        return
    times = [i for i in times if local_day(i.starts_at) == day]
    if not times:
        await answer(
            update, t._("There are no free times left on that day. Please choose another day.")
        )
        await show_days(update, context, found[0], move)
        return
    rows = times_keyboard(t, found[0], times, move, with_day=False)
    rows.append(
        [(t._("⬅️ Another day"), build(Prefix.BOOKING, BookingAction.MODE, found[0], move))]
    )
    rows.append(_stop_row(t))
    await edit_or_send(update, t._("{day}: which time suits you?", day=t.day(day)), keyboard(rows))


async def _offer(
    update: Update, context: SanadContext, slot_id: int, mode: str, move: int
) -> FreeTime | None:
    """The slot if still bookable; otherwise explains (with other times when taken)."""
    person = person_of(update, context)
    try:
        return await context.db.run(
            booking.offer,
            household_id=person.household_id or 0,
            slot_id=slot_id,
            window=window(context),
        )
    except DomainError as exc:
        await refuse(update, context, exc, mode, move)
        return None


async def refuse(
    update: Update, context: SanadContext, exc: DomainError, mode: str = "office", move: int = 0
) -> None:
    """Explains why a time cannot be booked; a lost race offers the next free times."""
    query = update.callback_query
    if query is not None:
        await query.answer()
    person = person_of(update, context)
    t = texts_for(update, context)
    if isinstance(exc, SlotTaken):
        times: list[FreeTime] = list(exc.details.get("alternatives") or [])  # type: ignore[call-overload]
        if not times:
            await answer(
                update,
                t._("Sorry, someone else has just booked this time.")
                + "\n\n"
                + no_times_text(t, context.settings.booking_days),
                menu_for(t, person),
            )
            return
        rows = times_keyboard(t, mode, times, move, with_day=True)
        rows.append(_stop_row(t))
        await answer(
            update,
            t._("Sorry, someone else has just booked this time. Here are the next free times:"),
            keyboard(rows),
        )
        return
    if isinstance(exc, NoBookableStaff):
        await answer(update, no_staff_text(t, exc), menu_for(t, person))
        return
    if isinstance(exc, SlotUnavailable):
        rows = [
            [
                (
                    t._("📅 Choose another time"),
                    build(Prefix.BOOKING, BookingAction.MODE, mode, move),
                )
            ]
        ]
        await answer(update, _unavailable_text(t, exc), keyboard(rows))
        return
    await answer(update, t._("This meeting can no longer be changed."), menu_for(t, person))


async def time_button(update: Update, context: SanadContext) -> None:
    """A time was chosen: interpreter question (or, when moving, the confirmation)."""
    query = update.callback_query
    assert query is not None
    found = _parse(query.data, BookingAction.TIME, 3)
    slot_id = _number(found[1]) if found else None
    move = _number(found[2]) if found else None
    if found is None or found[0] not in _MODES or not slot_id or move is None:
        await _stale(update, context)
        return
    mode = found[0]
    offered = await _offer(update, context, slot_id, mode, move)
    if offered is None:
        return
    await query.answer()
    t = texts_for(update, context)
    if move:
        await _confirm_move(update, context, mode, offered, move)
        return
    rows = [
        [
            (
                t._("Yes, I need an interpreter"),
                build(Prefix.BOOKING, BookingAction.NEED, mode, slot_id, 1, 0),
            ),
        ],
        [(t._("No, thank you"), build(Prefix.BOOKING, BookingAction.NEED, mode, slot_id, 0, 0))],
        _stop_row(t),
    ]
    await edit_or_send(update, t._("Do you need an interpreter at the meeting?"), keyboard(rows))


async def _confirm_move(
    update: Update, context: SanadContext, mode: str, offered: FreeTime, move: int
) -> None:
    """Asks before moving a booking to the chosen time."""
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        old = await context.db.run(
            booking.own_booking, member_id=person.member_id or 0, appointment_id=move, now=utcnow()
        )
    except DomainError as exc:
        await refuse(update, context, exc)
        return
    text = t._(
        "Move your meeting?\nFrom: {old}\nTo: {new}",
        old=when_text(t, old.starts_at, old.ends_at),
        new=when_text(t, offered.starts_at, offered.ends_at),
    )
    interpreter = 1 if old.interpreter else 0
    rows = [
        [
            (
                t._("✅ Yes, move it"),
                build(
                    Prefix.BOOKING, BookingAction.CONFIRM, mode, offered.slot_id, interpreter, move
                ),
            )
        ],
        _stop_row(t),
    ]
    await edit_or_send(update, text, keyboard(rows))


async def need_button(update: Update, context: SanadContext) -> None:
    """Interpreter answered: the summary to confirm."""
    query = update.callback_query
    assert query is not None
    found = _parse(query.data, BookingAction.NEED, 4)
    slot_id = _number(found[1]) if found else None
    if found is None or found[0] not in _MODES or not slot_id or found[2] not in ("0", "1"):
        await _stale(update, context)
        return
    offered = await _offer(update, context, slot_id, found[0], 0)
    if offered is None:
        return
    await query.answer()
    t = texts_for(update, context)
    mode, needed = found[0], found[2] == "1"
    text = "\n".join(
        [
            t._("Please check your meeting:"),
            f"📅 {when_text(t, offered.starts_at, offered.ends_at)}",
            mode_name(t, _MODES[mode]),
            interpreter_text(t, needed),
        ]
    )
    rows = [
        [
            (
                t._("✅ Book it"),
                build(Prefix.BOOKING, BookingAction.CONFIRM, mode, slot_id, found[2], 0),
            )
        ],
        _stop_row(t),
    ]
    await edit_or_send(update, text, keyboard(rows))


async def confirm_button(update: Update, context: SanadContext) -> None:
    """Books (or moves) for real; the slot is checked again by the service."""
    query = update.callback_query
    assert query is not None
    found = _parse(query.data, BookingAction.CONFIRM, 4)
    slot_id = _number(found[1]) if found else None
    move = _number(found[3]) if found else None
    if (
        found is None
        or found[0] not in _MODES
        or not slot_id
        or found[2] not in ("0", "1")
        or move is None
    ):
        await _stale(update, context)
        return
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        done = await context.db.run(
            booking.book,
            member_id=person.member_id or 0,
            slot_id=slot_id,
            mode=_MODES[found[0]],
            interpreter=found[2] == "1",
            window=window(context),
            policy=context.settings.reminder_policy,
            move_from=move or None,
        )
    except DomainError as exc:
        await refuse(update, context, exc, found[0], move)
        return
    await query.answer()
    if move:
        intro = t._("✅ Your meeting is moved. Your caseworker has been told.")
    else:
        intro = t._("✅ Your meeting is booked. Your caseworker has been told.")
    text = "\n\n".join(
        [intro, summary(t, done), t._("We will send you a reminder before the meeting.")]
    )
    if query.message is not None:
        await query.edit_message_reply_markup(None)
    await answer(update, text, menu_for(t, person))
    dispatcher.kick(context.application)
    reminder_clock.rearm(context.application)


async def stop_button(update: Update, context: SanadContext) -> None:
    """Leaves the booking: nothing was booked."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    person = person_of(update, context)
    t = texts_for(update, context)
    await edit_or_send(update, t._("Nothing was booked."), None)
    await answer(update, t._("Here is the menu."), menu_for(t, person))


BUTTONS = [
    (book_command, BookingAction.START, 0),
    (mode_button, BookingAction.MODE, 2),
    (day_button, BookingAction.DAY, 3),
    (time_button, BookingAction.TIME, 3),
    (need_button, BookingAction.NEED, 4),
    (confirm_button, BookingAction.CONFIRM, 4),
    (stop_button, BookingAction.STOP, 0),
]
