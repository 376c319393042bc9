"""The delivery engine's structure: one render function per kind, and no import cycle among
Sanad's own modules (the old notify → translate → staff_tickets → notify is gone, and so are
dispatcher → failures → dispatcher and runner → demo → runner)."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.delivery.dispatcher import Dispatcher
from bot.settings import Settings
from handlers.notices import RENDERERS
from storage.models import NoticeKind

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "storage")


def test_every_kind_has_exactly_one_render_function() -> None:
    assert set(RENDERERS) == set(NoticeKind)
    assert len({r.render for r in RENDERERS.values()}) == len(NoticeKind)


def _imports() -> dict[str, set[str]]:
    """Each module's imports of Sanad's own modules, at any depth (lazy ones included)."""
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                submodules = [f"{node.module}.{a.name}" for a in node.names]
                named = [t for t in submodules if t in modules]
                targets = named or [node.module]  # `from pkg import mod` imports mod
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found.update(t for t in targets if t in modules and t != name)
        graph[name] = found
    return graph


def test_sanads_modules_have_no_import_cycle() -> None:
    graph = _imports()
    scope = set(graph)  # bot (services, delivery, failures, runner, demo), handlers, storage
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node] & scope):
            if state.get(nxt) == 1:
                cycle.extend([*path, node, nxt])
                return True
            if nxt not in state and visit(nxt, [*path, node]):
                return True
        state[node] = 2
        return False

    for module in sorted(scope):
        if module not in state and visit(module, []):
            break
    assert cycle == []


def test_the_dispatcher_claims_under_the_outbox_worker_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTBOX_WORKER", "web-2")
    app = SimpleNamespace(bot_data=SimpleNamespace(db=None, settings=Settings.from_env()))
    assert Dispatcher(app).worker == "web-2"
    monkeypatch.delenv("OUTBOX_WORKER")
    app.bot_data.settings = Settings.from_env()
    assert Dispatcher(app).worker == "main"
