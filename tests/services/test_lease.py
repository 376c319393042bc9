"""One instance per database: the lease, its takeover rules, and the health report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.health import report
from bot.services import inbox, lease
from bot.services.lease import Holder
from storage.db import Database

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
HERE_A = Holder(host="box", pid=100, token="a")
HERE_B = Holder(host="box", pid=200, token="b")
THERE = Holder(host="other", pid=300, token="c")


def test_a_second_instance_is_refused_while_the_first_lives(db: Database) -> None:
    with db.session() as session:
        assert lease.acquire(session, HERE_A, now=NOW) is None
    with db.session() as session:  # same machine, process alive: refused, told who holds it
        taken = lease.acquire(session, HERE_B, now=NOW, alive=lambda pid: True)
        assert taken is not None and (taken.host, taken.pid) == ("box", 100)
    with db.session() as session:  # another machine: refused until the lease expires
        assert lease.acquire(session, THERE, now=NOW + lease.TTL / 2) is not None
    with db.session() as session:
        assert lease.renew(session, HERE_A, now=NOW + lease.TTL / 2)
    with db.session() as session:
        assert lease.acquire(session, THERE, now=NOW + lease.TTL) is not None  # renewed
        assert lease.acquire(session, THERE, now=NOW + lease.TTL * 2) is None  # expired
    with db.session() as session:  # the old holder finds out and stops
        assert not lease.renew(session, HERE_A, now=NOW + lease.TTL * 2)


def test_a_killed_process_on_this_machine_is_taken_over_at_once(db: Database) -> None:
    with db.session() as session:
        assert lease.acquire(session, HERE_A, now=NOW) is None
    with db.session() as session:
        assert lease.acquire(session, HERE_B, now=NOW, alive=lambda pid: pid != 100) is None
        assert lease.release(session, HERE_B)
    with db.session() as session:
        assert lease.current(session) is None


def test_health_reports_loops_and_backlogs(db: Database) -> None:
    with db.session() as session:
        found = report(session, now=NOW)
    assert not found["ok"] and not found["instance"]["running"]
    with db.session() as session:
        lease.acquire(session, HERE_A, now=NOW)
        beats = {"updates_at": NOW, "outbox_at": NOW, "reminders_at": NOW}
        lease.renew(session, HERE_A, now=NOW, beats=beats)
    with db.session() as session:
        found = report(session, now=NOW + timedelta(seconds=5))
    assert found["ok"] and found["instance"]["host"] == "box"
    assert found["updates"]["last_fetch_s_ago"] == 5.0
    with db.session() as session:  # an update waiting three minutes: behind
        inbox.store(
            session, [inbox.Incoming(1, 5, 5, {"update_id": 1})], now=NOW - timedelta(minutes=3)
        )
    with db.session() as session:
        found = report(session, now=NOW + timedelta(seconds=5))
    assert not found["ok"] and found["updates"]["pending"] == 1
    with db.session() as session:  # and a loop silent for two minutes: stalled
        found = report(session, now=NOW + timedelta(minutes=2))
    assert found["stalled"] == ["updates", "outbox", "reminders"]
