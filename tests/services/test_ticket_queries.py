"""Listings filter in SQL and return exactly what the old load-everything logic returned.

The reference below is the previous implementation (every open ticket loaded, ``can_see`` in
Python); each role is compared on a world with every kind of ticket, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func
from sqlmodel import Session, col, select

from bot.services import escalation, people, registry, tickets
from bot.services.people import Person
from storage.db import Database
from storage.models import Household, StaffRole, Ticket, TicketMessage, TicketStatus

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def old_staff_view(session: Session, person: Person) -> tuple[list[int], list[int]]:
    """The previous /tickets logic, kept as the reference: load every open ticket, filter."""
    open_tickets = list(
        session.exec(
            select(Ticket)
            .where(col(Ticket.status).in_(list(tickets.OPEN_STATUSES)))
            .order_by(col(Ticket.urgent).desc(), col(Ticket.due_at), col(Ticket.id))
        )
    )
    mine, queue = [], []
    for ticket in open_tickets:
        household = session.get(Household, ticket.household_id)
        assert household is not None
        if not tickets.can_see(person, ticket, household):
            continue
        if ticket.assignee_id == person.staff_id:
            mine.append(ticket.id or 0)
        elif ticket.assignee_id is None:
            queue.append(ticket.id or 0)
        elif person.role in ("lead", "coordinator"):
            mine.append(ticket.id or 0)
    return mine, queue


@dataclass
class World:
    """Two providers' staff, a coordinator, households and tickets of every shape."""

    persons: dict[str, Person]
    family: Person
    tickets: list[int]


@pytest.fixture
def world(db: Database) -> World:
    with db.session() as session:
        registry.add_provider(session, name="A", districts=["Dover"])
        registry.add_provider(session, name="B", districts=["Swale"])
        staff = {
            "cw_a": registry.add_staff(session, role="caseworker", name="CA", provider="A"),
            "cw_a2": registry.add_staff(session, role="caseworker", name="CA2", provider="A"),
            "cw_b": registry.add_staff(session, role="caseworker", name="CB", provider="B"),
            "lead_a": registry.add_staff(session, role="lead", name="LA", provider="A"),
            "lead_b": registry.add_staff(session, role="lead", name="LB", provider="B"),
            "coordinator": registry.add_staff(session, role="coordinator", name="K"),
        }
        # cw_a is the named caseworker of a Swale family (provider B's district): its
        # unclaimed tickets are in cw_a's queue although routed to B.
        families = [
            ("HA1", "Dover", staff["cw_a"]),
            ("HA2", "Dover", None),
            ("HB1", "Swale", staff["cw_a"]),
            ("HB2", "Swale", staff["cw_b"]),
        ]
        for ref, district, caseworker in families:
            registry.add_family(
                session, ref=ref, district=district, scheme="VPRS", arrived="2024-01-01",
                caseworker_id=caseworker.id if caseworker else None,
            )  # fmt: skip
        member = registry.add_member(session, family="HA1", name="Amina")
        for index, record in enumerate([*staff.values(), member], start=100):
            record.telegram_user_id = index
            session.add(record)
        session.flush()
        households = list(session.exec(select(Household).order_by(col(Household.id))))
        provider_of = {s.provider_id for s in staff.values()} - {None}
        providers = [*sorted(p for p in provider_of if p is not None), None]
        assignees = [None, staff["cw_a"].id, staff["cw_a2"].id, staff["cw_b"].id]
        ids = []
        shapes = itertools.product(
            households, providers, assignees, list(TicketStatus), (False, True)
        )
        for index, (household, provider, assignee, status, urgent) in enumerate(shapes):
            ticket = Ticket(
                household_id=household.id or 0,
                member_id=member.id or 0,
                category_id=1,
                provider_id=provider,
                assignee_id=assignee,
                status=status,
                urgent=urgent,
                created_at=T0,
                # Deadlines repeat, so the tie-break (the id) is compared too.
                due_at=T0 + timedelta(hours=index % 7),
            )
            session.add(ticket)
            session.flush()
            ids.append(ticket.id or 0)
        persons = {
            name: people.identify(session, telegram_user_id=100 + i, language_code="en")
            for i, name in enumerate(staff)
        }
        family = people.identify(session, telegram_user_id=106, language_code="ar")
    return World(persons=persons, family=family, tickets=ids)


@pytest.mark.parametrize("role", ["cw_a", "cw_a2", "cw_b", "lead_a", "lead_b", "coordinator"])
def test_staff_tickets_match_the_old_logic(db: Database, world: World, role: str) -> None:
    person = world.persons[role]
    with db.session() as session:
        expected_mine, expected_queue = old_staff_view(session, person)
        view = tickets.staff_tickets(session, person=person, limit=1000)
        limited = tickets.staff_tickets(session, person=person, limit=5)
    assert expected_mine or expected_queue  # every role sees something in this world
    assert [t.id for t in view.mine] == expected_mine
    assert [t.id for t in view.queue] == expected_queue
    assert (view.mine_total, view.queue_total) == (len(expected_mine), len(expected_queue))
    # Only what is shown is loaded, but the totals still count everything.
    assert [t.id for t in limited.mine] == expected_mine[:5]
    assert [t.id for t in limited.queue] == expected_queue[:5]
    assert (limited.mine_total, limited.queue_total) == (len(expected_mine), len(expected_queue))
    shown = {t.household_id for t in [*limited.mine, *limited.queue]}
    assert set(limited.households) == shown
    assert set(limited.categories) == {t.category_id for t in [*limited.mine, *limited.queue]}


