"""`python -m bot admin triage`: JSON and table output, texts and files, errors; no database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.admin import run
from bot.services.safeguarding import triage
from bot.settings import Settings


def _json(capsys: pytest.CaptureFixture[str], settings: Settings, *argv: str) -> dict:
    """Runs the command with --json; exactly one JSON object comes out."""
    code = run(["triage", *argv, "--json"], settings=settings)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    payload = json.loads(out[0])
    assert payload["ok"] is (code == 0)
    return payload


def test_texts_and_file_lines_in_order(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    listing = tmp_path / "wording.txt"
    listing.write_text("he hit me\n\n   \nفاتورة الغاز\nعندها نزيف\n", encoding="utf-8")
    payload = _json(capsys, settings, "زوجي يضربني", "بموت من البرد", "--file", str(listing))
    assert list(payload) == ["ok", "results"]
    results = payload["results"]
    assert [r["text"] for r in results] == [
        "زوجي يضربني",
        "بموت من البرد",
        "he hit me",
        "فاتورة الغاز",
        "عندها نزيف",
    ]
    assert [r["level"] for r in results] == ["urgent", "none", "urgent", "none", "high"]
    assert all(list(r) == ["text", "level", "signals"] for r in results)
    first = results[0]["signals"][0]
    assert list(first) == ["category", "matched", "rule"]
    assert first["category"] == "violence" and first["matched"] == "يضربني"
    assert first["rule"].startswith("ar.violence.verb+object")
    assert results[1]["signals"] == []


def test_the_cli_uses_exactly_triage(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    texts = ["bdi mout", "my back is killing me", "ابني ضايع بالمدرسة", "هددني"]
    results = _json(capsys, settings, *texts)["results"]
    for text, row in zip(texts, results, strict=True):
        expected = triage(text)
        assert row["level"] == str(expected.level)
        assert [s["matched"] for s in row["signals"]] == [s.matched for s in expected.signals]


def test_readable_table(capsys: pytest.CaptureFixture[str], settings: Settings) -> None:
    assert run(["triage", "زوجي يضربني", "بموت من البرد"], settings=settings) == 0
    out = capsys.readouterr().out
    assert "[URGENT] زوجي يضربني" in out
    assert "violence: «يضربني»" in out
    assert "not counted, self_harm: «بموت»" in out
    assert "2 text(s): 1 urgent, 0 high, 1 none" in out


def test_nothing_to_check_and_a_missing_file_are_clear_errors(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    assert _json(capsys, settings)["error"] == "give at least one TEXT or --file FILE"
    missing = _json(capsys, settings, "--file", str(tmp_path / "nope.txt"))
    assert missing["ok"] is False and "nope.txt" in missing["error"]


def test_the_real_command_line_needs_no_database(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/absent/never.db", "PATH": "/usr/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "admin", "triage", "I want to kill my self", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["results"][0]["level"] == "urgent"
    assert not (tmp_path / "absent").exists()
