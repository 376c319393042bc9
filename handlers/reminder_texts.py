"""What a reminder says, to the family and (after "I can't come") to the caseworker.

Used by the FAMILY_REMINDER and STAFF_CANT_COME renderers in handlers/notices.py; built from
the database in the render's transaction, in the reader's language.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardMarkup

from bot.i18n import Texts
from bot.services.reminder_times import TIMEZONE
from handlers.callbacks import Prefix, ReminderAction, build
from handlers.common import keyboard
from storage.models import (
    Appointment,
    AppointmentKind,
    AppointmentMode,
    EsolClass,
    Household,
    Member,
    Reminder,
)


def _local_day(reminder: Reminder) -> date:
    """The event's local date (a class session's own date)."""
    if reminder.session_on is not None:
        return reminder.session_on
    return reminder.event_at.astimezone(ZoneInfo(TIMEZONE)).date()


def family_text(session: Session, reminder: Reminder, t: Texts) -> str:
    """The reminder a family member reads: what, when, where, and whether they will come."""
    day, at = t.day(_local_day(reminder)), t.time(reminder.event_at)
    lines: list[str] = []
    if reminder.appointment_id is not None:
        appointment = session.get(Appointment, reminder.appointment_id)
        assert appointment is not None
        lines.append(_appointment_line(t, appointment, day, at))
        if appointment.kind == AppointmentKind.EXTERNAL:
            if appointment.place:
                lines.append(t._("Where: {place}", place=appointment.place))
            if appointment.bring:
                lines.append(t._("Please bring: {bring}", bring=appointment.bring))
        if appointment.interpreter:
            lines.append(t._("An interpreter has been booked for you."))
    else:
        esol = session.get(EsolClass, reminder.class_id)
        assert esol is not None
        lines.append(
            t._(
                "⏰ Reminder: your English class {name} is on {day} at {time}.",
                name=esol.name,
                day=day,
                time=at,
            )
        )
        lines.append(t._("Where: {place}", place=esol.venue))
    lines += ["", t._("Will you come?")]
    return "\n".join(lines)


def _appointment_line(t: Texts, appointment: Appointment, day: str, at: str) -> str:
    """The first line of an appointment's reminder, by how the meeting happens."""
    if appointment.kind == AppointmentKind.EXTERNAL:
        return t._(
            "⏰ Reminder: {what} on {day} at {time}.", what=appointment.what, day=day, time=at
        )
    if appointment.mode == AppointmentMode.HOME:
        return t._(
            "⏰ Reminder: your caseworker will visit you at home on {day} at {time}.",
            day=day,
            time=at,
        )
    if appointment.mode == AppointmentMode.PHONE:
        return t._(
            "⏰ Reminder: your caseworker will phone you on {day} at {time}.", day=day, time=at
        )
    return t._(
        "⏰ Reminder: you have a meeting with your caseworker at the office on {day} at {time}.",
        day=day,
        time=at,
    )


def family_buttons(t: Texts, reminder: Reminder) -> InlineKeyboardMarkup:
    """ "I will come" and "I can't come"."""
    rid = reminder.id or 0
    return keyboard(
        [
            [
                (t._("✅ I will come"), build(Prefix.REMINDER, ReminderAction.YES, rid)),
                (t._("❌ I can't come"), build(Prefix.REMINDER, ReminderAction.NO, rid)),
            ]
        ]
    )


def staff_text(session: Session, reminder: Reminder, t: Texts) -> str:
    """Told to the caseworker at once when a family member presses "I can't come"."""
    member = session.get(Member, reminder.member_id)
    assert member is not None
    household = session.get(Household, member.household_id)
    family = household.reference if household is not None else "?"
    day, at = t.day(_local_day(reminder)), t.time(reminder.event_at)
    if reminder.class_id is not None:
        esol = session.get(EsolClass, reminder.class_id)
        return t._(
            "🙁 {name} (family {family}) cannot come to the English class {course} on {day} at "
            "{time}. It is recorded as an apology.",
            name=member.name,
            family=family,
            course=esol.name if esol is not None else "?",
            day=day,
            time=at,
        )
    appointment = session.get(Appointment, reminder.appointment_id)
    assert appointment is not None
    if appointment.kind == AppointmentKind.EXTERNAL:
        return t._(
            "🙁 {name} (family {family}) cannot come to their appointment on {day} at {time}: "
            "{what}. Please contact them.",
            name=member.name,
            family=family,
            day=day,
            time=at,
            what=appointment.what,
        )
    return t._(
        "🙁 {name} (family {family}) cannot come to the meeting with you on {day} at {time}. "
        "They were offered to choose another time.",
        name=member.name,
        family=family,
        day=day,
        time=at,
    )
