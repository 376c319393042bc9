"""Reference data changed by coordinators: each change audited, each refusal changing nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.services import invites, reference_data, registry
from bot.services.errors import (
    AlreadyInLot,
    Conflict,
    DistrictExists,
    Forbidden,
    InvalidInput,
    LotTaken,
    NotFound,
    ProviderExists,
    ProviderInactive,
    RuleExists,
    StaffInactive,
    StillInUse,
    Unchanged,
)
from bot.services.people import Person
from storage.db import Database
from storage.models import (
    AuditEvent,
    Category,
    District,
    Household,
    Invite,
    Lot,
    Notification,
    Provider,
    RoutingRule,
    Staff,
    StaffRole,
    Ticket,
    TicketStatus,
)
from storage.types import utcnow


def coordinator(staff_id: int = 1) -> Person:
    """A linked coordinator as the gate resolves them."""
    return Person(
        telegram_user_id=900 + staff_id,
        kind="staff",
        language="en",
        staff_id=staff_id,
        role=StaffRole.COORDINATOR,
    )


CASEWORKER = Person(
    telegram_user_id=77, kind="staff", language="en", staff_id=99, role=StaffRole.CASEWORKER
)


def _actions(session: Session) -> list[tuple[str, str, str]]:
    """Every audit event as (actor, action, subject), oldest first."""
    return [(e.actor, e.action, e.subject) for e in session.exec(select(AuditEvent))]


def _district(session: Session, name: str) -> District:
    """A district by name."""
    return registry.find_district(session, name)


def test_rename_and_switch_a_provider_are_audited(db: Database) -> None:
    with db.session() as session:
        provider, _ = registry.add_provider(session, name="KRA", districts=["Dover"])
        pid = provider.id or 0
    with db.session() as session:
        renamed = reference_data.rename_provider(
            session, person=coordinator(), provider_id=pid, name="  Kent  Refugee Action "
        )
        assert renamed.name == "Kent Refugee Action"
        lot = session.exec(select(Lot).where(Lot.provider_id == pid)).one()
        assert lot.name == "Kent Refugee Action: Dover"
        assert ("staff:1", "provider.rename", f"provider:{pid}") in _actions(session)
    # Off is refused while it holds a district; nothing changes.
    with pytest.raises(StillInUse) as refused, db.session() as session:
        reference_data.set_provider_active(
            session, person=coordinator(), provider_id=pid, active=False
        )
    assert refused.value.details["districts"] == ["Dover"]
    with db.session() as session:
        assert session.get(Provider, pid).active  # type: ignore[union-attr]
        other, _ = registry.add_provider(session, name="EKS", districts=["Thanet"])
        reference_data.move_district(
            session,
            person=coordinator(),
            district_id=_district(session, "Dover").id or 0,
            provider_id=other.id or 0,
            move=True,
        )
        done = reference_data.set_provider_active(
            session, person=None, provider_id=pid, active=False
        )
        assert not done.provider.active
        assert ("admin", "provider.deactivate", f"provider:{pid}") in _actions(session)


def test_a_district_changes_lot_only_when_confirmed_and_names_who_loses_it(db: Database) -> None:
    with db.session() as session:
        kra, _ = registry.add_provider(session, name="KRA", districts=["Dover", "Thanet"])
        eks, _ = registry.add_provider(session, name="EKS", districts=["Swale"])
        dover = _district(session, "Dover").id or 0
        ids = (kra.id or 0, eks.id or 0)
    with pytest.raises(LotTaken) as refused, db.session() as session:
        reference_data.move_district(
            session, person=coordinator(), district_id=dover, provider_id=ids[1], move=False
        )
    assert refused.value.details == {"district": "Dover", "from_provider": "KRA"}
    with db.session() as session:
        assert reference_data.holder_of(session, session.get(District, dover)).id == ids[0]  # type: ignore[arg-type,union-attr]
        moved = reference_data.move_district(
            session, person=coordinator(), district_id=dover, provider_id=ids[1], move=True
        )
        assert (moved.district, moved.to_provider, moved.from_provider) == ("Dover", "EKS", "KRA")
        lots = {lot.provider_id: lot.name for lot in session.exec(select(Lot))}
        assert lots == {ids[0]: "KRA: Thanet", ids[1]: "EKS: Dover, Swale"}
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "lot.move")).one()
        assert event.detail == {"to_provider": ids[1], "from_provider": ids[0]}
    with pytest.raises(AlreadyInLot) as held, db.session() as session:
        reference_data.move_district(
            session, person=coordinator(), district_id=dover, provider_id=ids[1], move=True
        )
    assert held.value.details == {"district": "Dover", "provider": "EKS"}


def test_districts_are_added_once_with_a_clean_name(db: Database) -> None:
    with db.session() as session:
        added = reference_data.add_district(session, person=coordinator(), name=" New  Romney ")
        assert added.name == "New Romney" and added.lot_id is None
        assert ("staff:1", "district.add", f"district:{added.id}") in _actions(session)
    for name, error in (
        ("new romney", DistrictExists),
        ("", InvalidInput),
        ("x" * 81, InvalidInput),
    ):
        with pytest.raises(error), db.session() as session:
            reference_data.add_district(session, person=coordinator(), name=name)
    with db.session() as session:
        assert len(session.exec(select(District)).all()) == 13


def test_routing_rules_are_added_once_and_removed(db: Database) -> None:
    with db.session() as session:
        eks, _ = registry.add_provider(session, name="EKS", districts=["Swale"])
        dover = _district(session, "Dover").id or 0
        health = session.exec(select(Category).where(Category.code == "health")).one().id
        rule = reference_data.add_rule(
            session,
            person=coordinator(),
            district_id=dover,
            provider_id=eks.id or 0,
            category_id=health,
        )
        rule_id = rule.id or 0
    with pytest.raises(RuleExists) as refused, db.session() as session:
        reference_data.add_rule(
            session,
            person=coordinator(),
            district_id=dover,
            provider_id=eks.id or 0,
            category_id=health,
        )
    assert refused.value.details["rule_id"] == rule_id
    with db.session() as session:
        reference_data.remove_rule(session, person=coordinator(), rule_id=rule_id)
        assert not session.get(RoutingRule, rule_id).active  # type: ignore[union-attr]
        actions = [a for _, a, s in _actions(session) if s == f"rule:{rule_id}"]
        assert actions == ["routing.rule.add", "routing.rule.remove"]
    with pytest.raises(NotFound), db.session() as session:
        reference_data.remove_rule(session, person=coordinator(), rule_id=rule_id)


def test_non_coordinators_change_nothing(db: Database) -> None:
    with db.session() as session:
        provider, _ = registry.add_provider(session, name="KRA", districts=["Dover"])
        pid = provider.id or 0
        before = len(_actions(session))
    attempts = [
        lambda s: reference_data.rename_provider(s, person=CASEWORKER, provider_id=pid, name="X"),
        lambda s: reference_data.add_district(s, person=CASEWORKER, name="Y"),
        lambda s: reference_data.set_staff_active(s, person=CASEWORKER, staff_id=1, active=False),
        lambda s: reference_data.households_page(s, CASEWORKER),
    ]
    for attempt in attempts:
        with pytest.raises(Forbidden), db.session() as session:
            attempt(session)
    with db.session() as session:
        assert session.get(Provider, pid).name == "KRA"  # type: ignore[union-attr]
        assert len(_actions(session)) == before


def _caseworker_with_work(session: Session) -> tuple[int, int, int]:
    """A provider, a caseworker holding a family with an open assigned request, a lead."""
    registry.add_provider(session, name="KRA", districts=["Dover"])
    kim = registry.add_staff(session, role="coordinator", name="Kim")
    sam = registry.add_staff(session, role="caseworker", name="Sam", provider="KRA")
    lead = registry.add_staff(session, role="lead", name="Lee", provider="KRA")
    lead.telegram_user_id = 4242
    session.add(lead)
    household = registry.add_family(
        session, ref="KH-1", district="Dover", scheme="VPRS", arrived="2024-01-01",
        caseworker_id=sam.id,
    )  # fmt: skip
    member = registry.add_member(session, family="KH-1", name="Amina")
    category = session.exec(select(Category)).first()
    assert category is not None
    ticket = Ticket(
        household_id=household.id or 0, member_id=member.id or 0, category_id=category.id or 0,
        provider_id=sam.provider_id, assignee_id=sam.id, status=TicketStatus.WITH_CASEWORKER,
        due_at=utcnow() + timedelta(hours=8),
    )  # fmt: skip
    session.add(ticket)
    session.flush()
    invites.create_invite(session, staff_id=sam.id)
    return kim.id or 0, sam.id or 0, ticket.id or 0


def test_switching_a_caseworker_off_hands_their_requests_back(db: Database) -> None:
    with db.session() as session:
        kim, sam, ticket_id = _caseworker_with_work(session)
    with pytest.raises(Forbidden), db.session() as session:
        reference_data.set_staff_active(
            session, person=coordinator(kim), staff_id=kim, active=False
        )
    with db.session() as session:
        change = reference_data.set_staff_active(
            session, person=coordinator(kim), staff_id=sam, active=False
        )
        assert (change.returned, change.households, change.invites_withdrawn) == (1, 1, 1)
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.assignee_id is None
        assert ticket.status == TicketStatus.RECEIVED
        notice = session.exec(select(Notification)).one()
        assert notice.chat_id == 4242 and notice.ticket_id == ticket_id
        invite = session.exec(select(Invite)).one()
        assert invite.expires_at <= utcnow()
        household = session.exec(select(Household)).one()
        assert household.caseworker_id == sam  # kept: switching back restores them
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "staff.deactivate")
        ).one()
        assert event.subject == f"staff:{sam}" and event.actor == f"staff:{kim}"
        assert event.detail == {"returned": 1, "invites_withdrawn": 1}
    with pytest.raises(Unchanged), db.session() as session:
        reference_data.set_staff_active(
            session, person=coordinator(kim), staff_id=sam, active=False
        )
    with db.session() as session:
        again = reference_data.set_staff_active(session, person=None, staff_id=sam, active=True)
        assert again.staff.active and again.returned == 0


def test_role_changes_need_a_provider_for_caseworkers_and_leads(db: Database) -> None:
    with db.session() as session:
        kim, sam, _ = _caseworker_with_work(session)
        other = registry.add_staff(session, role="coordinator", name="Ola").id or 0
    with pytest.raises(InvalidInput) as refused, db.session() as session:
        reference_data.change_role(session, person=coordinator(kim), staff_id=other, role="lead")
    assert refused.value.details["reason"] == "provider"
    with db.session() as session:
        pid = registry.find_provider(session, "KRA").id
        lead = reference_data.change_role(
            session, person=coordinator(kim), staff_id=other, role="lead", provider_id=pid
        )
        assert lead.staff.role == StaffRole.LEAD and lead.staff.provider_id == pid
        change = reference_data.change_role(
            session, person=coordinator(kim), staff_id=sam, role="coordinator"
        )
        assert change.staff.provider_id is None and change.returned == 1
        event = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "staff.role", AuditEvent.subject == f"staff:{sam}"
            )
        ).one()
        assert (
            event.detail["from_role"] == "caseworker" and event.detail["to_role"] == "coordinator"
        )
    with pytest.raises(InvalidInput), db.session() as session:
        reference_data.change_role(session, person=coordinator(kim), staff_id=sam, role="boss")
    with db.session() as session:
        assert session.get(Staff, sam).role == StaffRole.COORDINATOR  # type: ignore[union-attr]


def test_each_refusal_has_its_own_class_and_changes_nothing(db: Database) -> None:
    with db.session() as session:
        kim, sam, _ = _caseworker_with_work(session)
        kra = registry.find_provider(session, "KRA").id or 0
        off, _ = registry.add_provider(session, name="EKS", districts=["Thanet"])
        off.active = False
        session.add(off)
        eks, dover = off.id or 0, _district(session, "Dover").id or 0
        reference_data.set_staff_active(session, person=None, staff_id=sam, active=False)
        lee = session.exec(select(Staff).where(Staff.name == "Lee")).one().id or 0
        before = len(_actions(session))
    by = coordinator(kim)
    refusals: list[tuple[Callable[[Session], object], type[Conflict], dict[str, object]]] = [
        (
            lambda s: reference_data.rename_provider(s, person=by, provider_id=eks, name="kra"),
            ProviderExists,
            {"name": "KRA"},
        ),
        (
            lambda s: reference_data.move_district(
                s, person=by, district_id=dover, provider_id=eks, move=True
            ),
            ProviderInactive,
            {"provider": "EKS"},
        ),
        (
            lambda s: reference_data.add_rule(
                s, person=by, district_id=dover, provider_id=eks, category_id=None
            ),
            ProviderInactive,
            {"provider": "EKS"},
        ),
        (
            lambda s: reference_data.change_role(
                s, person=by, staff_id=lee, role="caseworker", provider_id=eks
            ),
            ProviderInactive,
            {"provider": "EKS"},
        ),
        (
            lambda s: reference_data.change_role(
                s, person=by, staff_id=lee, role="lead", provider_id=kra
            ),
            Unchanged,
            {"role": StaffRole.LEAD},
        ),
        (
            lambda s: reference_data.invite_staff(s, person=by, staff_id=sam, ttl_days=14),
            StaffInactive,
            {"reason": "inactive"},
        ),
    ]
    for attempt, error, details in refusals:
        with pytest.raises(error) as refused, db.session() as session:
            attempt(session)
        assert type(refused.value) is error and refused.value.details == details
    with db.session() as session:
        assert len(_actions(session)) == before
        assert session.get(Staff, lee).role == StaffRole.LEAD  # type: ignore[union-attr]
        assert reference_data.holder_of(session, session.get(District, dover)).id == kra  # type: ignore[arg-type,union-attr]


def test_invite_pickers_page_search_and_add_a_member(db: Database) -> None:
    with db.session() as session:
        for n in range(11):
            registry.add_family(
                session, ref=f"KH-{n:03d}", district="Dover", scheme="VPRS", arrived="2024-01-01"
            )
        registry.add_family(
            session, ref="AB-1", district="Dover", scheme="VPRS", arrived="2024-01-01"
        )
    with db.session() as session:
        first, total = reference_data.households_page(session, coordinator())
        assert total == 12 and [r for _, r in first][:2] == ["AB-1", "KH-000"]
        second, _ = reference_data.households_page(session, coordinator(), page=1)
        assert len(first) == reference_data.PAGE and len(second) == 12 - reference_data.PAGE
        found, total = reference_data.households_page(session, coordinator(), search=" kh-01")
        assert total == 1 and found[0][1] == "KH-010"
    with db.session() as session:
        hid = found[0][0]
        made = reference_data.add_member_and_invite(
            session, person=coordinator(), household_id=hid, name=" Omar  Haddad ", ttl_days=14
        )
        assert made.name == "Omar Haddad" and made.family_ref == "KH-010"
        assert invites.CODE_PATTERN.match(made.invite.code)
    with pytest.raises(Conflict), db.session() as session:
        reference_data.add_member_and_invite(
            session, person=coordinator(), household_id=hid, name="omar haddad", ttl_days=14
        )


def test_typed_steps_keep_the_step_on_a_refusal(db: Database) -> None:
    person = coordinator()
    with db.session() as session:
        registry.add_provider(session, name="KRA", districts=["Dover"])
        reference_data.expect_typing(
            session, person=person, step=reference_data.TypedStep.PROVIDER_NAME
        )
    with pytest.raises(ProviderExists) as taken, db.session() as session:
        reference_data.handle_typed(session, person=person, text="kra", ttl_days=14)
    assert taken.value.details["name"] == "KRA"
    with db.session() as session:
        done = reference_data.handle_typed(session, person=person, text="EKS", ttl_days=14)
        assert done is not None and done.name == "EKS"
        thanet = _district(session, "Thanet").id or 0
        provider, moved = reference_data.add_provider_from_flow(
            session, person=person, district_id=thanet, move=False
        )
        assert provider.name == "EKS" and moved.from_provider is None
        assert reference_data.typing_step(session, person.telegram_user_id) is None
        assert reference_data.handle_typed(session, person=person, text="x", ttl_days=14) is None


def test_typed_names_handled_again_change_nothing_further(db: Database) -> None:
    person = coordinator()
    name_message, rename_message, district_message = (900, 10), (900, 11), (900, 12)
    with db.session() as session:
        registry.add_provider(session, name="KRA", districts=["Dover"])
        thanet = _district(session, "Thanet").id or 0
        reference_data.expect_typing(
            session, person=person, step=reference_data.TypedStep.PROVIDER_NAME
        )
        asked = reference_data.handle_typed(
            session, person=person, text="EKS", ttl_days=14, source=name_message
        )
        again = reference_data.handle_typed(
            session, person=person, text="EKS", ttl_days=14, source=name_message
        )
        assert asked == again and again is not None and again.added is None  # asked again
        with pytest.raises(NotFound):  # a button of another name (a flow left) adds nothing
            reference_data.add_provider_from_flow(
                session, person=person, district_id=thanet, move=False, source=(900, 9)
            )
        first = reference_data.add_provider_from_flow(
            session, person=person, district_id=thanet, move=False, source=name_message
        )
        second = reference_data.add_provider_from_flow(
            session, person=person, district_id=thanet, move=False, source=name_message
        )
        assert first[0].id == second[0].id and first[1] == second[1]
        told = reference_data.handle_typed(
            session, person=person, text="EKS", ttl_days=14, source=name_message
        )
        assert told is not None and told.added == first[1]

        provider_id = first[0].id or 0
        for _ in range(2):
            reference_data.expect_typing(
                session,
                person=person,
                step=reference_data.TypedStep.RENAME_PROVIDER,
                provider_id=provider_id,
            )
            renamed = reference_data.handle_typed(
                session, person=person, text="EKS South", ttl_days=14, source=rename_message
            )
            assert renamed is not None and renamed.name == "EKS South"
        reference_data.stop_typing(session, person.telegram_user_id)
        reference_data.expect_typing(
            session, person=person, step=reference_data.TypedStep.DISTRICT_NAME
        )
        for _ in range(2):  # the second time the step has ended: told again, not "exists"
            added = reference_data.handle_typed(
                session, person=person, text="Bexley", ttl_days=14, source=district_message
            )
            assert added is not None and added.step == reference_data.TypedStep.DISTRICT_NAME
            assert added.name == "Bexley"
        assert [a for _, a, _ in _actions(session)].count("provider.rename") == 1
        assert [a for _, a, _ in _actions(session)].count("district.add") == 1
        assert len(session.exec(select(Provider)).all()) == 2


def test_a_move_and_a_switch_handled_again_change_nothing_further(db: Database) -> None:
    person = coordinator()
    picked_on = (900, 20)
    with db.session() as session:
        registry.add_provider(session, name="KRA", districts=["Dover"])
        eks, _ = registry.add_provider(session, name="EKS", districts=["Thanet"])
        dover = _district(session, "Dover").id or 0
        moves = [
            reference_data.move_district_once(
                session,
                person=person,
                district_id=dover,
                provider_id=eks.id or 0,
                move=True,
                source=picked_on,
            )
            for _ in range(2)
        ]
        assert moves[0] == moves[1] == reference_data.LotMove("Dover", "EKS", "KRA")
        kra = session.exec(select(Provider).where(Provider.name == "KRA")).one()
        # Off, on again from the same page, then the first press handled again.
        for active, press in ((False, "q1"), (True, "q2"), (False, "q1")):
            done = reference_data.set_provider_active_once(
                session,
                person=person,
                provider_id=kra.id or 0,
                active=active,
                source=(900, 21),
                press=press,
            )
        assert done.provider.active
        actions = [a for _, a, _ in _actions(session)]
        assert actions.count("lot.move") == 1
        assert actions.count("provider.deactivate") == actions.count("provider.activate") == 1
