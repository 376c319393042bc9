"""The outbox: queued once per key, claimed by one worker, one head per queue, retried with
backoff until it expires, interrupted sends recovered, sent rows pruned; on both databases."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import SQLModel, delete, select

from bot.admin import run
from bot.delivery.lanes import Lane
from bot.services import outbox, people, registry, tickets
from bot.services.outbox import NoticeKind, NoticeState
from bot.services.people import Person
from bot.services.tickets import Part
from bot.settings import Settings
from storage.db import Database
from storage.models import Notification
from tests.conftest import postgres_url

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
W = "w1"


def _queue(
    db: Database, key: str, chat: int, kind: NoticeKind = NoticeKind.FAMILY_REPLY, **kwargs: object
) -> int:
    with db.session() as session:
        assert outbox.enqueue(session, key=key, chat_id=chat, kind=kind, now=NOW, **kwargs)  # type: ignore[arg-type]
        session.flush()
        row = session.exec(select(Notification).where(Notification.key == key)).one()
        return row.id or 0


def _claim(db: Database, *, now: datetime = NOW, worker: str = W, limit: int = 50) -> list[int]:
    with db.session() as session:
        return [c.id for c in outbox.claim_due(session, worker=worker, limit=limit, now=now)]


def _row(db: Database, notice: int) -> Notification:
    with db.session() as session:
        row = session.get(Notification, notice)
        assert row is not None
        return row


def _sent(db: Database, notice: int, parts: int = 1, worker: str = W) -> None:
    with db.session() as session:
        for _ in range(parts):
            assert outbox.record_part_sent(
                session, notice, worker=worker, parts_total=parts, now=NOW
            )


def test_a_key_is_queued_once_and_claimed_once(db: Database) -> None:
    notice = _queue(db, "k1", 10**12)
    with db.session() as session:
        assert not outbox.enqueue(session, key="k1", chat_id=1, kind=NoticeKind.FAMILY_REPLY)
    assert _claim(db) == [notice]
    assert _claim(db) == []
    row = _row(db, notice)
    assert row.state == NoticeState.SENDING and row.attempts == 1 and row.claimed_by == W
    assert row.expires_at == NOW + timedelta(days=7)


def test_a_chat_gets_its_notices_strictly_in_order(db: Database) -> None:
    first, second = _queue(db, "a", 1), _queue(db, "b", 1)
    other = _queue(db, "c", 2)
    assert _claim(db) == [first, other]  # one head per chat
    assert _claim(db) == []  # SECOND waits while FIRST is being sent
    with db.session() as session:  # FIRST meets a 429: SECOND still waits behind it
        outbox.record_retry(
            session, first, worker=W, error="429", wait=timedelta(seconds=30), now=NOW
        )
    assert _claim(db, now=NOW + timedelta(seconds=10)) == []
    assert _claim(db, now=NOW + timedelta(seconds=31)) == [first]
    _sent(db, first)
    assert _claim(db, now=NOW + timedelta(seconds=31)) == [second]


def _two_families_tickets(db: Database) -> tuple[int, int]:
    """Two households of one caseworker, each with an open request."""
    with db.session() as session:
        registry.add_provider(session, name="A", districts=["Dover"])
        staff = registry.add_staff(session, role="caseworker", name="Sam", provider="A")
        session.flush()
        found = []
        for index, ref in enumerate(("HA", "HB")):
            registry.add_family(
                session, ref=ref, district="Dover", scheme="VPRS", arrived="2024-01-01",
                caseworker_id=staff.id,
            )  # fmt: skip
            member = registry.add_member(session, family=ref, name=f"Member {ref}")
            member.telegram_user_id = 500 + index
            session.flush()
            person = people.identify(session, telegram_user_id=500 + index, language_code="ar")
            person = Person(**{**person.__dict__, "consented": True})
            opened = tickets.open_ticket(
                session, person=person, category="housing", parts=[Part(text="x")]
            )
            found.append(opened.ticket.id or 0)
        # Opening a request queues its card; these tests queue their own.
        session.exec(delete(Notification))
    return found[0], found[1]


def test_a_caseworkers_cards_about_different_requests_do_not_wait_for_each_other(
    db: Database,
) -> None:
    first_ticket, second_ticket = _two_families_tickets(db)
    card = NoticeKind.STAFF_FAMILY_MESSAGE
    a1 = _queue(db, "a1", 1, kind=card, ticket_id=first_ticket)
    a2 = _queue(db, "a2", 1, kind=card, ticket_id=first_ticket)
    b1 = _queue(db, "b1", 1, kind=card, ticket_id=second_ticket)
    # A's first card is held (its translation is slow): B's card goes; A's second waits.
    assert _claim(db) == [a1, b1]
    assert _claim(db) == []
    _sent(db, a1)
    assert _claim(db) == [a2]


def test_a_notice_about_no_request_keeps_the_chats_order(db: Database) -> None:
    first_ticket, second_ticket = _two_families_tickets(db)
    card = NoticeKind.STAFF_FAMILY_MESSAGE
    a1 = _queue(db, "a1", 1, kind=card, ticket_id=first_ticket)
    general = _queue(db, "g", 1, kind=NoticeKind.STAFF_ERROR_REPORT)
    b1 = _queue(db, "b1", 1, kind=card, ticket_id=second_ticket)
    assert _claim(db) == [a1]  # the notice about no request waits, and B waits behind it
    _sent(db, a1)
    assert _claim(db) == [general]
    _sent(db, general)
    assert _claim(db) == [b1]


def test_a_familys_notices_about_different_requests_keep_the_chats_order(
    db: Database,
) -> None:
    first_ticket, second_ticket = _two_families_tickets(db)
    one = _queue(db, "r1", 1, ticket_id=first_ticket)  # family replies
    two = _queue(db, "r2", 1, ticket_id=second_ticket)
    assert _claim(db) == [one]
    _sent(db, one)
    assert _claim(db) == [two]


def test_interactive_goes_before_bulk(db: Database) -> None:
    bulk = _queue(db, "bulk", 1, lane=Lane.BULK)
    interactive = _queue(db, "reply", 2)
    assert _claim(db, limit=1) == [interactive]
    assert _claim(db, limit=1) == [bulk]


def test_transient_errors_back_off_until_the_notice_expires(db: Database) -> None:
    notice = _queue(db, "k", 1, expires_at=NOW + timedelta(hours=1))
    now, delays = NOW, []
    while True:
        claimed = _claim(db, now=now)
        if not claimed:
            break
        with db.session() as session:
            state = outbox.record_retry(session, notice, worker=W, error="NetworkError", now=now)
        row = _row(db, notice)
        if state == NoticeState.FAILED:
            break
        delays.append((row.next_attempt_at - now).total_seconds())
        now = row.next_attempt_at
    row = _row(db, notice)
    assert row.state == NoticeState.FAILED and row.last_error == "expired: NetworkError"
    assert len(delays) > 5  # far more than a fixed small count
    assert delays[0] <= 2 < delays[3] and max(delays) <= 600  # doubling, capped at 10 minutes


def test_a_multi_part_notice_keeps_the_parts_already_sent(db: Database) -> None:
    notice = _queue(db, "k", 1)
    assert _claim(db) == [notice]
    with db.session() as session:
        assert outbox.record_part_sent(session, notice, worker=W, parts_total=3)
        outbox.record_retry(
            session, notice, worker=W, error="TimedOut", wait=timedelta(0), now=NOW
        )
    with db.session() as session:
        (claimed,) = outbox.claim_due(session, worker=W, now=NOW)
    assert claimed.parts_sent == 1 and claimed.attempts == 2


def test_a_send_cut_by_a_crash_is_unknown_then_sent_again(db: Database) -> None:
    notice = _queue(db, "k", 1)
    assert _claim(db) == [notice]  # then the process is killed
    with db.session() as session:
        assert outbox.recover_interrupted(session, worker="other", now=NOW) == 0
        assert outbox.recover_interrupted(session, worker=W, now=NOW) == 1
    assert _row(db, notice).state == NoticeState.UNKNOWN
    assert _claim(db) == [notice]
    _sent(db, notice)
    assert _row(db, notice).state == NoticeState.SENT


def test_a_dead_workers_stale_claim_is_taken_over(db: Database) -> None:
    notice = _queue(db, "k", 1)
    assert _claim(db, worker="dead") == [notice]
    with db.session() as session:
        assert outbox.recover_interrupted(session, now=NOW + timedelta(minutes=1)) == 0
        assert outbox.recover_interrupted(session, now=NOW + outbox.STALE_CLAIM * 2) == 1
    assert _claim(db, now=NOW + outbox.STALE_CLAIM * 2) == [notice]
    with db.session() as session:  # the dead worker's late record changes nothing
        assert not outbox.record_part_sent(session, notice, worker="dead", parts_total=1)


def test_permanent_failures_end_at_once_and_stay_listed(db: Database) -> None:
    notice = _queue(db, "k", 1)
    _claim(db)
    with db.session() as session:
        outbox.record_failed(session, notice, worker=W, error="403 forbidden", now=NOW)
    assert _claim(db, now=NOW + timedelta(days=1)) == []
    with db.session() as session:
        assert [n.id for n in outbox.failed(session)] == [notice]
        assert outbox.prune(session, keep_days=0, now=NOW + timedelta(days=90)) == 0


def test_sent_notices_are_pruned_after_the_keep_time(db: Database) -> None:
    notice = _queue(db, "k", 1)
    _claim(db)
    _sent(db, notice)
    sent_at = _row(db, notice).sent_at
    assert sent_at is not None
    with db.session() as session:
        assert outbox.prune(session, keep_days=30, now=sent_at + timedelta(days=29)) == 0
        assert outbox.prune(session, keep_days=30, now=sent_at + timedelta(days=31)) == 1


def test_expired_notices_fail_without_being_sent(db: Database) -> None:
    notice = _queue(db, "k", 1, expires_at=NOW + timedelta(minutes=5))
    later = NOW + timedelta(minutes=6)
    assert _claim(db, now=later) == []
    with db.session() as session:
        assert [n.id for n in outbox.expire_overdue(session, now=later)] == [notice]
    assert _row(db, notice).state == NoticeState.FAILED


@pytest.fixture(params=["sqlite", "postgres"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """One database that two separate engines (two workers) open."""
    if request.param == "postgres":
        url = postgres_url()
        setup = Database(url)
        SQLModel.metadata.drop_all(setup.engine)
    else:
        url = f"sqlite:///{tmp_path / 'outbox.db'}"
        setup = Database(url)
    setup.create_all()
    setup.dispose()
    yield url


def test_two_workers_never_claim_the_same_row(shared_url: str) -> None:
    setup = Database(shared_url)
    for index in range(300):  # 150 chats, two notices each
        with setup.session() as session:
            outbox.enqueue(
                session, key=f"n{index}", chat_id=1000 + index % 150, kind=NoticeKind.FAMILY_REPLY
            )
    setup.dispose()
    claims: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        """One worker draining the outbox as the dispatcher does (Database.run retries locks)."""

        async def drain(database: Database) -> None:
            idle = 0
            while idle < 3:
                got = await database.run(outbox.claim_due, worker=name, limit=7)
                idle = idle + 1 if not got else 0
                for notice in got:
                    claims[name].append(notice.id)
                    await database.run(
                        outbox.record_part_sent, notice.id, worker=name, parts_total=1
                    )

        database = Database(shared_url)
        try:
            asyncio.run(drain(database))
        except BaseException as exc:
            errors.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=work, args=(name,)) for name in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    everything = claims["a"] + claims["b"]
    assert len(everything) == len(set(everything)) == 300  # each row once, none left
    assert claims["a"] and claims["b"]  # both workers took part
    check = Database(shared_url)
    with check.session() as session:
        rows = session.exec(select(Notification)).all()
        assert {r.state for r in rows} == {NoticeState.SENT}
        assert {r.attempts for r in rows} == {1}
    check.dispose()


def test_staff_see_finally_failed_notices_in_the_admin_listing(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    database = Database(settings.database_url)
    database.upgrade()
    notice = _queue(database, "k", 77)
    _claim(database)
    with database.session() as session:
        outbox.record_failed(session, notice, worker=W, error="403 forbidden", now=NOW)
    database.dispose()
    assert run(["outbox", "--failed", "--json"], settings=settings) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["states"] == {"failed": 1}
    (row,) = answer["failed"]
    assert row["id"] == notice and row["chat"] == 77 and row["error"] == "403 forbidden"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, for migrations."""
    if request.param == "postgres":
        url = postgres_url()
        setup = Database(url)
        SQLModel.metadata.drop_all(setup.engine)
        with setup.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        setup.dispose()
        yield url
    else:
        yield f"sqlite:///{tmp_path / 'migrate.db'}"


