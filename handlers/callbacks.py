"""Callback data of the calendar features, built and parsed in one place.

Data is ``prefix:action[:arg...]`` (at most Telegram's 64 bytes); every argument is parsed back
with bounds, so a forged button with a huge or malformed number is refused, never an error.
Each feature owns one prefix and its actions enum below.
"""

from __future__ import annotations

import re
from enum import StrEnum

MAX_BYTES = 64  # Telegram's limit on callback_data
MAX_ID = 2**31 - 1  # larger than any row id: a bigger number is forged


class Prefix(StrEnum):
    """Which feature a button belongs to."""

    SLOTS = "sl"  # a caseworker's published time (handlers/slots.py)
    BOOKING = "bk"  # a family booking a meeting (handlers/booking.py)
    APPOINTMENTS = "ap"  # a family's own appointments: cancel, reschedule
    DIARY = "dy"  # a caseworker's diary: kept, missed, external appointments
    CLASSES = "cl"  # ESOL classes and enrolment (handlers/classes.py)
    REMINDER = "rm"  # "I will come" / "I can't come" (handlers/reminders.py)


def build(prefix: Prefix, action: StrEnum | str, *args: int | str) -> str:
    """``prefix:action:args``; ValueError when it would not fit in a button."""
    data = ":".join([str(prefix), str(action), *(str(arg) for arg in args)])
    if len(data.encode()) > MAX_BYTES or any(":" in str(arg) for arg in args):
        raise ValueError("callback data too long or with a separator in an argument")
    return data


def pattern(prefix: Prefix, action: StrEnum | str, args: int = 0) -> str:
    """The regex matching ``build(prefix, action, ...)`` with ``args`` arguments."""
    tail = r"(?::[A-Za-z0-9_.\-]{1,40})" + (f"{{{args}}}" if args else "{0}")
    return rf"^{re.escape(str(prefix))}:{re.escape(str(action))}{tail}$"


def args(data: str | None, prefix: Prefix, action: StrEnum | str) -> list[str] | None:
    """The arguments of a button's data, or None when it is not that button."""
    if not data:
        return None
    parts = data.split(":")
    if len(parts) < 2 or parts[0] != str(prefix) or parts[1] != str(action):
        return None
    return parts[2:]


def ids(
    data: str | None, prefix: Prefix, action: StrEnum | str, count: int = 1
) -> list[int] | None:
    """``count`` row ids from a button's data; None when missing, malformed or out of range."""
    found = args(data, prefix, action)
    if found is None or len(found) != count:
        return None
    numbers: list[int] = []
    for text in found:
        if not text.isdigit() or len(text) > 10 or not 0 < int(text) <= MAX_ID:
            return None
        numbers.append(int(text))
    return numbers


# ---------------------------------------------------------------- reminders (helper B)


class ReminderAction(StrEnum):
    """The buttons under a reminder; one argument, the reminder id."""

    YES = "yes"  # "I will come"
    NO = "no"  # "I can't come"


# --- Slots, booking and the family's appointments (helper A) ----------------------------------


class SlotAction(StrEnum):
    """A caseworker's published time: list, add with buttons, withdraw."""

    LIST = "list"  # no args
    ADD = "add"  # no args: pick a day
    DAY = "day"  # YYYYMMDD: pick a start
    FROM = "from"  # YYYYMMDD, HHMM: pick an end
    TO = "to"  # YYYYMMDD, HHMM, HHMM: pick a length
    LENGTH = "len"  # YYYYMMDD, HHMM, HHMM, minutes: confirm
    PUBLISH = "ok"  # YYYYMMDD, HHMM, HHMM, minutes: publish
    WITHDRAW = "wd"  # slot id: withdraw (asks first when booked)
    WITHDRAW_BOOKED = "wdok"  # slot id: confirmed, cancel the booking too


class BookingAction(StrEnum):
    """A family booking (or moving, ``move`` = appointment id, 0 for a new booking)."""

    START = "start"  # no args: choose how
    MODE = "mode"  # mode, move: pick a day
    DAY = "day"  # mode, YYYYMMDD, move: pick a time
    TIME = "time"  # mode, slot id, move: interpreter? (or confirm, when moving)
    NEED = "need"  # mode, slot id, interpreter 0/1, move: confirm summary
    CONFIRM = "ok"  # mode, slot id, interpreter 0/1, move: book
    STOP = "stop"  # no args: nothing booked


class AppointmentAction(StrEnum):
    """A family's own appointments (``cancel`` and ``move`` are fixed: reminders use them)."""

    LIST = "list"  # no args
    CANCEL = "cancel"  # appointment id: asks to confirm
    CANCEL_OK = "cancelok"  # appointment id: cancels
    MOVE = "move"  # appointment id: reschedule, through the booking day/time choice


# ---------------------------------------------------------------- diary and classes (helper C)


class DiaryAction(StrEnum):
    """A caseworker's diary (handlers/diary.py, handlers/diary_add.py)."""

    KEPT = "kept"  # appointment id
    MISSED = "missed"  # appointment id
    ADD = "add"  # no args: pick a family
    FAMILY = "fam"  # household id: then type the details


class ClassAction(StrEnum):
    """ESOL classes on Telegram (handlers/classes.py)."""

    OPEN = "open"  # class id: its page for staff
    ENROL = "enrol"  # class id: pick a member
    PICK = "pick"  # class id, member id: confirm
    YES = "yes"  # class id, member id: enrol
    OUT = "out"  # class id, member id: unenrol
    SESSIONS = "sess"  # class id: pick a past session
    REGISTER = "reg"  # class id, YYYYMMDD: the register
    ATTENDED = "att"  # class id, YYYYMMDD, member id
    ABSENT = "abs"  # class id, YYYYMMDD, member id
