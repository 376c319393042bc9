"""admin export, erase and audit on a file database: --json, refusals, tampering found."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.admin import run
from bot.settings import Settings
from storage.db import Database
from tests.services.test_privacy import NEEDLES, build_world


def _json(capsys: pytest.CaptureFixture[str], settings: Settings, *argv: str) -> tuple[int, dict]:
    """Runs one command with --json; its exit code and its one JSON object."""
    code = run([*argv, "--json"], settings=settings)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return code, json.loads(out[0])


@pytest.fixture
def world_db(settings: Settings) -> Settings:
    """The settings' database, migrated and holding the test household HX-7731."""
    db = Database(settings.database_url)
    db.upgrade()
    with db.session() as session:
        from bot.services import registry

        registry.seed(session)
        build_world(session)
    db.dispose()
    return settings


def test_export_to_a_private_file_and_as_json(
    capsys: pytest.CaptureFixture[str], world_db: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "export.json"
    code, answer = _json(capsys, world_db, "export", "--family", "HX-7731", "--out", str(out))
    assert code == 0 and answer["rows"]["messages"] == 2
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["members"][0]["name"] == "Zubaida Quokkason"
    code, answer = _json(capsys, world_db, "export", "--family", "HX-7731")
    assert code == 0 and answer["export"]["household"]["reference"] == "HX-7731"
    code, answer = _json(capsys, world_db, "export", "--family", "NOPE")
    assert code == 1 and answer["ok"] is False


def test_erase_needs_yes_then_leaves_nothing(
    capsys: pytest.CaptureFixture[str], world_db: Settings
) -> None:
    code, answer = _json(capsys, world_db, "erase", "--family", "HX-7731")
    assert code == 1 and "--yes" in answer["error"]
    code, answer = _json(capsys, world_db, "erase", "--family", "HX-7731", "--yes")
    assert code == 0 and answer["erased"]["ticketmessage"] == 2
    # Not only the rows: the database file and its write-ahead log hold none of it either.
    path = Path(world_db.database_url.removeprefix("sqlite:///"))
    files = [path, path.with_name(path.name + "-wal")]
    dump = b"".join(f.read_bytes() for f in files if f.exists())
    assert [n for n in NEEDLES if n.encode() in dump] == []
    code, answer = _json(capsys, world_db, "erase", "--family", "HX-7731", "--yes")
    assert code == 1


def test_audit_verify_finds_tampering_and_show_lists_the_trail(
    capsys: pytest.CaptureFixture[str], world_db: Settings
) -> None:
    code, answer = _json(capsys, world_db, "audit", "verify")
    assert code == 0 and answer["chain"] == "intact" and answer["checked"] > 3
    code, answer = _json(capsys, world_db, "audit", "show", "--family", "HX-7731")
    actions = [e["action"] for e in answer["events"]]
    assert code == 0 and "privacy.erasure_request" in actions and "family.add" in actions
    code, answer = _json(capsys, world_db, "audit", "show")
    assert code == 2
    db = Database(world_db.database_url)
    with db.session() as session:
        session.execute(text("UPDATE auditevent SET actor = 'staff:99' WHERE id = 2"))
    db.dispose()
    code, answer = _json(capsys, world_db, "audit", "verify")
    assert code == 1 and answer["broken_id"] == 2 and "changed" in answer["error"]
