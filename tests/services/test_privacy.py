"""Export and erasure of a household: everything held is given; after erasure nothing is left."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from bot.services import audit, people, privacy, registry, tickets
from bot.services.errors import Conflict, ErasureGone
from bot.services.people import Person
from bot.services.tickets import Part
from storage.db import Database
from storage.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Attendance,
    AttendanceStatus,
    Broadcast,
    BroadcastDelivery,
    Enrolment,
    ErasureRequest,
    ErasureState,
    EsolClass,
    Flow,
    Household,
    InboundUpdate,
    Invite,
    JoinAttempt,
    Member,
    MessageLink,
    NoticeKind,
    Notification,
    Reminder,
    SafeguardingFinding,
    Ticket,
    TicketMessage,
    TicketStatus,
    UserSetting,
)
from storage.types import utcnow

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=utcnow().tzinfo)
ZUBAIDA, OMAR, OLD_ACCOUNT = 7301234567, 7301234568, 7301234599
CASEWORKER, COORDINATOR = 6001, 7001
# Everything that identifies the family or is their words: none may survive erasure.
NEEDLES = [
    "Zubaida Quokkason",
    "Omar Quokkason",
    "HX-7731",
    str(ZUBAIDA),
    str(OMAR),
    str(OLD_ACCOUNT),
    "07700900123",
    "boilerwordxyz",
    "translationwordxyz",
    "fileidxyz",
    "draftwordxyz",
    "noticewordxyz",
    "findingwordxyz",
    "streetwordxyz",
    "flowwordxyz",
    "inboundwordxyz",
    "staffreplyxyz",
]


@dataclass
class World:
    """The household and the ids a test needs."""

    household_id: int
    zubaida: int
    omar: int
    ticket_id: int
    coordinator_id: int


def build_world(session: Session) -> World:
    """A household with rows in every table that can hold a family's data."""
    registry.add_provider(session, name="KRA", districts=["Dover"])
    worker = registry.add_staff(session, role="caseworker", name="Sam Worker", provider="KRA")
    worker.telegram_user_id = CASEWORKER
    boss = registry.add_staff(session, role="coordinator", name="Kim Coord")
    boss.telegram_user_id = COORDINATOR
    session.flush()
    household = registry.add_family(
        session, ref="HX-7731", district="Dover", scheme="VPRS", arrived="2024-01-01",
        caseworker_id=worker.id,
    )  # fmt: skip
    zubaida = registry.add_member(session, family="HX-7731", name="Zubaida Quokkason")
    omar = registry.add_member(session, family="HX-7731", name="Omar Quokkason")
    zubaida.telegram_user_id, omar.telegram_user_id = ZUBAIDA, OMAR
    zubaida.consent_at = NOW
    session.flush()
    person = people.identify(session, telegram_user_id=ZUBAIDA, language_code="ar")
    person = Person(**{**person.__dict__, "consented": True})
    opened = tickets.open_ticket(
        session, person=person, category="housing", now=NOW,
        parts=[Part(text="boilerwordxyz call 07700900123", source_chat_id=ZUBAIDA,
                    source_message_id=11),
               Part(kind="photo", file_id="fileidxyz", source_chat_id=ZUBAIDA,
                    source_message_id=12)],
    )  # fmt: skip
    ticket_id = opened.ticket.id or 0
    message = session.exec(
        select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
    ).first()
    assert message is not None
    message.translation = "translationwordxyz"
    session.add(message)
    hid, zid, oid = household.id or 0, zubaida.id or 0, omar.id or 0
    session.add_all(
        [
            MessageLink(chat_id=ZUBAIDA, message_id=99, ticket_id=ticket_id),
            Invite(code_hash="h1", member_id=zid, expires_at=NOW, used_at=NOW,
                   used_by_telegram_id=OLD_ACCOUNT),
            JoinAttempt(telegram_user_id=OMAR, at=NOW),
            UserSetting(telegram_user_id=OMAR, language="ar"),
            Flow(telegram_user_id=ZUBAIDA, name="report", data={"parts": [{"text": "flowwordxyz"}]}),
            Flow(telegram_user_id=CASEWORKER, name="reply",
                 data={"ticket_id": ticket_id, "text": "draftwordxyz"}),
            Notification(key="n1", kind=NoticeKind.FAMILY_REPLY, chat_id=ZUBAIDA,
                         payload={"text": "noticewordxyz"}, expires_at=NOW),
            SafeguardingFinding(household_id=hid, member_id=zid, level="high", text="findingwordxyz",
                                signals=[{"category": "eviction", "matched": "findingwordxyz",
                                          "rule": "r1", "level": "high"}],
                                source_chat_id=ZUBAIDA, source_message_id=13),
            Appointment(household_id=hid, member_id=zid, kind=AppointmentKind.EXTERNAL,
                        starts_at=NOW, ends_at=NOW + timedelta(hours=1), what="GP",
                        place="1 streetwordxyz", status=AppointmentStatus.KEPT),
            Appointment(household_id=hid, member_id=zid, kind=AppointmentKind.BOOKING,
                        starts_at=NOW + timedelta(days=3), ends_at=NOW + timedelta(days=3, hours=1),
                        status=AppointmentStatus.BOOKED),
        ]
    )  # fmt: skip
    ticket_ref = f"K-{ticket_id:04d}"
    session.add_all(
        [
            InboundUpdate(update_id=1, chat_id=ZUBAIDA, user_id=ZUBAIDA,
                          payload={"message": {"text": "inboundwordxyz"}}),
            InboundUpdate(update_id=2, chat_id=CASEWORKER, user_id=CASEWORKER,
                          payload={"message": {"text": f"/reply {ticket_ref} staffreplyxyz"}}),
            InboundUpdate(update_id=3, chat_id=CASEWORKER, user_id=CASEWORKER,
                          payload={"message": {"text": "unrelated"}}),
        ]
    )  # fmt: skip
    esol = EsolClass(name="E1", venue="Library", weekday=0, start_time="10:00", minutes=60,
                     term_from=date(2026, 1, 5), term_to=date(2026, 12, 20))  # fmt: skip
    broadcast = Broadcast(key="b1", created_by=boss.id or 0, text="hello")
    session.add_all([esol, broadcast])
    session.flush()
    appointment = session.exec(
        select(Appointment).where(Appointment.status == AppointmentStatus.KEPT)
    ).one()
    session.add_all(
        [
            Enrolment(class_id=esol.id or 0, member_id=oid),
            Reminder(key=f"class:{esol.id}:m{oid}", member_id=oid, class_id=esol.id,
                     event_at=NOW, offset_minutes=120, due_at=NOW),
            Attendance(household_id=hid, member_id=oid, class_id=esol.id,
                       session_on=date(2026, 11, 2), status=AttendanceStatus.ATTENDED),
            Attendance(household_id=hid, appointment_id=appointment.id,
                       status=AttendanceStatus.KEPT),
            BroadcastDelivery(broadcast_id=broadcast.id or 0, member_id=oid, notice_key="bc:1"),
        ]
    )  # fmt: skip
    session.flush()
    privacy.request_erasure(session, member_id=zid, now=NOW)
    return World(hid, zid, oid, ticket_id, boss.id or 0)


