"""Broadcasts: drafts, idempotent confirm, scheduling, batches, cancel mid-way, the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.services import broadcasts, people, registry
from bot.services.broadcasts import Source
from bot.services.errors import (
    BroadcastClosed,
    BroadcastFileTooLarge,
    BroadcastTooLong,
    EmptyAudience,
    NotCoordinator,
    ScheduledInPast,
)
from bot.services.people import Person
from storage.db import Database
from storage.models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastState,
    Member,
    NoticeKind,
    NoticeState,
    Notification,
)

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
KIM, SAM, FAMILY_BASE = 900, 901, 1000


def _world(session: Session, families: int = 5) -> Person:
    """A coordinator, a caseworker holding every family, and ``families`` linked members."""
    registry.add_provider(session, name="A", districts=["Dover"])
    kim = registry.add_staff(session, role="coordinator", name="Kim")
    sam = registry.add_staff(session, role="caseworker", name="Sam", provider="A")
    kim.telegram_user_id, sam.telegram_user_id = KIM, SAM
    session.flush()
    for i in range(families):
        ref = f"H{i:03d}"
        registry.add_family(
            session, ref=ref, district="Dover", scheme="VPRS", arrived="2024-01-01",
            caseworker_id=sam.id, language="ar" if i % 2 == 0 else "en",
        )  # fmt: skip
        member = registry.add_member(session, family=ref, name="M")
        member.telegram_user_id, member.consent_at = FAMILY_BASE + i, NOW
        session.add(member)
    session.flush()
    return people.identify(session, telegram_user_id=KIM, language_code="en")


def _draft(session: Session, kim: Person, text: str = "Council offices close on Friday.") -> int:
    """A draft with its text written."""
    broadcast_id = broadcasts.start(session, person=kim, now=NOW)
    broadcasts.set_content(session, person=kim, broadcast_id=broadcast_id, text=text)
    return broadcast_id


def _notices(session: Session, broadcast_id: int) -> list[Notification]:
    """The outbox copies of a broadcast."""
    keys = select(BroadcastDelivery.notice_key).where(
        BroadcastDelivery.broadcast_id == broadcast_id
    )
    return list(session.exec(select(Notification).where(col(Notification.key).in_(keys))))


def test_only_coordinators_may_broadcast(db: Database) -> None:
    with db.session() as session:
        _world(session)
        sam = people.identify(session, telegram_user_id=SAM, language_code="en")
        family = people.identify(session, telegram_user_id=FAMILY_BASE, language_code="ar")
        for who in (sam, family):
            with pytest.raises(NotCoordinator):
                broadcasts.start(session, person=who, now=NOW)
        kim = people.identify(session, telegram_user_id=KIM, language_code="en")
        broadcast_id = _draft(session, kim)
        with pytest.raises(NotCoordinator):
            broadcasts.confirm(session, person=sam, broadcast_id=broadcast_id, now=NOW)
        assert session.get(Broadcast, broadcast_id).state == BroadcastState.DRAFT


def test_bad_content_is_refused_with_the_count(db: Database) -> None:
    with db.session() as session:
        kim = _world(session)
        broadcast_id = broadcasts.start(session, person=kim, now=NOW)
        with pytest.raises(BroadcastTooLong) as caption:
            broadcasts.set_content(
                session, person=kim, broadcast_id=broadcast_id, text="x" * 1025,
                attachment_kind="photo", file_id="F",
            )  # fmt: skip
        assert caption.value.details["count"] == 1025 and caption.value.details["caption"]
        with pytest.raises(BroadcastTooLong) as text:
            broadcasts.set_content(session, person=kim, broadcast_id=broadcast_id, text="y" * 9000)
        assert text.value.details["count"] == 9000
        with pytest.raises(BroadcastFileTooLarge):
            broadcasts.set_content(
                session, person=kim, broadcast_id=broadcast_id, text="ok",
                attachment_kind="document", file_id="F", file_size=30 * 1024 * 1024,
            )  # fmt: skip
        assert session.get(Broadcast, broadcast_id).text == ""


def test_confirm_is_idempotent_and_an_empty_audience_is_refused(db: Database) -> None:
    with db.session() as session:
        kim = _world(session)
        empty = _draft(session, kim)
        broadcasts.set_arrival(session, person=kim, broadcast_id=empty,
                               text="2020-01-01 2020-12-31")  # fmt: skip
        with pytest.raises(EmptyAudience):
            broadcasts.confirm(session, person=kim, broadcast_id=empty, now=NOW)
        broadcast_id = _draft(session, kim)
        first = broadcasts.confirm(session, person=kim, broadcast_id=broadcast_id, now=NOW)
        second = broadcasts.confirm(session, person=kim, broadcast_id=broadcast_id, now=NOW)
        assert (first.again, second.again) == (False, True)
        assert first.recipients == 5 and first.state == BroadcastState.SENDING
        with pytest.raises(BroadcastClosed):
            broadcasts.set_content(session, person=kim, broadcast_id=broadcast_id, text="new")
        assert broadcasts.queue_batch(session, broadcast_id=broadcast_id, now=NOW) == 5
        assert broadcasts.queue_batch(session, broadcast_id=broadcast_id, now=NOW) == 0
        assert len(_notices(session, broadcast_id)) == 5  # one per member, never twice


def test_scheduled_starts_at_its_time_and_the_past_is_refused(db: Database) -> None:
    with db.session() as session:
        kim = _world(session)
        broadcast_id = _draft(session, kim)
        with pytest.raises(ScheduledInPast):
            broadcasts.confirm(session, person=kim, broadcast_id=broadcast_id, now=NOW,
                               scheduled_for=NOW - timedelta(minutes=1))  # fmt: skip
        later = broadcasts.parse_when("2027-01-10 14:30")  # London is UTC in January
        assert later == NOW + timedelta(hours=2, minutes=30)
        assert broadcasts.parse_when("2027-07-10 14:30").hour == 13  # summer time
        with pytest.raises(ScheduledInPast):
            broadcasts.parse_when("tomorrow")
        done = broadcasts.confirm(session, person=kim, broadcast_id=broadcast_id, now=NOW,
                                  scheduled_for=later)  # fmt: skip
        assert done.state == BroadcastState.SCHEDULED
        assert broadcasts.start_due(session, now=NOW) == []
        assert broadcasts.queue_batch(session, broadcast_id=broadcast_id, now=NOW) == 0
        assert broadcasts.next_scheduled(session) == later
        assert broadcasts.start_due(session, now=later) == [broadcast_id]
        assert session.get(Broadcast, broadcast_id).state == BroadcastState.SENDING


def test_cancel_mid_way_stops_what_is_not_sent(db: Database) -> None:
    with db.session() as session:
        kim = _world(session, families=6)
        broadcast_id = _draft(session, kim)
        broadcasts.confirm(session, person=kim, broadcast_id=broadcast_id, now=NOW)
        broadcasts.queue_batch(session, broadcast_id=broadcast_id, now=NOW, limit=4)
        sent = _notices(session, broadcast_id)[:2]
        for row in sent:
            row.state = NoticeState.SENT
            session.add(row)
        session.flush()
        was = broadcasts.cancel(session, person=kim, broadcast_id=broadcast_id, now=NOW)
        assert was == BroadcastState.SENDING
        # Nothing more is queued and the two copies waiting are cancelled.
        assert broadcasts.queue_batch(session, broadcast_id=broadcast_id, now=NOW) == 0
        states = sorted(str(n.state) for n in _notices(session, broadcast_id))
        assert states == ["cancelled", "cancelled", "sent", "sent"]
        assert broadcasts.start_due(session, now=NOW) == [broadcast_id]  # a report is owed
        report = broadcasts.finish(session, broadcast_id=broadcast_id, now=NOW)
        assert report is not None
        assert (report.delivered, report.cancelled, report.state) == (2, 2, "cancelled")
        assert broadcasts.start_due(session, now=NOW) == []
        with pytest.raises(BroadcastClosed):
            broadcasts.cancel(session, person=kim, broadcast_id=broadcast_id, now=NOW)


def test_the_report_counts_and_blocked_families_reach_their_caseworker(db: Database) -> None:
    with db.session() as session:
        kim = _world(session)
        broadcast_id = _draft(session, kim)
        broadcasts.confirm(session, person=kim, broadcast_id=broadcast_id, now=NOW)
        broadcasts.queue_batch(session, broadcast_id=broadcast_id, now=NOW)
        rows = sorted(_notices(session, broadcast_id), key=lambda n: n.chat_id)
        outcomes = [
            (NoticeState.SENT, None),
            (NoticeState.SENT, None),
            (NoticeState.FAILED, "403 forbidden"),
            (NoticeState.FAILED, "400 Chat not found"),
            (NoticeState.FAILED, "expired: TimedOut"),
        ]
        for row, (state, error) in zip(rows, outcomes, strict=True):
            row.state, row.last_error = state, error
            session.add(row)
        session.flush()
        report = broadcasts.finish(session, broadcast_id=broadcast_id, now=NOW)
        assert report is not None
        assert (report.delivered, report.failed, report.blocked) == (2, 1, 2)
        stored = session.get(Broadcast, broadcast_id)
        assert (stored.state, stored.delivered, stored.failed, stored.blocked) == (
            BroadcastState.DONE, 2, 1, 2,
        )  # fmt: skip
        blocked = session.exec(select(Member).where(col(Member.unreachable_at).is_not(None)))
        assert sorted(m.telegram_user_id for m in blocked) == [FAMILY_BASE + 2, FAMILY_BASE + 3]
        told = session.exec(
            select(Notification).where(Notification.kind == NoticeKind.STAFF_BROADCAST_UNREACHABLE)
        ).all()
        assert [(n.chat_id, n.payload["refs"]) for n in told] == [(SAM, ["H002", "H003"])]
        assert broadcasts.finish(session, broadcast_id=broadcast_id, now=NOW) is None  # once


def test_not_finished_while_copies_wait(db: Database) -> None:
    with db.session() as session:
        kim = _world(session)
        broadcast_id = _draft(session, kim)
        broadcasts.confirm(session, person=kim, broadcast_id=broadcast_id, now=NOW)
        broadcasts.queue_batch(session, broadcast_id=broadcast_id, now=NOW)
        assert broadcasts.finish(session, broadcast_id=broadcast_id, now=NOW) is None
        seen = broadcasts.progress(session, broadcast_id=broadcast_id)
        assert (seen.queued, seen.open, seen.language) == (5, 5, "en")


def test_each_member_reads_their_language_with_the_original(db: Database) -> None:
    with db.session() as session:
        kim = _world(session)
        broadcast_id = _draft(session, kim)
        broadcasts.set_translation(
            session, person=kim, broadcast_id=broadcast_id, language="ar",
            text="تغلق مكاتب المجلس يوم الجمعة.", source=Source.MACHINE, model="m",
        )  # fmt: skip
        arabic = people.identify(session, telegram_user_id=FAMILY_BASE, language_code=None)
        english = people.identify(session, telegram_user_id=FAMILY_BASE + 1, language_code=None)
        member_of = {p.telegram_user_id: p.member_id or 0 for p in (arabic, english)}
        copy = broadcasts.copy_for(
            session, broadcast_id=broadcast_id, member_id=member_of[FAMILY_BASE], person=arabic
        )
        assert copy is not None and copy.text.startswith("تغلق") and copy.source == "machine"
        assert copy.original == "Council offices close on Friday."
        plain = broadcasts.copy_for(
            session, broadcast_id=broadcast_id, member_id=member_of[FAMILY_BASE + 1],
            person=english,
        )  # fmt: skip
        assert plain is not None and plain.original is None
        # Another member's copy is not sent to this account.
        assert (
            broadcasts.copy_for(
                session,
                broadcast_id=broadcast_id,
                member_id=member_of[FAMILY_BASE],
                person=english,
            )
            is None
        )
