"""The family's report conversation (/report): pick a category, describe the problem in one or
more messages, confirm, and the request is opened. Its draft lives in the person's flow row
(bot/services/flows.py), so a restart mid-report keeps what the family already sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from bot.services import categories, flows, tickets
from bot.services.errors import NotFound
from bot.services.family_outcome import Outcome, Reply
from bot.services.flows import FlowName
from bot.services.people import Person
from bot.services.safeguarding import DangerLevel
from bot.services.tickets import Checked, Part
from storage.models import Flow


class ReportStep(StrEnum):
    """Where a report is, by the value stored as the flow's ``step``."""

    CATEGORY = "category"  # which category? (messages sent meanwhile are kept)
    DESCRIBE = "describe"  # writing, sending photos or voice notes, then Send
    CONFIRM = "confirm"  # "Send your request … to your caseworker?"


@dataclass
class ReportDraft:
    """A report being written, as stored in its flow row: the step, the category's code once
    chosen, and the messages kept so far."""

    step: ReportStep = ReportStep.CATEGORY
    category: str | None = None
    parts: list[Part] = field(default_factory=list)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ReportDraft:
        """Reads a flow row's data (rows written before the draft was typed read the same)."""
        # Sanad always stores a step; a row without one was never at the category question,
        # and was treated as describing before the draft was typed.
        step = data.get("step") or ReportStep.DESCRIBE
        if step not in set(ReportStep):  # never written by Sanad: read as describing, no crash
            step = ReportStep.DESCRIBE
        category = data.get("category")
        return cls(
            step=ReportStep(step),
            category=str(category) if category is not None else None,
            parts=[Part(**part) for part in data.get("parts", [])],
        )

    def to_data(self) -> dict[str, Any]:
        """The flow row's data: the keys and values Sanad has always stored (no ``category``
        until one is chosen)."""
        data: dict[str, Any] = {"step": str(self.step)}
        if self.category is not None:
            data["category"] = self.category
        data["parts"] = [asdict(part) for part in self.parts]
        return data


def save(session: Session, flow: Flow, draft: ReportDraft) -> None:
    """Writes a changed draft back to its flow row."""
    flows.update(session, flow, **draft.to_data())


def _draft(
    session: Session, person: Person, *steps: ReportStep
) -> tuple[Flow, ReportDraft] | None:
    """The person's report and its draft, if they are writing one (at one of ``steps``)."""
    flow = flows.active(session, person.telegram_user_id, FlowName.REPORT, *steps)
    if flow is None:
        return None
    return flow, ReportDraft.from_data(flow.data)


def begin(
    session: Session, person: Person, parts: list[Part], checked: Checked | None = None
) -> Outcome:
    """Starts (or restarts) a report, keeping messages already sent; asks for the category."""
    draft = ReportDraft(ReportStep.CATEGORY, parts=list(parts))
    flows.start(session, person.telegram_user_id, FlowName.REPORT, **draft.to_data())
    return Outcome(
        Reply.ASK_CATEGORY,
        checked or Checked(DangerLevel.NONE),
        options=categories.active_categories(session),
        parts=len(draft.parts),
    )


def keep(
    session: Session, flow: Flow, part: Part | None, too_large: bool, checked: Checked
) -> Outcome:
    """A message while a report is being written: kept in it (never dropped)."""
    draft = ReportDraft.from_data(flow.data)
    at_category = draft.step is ReportStep.CATEGORY
    options = categories.active_categories(session) if at_category else []
    reply = Reply.KEPT_AT_CATEGORY if at_category else Reply.KEPT_IN_DRAFT
    if too_large:
        reply = Reply.TOO_LARGE
    elif part is None:
        reply = Reply.UNSUPPORTED
    else:
        draft.parts.append(part)
        save(session, flow, draft)
    return Outcome(reply, checked, in_report=True, at_category=at_category, options=options)


def start_report(session: Session, *, person: Person) -> Outcome:
    """/report: a fresh draft; which category?"""
    return begin(session, person, [])


def choose_category(session: Session, *, person: Person, code: str) -> Outcome:
    """A category was chosen: now describe it."""
    found = _draft(session, person)
    try:
        category = categories.by_code(session, code)
    except NotFound:
        return Outcome(Reply.STALE)
    if found is None:
        return Outcome(Reply.STALE)
    flow, draft = found
    draft.step, draft.category = ReportStep.DESCRIBE, code
    save(session, flow, draft)
    return Outcome(Reply.DESCRIBE, category=category, parts=len(draft.parts))


def review(session: Session, *, person: Person) -> Outcome:
    """Send: something to send? Then ask to confirm."""
    found = _draft(session, person, ReportStep.DESCRIBE)
    if found is None:
        return Outcome(Reply.STALE)
    flow, draft = found
    if not draft.parts:
        return Outcome(Reply.EMPTY)
    if draft.category is None:  # never stored so: describing always follows a category
        return Outcome(Reply.STALE)
    category = categories.by_code(session, draft.category)
    draft.step = ReportStep.CONFIRM
    save(session, flow, draft)
    return Outcome(Reply.CONFIRM, category=category, parts=len(draft.parts))


def describe_more(session: Session, *, person: Person) -> Outcome:
    """Add more: back to describing."""
    found = _draft(session, person)
    if found is None:
        return Outcome(Reply.STALE)
    flow, draft = found
    draft.step = ReportStep.DESCRIBE
    save(session, flow, draft)
    return Outcome(Reply.DESCRIBE)


def confirm(session: Session, *, person: Person, now: datetime) -> Outcome:
    """Yes, send it: opens the request and routes it; the draft is gone."""
    found = _draft(session, person, ReportStep.CONFIRM)
    if found is None:
        return Outcome(Reply.STALE)
    _, draft = found
    if draft.category is None:  # never stored so: confirming always follows a category
        return Outcome(Reply.STALE)
    opened = tickets.open_ticket(
        session, person=person, category=draft.category, parts=draft.parts, now=now
    )
    flows.clear(session, person.telegram_user_id)
    return Outcome(Reply.OPENED, ticket_id=opened.ticket.id, opened=opened)