def _dump(session: Session) -> dict[str, list[str]]:
    """Every table's every row, each as one string of all its columns."""
    found: dict[str, list[str]] = {}
    for table in SQLModel.metadata.sorted_tables:
        rows = session.execute(sa_select(table)).all()
        found[table.name] = [json.dumps([str(v) for v in row], ensure_ascii=False) for row in rows]
    return found


def test_export_holds_every_family_table(db: Database) -> None:
    with db.session() as session:
        world = build_world(session)
    with db.session() as session:
        data = privacy.export_for_staff(
            session, household_id=world.household_id, actor="admin", now=NOW
        )
    family = {r.section for r in privacy.RULES.values() if r.holds == privacy.Holds.FAMILY}
    assert family <= set(data), family - set(data)
    assert [name for name in sorted(family) if not data[name]] == []
    assert {m["name"] for m in data["members"]} == {"Zubaida Quokkason", "Omar Quokkason"}
    words = json.dumps(data["messages"], ensure_ascii=False)
    assert "boilerwordxyz" in words and "translationwordxyz" in words and "fileidxyz" in words
    assert json.loads(json.dumps(data)) == data  # plain JSON, no objects


def test_a_members_copy_withholds_staff_only_assessments(db: Database) -> None:
    with db.session() as session:
        world = build_world(session)
    with db.session() as session:
        data = privacy.export_for_member(session, member_id=world.omar, now=NOW)
        events = audit.events_about(session, [f"household:{world.household_id}"])
    assert data["safeguarding_findings"] == [] and data["withheld"] == 1
    # Staff's chats, drafts and updates about the family are not in the family's copy.
    staff_side = json.dumps([data[k] for k in ("flows", "notices", "inbound_updates")])
    assert str(CASEWORKER) not in staff_side and str(COORDINATOR) not in staff_side
    assert "draftwordxyz" not in staff_side and "staffreplyxyz" not in staff_side
    assert {f["telegram_user_id"] for f in data["flows"]} == {ZUBAIDA}
    assert "findingwordxyz" not in json.dumps(data["safeguarding_findings"])
    assert [e.action for e in events][-1] == "privacy.export"


