"""Who sees what: every role × every action on another provider's ticket is refused.

Positive controls run the same actions as the ticket's own provider, so the matrix can fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.services import people, registry, tickets
from bot.services.errors import (
    Forbidden,
    NotFound,
    ReopenTooLate,
    TicketClaimed,
    TicketResolved,
)
from bot.services.people import Person
from bot.services.tickets import Part
from storage.db import Database
from storage.models import AuditEvent, Notification, TicketStatus


@dataclass
class World:
    """Two providers, their staff, a coordinator, and one family on each side."""

    persons: dict[str, Person]
    other_ticket: int  # belongs to provider B's household
    own_ticket: int  # belongs to provider A's household


def _link(session: Session, staff_or_member: object, telegram_id: int) -> None:
    staff_or_member.telegram_user_id = telegram_id  # type: ignore[attr-defined]
    session.add(staff_or_member)


@pytest.fixture
def world(db: Database) -> World:
    with db.session() as session:
        registry.add_provider(session, name="A", districts=["Dover"])
        registry.add_provider(session, name="B", districts=["Swale"])
        staff = {
            "caseworker_a": registry.add_staff(
                session, role="caseworker", name="CA", provider="A"
            ),
            "lead_a": registry.add_staff(session, role="lead", name="LA", provider="A"),
            "caseworker_b": registry.add_staff(
                session, role="caseworker", name="CB", provider="B"
            ),
            "lead_b": registry.add_staff(session, role="lead", name="LB", provider="B"),
            "coordinator": registry.add_staff(session, role="coordinator", name="K"),
        }
        registry.add_family(
            session, ref="HA", district="Dover", scheme="VPRS", arrived="2024-01-01"
        )
        registry.add_family(
            session, ref="HB", district="Swale", scheme="VPRS", arrived="2024-01-01"
        )
        family_a = registry.add_member(session, family="HA", name="Amina")
        family_b = registry.add_member(session, family="HB", name="Basma")
        for index, record in enumerate([*staff.values(), family_a, family_b], start=100):
            _link(session, record, index)
        session.flush()
        ids = {name: 100 + i for i, name in enumerate([*staff, "family_a", "family_b"])}
        persons = {
            name: people.identify(session, telegram_user_id=tid, language_code="en")
            for name, tid in ids.items()
        }
        for name in ("family_a", "family_b"):
            person = persons[name]
            persons[name] = Person(**{**person.__dict__, "consented": True})
        own = tickets.open_ticket(
            session, person=persons["family_a"], category="housing", parts=[Part(text="a")]
        ).ticket
        other = tickets.open_ticket(
            session, person=persons["family_b"], category="housing", parts=[Part(text="b")]
        ).ticket
        return World(persons=persons, other_ticket=other.id or 0, own_ticket=own.id or 0)


STAFF_ACTIONS: dict[str, Callable[[Session, Person, int], object]] = {
    "see": lambda s, p, t: tickets.get_visible(s, p, t),
    "claim": lambda s, p, t: tickets.claim(s, person=p, ticket_id=t),
    "reply": lambda s, p, t: tickets.reply(s, person=p, ticket_id=t, text="hello"),
    "note": lambda s, p, t: tickets.note(s, person=p, ticket_id=t, text="note"),
    "resolve": lambda s, p, t: tickets.resolve(s, person=p, ticket_id=t),
    "reassign": lambda s, p, t: tickets.reassign(s, person=p, ticket_id=t, to_staff_id=None),
    "urgent": lambda s, p, t: tickets.set_urgent(s, person=p, ticket_id=t, urgent=True),
    "colleagues": lambda s, p, t: tickets.colleagues(s, person=p, ticket_id=t),
}
FAMILY_ACTIONS: dict[str, Callable[[Session, Person, int], object]] = {
    "add_message": lambda s, p, t: tickets.add_family_message(
        s, person=p, ticket_id=t, part=Part(text="more")
    ),
    "reopen": lambda s, p, t: tickets.reopen(s, person=p, ticket_id=t),
    "feedback": lambda s, p, t: tickets.record_feedback(s, person=p, ticket_id=t, helpful=True),
}
ALL_ACTIONS = {**STAFF_ACTIONS, **FAMILY_ACTIONS}
OUTSIDERS = ["caseworker_a", "lead_a", "family_a"]


@pytest.mark.parametrize("role", OUTSIDERS)
@pytest.mark.parametrize("action", sorted(ALL_ACTIONS))
def test_another_providers_ticket_is_refused(
    db: Database, world: World, role: str, action: str
) -> None:
    person = world.persons[role]
    with pytest.raises((NotFound, Forbidden)), db.session() as session:
        ALL_ACTIONS[action](session, person, world.other_ticket)
    with db.session() as session:
        refused = session.exec(
            select(AuditEvent).where(AuditEvent.subject == f"ticket:{world.other_ticket}")
        ).all()
        assert [e.action for e in refused] == ["ticket.open"]


@pytest.mark.parametrize("role", ["caseworker_b", "lead_b", "coordinator"])
@pytest.mark.parametrize("action", sorted(FAMILY_ACTIONS))
def test_staff_cannot_act_as_the_family(
    db: Database, world: World, role: str, action: str
) -> None:
    with pytest.raises(Forbidden), db.session() as session:
        FAMILY_ACTIONS[action](session, world.persons[role], world.other_ticket)


@pytest.mark.parametrize("action", sorted(STAFF_ACTIONS))
def test_families_cannot_act_as_staff(db: Database, world: World, action: str) -> None:
    family = world.persons["family_b"]
    if action == "see":
        with db.session() as session:
            tickets.get_visible(session, family, world.other_ticket)  # their own: allowed
        return
    with pytest.raises(Forbidden), db.session() as session:
        STAFF_ACTIONS[action](session, family, world.other_ticket)


@pytest.mark.parametrize("role", ["caseworker_b", "lead_b", "coordinator"])
@pytest.mark.parametrize("action", ["see", "reply", "note", "urgent", "colleagues", "resolve"])
def test_the_tickets_own_provider_and_coordinators_may_act(
    db: Database, world: World, role: str, action: str
) -> None:
    with db.session() as session:
        STAFF_ACTIONS[action](session, world.persons[role], world.other_ticket)
    if action in ("reply", "note", "urgent", "resolve"):
        with db.session() as session:
            logged = session.exec(
                select(AuditEvent).where(
                    AuditEvent.subject == f"ticket:{world.other_ticket}",
                    AuditEvent.actor == f"staff:{world.persons[role].staff_id}",
                )
            ).all()
        assert logged, "every staff action is in the audit trail"


def test_claim_by_own_provider_then_family_round_trip(db: Database, world: World) -> None:
    caseworker, family = world.persons["caseworker_b"], world.persons["family_b"]
    with db.session() as session:
        tickets.claim(session, person=caseworker, ticket_id=world.other_ticket)
        tickets.reply(session, person=caseworker, ticket_id=world.other_ticket, text="hi")
        tickets.resolve(session, person=caseworker, ticket_id=world.other_ticket)
        tickets.record_feedback(
            session, person=family, ticket_id=world.other_ticket, helpful=False
        )
        ticket = tickets.reopen(session, person=family, ticket_id=world.other_ticket)
    assert ticket.status == TicketStatus.WITH_CASEWORKER and ticket.helpful is False


def test_a_resolved_ticket_takes_no_reply(db: Database, world: World) -> None:
    caseworker = world.persons["caseworker_b"]
    with db.session() as session:
        tickets.resolve(session, person=caseworker, ticket_id=world.other_ticket)
    with pytest.raises(TicketResolved), db.session() as session:
        tickets.reply(session, person=caseworker, ticket_id=world.other_ticket, text="late")


def test_a_claimed_ticket_names_its_holder_and_a_late_reopen_is_refused(
    db: Database, world: World
) -> None:
    caseworker, family = world.persons["caseworker_b"], world.persons["family_b"]
    resolved_at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    with db.session() as session:
        tickets.claim(session, person=caseworker, ticket_id=world.other_ticket)
    with pytest.raises(TicketClaimed) as caught, db.session() as session:
        tickets.claim(session, person=world.persons["lead_b"], ticket_id=world.other_ticket)
    assert caught.value.details["holder"] == "CB"
    with db.session() as session:
        tickets.resolve(session, person=caseworker, ticket_id=world.other_ticket, now=resolved_at)
    with pytest.raises(ReopenTooLate), db.session() as session:
        tickets.reopen(
            session, person=family, ticket_id=world.other_ticket,
            now=resolved_at + tickets.REOPEN_WINDOW + timedelta(minutes=1),
        )  # fmt: skip
    with db.session() as session:
        ticket = tickets.reopen(
            session, person=family, ticket_id=world.other_ticket,
            now=resolved_at + tickets.REOPEN_WINDOW,
        )  # fmt: skip
        assert ticket.status == TicketStatus.WITH_CASEWORKER


def test_a_redelivered_staff_reply_is_kept_and_sent_once(db: Database, world: World) -> None:
    caseworker = world.persons["caseworker_b"]
    source = (4242, 7)
    with db.session() as session:
        first = tickets.reply(
            session, person=caseworker, ticket_id=world.other_ticket, text="hi", source=source
        )
    with db.session() as session:
        again = tickets.reply(
            session, person=caseworker, ticket_id=world.other_ticket, text="hi", source=source
        )
        replies = session.exec(select(AuditEvent).where(AuditEvent.action == "ticket.reply")).all()
        queued = session.exec(select(Notification)).all()
    assert again.id == first.id and len(replies) == 1
    assert len([n for n in queued if n.kind == "family.reply"]) == 1
