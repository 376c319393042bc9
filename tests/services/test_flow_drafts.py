"""Typed flow drafts read the rows stored before they existed: a conversation open across an
upgrade carries on, and the writers still store exactly the same JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session

from bot.services import (
    appointments,
    broadcasts,
    people,
    reference_data,
    registry,
    staff_actions,
    tickets,
)
from bot.services.appointments import AddDraft
from bot.services.broadcasts import BroadcastStep, ComposeState
from bot.services.people import Person
from bot.services.reference_data import AdminDraft, TypedStep
from bot.services.reminder_times import ReminderPolicy
from bot.services.staff_actions import Writing, WritingDraft, Written
from bot.services.tickets import Part
from storage.db import Database
from storage.models import Appointment, Flow, Provider, StaffRole

NOW = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
KIM, SAM, FAMILY = 900, 901, 902


def _store(session: Session, telegram_user_id: int, name: str, data: dict[str, Any]) -> None:
    """A Flow row exactly as the code before typed drafts wrote it (literal name and keys)."""
    session.add(Flow(telegram_user_id=telegram_user_id, name=name, data=data))
    session.flush()


def _stored(session: Session, telegram_user_id: int) -> tuple[str, dict[str, Any]]:
    """The person's Flow row as stored: its name and raw JSON."""
    flow = session.get(Flow, telegram_user_id)
    assert flow is not None
    return flow.name, dict(flow.data)


def _staff(session: Session, role: str, telegram_user_id: int, provider: str | None) -> Person:
    """A linked member of staff, resolved."""
    staff = registry.add_staff(session, role=role, name="S", provider=provider)
    staff.telegram_user_id = telegram_user_id
    session.add(staff)
    session.flush()
    return people.identify(session, telegram_user_id=telegram_user_id, language_code="en")


@pytest.fixture
def world(db: Database) -> tuple[Person, Person, int]:
    """A coordinator, a caseworker and their family (its household id)."""
    with db.session() as session:
        registry.add_provider(session, name="A", districts=["Dover"])
        kim = _staff(session, "coordinator", KIM, None)
        sam = _staff(session, "caseworker", SAM, "A")
        household = registry.add_family(
            session, ref="HA", district="Dover", scheme="VPRS", arrived="2024-01-01",
            caseworker_id=sam.staff_id, language="ar",
        )  # fmt: skip
        member = registry.add_member(session, family="HA", name="Amina")
        member.telegram_user_id, member.consent_at = FAMILY, NOW
        session.add(member)
        session.flush()
        return kim, sam, household.id or 0


# ---------------------------------------------------------------- broadcast


@pytest.mark.parametrize(
    ("raw", "step", "language"),
    [
        ("text", BroadcastStep.TEXT, ""),
        ("audience", BroadcastStep.AUDIENCE, ""),
        ("arrived", BroadcastStep.ARRIVED, ""),
        ("edit:ar", BroadcastStep.EDIT, "ar"),
        ("when", BroadcastStep.WHEN, ""),
    ],
)
def test_a_broadcast_flow_stored_today_is_read_and_written_back_the_same(
    db: Database, world: tuple[Person, Person, int], raw: str, step: BroadcastStep, language: str
) -> None:
    kim = world[0]
    with db.session() as session:
        broadcast_id = broadcasts.start(session, person=kim, now=NOW)
        session.delete(session.get(Flow, KIM))
        session.flush()
        _store(session, KIM, "broadcast", {"id": broadcast_id, "step": raw})
        state = broadcasts.step(session, person=kim)
        assert state == ComposeState(broadcast_id, step, language)
        assert state.to_data() == {"id": broadcast_id, "step": raw}
        broadcasts.expect(session, person=kim, broadcast_id=broadcast_id, step=step,
                          language=language)  # fmt: skip
        assert _stored(session, KIM) == ("broadcast", {"id": broadcast_id, "step": raw})


@pytest.mark.parametrize("raw", ["", "edit", "text:ar", "somewhere"])
def test_a_broadcast_step_this_version_does_not_know_is_no_step(raw: str) -> None:
    assert ComposeState.from_data({"id": 3, "step": raw}) == ComposeState(3, None)


# ---------------------------------------------------------------- diary add


