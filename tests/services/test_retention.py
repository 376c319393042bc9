"""The daily purge: old resolved requests lose their words, stale flows and attempts go."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlmodel import Session, col, select

from bot.delivery import retention_job
from bot.services import audit, people, registry, retention, tickets
from bot.services.people import Person
from bot.services.tickets import Part
from bot.settings import Settings
from storage.db import Database
from storage.models import (
    AuditEvent,
    Flow,
    JoinAttempt,
    NoticeKind,
    Notification,
    Ticket,
    TicketMessage,
    TicketStatus,
    UserSetting,
)
from storage.types import utcnow

NOW = utcnow()
FAMILY, STRANGER, STAFF = 7401, 7402, 7403


def _tickets(session: Session) -> tuple[int, int]:
    """Two requests of one family: one resolved 100 days ago, one resolved 10 days ago."""
    registry.add_provider(session, name="A", districts=["Dover"])
    staff = registry.add_staff(session, role="caseworker", name="Sam", provider="A")
    staff.telegram_user_id = STAFF
    registry.add_family(
        session, ref="HR", district="Dover", scheme="VPRS", arrived="2024-01-01",
        caseworker_id=staff.id,
    )  # fmt: skip
    member = registry.add_member(session, family="HR", name="Amina")
    member.telegram_user_id = FAMILY
    session.flush()
    person = Person(
        **{**people.identify(session, telegram_user_id=FAMILY, language_code="ar").__dict__,
           "consented": True}
    )  # fmt: skip
    ids = []
    for age in (100, 10):
        opened = tickets.open_ticket(
            session, person=person, category="housing",
            parts=[Part(text=f"old words {age}"), Part(kind="photo", file_id=f"file{age}")],
        )  # fmt: skip
        ticket = opened.ticket
        ticket.status, ticket.resolved_at = TicketStatus.RESOLVED, NOW - timedelta(days=age)
        session.add(ticket)
        ids.append(ticket.id or 0)
    for message in session.exec(select(TicketMessage)):
        message.translation = "translated"
        session.add(message)
    session.add(Flow(telegram_user_id=STAFF, name="reply", data={"ticket_id": ids[0]}))
    return ids[0], ids[1]


def test_old_resolved_requests_lose_words_translations_files_and_drafts(db: Database) -> None:
    with db.session() as session:
        old, recent = _tickets(session)
    with db.session() as session:
        purged = retention.run(session, now=NOW, days=90)
    assert purged.messages == 2 and purged.drafts == 1
    with db.session() as session:
        olds = session.exec(select(TicketMessage).where(TicketMessage.ticket_id == old)).all()
        assert {(m.text, m.file_id, m.translation) for m in olds} == {("", None, None)}
        assert all(m.purged_at is not None for m in olds)
        kept = session.exec(select(TicketMessage).where(TicketMessage.ticket_id == recent)).all()
        assert {m.text for m in kept} == {"old words 10", ""} and all(
            m.purged_at is None for m in kept
        )
        assert session.get(Ticket, old) is not None  # the anonymous request stays
        assert session.get(Flow, STAFF) is None
    with db.session() as session:  # a second run finds nothing new
        assert retention.run(session, now=NOW, days=90).messages == 0


def test_stale_flows_old_attempts_and_strangers_settings_go(db: Database) -> None:
    with db.session() as session:
        _tickets(session)
        session.add_all(
            [
                Flow(telegram_user_id=FAMILY, name="report", data={"step": "describe"},
                     updated_at=NOW - timedelta(days=2)),
                Flow(telegram_user_id=STRANGER, name="report", data={}, updated_at=NOW),
                JoinAttempt(telegram_user_id=STRANGER, at=NOW - timedelta(days=3)),
                JoinAttempt(telegram_user_id=STRANGER, at=NOW - timedelta(minutes=3)),
                UserSetting(telegram_user_id=STRANGER, language="ar"),
                UserSetting(telegram_user_id=FAMILY, language="en"),
            ]
        )  # fmt: skip
    with db.session() as session:
        purged = retention.run(session, now=NOW, days=90)
    assert (purged.stale_flows, purged.join_attempts, purged.stranger_settings) == (1, 1, 1)
    with db.session() as session:
        assert session.get(Flow, FAMILY) is None and session.get(Flow, STRANGER) is not None
        told = session.exec(  # the family is told, once
            select(Notification).where(Notification.kind == NoticeKind.FLOW_EXPIRED)
        ).all()
        assert [(n.chat_id, n.payload["flow"]) for n in told] == [(FAMILY, "report")]
        assert len(session.exec(select(JoinAttempt)).all()) == 1
        assert [s.telegram_user_id for s in session.exec(select(UserSetting))] == [FAMILY]
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "retention.purge")
        ).one()
        assert event.detail["stale_flows"] == 1 and event.detail["days"] == 90
        assert audit.verify(session).ok
        assert (
            session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first() == event
        )


class _Jobs:
    """A job queue that records what is scheduled."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def run_daily(self, callback: object, *, time: object, name: str) -> None:
        self.names.append(name)

    def run_once(self, callback: object, *, when: float, name: str) -> None:
        self.names.append(name)


async def test_the_daily_job_uses_retention_days_and_is_scheduled(db: Database) -> None:
    with db.session() as session:
        _old, recent = _tickets(session)
    jobs = _Jobs()
    app = SimpleNamespace(
        bot_data=SimpleNamespace(db=db, settings=Settings(retention_days=5)), job_queue=jobs
    )
    retention_job.schedule(app)
    assert jobs.names == ["retention", "retention-first"]
    await retention_job.retention_job(SimpleNamespace(application=app))
    with db.session() as session:
        kept = session.exec(select(TicketMessage).where(TicketMessage.ticket_id == recent)).all()
        assert all(m.purged_at is not None for m in kept)  # 10 days old > RETENTION_DAYS=5
