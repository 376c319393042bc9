"""Every table and column is classified for privacy: a new one fails here until it is."""

from __future__ import annotations

from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table)
from bot.services.privacy import RULES, Erase, Holds

# Column names that, wherever they appear, hold a person's name, Telegram id or words.
TELLING = {"name", "telegram_user_id", "text", "translation", "file_id", "chat_id", "payload"}


def test_every_table_and_column_is_classified() -> None:
    tables = {t.name: {c.name for c in t.columns} for t in SQLModel.metadata.sorted_tables}
    assert set(tables) - set(RULES) == set(), "classify the new tables in bot/services/privacy"
    for name, columns in tables.items():
        rule = RULES[name]
        assert columns == rule.columns, f"{name}: classify {columns ^ rule.columns}"
        assert rule.personal <= rule.columns, name


def test_family_tables_with_personal_columns_are_exported_and_erased() -> None:
    sections = [r.section for r in RULES.values() if r.holds == Holds.FAMILY]
    assert len(sections) == len(set(sections)) and "" not in sections
    for name, rule in RULES.items():
        if rule.holds != Holds.FAMILY:
            assert not rule.personal and not rule.section, name
            continue
        if rule.personal:
            assert rule.erase in (Erase.DELETE, Erase.SCRUB), name
        else:
            assert rule.erase == Erase.KEEP, name


def test_family_columns_that_tell_who_someone_is_are_personal() -> None:
    for name, rule in RULES.items():
        if rule.holds == Holds.FAMILY:
            telling = (
                (rule.columns & TELLING) - {"name"} if name == "flow" else rule.columns & TELLING
            )
            assert telling <= rule.personal, f"{name}: {telling - rule.personal} not personal"
