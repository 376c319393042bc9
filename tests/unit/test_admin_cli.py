"""The admin CLI end to end on a file database: every command, --json, errors, CSV import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.admin import run
from bot.settings import Settings


def _json(capsys: pytest.CaptureFixture[str], settings: Settings, *argv: str) -> dict:
    code = run([*argv, "--json"], settings=settings)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    payload = json.loads(out[0])
    assert payload["ok"] is (code == 0)
    return payload


def test_a_whole_registration_chained_through_json(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    assert _json(capsys, settings, "seed")["added"]["districts"] == 12
    provider = _json(
        capsys, settings, "add-provider", "Kent Refugee Action", "--districts", "Dover,Thanet"
    )
    assert provider["provider_id"] and provider["lot_id"]
    staff = _json(
        capsys,
        settings,
        "add-staff",
        "--role",
        "caseworker",
        "--name",
        "Sam",
        "--provider",
        "Kent Refugee Action",
    )
    family = _json(
        capsys, settings, "add-family", "--ref", "KH-0001", "--district", "Dover",
        "--scheme", "VPRS", "--arrived", "2024-03-01", "--caseworker", str(staff["staff_id"]),
        "--language", "ar",
    )  # fmt: skip
    assert family["support_ends_on"] == "2029-03-01"
    member = _json(capsys, settings, "add-member", "--family", "KH-0001", "--name", "Amina")
    invite = _json(capsys, settings, "invite", "--family", "KH-0001")
    assert invite["member_id"] == member["member_id"]
    assert invite["link"] == f"https://t.me/sanad_test_bot?start={invite['code']}"
    staff_invite = _json(capsys, settings, "invite", "--staff", str(staff["staff_id"]))
    assert staff_invite["role"] == "caseworker" and staff_invite["code"] != invite["code"]


def test_errors_are_json_and_change_nothing(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    _json(capsys, settings, "seed")
    error = _json(
        capsys,
        settings,
        "add-family",
        "--ref",
        "X1",
        "--district",
        "Atlantis",
        "--scheme",
        "VPRS",
        "--arrived",
        "2024-01-01",
    )
    assert "Atlantis" in error["error"]
    missing = _json(capsys, settings, "invite", "--family", "NOPE")
    assert missing["ok"] is False


def test_import_families_reports_lines_and_imports_nothing_on_error(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    _json(capsys, settings, "seed")
    bad = tmp_path / "families.csv"
    bad.write_text(
        "ref,district,scheme,arrived,members\n"
        "KH-1,Dover,VPRS,2024-01-01,Amina\n"
        "KH-2,Dover,VPRS,not-a-date,Omar\n",
        encoding="utf-8",
    )
    report = _json(capsys, settings, "import-families", str(bad))
    assert report["errors"] == [{"line": 3, "error": "not a date (YYYY-MM-DD): 'not-a-date'"}]
    assert _json(capsys, settings, "invite", "--family", "KH-1")["ok"] is False
    good = tmp_path / "good.csv"
    good.write_text(
        "ref,district,scheme,arrived,members\nKH-1,Dover,VPRS,2024-01-01,Amina\n", encoding="utf-8"
    )
    assert _json(capsys, settings, "import-families", str(good))["imported"] == ["KH-1"]


def test_python_dash_m_bot_admin_runs_as_a_process(settings: Settings) -> None:
    env = {"DATABASE_URL": settings.database_url, "PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "admin", "seed", "--json"],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True


def test_routing_rules_are_data_a_coordinator_changes_without_code(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    _json(capsys, settings, "seed")
    _json(capsys, settings, "add-provider", "A", "--districts", "Dover")
    _json(capsys, settings, "add-provider", "B", "--districts", "Swale")
    rule = _json(
        capsys, settings, "add-routing-rule", "--district", "Dover", "--provider", "B",
        "--category", "health",
    )  # fmt: skip
    assert rule["category"] == "health" and rule["provider"] == "B"
    table = {row["district"]: row for row in _json(capsys, settings, "routing-rules")["routing"]}
    assert table["Dover"]["lot_provider"] == "A"
    assert table["Dover"]["rules"] == [
        {"rule_id": rule["rule_id"], "provider": "B", "category": "health"}
    ]
    assert table["Ashford"]["self_coordinated"] is True
    assert _json(capsys, settings, "remove-routing-rule", str(rule["rule_id"]))["active"] is False
    table = {row["district"]: row for row in _json(capsys, settings, "routing-rules")["routing"]}
    assert table["Dover"]["rules"] == []
    bad = _json(
        capsys, settings, "add-routing-rule", "--district", "Dover", "--provider", "Nobody"
    )
    assert bad["ok"] is False
