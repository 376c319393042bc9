"""What a family's message or tap does, one transaction per intent: arrive, report, attach.

Each function takes a session (run it with ``Database.run``) and returns an :class:`Outcome`
that the Telegram handler renders; none of them sends anything, so a retry is always safe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from bot.services import accounts, categories, flows, tickets
from bot.services.errors import Conflict, DomainError, InvalidInput, NotFound
from bot.services.people import Person
from bot.services.safeguarding import DangerLevel
from bot.services.tickets import Checked, Opened, Part
from storage.models import Category, Flow, Ticket, TicketMessage, TicketStatus

Source = tuple[int, int]  # (chat id, message id) of a family's Telegram message


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


# ---------------------------------------------------------------- a message arrives


def _in_flow(flow_data: dict[str, Any], source: Source) -> bool:
    """Whether a message is already kept in a draft or a "which request?" wait."""
    return any(
        (p.get("source_chat_id"), p.get("source_message_id")) == source
        for p in flow_data.get("parts", [])
    )


class _Lookups:
    """What one arriving message needs to know about the family's requests, each looked up
    at most once in its transaction (the message's target, then where it goes)."""

    def __init__(self, session: Session, person: Person, chat_id: int) -> None:
        """Nothing is looked up until it is asked for."""
        self.session, self.person, self.chat_id = session, person, chat_id
        self._open: list[Ticket] | None = None
        self._linked: dict[int, int | None] = {}

    def open_tickets(self) -> list[Ticket]:
        """The family's open requests, newest first (kept: later ``session.get`` calls for
        them are answered from the session, not the database)."""
        if self._open is None:
            self._open = tickets.open_family_tickets(self.session, person=self.person)
        return self._open

    def linked(self, reply_to: int) -> int | None:
        """The request a bot message in this chat belongs to (for Telegram's Reply)."""
        if reply_to not in self._linked:
            self._linked[reply_to] = tickets.ticket_for_message(
                self.session, chat_id=self.chat_id, message_id=reply_to
            )
        return self._linked[reply_to]


def _known_ticket(
    lookups: _Lookups, flow_name: str, flow_data: dict[str, Any], reply_to: int | None
) -> int | None:
    """The request a message will join, when that is already clear as it arrives."""
    if flow_name == "report":
        return None  # a draft: no request yet
    if flow_name == "family_add":
        return int(flow_data["ticket_id"])
    if reply_to is not None:
        linked = lookups.linked(reply_to)
        if linked is not None:
            return linked
    if flow_name == "attach":
        return None  # waiting for "which request?"
    open_tickets = lookups.open_tickets()
    return open_tickets[0].id if len(open_tickets) == 1 else None


def triage(
    session: Session, *, person: Person, text: str, source: Source, ticket_id: int | None = None
) -> Checked:
    """Checks a family message for danger as it arrives (queues the alert once per message)."""
    if not text.strip():
        return Checked(DangerLevel.NONE)
    try:
        return tickets.check_arrival(
            session, person=person, text=text, source=source, ticket_id=ticket_id
        )
    except NotFound:  # the request is gone or not theirs: check without it
        return tickets.check_arrival(session, person=person, text=text, source=source)


def family_message(
    session: Session,
    *,
    person: Person,
    part: Part | None,
    text: str,
    source: Source,
    reply_to: int | None = None,
    too_large: bool = False,
) -> Outcome:
    """Any family message: triaged first, then kept in a draft, added to a request, or the
    start of one. ``part`` is None for a file too large (``too_large``) or an unusable kind."""
    flow = flows.current(session, person.telegram_user_id)
    flow_name, flow_data = (flow.name, dict(flow.data)) if flow else ("", {})
    seen = tickets.already_stored(session, *source) or _in_flow(flow_data, source)
    lookups = _Lookups(session, person, source[0])
    target = _known_ticket(lookups, flow_name, flow_data, reply_to)
    checked = triage(session, person=person, text=text, source=source, ticket_id=target)
    if seen:
        return Outcome(Reply.NOTHING, checked, seen=True)
    if flow_name == "report":
        assert flow is not None
        return _keep_in_draft(session, flow, part, too_large, checked)
    if too_large:
        return Outcome(Reply.TOO_LARGE, checked)
    if part is None:
        return Outcome(Reply.UNSUPPORTED, checked)
    # Triage above found nothing in these very words: adding them need not check them again.
    clean = text.strip() and part.text == text and checked.level is DangerLevel.NONE
    harmless = part if clean else None
    if flow_name == "family_add":
        ticket_id = int(flow_data["ticket_id"])
        return _add(session, person, ticket_id, [part], checked, flow, harmless)
    if reply_to is not None:
        linked = lookups.linked(reply_to)
        if linked is not None:
            return _add(session, person, linked, [part], checked, flow, harmless)
    waiting = [Part(**p) for p in flow_data.get("parts", [])] if flow_name == "attach" else []
    open_tickets = lookups.open_tickets()
    if not open_tickets:
        return _start_report(session, person, [*waiting, part], checked)
    if len(open_tickets) == 1:
        ticket_id = open_tickets[0].id or 0
        return _add(session, person, ticket_id, [*waiting, part], checked, flow, harmless)
    # Still waiting for "which request?": keep every message sent meanwhile.
    parts = [asdict(p) for p in [*waiting, part]]
    flows.start(session, person.telegram_user_id, "attach", parts=parts)
    labels = [
        (tk.id or 0, tk.reference, session.get(Category, tk.category_id))
        for tk in open_tickets[:6]
    ]
    return Outcome(Reply.ASK_WHICH, checked, labels=labels)


@dataclass(frozen=True)
class Arrival:
    """Who wrote a plain text, and what became of it when a family member wrote it."""

    person: Person
    outcome: Outcome | None  # None: not a consented family member (the gate decides)


def text_arrives(
    session: Session,
    *,
    telegram_user_id: int,
    language_code: str | None,
    text: str,
    source: Source,
    reply_to: int | None = None,
) -> Arrival:
    """A plain text in a private chat: the caller is resolved and, for a consented family
    member, the text taken in as :func:`family_message` does, in the same transaction."""
    person = accounts.resolve_caller(
        session, telegram_user_id=telegram_user_id, language_code=language_code
    )
    if not (person.is_member and person.consented):
        return Arrival(person, None)
    part = Part(kind="text", text=text, source_chat_id=source[0], source_message_id=source[1])
    outcome = family_message(
        session, person=person, part=part, text=text, source=source, reply_to=reply_to
    )
    return Arrival(person, outcome)


def _keep_in_draft(
    session: Session, flow: Any, part: Part | None, too_large: bool, checked: Checked
) -> Outcome:
    """A message while a report is being written: kept in it (never dropped)."""
    at_category = flow.data.get("step") == "category"
    options = categories.active_categories(session) if at_category else []
    reply = Reply.KEPT_AT_CATEGORY if at_category else Reply.KEPT_IN_DRAFT
    if too_large:
        reply = Reply.TOO_LARGE
    elif part is None:
        reply = Reply.UNSUPPORTED
    else:
        flows.update(session, flow, parts=[*flow.data.get("parts", []), asdict(part)])
    return Outcome(reply, checked, in_report=True, at_category=at_category, options=options)


def _add(
    session: Session,
    person: Person,
    ticket_id: int,
    parts: list[Part],
    checked: Checked,
    flow: Flow | None,
    harmless: Part | None = None,
) -> Outcome:
    """Adds messages to one of the family's requests, all or none, and leaves ``flow`` (the
    person's flow as loaded in this transaction). ``harmless``: the one part already triaged
    in this transaction with nothing found."""
    try:
        with session.begin_nested():
            for part in parts:
                tickets.add_family_message(
                    session,
                    person=person,
                    ticket_id=ticket_id,
                    part=part,
                    harmless=part is harmless,
                )
            flows.leave(session, flow)
    except Conflict:
        flows.leave(session, flow)
        return Outcome(Reply.CLOSED, checked, ticket_id=ticket_id)
    except (NotFound, InvalidInput):
        return Outcome(Reply.NOT_ADDED, checked)
    return Outcome(
        Reply.ADDED, checked, ticket_id=ticket_id, reference=tickets.reference(ticket_id)
    )


def _start_report(
    session: Session, person: Person, parts: list[Part], checked: Checked | None = None
) -> Outcome:
    """Starts (or restarts) a report, keeping messages already sent; asks for the category."""
    kept = [asdict(part) for part in parts]
    flows.start(session, person.telegram_user_id, "report", step="category", parts=kept)
    return Outcome(
        Reply.ASK_CATEGORY,
        checked or Checked(DangerLevel.NONE),
        options=categories.active_categories(session),
        parts=len(kept),
    )


# ---------------------------------------------------------------- the report flow


def start_report(session: Session, *, person: Person) -> Outcome:
    """/report: a fresh draft; which category?"""
    return _start_report(session, person, [])


def choose_category(session: Session, *, person: Person, code: str) -> Outcome:
    """A category was chosen: now describe it."""
    flow = flows.active(session, person.telegram_user_id, "report")
    try:
        category = categories.by_code(session, code)
    except NotFound:
        return Outcome(Reply.STALE)
    if flow is None:
        return Outcome(Reply.STALE)
    flows.update(session, flow, step="describe", category=code)
    return Outcome(Reply.DESCRIBE, category=category, parts=len(flow.data.get("parts", [])))


def review(session: Session, *, person: Person) -> Outcome:
    """Send: something to send? Then ask to confirm."""
    flow = flows.active(session, person.telegram_user_id, "report", "describe")
    if flow is None:
        return Outcome(Reply.STALE)
    parts = len(flow.data.get("parts", []))
    if not parts:
        return Outcome(Reply.EMPTY)
    category = categories.by_code(session, flow.data["category"])
    flows.update(session, flow, step="confirm")
    return Outcome(Reply.CONFIRM, category=category, parts=parts)


def describe_more(session: Session, *, person: Person) -> Outcome:
    """Add more: back to describing."""
    flow = flows.active(session, person.telegram_user_id, "report")
    if flow is None:
        return Outcome(Reply.STALE)
    flows.update(session, flow, step="describe")
    return Outcome(Reply.DESCRIBE)


def confirm(session: Session, *, person: Person, now: datetime) -> Outcome:
    """Yes, send it: opens the request and routes it; the draft is gone."""
    flow = flows.active(session, person.telegram_user_id, "report", "confirm")
    if flow is None:
        return Outcome(Reply.STALE)
    parts = [Part(**p) for p in flow.data.get("parts", [])]
    opened = tickets.open_ticket(
        session, person=person, category=flow.data["category"], parts=parts, now=now
    )
    flows.clear(session, person.telegram_user_id)
    return Outcome(Reply.OPENED, ticket_id=opened.ticket.id, opened=opened)


def attach(session: Session, *, person: Person, target: str) -> Outcome:
    """Which request the waiting messages are about: an open one, or a new one ("new")."""
    flow = flows.active(session, person.telegram_user_id, "attach")
    if flow is None:
        return Outcome(Reply.STALE)
    parts = [Part(**p) for p in flow.data.get("parts", [])]
    if target == "new":
        return _start_report(session, person, parts)
    if not target.isdigit():
        return Outcome(Reply.NOTHING)
    return _add(session, person, int(target), parts, Checked(DangerLevel.NONE), flow)


# ---------------------------------------------------------------- the family's requests


@dataclass
class Request:
    """One line of a family's /tickets: the request, its category and the latest reply."""

    ticket: Ticket
    category: Category | None
    latest_reply: TicketMessage | None


def requests(session: Session, *, person: Person) -> list[Request]:
    """A family's requests, open first, with what /tickets shows of each."""
    shown = tickets.family_tickets(session, person=person)
    # One query for the newest reply of each, never a request's whole history.
    latest = tickets.latest_replies(session, [ticket.id or 0 for ticket in shown])
    return [
        Request(ticket, session.get(Category, ticket.category_id), latest.get(ticket.id or 0))
        for ticket in shown
    ]


def write_about(session: Session, *, person: Person, ticket_id: int) -> Outcome:
    """Write about a request: the family's next message goes to it."""
    try:
        ticket, _ = tickets.get_visible(session, person, ticket_id)
    except DomainError:
        return Outcome(Reply.STALE)
    if ticket.status == TicketStatus.RESOLVED:
        flows.clear(session, person.telegram_user_id)
        return Outcome(Reply.CLOSED, ticket_id=ticket_id)
    flows.start(session, person.telegram_user_id, "family_add", ticket_id=ticket_id)
    return Outcome(Reply.WRITE, ticket_id=ticket_id, reference=tickets.reference(ticket_id))


def link_reply(session: Session, *, chat_id: int, message_id: int, ticket_id: int) -> None:
    """Remembers that the bot's answer in a chat belongs to a request (for Telegram's Reply)."""
    tickets.link_message(session, chat_id=chat_id, message_id=message_id, ticket_id=ticket_id)
