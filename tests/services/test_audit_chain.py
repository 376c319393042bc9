"""The audit trail is a hash chain: any change, deletion or reordering is found."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, col, select

from bot.services import audit
from storage.db import Database, is_memory
from storage.models import AuditEvent, AuditHead


def _write(db: Database, count: int, actor: str = "admin") -> None:
    """``count`` events, one transaction each."""
    for n in range(count):
        with db.session() as session:
            audit.record(session, actor=actor, action="test.step", subject=f"thing:{n}", n=n)


def _ids(session: Session) -> list[int]:
    """Every event id, in order."""
    return [e.id or 0 for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def _count(db: Database) -> int:
    """How many events the database holds (seeding the reference data writes one)."""
    with db.session() as session:
        return len(_ids(session))


def test_an_untouched_chain_verifies(db: Database) -> None:
    before = _count(db)
    _write(db, 5)
    with db.session() as session:
        verdict = audit.verify(session)
        head = session.get(AuditHead, audit.HEAD_ID)
        events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert verdict.ok and verdict.checked == before + 5
    assert head is not None and head.last_hash == events[-1].hash
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]


def test_a_changed_row_is_found(db: Database) -> None:
    _write(db, 4)
    with db.session() as session:
        target = _ids(session)[1]
        session.execute(
            text("UPDATE auditevent SET subject = 'thing:99' WHERE id = :id"), {"id": target}
        )
    with db.session() as session:
        verdict = audit.verify(session)
    assert not verdict.ok and verdict.broken_id == target
    assert "changed" in verdict.reason


def test_a_deleted_row_is_found(db: Database) -> None:
    _write(db, 4)
    with db.session() as session:
        ids = _ids(session)
        session.execute(text("DELETE FROM auditevent WHERE id = :id"), {"id": ids[1]})
    with db.session() as session:
        verdict = audit.verify(session)
    assert not verdict.ok and verdict.broken_id == ids[2]


def test_deleting_the_newest_row_is_found(db: Database) -> None:
    _write(db, 3)
    with db.session() as session:
        ids = _ids(session)
        session.execute(text("DELETE FROM auditevent WHERE id = :id"), {"id": ids[-1]})
    with db.session() as session:
        verdict = audit.verify(session)
    assert not verdict.ok and "newest" in verdict.reason


def test_reordered_rows_are_found(db: Database) -> None:
    _write(db, 4)
    with db.session() as session:
        first, second = _ids(session)[1:3]
        # Swap two rows' ids (through a free id), hashes and all, as a reordering would.
        session.execute(text("UPDATE auditevent SET id = 1000 WHERE id = :a"), {"a": first})
        session.execute(
            text("UPDATE auditevent SET id = :a WHERE id = :b"), {"a": first, "b": second}
        )
        session.execute(text("UPDATE auditevent SET id = :b WHERE id = 1000"), {"b": second})
    with db.session() as session:
        verdict = audit.verify(session)
    assert not verdict.ok and verdict.broken_id == first


def test_rows_written_before_the_chain_are_chained_by_the_next_write(db: Database) -> None:
    with db.session() as session:
        session.execute(text("DELETE FROM auditevent"))
        session.execute(text("DELETE FROM audithead"))
    with db.session() as session:
        session.add(AuditEvent(actor="admin", action="old", subject="thing:0"))
    _write(db, 1)
    with db.session() as session:
        verdict = audit.verify(session)
        events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert verdict.ok and verdict.checked == 2
    assert events[0].prev_hash == audit.GENESIS and events[1].prev_hash == events[0].hash


def test_concurrent_writers_keep_one_chain(db: Database, tmp_path: Path) -> None:
    if is_memory(db.url):
        # In-memory SQLite is one connection shared by all threads: use a file, as in production.
        db = Database(f"sqlite:///{tmp_path / 'chain.db'}")
        db.create_all()
    before = _count(db)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            _write(db, 25, actor=name)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"staff:{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.session() as session:
        verdict = audit.verify(session)
        actors = {e.actor for e in session.exec(select(AuditEvent)) if e.actor != "admin"}
    assert verdict.ok and verdict.checked == before + 50
    assert actors == {"staff:1", "staff:2"}
