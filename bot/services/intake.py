"""What a family's message or tap does, one transaction per intent: a message arrives, the
"which request?" answer, writing about one request. The report conversation is report.py.

Each function takes a session (run it with ``Database.run``) and returns an :class:`Outcome`
that the Telegram handler renders; none of them sends anything, so a retry is always safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlmodel import Session

from bot.services import accounts, flows, report, tickets
from bot.services.errors import Conflict, DomainError, InvalidInput, NotFound
from bot.services.family_outcome import Outcome as Outcome
from bot.services.family_outcome import Reply as Reply
from bot.services.flows import FlowName
from bot.services.people import Person
from bot.services.safeguarding import DangerLevel
from bot.services.tickets import Checked, Part
from storage.models import Category, Flow, Ticket, TicketMessage, TicketStatus

Source = tuple[int, int]  # (chat id, message id) of a family's Telegram message


@dataclass
class Waiting:
    """Messages waiting for "which request?", as stored in their flow row."""

    parts: list[Part] = field(default_factory=list)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Waiting:
        """Reads an ``attach`` flow row's data."""
        return cls([Part(**part) for part in data.get("parts", [])])

    def to_data(self) -> dict[str, Any]:
        """The flow row's data, as Sanad has always stored it."""
        return {"parts": [asdict(part) for part in self.parts]}


@dataclass(frozen=True)
class Adding:
    """The request a family chose to write about, as stored in its flow row."""

    ticket_id: int

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Adding:
        """Reads a ``family_add`` flow row's data."""
        return cls(int(data["ticket_id"]))

    def to_data(self) -> dict[str, Any]:
        """The flow row's data, as Sanad has always stored it."""
        return {"ticket_id": self.ticket_id}


# ---------------------------------------------------------------- a message arrives


def kept_parts(flow: Flow | None) -> list[Part]:
    """The messages a flow keeps unsent: a report's draft or a "which request?" wait."""
    if flow is None:
        return []
    if flow.name == FlowName.REPORT:
        return report.ReportDraft.from_data(flow.data).parts
    if flow.name == FlowName.ATTACH:
        return Waiting.from_data(flow.data).parts
    return []


def _in_flow(flow: Flow | None, source: Source) -> bool:
    """Whether a message is already kept in a draft or a "which request?" wait."""
    return any(
        (part.source_chat_id, part.source_message_id) == source for part in kept_parts(flow)
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


def _known_ticket(lookups: _Lookups, flow: Flow | None, reply_to: int | None) -> int | None:
    """The request a message will join, when that is already clear as it arrives."""
    flow_name = flow.name if flow is not None else ""
    if flow_name == FlowName.REPORT:
        return None  # a draft: no request yet
    if flow is not None and flow_name == FlowName.FAMILY_ADD:
        return Adding.from_data(flow.data).ticket_id
    if reply_to is not None:
        linked = lookups.linked(reply_to)
        if linked is not None:
            return linked
    if flow_name == FlowName.ATTACH:
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
    flow_name = flow.name if flow is not None else ""
    seen = tickets.already_stored(session, *source) or _in_flow(flow, source)
    lookups = _Lookups(session, person, source[0])
    target = _known_ticket(lookups, flow, reply_to)
    checked = triage(session, person=person, text=text, source=source, ticket_id=target)
    if seen:
        return Outcome(Reply.NOTHING, checked, seen=True)
    if flow is not None and flow_name == FlowName.REPORT:
        return report.keep(session, flow, part, too_large, checked)
    if too_large:
        return Outcome(Reply.TOO_LARGE, checked)
    if part is None:
        return Outcome(Reply.UNSUPPORTED, checked)
    # Triage above found nothing in these very words: adding them need not check them again.
    clean = text.strip() and part.text == text and checked.level is DangerLevel.NONE
    harmless = part if clean else None
    if flow is not None and flow_name == FlowName.FAMILY_ADD:
        ticket_id = Adding.from_data(flow.data).ticket_id
        return _add(session, person, ticket_id, [part], checked, flow, harmless)
    if reply_to is not None:
        linked = lookups.linked(reply_to)
        if linked is not None:
            return _add(session, person, linked, [part], checked, flow, harmless)
    waiting = kept_parts(flow) if flow_name == FlowName.ATTACH else []
    open_tickets = lookups.open_tickets()
    if not open_tickets:
        return report.begin(session, person, [*waiting, part], checked)
    if len(open_tickets) == 1:
        ticket_id = open_tickets[0].id or 0
        return _add(session, person, ticket_id, [*waiting, part], checked, flow, harmless)
    # Still waiting for "which request?": keep every message sent meanwhile.
    wait = Waiting([*waiting, part])
    flows.start(session, person.telegram_user_id, FlowName.ATTACH, **wait.to_data())
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


# ---------------------------------------------------------------- "which request?"


def attach(session: Session, *, person: Person, target: str) -> Outcome:
    """Which request the waiting messages are about: an open one, or a new one ("new")."""
    flow = flows.active(session, person.telegram_user_id, FlowName.ATTACH)
    if flow is None:
        return Outcome(Reply.STALE)
    parts = Waiting.from_data(flow.data).parts
    if target == "new":
        return report.begin(session, person, parts)
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
    adding = Adding(ticket_id)
    flows.start(session, person.telegram_user_id, FlowName.FAMILY_ADD, **adding.to_data())
    return Outcome(Reply.WRITE, ticket_id=ticket_id, reference=tickets.reference(ticket_id))


def link_reply(session: Session, *, chat_id: int, message_id: int, ticket_id: int) -> None:
    """Remembers that the bot's answer in a chat belongs to a request (for Telegram's Reply)."""
    tickets.link_message(session, chat_id=chat_id, message_id=message_id, ticket_id=ticket_id)
