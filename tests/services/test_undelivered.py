"""A family that cannot be reached: staff are told once per ticket and failure episode."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.services import outbox, people, registry, tickets, undelivered
from bot.services.people import Person
from bot.services.tickets import Part
from storage.db import Database
from storage.models import NoticeKind, NoticeState, Notification, Ticket

FAMILY, CASEWORKER = 500, 600


def _ticket(session: Session) -> int:
    """A family with a caseworker and one open request."""
    registry.add_provider(session, name="A", districts=["Dover"])
    staff = registry.add_staff(session, role="caseworker", name="Sam", provider="A")
    staff.telegram_user_id = CASEWORKER
    session.flush()
    registry.add_family(
        session, ref="HA", district="Dover", scheme="VPRS", arrived="2024-01-01",
        caseworker_id=staff.id,
    )  # fmt: skip
    member = registry.add_member(session, family="HA", name="Amina")
    member.telegram_user_id = FAMILY
    session.flush()
    person = people.identify(session, telegram_user_id=FAMILY, language_code="ar")
    person = Person(**{**person.__dict__, "consented": True})
    opened = tickets.open_ticket(
        session, person=person, category="housing", parts=[Part(text="x")]
    )
    return opened.ticket.id or 0


def _failed_reply(session: Session, ticket_id: int, key: str) -> Notification:
    """A family reply about the ticket that finally failed."""
    assert outbox.enqueue(
        session, key=key, chat_id=FAMILY, kind=NoticeKind.FAMILY_REPLY, ticket_id=ticket_id
    )
    session.flush()
    row = session.exec(select(Notification).where(Notification.key == key)).one()
    row.state = NoticeState.FAILED
    session.add(row)
    return row


def _warnings(session: Session) -> list[Notification]:
    """The "could not be delivered" notices queued for staff."""
    return list(
        session.exec(select(Notification).where(Notification.kind == NoticeKind.STAFF_UNREACHABLE))
    )


def test_staff_are_told_once_per_ticket_and_failure_episode(db: Database) -> None:
    with db.session() as session:
        ticket_id = _ticket(session)
        first = _failed_reply(session, ticket_id, "r1")
        assert undelivered.follow_up(session, first, blocked=True) == 1
        # A second failed notice in the same episode tells nobody again.
        second = _failed_reply(session, ticket_id, "r2")
        assert undelivered.follow_up(session, second, blocked=True) == 0
        told = _warnings(session)
        assert [(w.chat_id, w.payload["reason"]) for w in told] == [(CASEWORKER, "blocked")]
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.family_unreachable
    with db.session() as session:  # the family is back: a new failure is a new episode
        assert people.mark_reachable(session, telegram_user_id=FAMILY)
        third = _failed_reply(session, ticket_id, "r3")
        assert undelivered.follow_up(session, third, blocked=False) == 1
        reasons = sorted(w.payload["reason"] for w in _warnings(session))
        assert reasons == ["blocked", "expired"]
        assert len({w.key for w in _warnings(session)}) == 2
