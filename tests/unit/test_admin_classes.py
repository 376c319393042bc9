"""The ESOL class commands of the admin CLI: add-class, classes, enrol, unenrol (--json),
with bad values refused with status 2 and nothing stored."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from bot.admin import run
from bot.settings import Settings
from storage.db import Database
from storage.models import Enrolment, EsolClass, Reminder, ReminderState

CLASS = ["add-class", "--name", "Entry 3", "--venue", "Dover Library", "--weekday", "mon",
         "--time", "10:00", "--minutes", "120", "--from", "2030-01-07", "--to", "2030-03-25"]  # fmt: skip


def _json(capsys: pytest.CaptureFixture[str], settings: Settings, *argv: str) -> tuple[int, dict]:
    code = run([*argv, "--json"], settings=settings)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return code, json.loads(out[0])


@pytest.fixture
def family(capsys: pytest.CaptureFixture[str], settings: Settings) -> None:
    for argv in (
        ["seed"],
        ["add-provider", "Kent Adult Education", "--districts", "Dover"],
        ["add-family", "--ref", "KH-0001", "--district", "Dover", "--scheme", "VPRS",
         "--arrived", "2024-03-01"],
        ["add-member", "--family", "KH-0001", "--name", "Amina"],
    ):  # fmt: skip
        assert _json(capsys, settings, *argv)[0] == 0


def test_add_list_enrol_unenrol_reenrol(
    capsys: pytest.CaptureFixture[str], settings: Settings, family: None
) -> None:
    code, added = _json(capsys, settings, *CLASS, "--break", "2030-02-11:2030-02-15",
                        "--provider", "Kent Adult Education")  # fmt: skip
    assert code == 0 and added["class"]["id"] == 1 and added["class"]["weekday"] == "mon"
    enrol = ["--family", "kh-0001", "--member", "amina", "--class", "1"]
    code, done = _json(capsys, settings, "enrol", *enrol)
    # 12 Mondays, less the break week: 11 sessions, one reminder each.
    assert code == 0 and done["enrolled"] and not done["reopened"] and done["reminders"] == 11
    code, listing = _json(capsys, settings, "classes")
    [row] = listing["classes"]
    assert (row["enrolled"], row["breaks"], row["next_session"]) == (
        1, ["2030-02-11:2030-02-15"], "2030-01-07",
    )  # fmt: skip
    assert row["term"] == "2030-01-07 to 2030-03-25" and row["time"] == "10:00"
    assert _json(capsys, settings, "enrol", *enrol)[0] == 1  # already in: refused
    code, out = _json(capsys, settings, "unenrol", *enrol)
    assert code == 0 and out["reminders_cancelled"] == 11
    assert _json(capsys, settings, "unenrol", *enrol)[0] == 1  # not enrolled any more
    code, again = _json(capsys, settings, "enrol", *enrol)
    assert code == 0 and again["reopened"]
    with Database(settings.database_url).session() as session:
        assert len(session.exec(select(Enrolment)).all()) == 1
        states = [r.state for r in session.exec(select(Reminder))]
        assert states.count(ReminderState.PENDING) == 11


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--to", "2029-12-31"], "before it starts"),
        (["--break", "2030-03-20:2030-04-02"], "outside the term"),
        (["--break", "2030-02-15:2030-02-11"], "ends before it starts"),
        (["--weekday", "funday"], "unknown weekday"),
        (["--time", "10.00"], "bad time"),
        (["--minutes", "0"], "--minutes"),
        (["--provider", "Nobody"], "unknown provider"),
        (["--minutes", "two"], "invalid int value"),
    ],
)
def test_bad_classes_exit_2_and_store_nothing(
    capsys: pytest.CaptureFixture[str], settings: Settings, family: None,
    extra: list[str], words: str,
) -> None:  # fmt: skip
    code, out = _json(capsys, settings, *CLASS, *extra)
    assert code == 2 and not out["ok"] and words in out["error"]
    with Database(settings.database_url).session() as session:
        assert session.exec(select(EsolClass)).all() == []


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--family", "KH-9", "--member", "Amina", "--class", "1"], "unknown family"),
        (["--family", "KH-0001", "--member", "Zaid", "--class", "1"], "no member called"),
        (["--family", "KH-0001", "--member", "Amina", "--class", "7"], "no class 7"),
    ],
)
def test_enrol_unknowns_exit_2(
    capsys: pytest.CaptureFixture[str], settings: Settings, family: None,
    argv: list[str], words: str,
) -> None:  # fmt: skip
    assert _json(capsys, settings, *CLASS)[0] == 0
    for command in ("enrol", "unenrol"):
        code, out = _json(capsys, settings, command, *argv)
        assert code == 2 and words in out["error"]
    with Database(settings.database_url).session() as session:
        assert session.exec(select(Enrolment)).all() == []


def test_readable_listing_without_json(
    capsys: pytest.CaptureFixture[str], settings: Settings, family: None
) -> None:
    assert run(CLASS, settings=settings) == 0
    capsys.readouterr()
    assert run(["classes"], settings=settings) == 0
    text = capsys.readouterr().out
    assert "Entry 3" in text and "Dover Library" in text and "count: 1" in text