def test_erasure_leaves_no_name_id_or_word_in_any_table(db: Database) -> None:
    with db.session() as session:
        world = build_world(session)
        before = _dump(session)
    # The needles really are there before, in the tables the rules say hold them.
    assert all(any(n in row for rows in before.values() for row in rows) for n in NEEDLES)
    with db.session() as session:
        counts = privacy.erase(session, household_id=world.household_id, actor="admin", now=NOW)
    assert counts["ticketmessage"] == 2 and counts["notification"] >= 2
    with db.session() as session:
        after = _dump(session)
        left = {
            (table, needle)
            for table, rows in after.items()
            for row in rows
            for needle in NEEDLES
            if needle in row
        }
        assert left == set()
        # Anonymous rows stay for the figures.
        household = session.get(Household, world.household_id)
        assert household is not None and household.erased_at is not None
        ticket = session.get(Ticket, world.ticket_id)
        assert ticket is not None and ticket.category_id and ticket.created_at
        assert len(session.exec(select(Attendance)).all()) == 2
        statuses = {a.status for a in session.exec(select(Appointment))}
        assert statuses == {AppointmentStatus.KEPT, AppointmentStatus.CANCELLED}
        assert ticket.status == TicketStatus.RESOLVED  # nobody is left to answer it
        assert all(e.ended_at is not None for e in session.exec(select(Enrolment)))
        # Another chat's stored update that does not name the family stays.
        assert [u.update_id for u in session.exec(select(InboundUpdate))] == [3]
        assert len(session.exec(select(Member)).all()) == 2
        finding = session.exec(select(SafeguardingFinding)).one()
        assert finding.signals == [{"category": "eviction", "rule": "r1", "level": "high"}]
        request = session.exec(select(ErasureRequest)).one()
        assert request.member_id is None
        assert audit.verify(session).ok
        assert session.exec(select(Reminder)).all() == []
        assert session.exec(select(BroadcastDelivery)).all() == []
    with db.session() as session, pytest.raises(Conflict):
        privacy.erase(session, household_id=world.household_id, actor="admin", now=NOW)


def test_a_coordinator_confirms_or_declines_a_request(db: Database) -> None:
    with db.session() as session:
        world = build_world(session)
        request = session.exec(select(ErasureRequest)).one()
        told = session.exec(
            select(Notification).where(Notification.kind == NoticeKind.STAFF_ERASURE_REQUEST)
        ).all()
        assert [n.chat_id for n in told] == [COORDINATOR]
        again, new = privacy.request_erasure(session, member_id=world.omar, now=NOW)
        assert again.id == request.id and not new
    with db.session() as session:
        privacy.decide(
            session, request_id=request.id or 0, staff_id=world.coordinator_id, confirm=False,
            now=NOW,
        )  # fmt: skip
    with db.session() as session:
        assert session.get(Household, world.household_id).erased_at is None  # type: ignore[union-attr]
        with pytest.raises(ErasureGone):
            privacy.decide(
                session, request_id=request.id or 0, staff_id=world.coordinator_id,
                confirm=True, now=NOW,
            )  # fmt: skip
    with db.session() as session:
        second, new = privacy.request_erasure(session, member_id=world.omar, now=NOW)
        assert new
    with db.session() as session:
        done, household = privacy.decide(
            session, request_id=second.id or 0, staff_id=world.coordinator_id, confirm=True,
            now=NOW,
        )  # fmt: skip
        assert done.state == ErasureState.ERASED and household.erased_at is not None
        actions = [e.action for e in session.exec(select(audit.AuditEvent))]
        assert "privacy.erase" in actions and "privacy.erasure_declined" in actions
        members = session.exec(select(Member).where(col(Member.household_id) == household.id))
        assert {m.name for m in members} == {""}
