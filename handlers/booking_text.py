"""Wording shared by booking, slots and their notices: how, when, and the notices' texts.

Kept apart from the handlers so that notices (rendered by the dispatcher) import no handler
that imports the dispatcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session
from telegram import InlineKeyboardMarkup

from bot.i18n import LONDON, Texts
from bot.services import booking
from bot.services.booking import Booked
from bot.services.people import Person
from handlers.callbacks import BookingAction, Prefix, build
from handlers.common import keyboard
from storage.models import Appointment, AppointmentMode, Notification

# ---------------------------------------------------------------- shared wording


def mode_name(t: Texts, mode: AppointmentMode | None) -> str:
    """How a meeting happens, as a short label."""
    if mode == AppointmentMode.HOME:
        return t._("🏠 Home visit")
    if mode == AppointmentMode.PHONE:
        return t._("📞 Phone call")
    return t._("🏢 At the office")


def local_day(when: datetime) -> date:
    """The London calendar day of a UTC instant."""
    return when.astimezone(LONDON).date()


def when_text(t: Texts, starts_at: datetime, ends_at: datetime) -> str:
    """ "Tuesday 12 January, 10:00–10:30" in the reader's language."""
    # TRANSLATORS: a meeting's day and times, e.g. "Tuesday 12 January, 10:00–10:30".
    return t._(
        "{day}, {start}–{end}",
        day=t.day(local_day(starts_at)),
        start=t.time(starts_at),
        end=t.time(ends_at),
    )


def interpreter_text(t: Texts, needed: bool | None) -> str:
    """Whether an interpreter comes."""
    return t._("🗣 Interpreter: yes") if needed else t._("🗣 Interpreter: no")


def summary(t: Texts, item: Booked) -> str:
    """An appointment in a few lines, for the family."""
    lines = [f"📅 {when_text(t, item.starts_at, item.ends_at)}"]
    if item.what:
        lines.append(item.what)
    if item.place:
        lines.append(t._("📍 Where: {place}", place=item.place))
    elif item.mode is not None:
        lines.append(mode_name(t, item.mode))
    if item.bring:
        lines.append(t._("🎒 Bring: {things}", things=item.bring))
    if item.interpreter:
        lines.append(interpreter_text(t, True))
    return "\n".join(lines)


def restart_markup(t: Texts, mode: AppointmentMode | None) -> InlineKeyboardMarkup:
    """A button to choose another time (after a cancellation by the caseworker)."""
    value = (mode or AppointmentMode.OFFICE).value
    return keyboard(
        [[(t._("📅 Choose another time"), build(Prefix.BOOKING, BookingAction.MODE, value, 0))]]
    )


# ---------------------------------------------------------------- notices (handlers/notices.py)


@dataclass(frozen=True)
class Said:
    """A rendered notice's text and buttons, or why it is not sent (``cancel``)."""

    text: str = ""
    markup: InlineKeyboardMarkup | None = None
    cancel: str = ""


def render_staff_booking(session: Session, notice: Notification, person: Person, t: Texts) -> Said:
    """STAFF_BOOKING: what the family did, when, how, and whether an interpreter is needed."""
    item = booking.appointment_for_notice(session, int(notice.payload.get("appointment") or 0))
    if item is None:
        return Said(cancel="the appointment no longer exists")
    row = session.get(Appointment, item.appointment_id)
    if row is None or person.staff_id != row.staff_id:
        return Said(cancel="the recipient no longer holds this appointment")
    when = when_text(t, item.starts_at, item.ends_at)
    action = notice.payload.get("action")
    if action == booking.Action.CANCELLED:
        lines = [
            t._(
                "✖️ Family {family} cancelled their meeting on {when}.",
                family=item.family_ref,
                when=when,
            )
        ]
    else:
        if action == booking.Action.MOVED:
            old = booking.appointment_for_notice(session, int(notice.payload.get("previous") or 0))
            before = when_text(t, old.starts_at, old.ends_at) if old is not None else "?"
            lines = [
                t._(
                    "🔁 Family {family} moved their meeting from {old} to {new}.",
                    family=item.family_ref,
                    old=before,
                    new=when,
                )
            ]
        else:
            lines = [
                t._(
                    "📅 Family {family} booked a meeting: {when}.",
                    family=item.family_ref,
                    when=when,
                )
            ]
        lines.append(mode_name(t, item.mode))
        lines.append(interpreter_text(t, item.interpreter))
    return Said("\n".join(lines))


def render_cancelled(session: Session, notice: Notification, person: Person, t: Texts) -> Said:
    """FAMILY_APPOINTMENT_CANCELLED: sorry, in their language, with a way to book again."""
    item = booking.appointment_for_notice(session, int(notice.payload.get("appointment") or 0))
    if item is None:
        return Said(cancel="the appointment no longer exists")
    if not person.is_member or person.household_id != item.household_id:
        return Said(cancel="the recipient is no longer linked to this family")
    text = t._(
        "Sorry, your caseworker had to cancel your meeting on {when}. Please choose another time.",
        when=when_text(t, item.starts_at, item.ends_at),
    )
    return Said(text, restart_markup(t, item.mode))