def test_named_caseworker_sees_unclaimed_tickets_of_another_providers_queue(
    db: Database, world: World
) -> None:
    with db.session() as session:
        view = tickets.staff_tickets(session, person=world.persons["cw_a"], limit=1000)
        hb1 = session.exec(select(Household).where(Household.reference == "HB1")).one()
        b = world.persons["cw_b"].provider_id
    assert any(t.household_id == hb1.id and t.provider_id == b for t in view.queue)
    assert all(t.assignee_id is None for t in view.queue)


def old_family_tickets(session: Session, person: Person, limit: int) -> list[int]:
    """The previous family list: every ticket newest first, resolved ones last, then cut."""
    found = list(
        session.exec(
            select(Ticket)
            .where(Ticket.household_id == person.household_id)
            .order_by(col(Ticket.id).desc())
        )
    )
    found.sort(key=lambda t: t.status == TicketStatus.RESOLVED)
    return [t.id or 0 for t in found[:limit]]


@pytest.mark.parametrize("limit", [3, 10, 50, 1000])
def test_family_tickets_match_the_old_logic(db: Database, world: World, limit: int) -> None:
    with db.session() as session:
        expected = old_family_tickets(session, world.family, limit)
        found = [t.id for t in tickets.family_tickets(session, person=world.family, limit=limit)]
        open_expected = [
            i
            for i in old_family_tickets(session, world.family, 50)
            if session.get(Ticket, i).status in tickets.OPEN_STATUSES  # type: ignore[union-attr]
        ]
        open_found = [t.id for t in tickets.open_family_tickets(session, person=world.family)]
    assert found == expected and len(found) == min(limit, 96)  # 96 tickets per household
    assert open_found == open_expected and open_found


def test_latest_replies_pick_the_newest_staff_reply_of_each_ticket(
    db: Database, world: World
) -> None:
    first, second, silent = world.tickets[:3]
    with db.session() as session:
        for ticket_id, direction, words in [
            (first, "out", "old answer"),
            (first, "in", "family after"),
            (first, "out", "new answer"),
            (first, "note", "a note after"),
            (second, "out", "only answer"),
            (silent, "in", "no answer yet"),
        ]:
            session.add(
                TicketMessage(ticket_id=ticket_id, author="x", direction=direction, text=words)
            )
    with db.session() as session:
        latest = tickets.latest_replies(session, [first, second, silent])
        none = tickets.latest_replies(session, [])
    assert {k: m.text for k, m in latest.items()} == {first: "new answer", second: "only answer"}
    assert none == {}


def old_overdue(session: Session, now: datetime) -> list[int]:
    """The reference for the overdue query: every ticket, filtered in Python."""
    return sorted(
        t.id or 0
        for t in session.exec(select(Ticket))
        if t.status in tickets.OPEN_STATUSES
        and t.first_response_at is None
        and t.due_at <= now
        and t.escalation_level < 2
    )


def test_escalation_takes_exactly_the_overdue_tickets(db: Database, world: World) -> None:
    now = T0 + timedelta(hours=3, minutes=30)
    with db.session() as session:
        answered = session.get(Ticket, world.tickets[0])
        assert answered is not None
        answered.first_response_at = T0
        session.add(answered)
        expected = old_overdue(session, now)
        escalated = sorted(escalation.escalate_overdue(session, now=now))
    assert escalated == expected and expected
    assert world.tickets[0] not in escalated


def _plan(database: Database, query: Any) -> str:
    """SQLite's query plan for a query, exactly as the application sends it."""

    def explain(*args: Any) -> tuple[str, Any]:
        return f"EXPLAIN QUERY PLAN {args[2]}", args[3]

    event.listen(database.engine, "before_cursor_execute", explain, retval=True)
    try:
        with database.engine.connect() as connection:
            rows = connection.execute(query).cursor.fetchall()  # type: ignore[union-attr]
    finally:
        event.remove(database.engine, "before_cursor_execute", explain)
    return " | ".join(str(row[-1]) for row in rows)


def test_caseworker_queue_queries_use_their_indexes() -> None:
    database = Database("sqlite://")  # a query plan is SQLite's; PostgreSQL plans by statistics
    database.create_all()
    cw = Person(
        telegram_user_id=1, kind="staff", language="en", staff_id=3, role=StaffRole.CASEWORKER,
        provider_id=2,
    )  # fmt: skip
    mine, queue = tickets.staff_filters(cw)  # type: ignore[misc]
    mine_plan = _plan(database, select(Ticket).where(mine))
    queue_plan = _plan(database, select(Ticket).where(queue))
    database.dispose()
    assert "ix_ticket_assignee_queue" in mine_plan
    assert "ix_ticket_provider_queue" in queue_plan
    assert "SCAN ticket" not in mine_plan and "SCAN ticket" not in queue_plan


def test_overdue_and_latest_reply_queries_use_their_indexes() -> None:
    database = Database("sqlite://")
    database.create_all()
    overdue = select(Ticket.id).where(
        col(Ticket.status).in_(list(tickets.OPEN_STATUSES)),
        col(Ticket.first_response_at).is_(None),
        col(Ticket.due_at) <= T0,
        col(Ticket.escalation_level) < 2,
    )
    overdue_plan = _plan(database, overdue)
    newest = (
        select(func.max(TicketMessage.id))
        .where(col(TicketMessage.ticket_id).in_([1, 2]), TicketMessage.direction == "out")
        .group_by(col(TicketMessage.ticket_id))
    )
    replies_plan = _plan(database, newest)
    database.dispose()
    assert "ix_ticket_overdue" in overdue_plan
    assert "ix_ticketmessage_ticket_direction" in replies_plan
