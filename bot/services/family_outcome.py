"""What a family's message or tap came to: the reply they are told and what rendering needs.

Shared by the arrival of a message (bot/services/intake.py) and the report conversation
(bot/services/report.py), so neither imports the other's module for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.services.safeguarding import DangerLevel
from bot.services.tickets import Checked, Opened
from storage.models import Category


class Reply(StrEnum):
    """What the family is told after an intent."""

    NOTHING = "nothing"  # a redelivered update or an edit already taken in
    STALE = "stale"  # the button's moment has passed
    KEPT_AT_CATEGORY = "kept_at_category"  # kept in the draft; still choosing a category
    KEPT_IN_DRAFT = "kept_in_draft"  # kept in the draft while describing
    TOO_LARGE = "too_large"  # a file the bot cannot fetch
    UNSUPPORTED = "unsupported"  # a kind of message a request can't hold
    ASK_CATEGORY = "ask_category"  # a report started: which category?
    ASK_WHICH = "ask_which"  # several open requests: which one?
    ADDED = "added"  # joined one of the family's requests
    CLOSED = "closed"  # that request is resolved: offer to reopen
    NOT_ADDED = "not_added"  # the request is gone or not theirs
    DESCRIBE = "describe"  # a category was chosen: describe the problem
    EMPTY = "empty"  # Send with nothing written yet
    CONFIRM = "confirm"  # ready: confirm sending
    OPENED = "opened"  # the request was opened
    WRITE = "write"  # the next message goes to the chosen request


@dataclass
class Outcome:
    """The result of one intent, with what rendering it needs."""

    reply: Reply
    checked: Checked = field(default_factory=lambda: Checked(DangerLevel.NONE))
    seen: bool = False
    in_report: bool = False
    at_category: bool = False
    options: list[Category] = field(default_factory=list)
    labels: list[tuple[int, str, Category | None]] = field(default_factory=list)
    ticket_id: int | None = None
    reference: str = ""
    category: Category | None = None
    parts: int = 0
    opened: Opened | None = None
