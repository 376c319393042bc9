"""The domain vocabulary: enums hold the values rows and data already use, languages are one list."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.dialects import sqlite
from sqlmodel import AutoString, select

from bot import i18n, languages
from bot.i18n import texts
from bot.services import audiences, people, registry, safeguarding_legacy
from bot.settings import PROJECT_ROOT
from handlers.render import priority_name
from storage.models import (
    Direction,
    PriorityCode,
    TicketMessage,
    TranslationStatus,
)


def test_stored_values_never_change() -> None:
    """Rows written before the enums hold these strings: renaming one would orphan them."""
    assert {d.value for d in Direction} == {"in", "out", "note"}
    assert {s.value for s in TranslationStatus} == {
        "translated",
        "human",
        "same_language",
        "no_model",
        "failed",
    }


@pytest.mark.parametrize("column", ["direction", "translation_status"])
def test_enum_columns_stay_plain_strings(column: str) -> None:
    """A SQLAlchemy Enum would store member names ("IN"), not the values existing rows hold."""
    column_type = TicketMessage.__table__.c[column].type  # type: ignore[attr-defined]
    assert isinstance(column_type, AutoString), column_type


def test_enum_binds_its_value() -> None:
    query = select(TicketMessage.id).where(TicketMessage.direction == Direction.NOTE)
    sql = str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    assert "direction = 'note'" in sql


def test_reference_priorities_are_the_codes_the_bot_names() -> None:
    """Every priority the reference data seeds (and gives a category) has a PriorityCode."""
    data = json.loads(registry.REFERENCE_FILE.read_text("utf-8"))
    seeded = {entry["code"] for entry in data["priorities"]}
    assert seeded == {p.value for p in PriorityCode}
    assert {entry["priority"] for entry in data["categories"]} <= seeded


@pytest.mark.parametrize("language", languages.LANGUAGES)
def test_every_priority_has_a_name(language: str) -> None:
    """Staff never read a raw code such as "urgent" on an Arabic card."""
    t = texts(language)
    names = {code: priority_name(t, code) for code in PriorityCode}
    assert len(set(names.values())) == len(PriorityCode)
    if language == languages.Language.AR:
        assert not any(name == code.value for code, name in names.items())


def test_one_list_of_languages() -> None:
    """Every module that lists languages uses the one list, and each has a catalogue."""
    assert languages.LANGUAGES == ("ar", "en")
    for module in (i18n, audiences, safeguarding_legacy, registry, people):
        assert module.LANGUAGES is languages.LANGUAGES, module.__name__
    catalogues = {path.name for path in (PROJECT_ROOT / "locales").iterdir() if path.is_dir()}
    assert catalogues == set(languages.LANGUAGES)
