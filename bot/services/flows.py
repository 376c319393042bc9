"""Multi-step conversations kept in the database, so a restart never loses a half-done step."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from storage.models import Flow
from storage.types import utcnow


class FlowName(StrEnum):
    """Every multi-step conversation, by the name stored in its row (``Flow.name``)."""

    REPORT = "report"  # a family reporting a problem (bot/services/report.py)
    ATTACH = "attach"  # a family's message waiting for "which request?"
    FAMILY_ADD = "family_add"  # a family adding to a request they picked
    STAFF_REPLY = "staff_reply"  # staff writing an answer to a family
    STAFF_NOTE = "staff_note"  # staff writing an internal note
    DIARY_ADD = "diary_add"  # staff typing an external appointment's details
    BROADCAST = "broadcast"  # a coordinator composing a notice to families
    ADMIN = "admin"  # a coordinator's typed step of reference data or an invite


# Built once (every family message asks): building a lookup costs more than running it.
_OF_PERSON = select(Flow).where(col(Flow.telegram_user_id) == bindparam("person"))


def current(session: Session, telegram_user_id: int) -> Flow | None:
    """The flow this person is in, if any."""
    return session.exec(_OF_PERSON, params={"person": telegram_user_id}).first()


def active(session: Session, telegram_user_id: int, name: str, *steps: str) -> Flow | None:
    """The person's flow if it is ``name`` (and at one of ``steps``, when given)."""
    flow = session.get(Flow, telegram_user_id)
    if flow is None or flow.name != name:
        return None
    if steps and flow.data.get("step") not in steps:
        return None
    return flow


def start(session: Session, telegram_user_id: int, name: str, **data: Any) -> Flow:
    """Starts (or restarts) a named flow, replacing any other."""
    flow = session.get(Flow, telegram_user_id)
    if flow is None:
        flow = Flow(telegram_user_id=telegram_user_id, name=name, data=dict(data))
    else:
        flow.name, flow.data = name, dict(data)
    flow.updated_at = utcnow()
    session.add(flow)
    return flow


def update(session: Session, flow: Flow, **changes: Any) -> Flow:
    """Merges values into a flow's data (a new dict, so the JSON column sees the change)."""
    flow.data = {**flow.data, **changes}
    flow.updated_at = utcnow()
    session.add(flow)
    return flow


def clear(session: Session, telegram_user_id: int) -> bool:
    """Leaves any flow; True when there was one."""
    return leave(session, session.get(Flow, telegram_user_id))


def leave(session: Session, flow: Flow | None) -> bool:
    """Leaves a flow already loaded in this transaction (None: there is none), without
    looking it up again; True when there was one."""
    if flow is None:
        return False
    session.delete(flow)
    return True
