"""Routing as data: assigned caseworker, rules, the Lot's provider, or the coordinators."""

from __future__ import annotations

from sqlmodel import select

from bot.services import people, registry, routing, tickets
from bot.services.categories import by_code
from bot.services.tickets import Part
from storage.db import Database
from storage.models import RoutingDecision, Staff, TicketStatus


def _open(db: Database, ref: str, category: str = "housing") -> tuple[int, str]:
    with db.session() as session:
        member = registry.find_member(session, family=ref, name=None)
        member.telegram_user_id = 9000 + (member.id or 0)
        session.add(member)
        session.flush()
        person = people.identify(
            session, telegram_user_id=member.telegram_user_id, language_code=None
        )
        opened = tickets.open_ticket(
            session, person=person, category=category, parts=[Part(text="x")]
        )
        return opened.ticket.id or 0, opened.decision.reason


def _family(db: Database, ref: str, district: str, caseworker: int | None = None) -> None:
    with db.session() as session:
        registry.add_family(
            session, ref=ref, district=district, scheme="VPRS", arrived="2024-01-01",
            caseworker_id=caseworker,
        )  # fmt: skip
        registry.add_member(session, family=ref, name="M")


def test_every_route_is_recorded_with_its_reason(db: Database) -> None:
    with db.session() as session:
        registry.add_provider(session, name="A", districts=["Dover"])
        registry.add_provider(session, name="B", districts=["Swale"])
        sam = registry.add_staff(session, role="caseworker", name="Sam", provider="A")
    _family(db, "F1", "Dover", caseworker=sam.id)
    _family(db, "F2", "Dover")
    _family(db, "F3", "Maidstone")  # no provider holds it
    assert _open(db, "F1")[1] == "assigned caseworker"
    assert _open(db, "F2")[1] == "provider holding the district's Lot"
    assert _open(db, "F3")[1] == "no provider for the district: coordinators"

    # A coordinator changes routing with data: Dover's health requests go to provider B.
    with db.session() as session:
        dover = registry.find_district(session, "Dover")
        provider_b = registry.find_provider(session, "B")
        routing.add_routing_rule(
            session, district_id=dover.id or 0, provider_id=provider_b.id or 0,
            category_id=by_code(session, "health").id,
        )  # fmt: skip
    ticket_id, reason = _open(db, "F2", category="health")
    assert reason == "routing rule"
    with db.session() as session:
        decision = session.exec(
            select(RoutingDecision).where(RoutingDecision.ticket_id == ticket_id)
        ).one()
        assert decision.provider_id == provider_b.id and decision.rule_id is not None
    assert _open(db, "F2", category="housing")[1] == "provider holding the district's Lot"


def test_an_inactive_caseworker_sends_the_ticket_to_the_queue(db: Database) -> None:
    with db.session() as session:
        registry.add_provider(session, name="A", districts=["Dover"])
        sam = registry.add_staff(session, role="caseworker", name="Sam", provider="A")
    _family(db, "F1", "Dover", caseworker=sam.id)
    with db.session() as session:
        staff = session.get(Staff, sam.id)
        assert staff is not None
        staff.active = False
        session.add(staff)
    ticket_id, reason = _open(db, "F1")
    assert reason == "provider holding the district's Lot (assigned caseworker inactive)"
    with db.session() as session:
        from storage.models import Ticket

        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.assignee_id is None
        assert ticket.status == TicketStatus.RECEIVED


def test_references_parse_as_people_type_them() -> None:
    for typed in ("K-0042", "k42", "K 42", " K-42 "):
        assert tickets.parse_reference(typed) == 42
    assert tickets.reference(7) == "K-0007"
