"""Texts of the calendar features shared by their handlers and their notices: a class's
timetable and an appointment a caseworker added (no Telegram sending here)."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import Texts
from bot.services import appointments, class_calendar
from bot.services.class_calendar import ClassSession, SkipReason
from storage.models import Appointment, EsolClass

NEXT_SESSIONS = 4


def session_line(t: Texts, item: ClassSession) -> str:
    """One coming session, or why there is no class that day."""
    day = t.day(item.on)
    if item.skipped == SkipReason.BANK_HOLIDAY:
        return t._("• {day}: no class (bank holiday)", day=day)
    if item.skipped == SkipReason.BREAK:
        return t._("• {day}: no class (break)", day=day)
    return t._("• {day}, {time}", day=day, time=t.time(item.starts_at))


def coming(esol: EsolClass, now: datetime, count: int = NEXT_SESSIONS) -> list[ClassSession]:
    """The next ``count`` session dates from today, the skipped ones included."""
    today = appointments.local_day(now)
    items = [
        s
        for s in class_calendar.sessions(esol, start=today)
        if s.starts_at > now or (s.skipped is not None and s.on >= today)
    ]
    return items[:count]


def class_text(t: Texts, esol: EsolClass, now: datetime) -> str:
    """A class as a family member reads it: day, time, place, term and next sessions."""
    items = class_calendar.sessions(esol)
    first = items[0] if items else None
    lines = [f"📚 {esol.name}", t._("Where: {place}", place=esol.venue)]
    if first is not None:
        lines.append(
            t._("When: every {weekday} at {time}", weekday=t.weekday(first.on),
                time=t.time(first.starts_at))
        )  # fmt: skip
    lines.append(
        t._("Term: {start} to {end}", start=t.date(esol.term_from), end=t.date(esol.term_to))
    )
    upcoming = coming(esol, now)
    if upcoming:
        lines.append(t._("Next sessions:"))
        lines += [session_line(t, item) for item in upcoming]
    else:
        lines.append(t._("This class has finished for this term."))
    return "\n".join(lines)


def timetable_text(t: Texts, mine: list[EsolClass], now: datetime) -> str:
    """A member's whole timetable, or an honest answer when there is none."""
    if not mine:
        return t._(
            "You are not in any English (ESOL) class in Sanad yet. Please ask your caseworker "
            "about English classes near you."
        )
    head = t.n_("Your English class:", "Your English classes:", len(mine))
    return "\n\n".join([head, *(class_text(t, esol, now) for esol in mine)])


def enrolled_text(t: Texts, esol: EsolClass, now: datetime) -> str:
    """FAMILY_ENROLLED: the member has a place, the class and its next sessions."""
    return "\n\n".join(
        [
            t._("📚 You have a place in an English (ESOL) class."),
            class_text(t, esol, now),
            t._("We will remind you before each class. See your classes any time with /classes."),
        ]
    )


def added_text(t: Texts, appointment: Appointment) -> str:
    """What the family reads when their caseworker adds an appointment."""
    day = t.day(appointments.local_day(appointment.starts_at))
    lines = [
        t._("📅 Your caseworker added an appointment for you."),
        "",
        t._(
            "{what} on {day} at {time}.",
            what=appointment.what,
            day=day,
            time=t.time(appointment.starts_at),
        ),
        t._("Where: {place}", place=appointment.place),
    ]
    if appointment.bring:
        lines.append(t._("Please bring: {bring}", bring=appointment.bring))
    lines += ["", t._("We will remind you before it. You can see it in /appointments.")]
    return "\n".join(lines)