def test_the_migration_carries_old_notices_over(empty_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from storage.db import alembic_config

    database = Database(empty_url)
    command.upgrade(alembic_config(empty_url, database.engine), "0005")
    old = (
        "INSERT INTO notification (key, chat_id, template, data, created_at, claimed_at, "
        "sent_at, failed_at, attempts, error) VALUES (:key, 5, :template, '{}', :at, NULL, "
        ":sent, :failed, 1, :error)"
    )
    with database.engine.begin() as connection:
        for key, template, sent, failed, error in [
            ("new:1:staff:1", "staff.new_ticket", NOW, None, None),
            ("reassign:1:1:staff:2", "staff.new_ticket", None, None, None),
            ("reply:3:member:1", "family.reply", None, NOW, "forbidden"),
        ]:
            connection.execute(
                text(old),
                {"key": key, "template": template, "at": NOW.replace(tzinfo=None),
                 "sent": sent and sent.replace(tzinfo=None),
                 "failed": failed and failed.replace(tzinfo=None), "error": error},
            )  # fmt: skip
    database.upgrade()
    with database.session() as session:
        rows = {n.key: n for n in session.exec(select(Notification))}
    database.dispose()
    assert rows["new:1:staff:1"].state == NoticeState.SENT
    moved = rows["reassign:1:1:staff:2"]
    assert moved.state == NoticeState.QUEUED and moved.kind == NoticeKind.STAFF_REASSIGNED
    assert moved.expires_at > moved.next_attempt_at
    failed = rows["reply:3:member:1"]
    assert failed.state == NoticeState.FAILED and failed.last_error == "forbidden"
