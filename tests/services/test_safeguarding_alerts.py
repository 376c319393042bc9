"""Danger at arrival, at the service level: one finding and one alert per message, levels act.

Urgent cases use words the real matcher catches; the high-level cases stand in a fixed triage
result, so they test what a level does to a request, whatever the matcher's wording.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session, select

from bot.services import people, registry, safeguarding_alerts, tickets
from bot.services.people import Person
from bot.services.safeguarding import Category, DangerLevel, Signal, Triage
from bot.services.tickets import Part
from storage.db import Database
from storage.models import AuditEvent, Household, Notification, SafeguardingFinding, Ticket

URGENT_AR = "زوجي يضربني وأنا خائفة على أطفالي"
HARMLESS_AR = "المدفأة معطلة والبيت بارد"
CHAT = 9001


@dataclass
class World:
    """A provider with a caseworker, a caseworker elsewhere, a coordinator and one family."""

    family: Person
    caseworker: int  # telegram ids
    coordinator: int
    outsider: int


def _link(session: Session, record: object, telegram_id: int) -> None:
    record.telegram_user_id = telegram_id  # type: ignore[attr-defined]
    session.add(record)


@pytest.fixture
def world(db: Database) -> World:
    with db.session() as session:
        registry.add_provider(session, name="A", districts=["Dover"])
        registry.add_provider(session, name="B", districts=["Swale"])
        sam = registry.add_staff(session, role="caseworker", name="Sam", provider="A")
        ola = registry.add_staff(session, role="caseworker", name="Ola", provider="B")
        kim = registry.add_staff(session, role="coordinator", name="Kim")
        registry.add_family(
            session,
            ref="KH-1",
            district="Dover",
            scheme="VPRS",
            arrived="2024-01-01",
            caseworker_id=sam.id,
        )
        amina = registry.add_member(session, family="KH-1", name="Amina")
        for record, telegram_id in ((sam, 101), (ola, 102), (kim, 103), (amina, CHAT)):
            _link(session, record, telegram_id)
        session.flush()
        family = people.identify(session, telegram_user_id=CHAT, language_code="ar")
    return World(family=family, caseworker=101, coordinator=103, outsider=102)


def _notices(db: Database, kind: str) -> list[Notification]:
    with db.session() as session:
        return list(session.exec(select(Notification).where(Notification.kind == kind)))


def _alerts(db: Database) -> list[Notification]:
    return _notices(db, safeguarding_alerts.ALERT_TEMPLATE)


def _high(monkeypatch: pytest.MonkeyPatch, words: str) -> None:
    """Makes triage call ``words`` (and only them) high: eviction tonight."""
    signal = Signal(Category.EVICTION_HOMELESS, words, DangerLevel.HIGH, "test:high")

    def fake(text: str) -> Triage:
        if words in text:
            return Triage(DangerLevel.HIGH, (signal,))
        return Triage(DangerLevel.NONE, ())

    monkeypatch.setattr("bot.services.tickets.triage", fake)


def test_urgent_words_in_a_draft_alert_coordinator_and_caseworker_once(
    db: Database, world: World
) -> None:
    for _ in range(2):  # the second time is a redelivered update of the same message
        with db.session() as session:
            checked = tickets.check_arrival(
                session, person=world.family, text=URGENT_AR, source=(CHAT, 5)
            )
        assert checked.urgent and "violence" in checked.categories
    alerts = _alerts(db)
    assert sorted(n.chat_id for n in alerts) == [world.caseworker, world.coordinator]
    assert all(n.ticket_id is None for n in alerts)
    with db.session() as session:
        audit = session.exec(
            select(AuditEvent).where(AuditEvent.action == "safeguarding.alert")
        ).all()
        assert len(audit) == 1 and audit[0].detail["categories"] == ["violence"]
        assert URGENT_AR not in str(audit[0].detail)  # the trail never holds the words


def test_the_ticket_made_from_an_alerted_draft_is_urgent_and_alerts_no_more(
    db: Database, world: World
) -> None:
    with db.session() as session:
        tickets.check_arrival(session, person=world.family, text=URGENT_AR, source=(CHAT, 5))
    with db.session() as session:
        opened = tickets.open_ticket(
            session,
            person=world.family,
            category="housing",
            parts=[
                Part(text=URGENT_AR, source_chat_id=CHAT, source_message_id=5),
                Part(text=HARMLESS_AR, source_chat_id=CHAT, source_message_id=6),
            ],
        )
        ticket_id = opened.ticket.id
    assert opened.level is DangerLevel.URGENT and opened.categories == ("violence",)
    assert opened.ticket.urgent and opened.ticket.priority == "urgent"
    assert len(_alerts(db)) == 2  # still the two from the draft
    # The coordinator learns the request's reference; the caseworker gets the new card anyway.
    assert [n.chat_id for n in _notices(db, safeguarding_alerts.OPENED_TEMPLATE)] == [
        world.coordinator
    ]
    assert [n.chat_id for n in _notices(db, "staff.new_ticket")] == [world.caseworker]
    with db.session() as session:
        finding = session.exec(select(SafeguardingFinding)).one()
        assert finding.ticket_id == ticket_id
        assert finding.signals[0]["matched"] == "يضربني" and finding.signals[0]["rule"]


def test_urgent_words_joining_an_open_ticket_alert_with_the_ticket(
    db: Database, world: World
) -> None:
    with db.session() as session:
        ticket = tickets.open_ticket(
            session, person=world.family, category="housing", parts=[Part(text=HARMLESS_AR)]
        ).ticket
        ticket_id = ticket.id or 0
        assert not ticket.urgent
    with db.session() as session:
        checked = tickets.check_arrival(
            session, person=world.family, text=URGENT_AR, source=(CHAT, 7), ticket_id=ticket_id
        )
        assert checked.alerted
    part = Part(text=URGENT_AR, source_chat_id=CHAT, source_message_id=7)
    with db.session() as session:
        tickets.add_family_message(session, person=world.family, ticket_id=ticket_id, part=part)
    with db.session() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None and found.urgent and found.priority == "urgent"
    alerts = _alerts(db)
    assert sorted(n.chat_id for n in alerts) == [world.caseworker, world.coordinator]
    assert {n.ticket_id for n in alerts} == {ticket_id}


def test_a_service_caller_without_telegram_ids_still_alerts_once(
    db: Database, world: World
) -> None:
    with db.session() as session:
        opened = tickets.open_ticket(
            session, person=world.family, category="other", parts=[Part(text=URGENT_AR)]
        )
    assert opened.ticket.urgent
    assert sorted(n.chat_id for n in _alerts(db)) == [world.caseworker, world.coordinator]


def test_harmless_words_leave_no_trace(db: Database, world: World) -> None:
    with db.session() as session:
        checked = tickets.check_arrival(
            session, person=world.family, text=HARMLESS_AR, source=(CHAT, 8)
        )
    assert checked.level is DangerLevel.NONE and not checked.alerted
    with db.session() as session:
        assert session.exec(select(SafeguardingFinding)).all() == []
    assert _alerts(db) == []


def test_high_raises_a_draft_ticket_to_high_without_any_alert(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _high(monkeypatch, "طردنا")
    words = "صاحب البيت طردنا"
    with db.session() as session:
        checked = tickets.check_arrival(session, person=world.family, text=words, source=(CHAT, 9))
    assert checked.level is DangerLevel.HIGH and not checked.urgent and not checked.alerted
    with db.session() as session:
        opened = tickets.open_ticket(
            session,
            person=world.family,
            category="transport",  # a low-priority category
            parts=[Part(text=words, source_chat_id=CHAT, source_message_id=9)],
        )
    assert opened.ticket.priority == "high" and not opened.ticket.urgent
    assert opened.level is DangerLevel.HIGH
    assert _alerts(db) == [] and _notices(db, safeguarding_alerts.OPENED_TEMPLATE) == []


def test_high_on_an_open_ticket_raises_priority_and_tightens_the_deadline(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session() as session:
        ticket = tickets.open_ticket(
            session, person=world.family, category="other", parts=[Part(text=HARMLESS_AR)]
        ).ticket
        ticket_id, due_before = ticket.id or 0, ticket.due_at
    _high(monkeypatch, "طردنا")
    part = Part(text="طردنا من البيت", source_chat_id=CHAT, source_message_id=10)
    with db.session() as session:
        tickets.add_family_message(session, person=world.family, ticket_id=ticket_id, part=part)
    with db.session() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        assert found.priority == "high" and not found.urgent and found.due_at < due_before
        findings = safeguarding_alerts.ticket_findings(session, ticket_id)
        assert [f.signals[0]["category"] for f in findings] == ["eviction_homeless"]
    assert _alerts(db) == []


def test_high_never_lowers_an_urgent_ticket(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session() as session:
        ticket = tickets.open_ticket(
            session, person=world.family, category="housing", parts=[Part(text=URGENT_AR)]
        ).ticket
        ticket_id = ticket.id or 0
    _high(monkeypatch, "طردنا")
    with db.session() as session:
        tickets.check_arrival(
            session, person=world.family, text="طردنا", source=(CHAT, 11), ticket_id=ticket_id
        )
    with db.session() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None and found.urgent and found.priority == "urgent"


def test_an_edit_that_adds_danger_alerts_once_then_never_again(db: Database, world: World) -> None:
    texts = [HARMLESS_AR, URGENT_AR, URGENT_AR + " كل يوم"]
    results = []
    for text in texts:  # the same Telegram message, edited twice
        with db.session() as session:
            results.append(
                tickets.check_arrival(session, person=world.family, text=text, source=(CHAT, 12))
            )
    assert [r.alerted for r in results] == [False, True, False]
    assert len(_alerts(db)) == 2


def test_the_words_are_only_for_staff_who_may_see_the_household(
    db: Database, world: World
) -> None:
    with db.session() as session:
        household = session.exec(select(Household)).one()
        by_id = {
            tid: people.identify(session, telegram_user_id=tid, language_code="en")
            for tid in (world.caseworker, world.coordinator, world.outsider)
        }
        caseworker = by_id[world.caseworker]
        allowed = {
            tid: safeguarding_alerts.may_see_household(person, household, caseworker.provider_id)
            for tid, person in by_id.items()
        }
    assert allowed == {world.caseworker: True, world.coordinator: True, world.outsider: False}
    assert not safeguarding_alerts.may_see_household(world.family, household, None)


def test_families_only(db: Database, world: World) -> None:
    with db.session() as session:
        staff = people.identify(session, telegram_user_id=world.coordinator, language_code="en")
    with pytest.raises(tickets.Forbidden), db.session() as session:
        tickets.check_arrival(session, person=staff, text=URGENT_AR, source=(103, 1))


def test_an_alert_shows_the_words_only_to_staff_who_may_still_see_the_family(
    db: Database, world: World
) -> None:
    from handlers.notices import Outgoing, render  # the transport's rendering

    with db.session() as session:
        tickets.check_arrival(session, person=world.family, text=URGENT_AR, source=(CHAT, 13))
    with db.session() as session:  # the family moves to another caseworker before delivery
        household = session.exec(select(Household)).one()
        ola = people.identify(session, telegram_user_id=world.outsider, language_code="en")
        household.caseworker_id = ola.staff_id
        session.add(household)
    with db.session() as session:
        shown = {}
        for notification in session.exec(select(Notification)):
            out = render(session, notification)
            assert isinstance(out, Outgoing)
            shown[notification.chat_id] = "\n".join(out.pieces)
    assert URGENT_AR in shown[world.coordinator] and "يضربني" in shown[world.coordinator]
    hidden = shown[world.caseworker]
    assert "KH-1" in hidden and "violence" in hidden
    assert "يضربني" not in hidden and "shown only to staff who support this family" in hidden


def test_two_deliveries_racing_for_one_message_keep_one_finding(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session() as session:
        tickets.check_arrival(session, person=world.family, text=URGENT_AR, source=(CHAT, 14))
    real_find = safeguarding_alerts.find
    calls = []

    def late_find(session: Session, chat_id: int, message_id: int) -> SafeguardingFinding | None:
        calls.append(message_id)  # the first look misses the other delivery's row
        return None if len(calls) == 1 else real_find(session, chat_id, message_id)

    monkeypatch.setattr(safeguarding_alerts, "find", late_find)
    with db.session() as session:
        checked = tickets.check_arrival(
            session, person=world.family, text=URGENT_AR, source=(CHAT, 14)
        )
    assert checked.urgent and not checked.alerted and len(calls) == 2
    with db.session() as session:
        assert len(session.exec(select(SafeguardingFinding)).all()) == 1
    assert len(_alerts(db)) == 2
