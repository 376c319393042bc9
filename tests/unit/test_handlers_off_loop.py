"""Handlers never open a database session on the event loop: every intent goes through
``Database.run`` (a worker thread, one transaction, no Telegram call inside it)."""

from __future__ import annotations

import ast
from pathlib import Path

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"

# Handlers that may still open a session on the event loop, each with the reason. Keep empty.
ALLOWED: dict[str, str] = {}


def _blocking_calls(source: str) -> list[tuple[int, str]]:
    """(line, call) of every ``….session(…)``, ``Session(…)`` or ``….engine`` use in a module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "session":
                found.append((node.lineno, ".session("))
            elif isinstance(func, ast.Name) and func.id == "Session":
                found.append((node.lineno, "Session("))
        elif isinstance(node, ast.Attribute) and node.attr == "engine":
            found.append((node.lineno, ".engine"))
    return sorted(found)


def test_no_handler_opens_a_session_on_the_event_loop() -> None:
    offenders = [
        f"handlers/{path.name}:{line}: {call}"
        for path in sorted(HANDLERS.glob("*.py"))
        if path.name not in ALLOWED
        for line, call in _blocking_calls(path.read_text())
    ]
    assert offenders == [], "use `await context.db.run(service_function, …)` instead"


def test_the_check_finds_every_blocking_form() -> None:
    source = (
        "with context.db.session() as s:\n    pass\n"
        "with db.session() as s:\n    pass\n"
        "s = Session(db.engine)\n"
    )
    assert _blocking_calls(source) == [
        (1, ".session("),
        (3, ".session("),
        (5, ".engine"),
        (5, "Session("),
    ]
    assert _blocking_calls("await context.db.run(tickets.claim, person=p, ticket_id=1)") == []


def test_the_allowed_list_names_only_existing_modules_with_a_reason() -> None:
    for name, reason in ALLOWED.items():
        assert (HANDLERS / name).is_file(), name
        assert reason.strip(), name
