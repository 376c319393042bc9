"""The admin CLI end to end on a file database: every command, --json, errors, CSV import."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

import storage.db as db_module
from bot.admin import run
from bot.services import invites, registry
from bot.settings import Settings
from storage.db import Database
from storage.models import Member, Notification


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


def _closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _one_error_line(capsys: pytest.CaptureFixture[str], code: int, status: int = 1) -> str:
    """The single readable line a failed command prints (stderr), nothing on stdout."""
    captured = capsys.readouterr()
    assert code == status
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["--json"],
        ["--json", "bogus"],
        ["add-family", "--json", "--ref"],
        ["invite", "--family", "KH-1", "--days", "soon", "--json"],
        ["invite", "--json", "--family", "KH-1", "--staff", "2"],
    ],
)
def test_usage_errors_with_json_anywhere_are_one_json_object(
    capsys: pytest.CaptureFixture[str], settings: Settings, argv: list[str]
) -> None:
    assert run(argv, settings=settings) == 2
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1, lines
    payload = json.loads(lines[0])
    assert payload["ok"] is False and "python -m bot admin" in payload["error"]
    assert "usage:" not in payload["error"]


def test_usage_errors_without_json_are_one_readable_line(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    line = _one_error_line(capsys, run(["add-member", "--family"], settings=settings), 2)
    assert line.startswith("error: python -m bot admin add-member: argument --family")
    line = _one_error_line(capsys, run(["districs"], settings=settings), 2)
    assert "invalid choice: 'districs'" in line and "'districts'" in line


def _bad_urls() -> list[tuple[str, str]]:
    """DATABASE_URLs that cannot work, with what the answer must say."""
    port = _closed_port()
    return [
        (f"postgresql+psycopg://sanad:s3cret@127.0.0.1:{port}/sanad", "Connection refused"),
        ("postgres://sanad:s3cret@127.0.0.1/sanad", "postgresql+psycopg://"),
        ("definitely not a url", "not a database URL"),
        ("mysql://sanad@127.0.0.1/sanad", "unsupported database (mysql)"),
        ("sqlite:////nonexistent-sanad-folder/sanad.db", "folder of the SQLite database"),
    ]


# Named, not shown: the closed port differs between collections (pytest-xdist's workers).
@pytest.mark.parametrize(("url", "said"), _bad_urls(), ids=lambda value: str(value)[:24])
def test_database_trouble_is_one_line_or_one_json_object(
    capsys: pytest.CaptureFixture[str], url: str, said: str
) -> None:
    settings = Settings(database_url=url)
    for argv in (["seed"], ["districts"], ["invite", "--staff", "1"]):
        payload = _json(capsys, settings, *argv)
        assert said in payload["error"] and "s3cret" not in payload["error"]
        line = _one_error_line(capsys, run(argv, settings=settings))
        assert said in line and "s3cret" not in line
    assert not Path("/nonexistent-sanad-folder").exists()


def test_a_stopped_postgresql_answers_in_one_json_line_from_a_process() -> None:
    url = f"postgresql+psycopg://sanad:s3cret@127.0.0.1:{_closed_port()}/sanad"
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    for argv, stream in ((["seed", "--json"], "stdout"), (["families"], "stderr")):
        done = subprocess.run(
            [sys.executable, "-m", "bot", "admin", *argv],
            capture_output=True, text=True, env=env, check=False, timeout=120,
        )  # fmt: skip
        assert done.returncode == 1
        output = getattr(done, stream)
        assert len(output.strip().splitlines()) == 1, (done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
        assert "cannot use the database" in output and "s3cret" not in output


def test_the_default_data_folder_is_created_but_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setattr(db_module, "DEFAULT_DATA_DIR", data)
    db_module.check_url(f"sqlite:///{data / 'sanad.db'}")
    assert data.is_dir()
    with pytest.raises(db_module.DatabaseConfigError, match="does not exist"):
        db_module.check_url(f"sqlite:///{tmp_path / 'dat' / 'sanad.db'}")
    assert not (tmp_path / "dat").exists()


def test_an_unexpected_failure_is_one_line_without_its_details(
    capsys: pytest.CaptureFixture[str], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(session: object, **_: object) -> None:
        raise KeyError("Amina Ali")

    monkeypatch.setattr(registry, "seed", broken)
    payload = _json(capsys, settings, "seed")
    assert payload["error"] == "unexpected error (KeyError); nothing was changed"
    line = _one_error_line(capsys, run(["seed"], settings=settings))
    assert "Amina" not in line


@pytest.mark.parametrize("kind", ["districts", "schemes", "categories"])
def test_reference_data_is_listed(
    capsys: pytest.CaptureFixture[str], settings: Settings, kind: str
) -> None:
    _json(capsys, settings, "seed")
    payload = _json(capsys, settings, kind)
    assert payload["count"] == len(payload[kind]) > 0
    assert run([kind], settings=settings) == 0
    table = capsys.readouterr().out
    first = payload[kind][0]
    assert str(next(iter(first.values()))) in table


def test_providers_staff_and_families_are_listed(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    _json(capsys, settings, "seed")
    _json(capsys, settings, "add-provider", "KRA", "--districts", "Dover,Thanet")
    staff = _json(capsys, settings, "add-staff", "--role", "caseworker", "--name", "Sam",
                  "--provider", "KRA")  # fmt: skip
    _json(capsys, settings, "add-family", "--ref", "KH-9", "--district", "Dover", "--scheme",
          "UKRS", "--arrived", "2024-01-01", "--caseworker", str(staff["staff_id"]))  # fmt: skip
    _json(capsys, settings, "add-member", "--family", "KH-9", "--name", "Amina")
    providers = _json(capsys, settings, "providers")["providers"]
    assert providers == [{"provider_id": 1, "name": "KRA", "districts": ["Dover", "Thanet"],
                          "staff": 1, "active": True}]  # fmt: skip
    assert _json(capsys, settings, "staff")["staff"] == [
        {"staff_id": staff["staff_id"], "name": "Sam", "role": "caseworker", "provider": "KRA",
         "linked": False, "active": True}
    ]  # fmt: skip
    family = _json(capsys, settings, "families")["families"][0]
    assert family["ref"] == "KH-9" and family["caseworker"] == "Sam"
    assert family["members"] == ["Amina"] and family["linked"] == []
    assert run(["families"], settings=settings) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split() == ["ref", "district", "scheme", "arrived", "support_ends_on",
                                "caseworker", "members", "linked"]  # fmt: skip
    assert table[2].split()[:3] == ["KH-9", "Dover", "UKRS"]


def test_seed_and_routing_rules_print_readable_tables(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    assert run(["seed"], settings=settings) == 0
    out = capsys.readouterr().out
    assert "added:" in out and "districts   12" in out
    _json(capsys, settings, "add-provider", "A", "--districts", "Dover")
    _json(capsys, settings, "add-routing-rule", "--district", "Dover", "--provider", "A",
          "--category", "health")  # fmt: skip
    assert run(["routing-rules"], settings=settings) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows["Dover"].split()[1:] == ["no", "A", "#1", "health→A"]
    assert rows["Ashford"].split()[1:] == ["yes", "-", "-"]


def test_no_silent_surprises(capsys: pytest.CaptureFixture[str], settings: Settings) -> None:
    _json(capsys, settings, "seed")
    _json(capsys, settings, "add-provider", "First", "--districts", "Dover,Thanet")
    refused = _json(capsys, settings, "add-provider", "Third", "--districts", "Dover")
    assert "Dover is in the Lot of 'First'" in refused["error"] and "--move" in refused["error"]
    moved = _json(capsys, settings, "add-provider", "Third", "--districts", "Dover", "--move")
    assert moved["moved"] == [{"district": "Dover", "from_provider": "First"}]

    rule = ["add-routing-rule", "--district", "Thanet", "--provider", "Third"]
    assert _json(capsys, settings, *rule)["ok"]
    twice = _json(capsys, settings, *rule)
    assert "already routes every request from Thanet" in twice["error"]
    unknown = _json(capsys, settings, *rule, "--category", "weather")
    assert "unknown category: 'weather' (valid: housing, health" in unknown["error"]

    coordinator = _json(capsys, settings, "add-staff", "--role", "coordinator", "--name", "Kim",
                        "--provider", "First")  # fmt: skip
    assert "leave out --provider" in coordinator["error"]
    far = _json(capsys, settings, "add-family", "--ref", "F1", "--district", "Dover",
                "--scheme", "VPRS", "--arrived", "2099-01-01")  # fmt: skip
    assert "more than 90 days ahead" in far["error"]
    scheme = _json(capsys, settings, "add-family", "--ref", "F1", "--district", "Dover",
                   "--scheme", "NOPE", "--arrived", "2024-01-01")  # fmt: skip
    assert "(valid: UKRS, VCRS, VPRS)" in scheme["error"]
    _json(capsys, settings, "add-family", "--ref", "F1", "--district", "Dover",
          "--scheme", "VPRS", "--arrived", "2024-01-01")  # fmt: skip
    _json(capsys, settings, "add-member", "--family", "F1", "--name", "Amina")
    again = _json(capsys, settings, "add-member", "--family", "F1", "--name", " AMINA ")
    assert "already has a member called 'Amina'" in again["error"]
    for days in ("0", "-1"):
        short = _json(capsys, settings, "invite", "--family", "F1", "--days", days)
        assert "an invite lasts 1 to 90 days" in short["error"]


def test_the_arrival_horizon_is_a_setting(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    _json(capsys, settings, "seed")
    soon = (date.today() + timedelta(days=20)).isoformat()
    family = ["add-family", "--ref", "F2", "--district", "Dover", "--scheme", "VPRS"]
    strict = replace(settings, arrival_horizon_days=10)
    assert "more than 10 days ahead" in _json(capsys, strict, *family, "--arrived", soon)["error"]
    assert _json(capsys, settings, *family, "--arrived", soon)["ok"]


def test_reinviting_a_connected_member_needs_relink(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    _json(capsys, settings, "seed")
    _json(capsys, settings, "add-family", "--ref", "F3", "--district", "Dover",
          "--scheme", "VPRS", "--arrived", "2024-01-01")  # fmt: skip
    _json(capsys, settings, "add-member", "--family", "F3", "--name", "Amina")
    code = _json(capsys, settings, "invite", "--family", "F3")["code"]
    db = Database(settings.database_url)
    with db.session() as session:
        invites.redeem(session, raw_code=code, telegram_user_id=4242)
    refused = _json(capsys, settings, "invite", "--family", "F3")
    assert "Amina is already connected" in refused["error"] and "--relink" in refused["error"]
    relinked = _json(capsys, settings, "invite", "--family", "F3", "--relink")
    assert relinked["relinked"] is True
    with db.session() as session:
        assert session.exec(select(Member)).one().telegram_user_id is None
        notice = session.exec(select(Notification)).one()
        assert notice.chat_id == 4242 and notice.kind == "account.unlinked"
    db.dispose()
