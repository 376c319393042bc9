"""The admin CLI's reference-data commands: providers, Lots, districts, staff roles and activation.

Each is a thin wrapper over bot.services.reference_data (as the Telegram buttons are): a change
is audited as "admin"; a refusal exits 1 (a bad value 2) and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.admin import run
from bot.services import invites
from bot.services.errors import InviteInvalid
from bot.settings import Settings
from storage.db import Database
from storage.models import AuditEvent, Category, Household, Invite, Member, Ticket, TicketStatus
from storage.types import utcnow


def _json(capsys: pytest.CaptureFixture[str], settings: Settings, *argv: str) -> dict[str, Any]:
    """Runs one command with --json; its one JSON object (ok matching the exit code)."""
    code = run([*argv, "--json"], settings=settings)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    payload: dict[str, Any] = json.loads(out[0])
    assert payload["ok"] is (code == 0)
    payload["exit"] = code
    return payload


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """The test's file database, opened beside the CLI to check what it stored."""
    database = Database(settings.database_url)
    yield database
    database.dispose()


def _audit(db: Database) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every audit event as (actor, action, subject, detail), oldest first."""
    with db.session() as session:
        rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
        return [(e.actor, e.action, e.subject, dict(e.detail)) for e in rows]


def _state(capsys: pytest.CaptureFixture[str], settings: Settings, db: Database) -> Any:
    """Everything these commands could change, to compare before and after a refusal."""
    listings = [
        _json(capsys, settings, kind)
        for kind in ("providers", "districts", "staff", "routing-rules")
    ]
    return listings, len(_audit(db))


def _refused(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    db: Database,
    *argv: str,
    status: int = 1,
) -> dict[str, Any]:
    """Runs a command that must be refused with ``status`` and change nothing."""
    before = _state(capsys, settings, db)
    payload = _json(capsys, settings, *argv)
    assert payload["exit"] == status, payload
    assert payload["ok"] is False and "\n" not in payload["error"]
    assert _state(capsys, settings, db) == before
    return payload


@pytest.fixture
def world(capsys: pytest.CaptureFixture[str], settings: Settings) -> dict[str, int]:
    """Two providers (A: Dover, Thanet; B: Swale), a caseworker of A and a coordinator."""
    _json(capsys, settings, "seed")
    _json(capsys, settings, "add-provider", "A", "--districts", "Dover,Thanet")
    _json(capsys, settings, "add-provider", "B", "--districts", "Swale")
    sam = _json(capsys, settings, "add-staff", "--role", "caseworker", "--name", "Sam",
                "--provider", "A")  # fmt: skip
    kim = _json(capsys, settings, "add-staff", "--role", "coordinator", "--name", "Kim")
    return {"sam": sam["staff_id"], "kim": kim["staff_id"]}


def _providers(capsys: pytest.CaptureFixture[str], settings: Settings) -> dict[str, Any]:
    """The providers listing by name."""
    return {p["name"]: p for p in _json(capsys, settings, "providers")["providers"]}


# ---------------------------------------------------------------- rename-provider


def test_rename_provider(
    capsys: pytest.CaptureFixture[str], settings: Settings, db: Database, world: dict[str, int]
) -> None:
    done = _json(capsys, settings, "rename-provider", "a", "  Kent   Refugee Action ")
    assert done == {"ok": True, "exit": 0, "provider_id": 1, "old_name": "A",
                    "name": "Kent Refugee Action"}  # fmt: skip
    assert _providers(capsys, settings)["Kent Refugee Action"]["districts"] == ["Dover", "Thanet"]
    assert _audit(db)[-1] == ("admin", "provider.rename", "provider:1", {})
    routing = {r["district"]: r for r in _json(capsys, settings, "routing-rules")["routing"]}
    assert routing["Dover"]["lot_provider"] == "Kent Refugee Action"


def test_rename_provider_refusals_change_nothing(
    capsys: pytest.CaptureFixture[str], settings: Settings, db: Database, world: dict[str, int]
) -> None:
    taken = _refused(capsys, settings, db, "rename-provider", "A", "b")
    assert taken["error"] == "provider already exists: 'B'; nothing was changed"
    same = _refused(capsys, settings, db, "rename-provider", "A", " A ")
    assert "already called 'A'" in same["error"]
    unknown = _refused(capsys, settings, db, "rename-provider", "Nobody", "C")
    assert "unknown provider: 'Nobody' (valid: A, B)" in unknown["error"]
    long = _refused(capsys, settings, db, "rename-provider", "A", "x" * 81, status=2)
    assert "a name is one line of 1 to 80 characters" in long["error"]
    empty = _refused(capsys, settings, db, "rename-provider", "A", "   ", status=2)
    assert "nothing was changed" in empty["error"]
    usage = _refused(capsys, settings, db, "rename-provider", "A", status=2)
    assert "rename-provider: the following arguments are required" in usage["error"]


# ---------------------------------------------------------------- activate/deactivate-provider


def test_a_provider_is_switched_off_only_once_it_holds_nothing(
    capsys: pytest.CaptureFixture[str], settings: Settings, db: Database, world: dict[str, int]
) -> None:
    rule = _json(capsys, settings, "add-routing-rule", "--district", "Swale", "--provider", "A")
    busy = _refused(capsys, settings, db, "deactivate-provider", "A")
    assert busy["districts"] == ["Dover", "Thanet"] and busy["rules"] == [rule["rule_id"]]
    assert busy["error"].startswith(
        "'A' still holds districts (Dover, Thanet) and routing rules (#1)"
    )

    _json(capsys, settings, "move-district", "Dover", "--to", "B", "--move")
    _json(capsys, settings, "move-district", "Thanet", "--to", "B", "--move")
    _refused(capsys, settings, db, "deactivate-provider", "A")  # the rule still sends to A
    _json(capsys, settings, "remove-routing-rule", str(rule["rule_id"]))

    off = _json(capsys, settings, "deactivate-provider", "a")
    assert off == {"ok": True, "exit": 0, "provider_id": 1, "name": "A", "active": False,
                   "active_staff": 1}  # fmt: skip
    assert _audit(db)[-1] == ("admin", "provider.deactivate", "provider:1", {})
    assert _providers(capsys, settings)["A"]["active"] is False
    again = _refused(capsys, settings, db, "deactivate-provider", "A")
    assert again["error"] == "'A' is already switched off; nothing was changed"

    # Nothing new can be sent to a provider that is off.
    to_off = _refused(capsys, settings, db, "move-district", "Dover", "--to", "A", "--move")
    assert "provider 'A' is switched off: run activate-provider first" in to_off["error"]
    rule_off = _refused(capsys, settings, db, "add-routing-rule", "--district", "Dover",
                        "--provider", "A")  # fmt: skip
    assert "switched off" in rule_off["error"]
    role_off = _refused(capsys, settings, db, "set-role", "--staff", str(world["kim"]),
                        "--role", "lead", "--provider", "A")  # fmt: skip
    assert "switched off" in role_off["error"]

    on = _json(capsys, settings, "activate-provider", "A")
    assert on["active"] is True and on["provider_id"] == 1
    assert _audit(db)[-1] == ("admin", "provider.activate", "provider:1", {})
    assert _refused(capsys, settings, db, "activate-provider", "A")["error"] == (
        "'A' is already switched on; nothing was changed"
    )


def test_provider_switch_bad_arguments(
    capsys: pytest.CaptureFixture[str], settings: Settings, db: Database, world: dict[str, int]
) -> None:
    _refused(capsys, settings, db, "activate-provider", status=2)
    _refused(capsys, settings, db, "deactivate-provider", "A", "B", status=2)
    unknown = _refused(capsys, settings, db, "deactivate-provider", "Nobody")
    assert "unknown provider: 'Nobody'" in unknown["error"]


# ---------------------------------------------------------------- move-district, add-district


def test_move_district_needs_move_and_names_who_loses_it(
    capsys: pytest.CaptureFixture[str], settings: Settings, db: Database, world: dict[str, int]
) -> None:
    refused = _refused(capsys, settings, db, "move-district", "dover", "--to", "B")
    assert refused["error"].startswith("Dover is in the Lot of 'A'. Add --move")
    assert refused["district"] == "Dover" and refused["from_provider"] == "A"

    moved = _json(capsys, settings, "move-district", "dover", "--to", "b", "--move")
    assert moved == {"ok": True, "exit": 0, "district": "Dover", "to_provider": "B",
                     "from_provider": "A", "lot_id": 2}  # fmt: skip
    assert _providers(capsys, settings)["B"]["districts"] == ["Dover", "Swale"]
    assert _providers(capsys, settings)["A"]["districts"] == ["Thanet"]
    actor, action, subject, detail = _audit(db)[-1]
    assert (actor, action) == ("admin", "lot.move") and subject.startswith("district:")
    assert detail == {"to_provider": 2, "from_provider": 1}

    held = _refused(capsys, settings, db, "move-district", "Dover", "--to", "B", "--move")
    assert held["error"] == "Dover is already in the Lot of 'B'; nothing was changed"
    unknown = _refused(capsys, settings, db, "move-district", "Atlantis", "--to", "B")
    assert "unknown district: 'Atlantis'" in unknown["error"]
    nobody = _refused(capsys, settings, db, "move-district", "Dover", "--to", "Nobody")
    assert "unknown provider: 'Nobody'" in nobody["error"]
    usage = _refused(capsys, settings, db, "move-district", "Dover", status=2)
    assert "--to" in usage["error"]


def test_a_new_district_is_in_no_lot_until_moved_to_a_provider(
    capsys: pytest.CaptureFixture[str], settings: Settings, db: Database, world: dict[str, int]
) -> None:
    added = _json(capsys, settings, "add-district", "  Isle  of Sheppey ", "--self-coordinated")
    assert added == {"ok": True, "exit": 0, "district_id": added["district_id"],
                     "name": "Isle of Sheppey", "self_coordinated": True,
                     "lot_id": None}  # fmt: skip
    assert _audit(db)[-1] == ("admin", "district.add", f"district:{added['district_id']}", {})
    listed = {d["district"]: d for d in _json(capsys, settings, "districts")["districts"]}
    assert listed["Isle of Sheppey"] == {"district": "Isle of Sheppey", "self_coordinated": True,
                                         "lot_provider": None}  # fmt: skip
    plain = _json(capsys, settings, "add-district", "Faversham")
    assert plain["self_coordinated"] is False

    free = _json(capsys, settings, "move-district", "Isle of Sheppey", "--to", "A")
    assert free["from_provider"] is None and free["to_provider"] == "A"
    assert _providers(capsys, settings)["A"]["districts"] == ["Dover", "Isle of Sheppey",
                                                              "Thanet"]  # fmt: skip

    twice = _refused(capsys, settings, db, "add-district", " DOVER ")
    assert twice["error"] == "district already exists: 'Dover'; nothing was changed"
    _refused(capsys, settings, db, "add-district", "y" * 81, status=2)
    _refused(capsys, settings, db, "add-district", status=2)


# ---------------------------------------------------------------- set-role


def test_set_role(
    capsys: pytest.CaptureFixture[str], settings: Settings, db: Database, world: dict[str, int]
) -> None:
    sam, kim = str(world["sam"]), str(world["kim"])
    lead = _json(capsys, settings, "set-role", "--staff", sam, "--role", "lead")
    assert lead == {"ok": True, "exit": 0, "staff_id": world["sam"], "role": "lead",
                    "provider": "A", "active": True, "households": 0, "requests_returned": 0,
                    "appointments_to_come": 0, "invites_withdrawn": 0}  # fmt: skip
    assert _audit(db)[-1] == ("admin", "staff.role", f"staff:{sam}",
                              {"from_role": "caseworker", "to_role": "lead", "provider": 1,
                               "returned": 0})  # fmt: skip
    moved = _json(capsys, settings, "set-role", "--staff", sam, "--role", "lead",
                  "--provider", "B")  # fmt: skip
    assert moved["provider"] == "B"
    coordinator = _json(capsys, settings, "set-role", "--staff", sam, "--role", "coordinator")
    assert coordinator["role"] == "coordinator" and coordinator["provider"] is None
    staff = {s["staff_id"]: s for s in _json(capsys, settings, "staff")["staff"]}
    assert staff[world["sam"]]["role"] == "coordinator"

    # A coordinator belongs to no provider; a caseworker or lead to one.
    needs = _refused(capsys, settings, db, "set-role", "--staff", kim, "--role", "caseworker",
                     status=2)  # fmt: skip
    assert needs["error"] == (
        "a caseworker or lead belongs to a provider: add --provider NAME; nothing was changed"
    )
    none = _refused(capsys, settings, db, "set-role", "--staff", sam, "--role", "coordinator",
                    "--provider", "A", status=2)  # fmt: skip
    assert "leave out --provider" in none["error"]
    same = _refused(capsys, settings, db, "set-role", "--staff", kim, "--role", "coordinator")
    assert same["error"] == f"staff {kim} is already a coordinator; nothing was changed"
    done = _json(capsys, settings, "set-role", "--staff", kim, "--role", "caseworker",
                 "--provider", "B")  # fmt: skip
    assert done["role"] == "caseworker" and done["provider"] == "B"
    same = _refused(capsys, settings, db, "set-role", "--staff", kim, "--role", "caseworker")
    assert same["error"] == f"staff {kim} is already a caseworker of 'B'; nothing was changed"


def test_set_role_bad_arguments(
    capsys: pytest.CaptureFixture[str], settings: Settings, db: Database, world: dict[str, int]
) -> None:
    unknown = _refused(capsys, settings, db, "set-role", "--staff", "999", "--role", "lead")
    assert "unknown staff id: 999" in unknown["error"]
    nobody = _refused(capsys, settings, db, "set-role", "--staff", str(world["sam"]), "--role",
                      "lead", "--provider", "Nobody")  # fmt: skip
    assert "unknown provider: 'Nobody'" in nobody["error"]
    role = _refused(capsys, settings, db, "set-role", "--staff", "1", "--role", "boss", status=2)
    assert "invalid choice: 'boss'" in role["error"]
    _refused(capsys, settings, db, "set-role", "--staff", "one", "--role", "lead", status=2)
    _refused(capsys, settings, db, "set-role", "--role", "lead", status=2)


# ---------------------------------------------------------------- activate/deactivate-staff


def _open_request_for(db: Database, staff_id: int) -> int:
    """A household of Dover with a request assigned to this caseworker; the ticket id."""
    with db.session() as session:
        household = Household(reference="KH-1", district_id=1, scheme_id=1,
                              arrived_on=utcnow().date(), support_ends_on=utcnow().date(),
                              caseworker_id=staff_id)  # fmt: skip
        session.add(household)
        session.flush()
        member = Member(household_id=household.id or 0, name="Amina")
        session.add(member)
        session.flush()
        category = session.exec(select(Category)).first()
        assert category is not None
        ticket = Ticket(household_id=household.id or 0, member_id=member.id or 0,
                        category_id=category.id or 0, provider_id=1, assignee_id=staff_id,
                        status=TicketStatus.WITH_CASEWORKER,
                        due_at=utcnow() + timedelta(days=1))  # fmt: skip
        session.add(ticket)
        session.flush()
        return ticket.id or 0


def test_switching_staff_off_hands_back_requests_and_ends_invites(
    capsys: pytest.CaptureFixture[str], settings: Settings, db: Database, world: dict[str, int]
) -> None:
    sam = str(world["sam"])
    ticket_id = _open_request_for(db, world["sam"])
    _json(capsys, settings, "invite", "--staff", sam)
    off = _json(capsys, settings, "deactivate-staff", "--staff", sam)
    assert off == {"ok": True, "exit": 0, "staff_id": world["sam"], "role": "caseworker",
                   "provider": "A", "active": False, "households": 1, "requests_returned": 1,
                   "appointments_to_come": 0, "invites_withdrawn": 1}  # fmt: skip
    with db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.assignee_id is None and ticket.status == TicketStatus.RECEIVED
        invite = session.exec(select(Invite)).one()
        assert invite.expires_at <= utcnow()
    trail = _audit(db)
    assert ("admin", "ticket.reassign", f"ticket:{ticket_id}",
            {"to": None, "reason": "staff.handover"}) in trail  # fmt: skip
    assert trail[-1] == ("admin", "staff.deactivate", f"staff:{sam}",
                         {"returned": 1, "invites_withdrawn": 1})  # fmt: skip
    staff = {s["staff_id"]: s for s in _json(capsys, settings, "staff")["staff"]}
    assert staff[world["sam"]]["active"] is False

    again = _refused(capsys, settings, db, "deactivate-staff", "--staff", sam)
    assert again["error"] == f"staff {sam} is already switched off; nothing was changed"
    on = _json(capsys, settings, "activate-staff", "--staff", sam)
    assert on["active"] is True and on["requests_returned"] == 0
    assert _audit(db)[-1] == ("admin", "staff.activate", f"staff:{sam}",
                              {"returned": 0, "invites_withdrawn": 0})  # fmt: skip
    assert _refused(capsys, settings, db, "activate-staff", "--staff", sam)["error"] == (
        f"staff {sam} is already switched on; nothing was changed"
    )


def test_a_withdrawn_invite_no_longer_works(
    capsys: pytest.CaptureFixture[str], settings: Settings, db: Database, world: dict[str, int]
) -> None:
    code = _json(capsys, settings, "invite", "--staff", str(world["kim"]))["code"]
    _json(capsys, settings, "deactivate-staff", "--staff", str(world["kim"]))
    with db.session() as session, pytest.raises(InviteInvalid):
        invites.redeem(session, raw_code=code, telegram_user_id=4242)


def test_staff_switch_bad_arguments(
    capsys: pytest.CaptureFixture[str], settings: Settings, db: Database, world: dict[str, int]
) -> None:
    unknown = _refused(capsys, settings, db, "deactivate-staff", "--staff", "999")
    assert "unknown staff id: 999" in unknown["error"]
    _refused(capsys, settings, db, "activate-staff", "--staff", "x", status=2)
    _refused(capsys, settings, db, "deactivate-staff", status=2)


# ---------------------------------------------------------------- routing rules, plain output


def test_routing_rules_go_through_the_same_service(
    capsys: pytest.CaptureFixture[str], settings: Settings, db: Database, world: dict[str, int]
) -> None:
    rule = _json(capsys, settings, "add-routing-rule", "--district", "Dover", "--provider", "B",
                 "--category", "health")  # fmt: skip
    assert _audit(db)[-1] == ("admin", "routing.rule.add", f"rule:{rule['rule_id']}", {})
    twice = _refused(capsys, settings, db, "add-routing-rule", "--district", "Dover",
                     "--provider", "A", "--category", "health")  # fmt: skip
    assert twice["rule_id"] == rule["rule_id"]
    assert twice["error"].startswith(f"rule {rule['rule_id']} already routes health requests")
    _json(capsys, settings, "remove-routing-rule", str(rule["rule_id"]))
    assert _audit(db)[-1] == ("admin", "routing.rule.remove", f"rule:{rule['rule_id']}", {})
    gone = _refused(capsys, settings, db, "remove-routing-rule", str(rule["rule_id"]))
    assert gone["error"] == f"no active routing rule {rule['rule_id']}"


def test_without_json_a_change_prints_lines_and_a_refusal_one_error_line(
    capsys: pytest.CaptureFixture[str], settings: Settings, world: dict[str, int]
) -> None:
    assert run(["move-district", "Dover", "--to", "B"], settings=settings) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.strip().splitlines() == [
        "error: Dover is in the Lot of 'A'. Add --move to give it to the new provider (the "
        "current one loses it); nothing was changed"
    ]
    assert run(["move-district", "Dover", "--to", "B", "--move"], settings=settings) == 0
    out = capsys.readouterr().out.splitlines()
    assert "from_provider: A" in out and "to_provider: B" in out