def test_a_diary_add_flow_stored_today_adds_for_its_family(
    db: Database, world: tuple[Person, Person, int]
) -> None:
    _, sam, household_id = world
    with db.session() as session:
        appointments.start_adding(session, person=sam, household_id=household_id)
        assert _stored(session, SAM) == ("diary_add", {"household_id": household_id})
        session.delete(session.get(Flow, SAM))
        session.flush()
        _store(session, SAM, "diary_add", {"household_id": household_id})
        assert AddDraft.from_data({"household_id": household_id}) == AddDraft(household_id)
        added = appointments.add_from_flow(
            session, person=sam, text="2027-01-13 10:00 | GP | Surgery",
            policy=ReminderPolicy(), now=NOW,
        )  # fmt: skip
        assert added is not None and added.reference == "HA"
        stored = session.get(Appointment, added.appointment_id)
        assert stored is not None and stored.household_id == household_id
        assert session.get(Flow, SAM) is None


# ---------------------------------------------------------------- staff reply and note


@pytest.mark.parametrize(("name", "written"), [("staff_note", Written.NOTE_KEPT),
                                               ("staff_reply", Written.SENT)])  # fmt: skip
def test_a_staff_flow_stored_today_writes_to_its_ticket(
    db: Database, world: tuple[Person, Person, int], name: str, written: Written
) -> None:
    sam = world[1]
    with db.session() as session:
        family = people.identify(session, telegram_user_id=FAMILY, language_code="ar")
        opened = tickets.open_ticket(
            session, person=family, category="housing", parts=[Part(text="المدفأة معطلة")]
        )
        ticket_id = opened.ticket.id or 0
        staff_actions.start_writing(session, person=sam, ticket_id=ticket_id, kind=Writing(name))
        assert _stored(session, SAM) == (name, {"ticket_id": ticket_id})
        session.delete(session.get(Flow, SAM))
        session.flush()
        _store(session, SAM, name, {"ticket_id": ticket_id})
        assert WritingDraft.from_data({"ticket_id": ticket_id}).ticket_id == ticket_id
        outcome = staff_actions.staff_message(
            session, person=sam, text="We will call you today.", source=(SAM, 7), reply_to=None
        )
    assert (outcome.written, outcome.ticket_id) == (written, ticket_id)


# ---------------------------------------------------------------- reference data (admin)


def test_an_admin_flow_stored_today_is_read_by_its_draft(
    db: Database, world: tuple[Person, Person, int]
) -> None:
    kim, _, household_id = world
    with db.session() as session:
        provider = registry.find_provider(session, "A")
        _store(session, KIM, "admin", {"step": "rename_provider", "provider_id": provider.id})
        done = reference_data.handle_typed(session, person=kim, text="Kent Homes", ttl_days=7)
        assert done is not None and done.step == TypedStep.RENAME_PROVIDER
        renamed = session.get(Provider, provider.id)
        assert renamed is not None and renamed.name == "Kent Homes"
        _store(session, KIM, "admin", {"step": "provider_district", "provider_name": "New Co",
                                       "name_message": 55})  # fmt: skip
        assert reference_data.new_provider_name(session, kim, 55) == "New Co"
        session.delete(session.get(Flow, KIM))
        session.flush()
        _store(session, KIM, "admin", {"step": "staff_name", "role": "caseworker",
                                       "provider_id": provider.id})  # fmt: skip
        draft = reference_data.typing_step(session, KIM)
    assert draft == AdminDraft("staff_name", provider_id=provider.id, role="caseworker")
    assert draft.typed is TypedStep.STAFF_NAME and StaffRole(str(draft.role))
    assert AdminDraft.from_data({"step": "member_name", "household_id": household_id}) == (
        AdminDraft("member_name", household_id=household_id)
    )
    assert AdminDraft.from_data({"step": "provider_district"}).typed is None


@pytest.mark.parametrize(
    "stored",
    [
        {"step": "rename_provider", "provider_id": 3},
        {"step": "staff_name", "role": "caseworker", "provider_id": 3},
        {"step": "member_name", "household_id": 7},
        {"step": "family_search"},
        {"step": "provider_district", "provider_name": "New Co", "name_message": 55},
        {"step": "provider_district", "provider_name": "New Co", "name_message": 0},
    ],
)
def test_the_admin_draft_writes_back_exactly_what_it_read(stored: dict[str, object]) -> None:
    assert AdminDraft.from_data(stored).to_data() == stored


def test_a_typed_step_with_an_unknown_field_is_refused(
    db: Database, world: tuple[Person, Person, int]
) -> None:
    kim, _, _ = world
    with db.session() as session, pytest.raises(TypeError):
        reference_data.expect_typing(
            session, person=kim, step=TypedStep.RENAME_PROVIDER, provider=3
        )
