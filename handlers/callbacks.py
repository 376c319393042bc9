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
    INVITE = "iv"  # a coordinator's /invite with buttons (handlers/invite_flow.py)
    ADMIN = "ad"  # reference data from Telegram (handlers/reference_data.py, staff_admin.py)
    BROADCAST = "bc"  # a coordinator's /broadcast (handlers/broadcast.py)
    STATS = "st"  # /stats periods and the support window (handlers/stats.py)
    PRIVACY = "pv"  # /mydata and erasure requests (handlers/mydata.py, privacy_admin.py)


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


# ---------------------------------------------------------------- invites and reference data


class InviteAction(StrEnum):
    """A coordinator's /invite with buttons (handlers/invite_flow.py)."""

    FAMILIES = "fam"  # page number + 1: households, a page at a time
    SEARCH = "find"  # no args: type a reference (or its start)
    HOUSEHOLD = "hh"  # household id: its members
    MEMBER = "mem"  # member id: invite
    RELINK_MEMBER = "rlm"  # member id: invite again, cutting the old account off
    NEW_MEMBER = "newm"  # household id: type the new member's name
    STAFF = "staff"  # role: staff of that role not yet connected
    PICK_STAFF = "sf"  # staff id: invite
    RELINK_STAFF = "rls"  # staff id: invite again, cutting the old account off
    NEW_STAFF = "news"  # role: pick a provider (caseworker, lead) or type the name
    NEW_STAFF_PROVIDER = "nsp"  # role, provider id: type the name


class AdminAction(StrEnum):
    """Providers, Lots, districts, routing rules and staff (handlers/reference_data.py,
    handlers/routing_admin.py, handlers/staff_admin.py)."""

    HOME = "home"  # no args: the four lists
    PROVIDERS = "pv"  # no args
    PROVIDER = "p"  # provider id: its page
    ADD_PROVIDER = "padd"  # no args: type the name
    NEW_PROVIDER_DISTRICT = "pnd"  # name message id, district id: its first (asks when taken)
    NEW_PROVIDER_MOVE = "pndm"  # name message id, district id: confirmed, taken from its provider
    RENAME = "pren"  # provider id: type the new name
    ACTIVATE = "pon"  # provider id
    DEACTIVATE = "poff"  # provider id
    GIVE = "pgive"  # provider id: pick a district for its Lot
    GIVE_DISTRICT = "pgd"  # provider id, district id (asks when taken)
    GIVE_MOVE = "pgdm"  # provider id, district id, message id it was picked on: confirmed
    DISTRICTS = "ds"  # no args
    ADD_DISTRICT = "dadd"  # no args: type the name
    ROUTING = "rt"  # no args
    RULE_ADD = "radd"  # no args: pick a district
    RULE_DISTRICT = "rd"  # district id: pick a category (0: every category)
    RULE_CATEGORY = "rc"  # district id, category id or 0: pick a provider
    RULE_PROVIDER = "rp"  # district id, category id or 0, provider id: add
    RULE_REMOVE = "rdel"  # rule id
    STAFF = "sl"  # page number + 1
    STAFF_ONE = "s"  # staff id: their page
    ROLE = "role"  # staff id, role: change (a provider is asked when needed)
    ROLE_PROVIDER = "rolp"  # staff id, role, provider id
    STAFF_ON = "son"  # staff id
    STAFF_OFF = "soff"  # staff id


# ---------------------------------------------------------------- broadcasts (issue 10)


class BroadcastAction(StrEnum):
    """A coordinator's /broadcast; the first argument is always the broadcast id."""

    AUDIENCE = "aud"  # id: the audience screen
    DIMENSION = "dim"  # id, dimension: its toggle buttons
    TOGGLE = "tog"  # id, dimension, value: include or leave out
    ALL = "all"  # id: every family
    ARRIVED = "arr"  # id: type the arrival dates
    PREVIEW = "prev"  # id: translate and preview in every language of the audience
    EDIT = "edit"  # id, language: type a reviewed translation
    SEND = "ok"  # id: confirm (idempotent)
    SCHEDULE = "when"  # id: type the time
    STOP = "stop"  # id: cancel a draft, a scheduled broadcast or one being sent


# ---------------------------------------------------------------- statistics (helper "stats")


class StatsAction(StrEnum):
    """/stats (handlers/stats.py) and the support window (handlers/support_window.py)."""

    PERIOD = "p"  # period choice (tm, lm, lq, ty), provider id (0: every provider I may see)
    SUPPORT = "sw"  # no args: households whose support ends in the next 6 months


# ---------------------------------------------------------------- privacy rights (helper "privacy")


class PrivacyAction(StrEnum):
    """/mydata (handlers/mydata.py) and coordinators' erasure decisions (privacy_admin.py)."""

    COPY = "copy"  # no args: send me a copy of my data
    DELETE = "del"  # no args: ask to delete (confirm first)
    DELETE_OK = "delok"  # no args: the request is sent to coordinators
    KEEP = "keep"  # no args: changed my mind, nothing is asked
    ERASE = "erase"  # request id: a coordinator asks to erase (confirm first)
    ERASE_OK = "eraseok"  # request id: erase now
    DECLINE = "decline"  # request id: decline the request
    TRAIL = "trail"  # household id: the household's audit trail
