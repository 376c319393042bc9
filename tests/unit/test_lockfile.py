"""requirements.lock covers pyproject.toml: every dependency pinned inside its range, with hashes."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
EXTRAS = ("translation", "postgres", "test")
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


def lock_entries(text: str) -> dict[str, tuple[str, list[str]]]:
    """Each locked package by normalised name: its pin line and the options after it."""
    entries: dict[str, tuple[str, list[str]]] = {}
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            line = ""
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical = (logical + line).strip()
        if logical and not logical.startswith("-"):
            pin, *options = logical.split()
            entries[canonicalize_name(re.split(r"[=<>!~\[;@ ]", pin, maxsplit=1)[0])] = (
                pin,
                options,
            )
        logical = ""
    return entries


def declared_requirements() -> list[Requirement]:
    """The main dependencies of pyproject.toml and those of the extras make install uses."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    names = list(project["dependencies"])
    for extra in EXTRAS:
        names.extend(project["optional-dependencies"][extra])
    return [Requirement(name) for name in names]


ENTRIES = lock_entries(LOCK.read_text(encoding="utf-8"))


def test_lock_parser_reads_pins_and_hashes() -> None:
    """The parser joins continuation lines and drops comments, so the checks below see them."""
    sample = (
        "--find-links /x\n\nfoo-bar==1.0 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via x\n"
    )
    assert lock_entries(sample) == {"foo-bar": ("foo-bar==1.0", ["--hash=sha256:" + "a" * 64])}


def test_lock_has_a_regeneration_header() -> None:
    """The lock says how to regenerate it."""
    assert "make lock" in LOCK.read_text(encoding="utf-8").split("\n\n", 1)[0]


def test_every_lock_line_is_an_exact_pin_with_hashes() -> None:
    """Each package is pinned with == and carries only sha256 hashes (--require-hashes)."""
    assert len(ENTRIES) > 50
    for name, (pin, options) in ENTRIES.items():
        assert PIN.match(pin), f"{name}: {pin!r} is not an exact pin"
        assert options, f"{name} has no hash"
        bad = [option for option in options if not HASH.match(option)]
        assert not bad, f"{name}: {bad} are not sha256 hashes"


def test_every_declared_dependency_is_locked_within_its_range() -> None:
    """A dependency of pyproject.toml missing from the lock or pinned outside its range fails."""
    requirements = declared_requirements()
    assert {"pytest", "mypy", "ruff", "argostranslate", "psycopg"} <= {
        canonicalize_name(r.name) for r in requirements
    }
    problems = []
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        pin = PIN.match(ENTRIES[name][0]) if name in ENTRIES else None
        if pin is None:
            problems.append(f"{requirement} has no exact pin in {LOCK.name}")
        elif not requirement.specifier.contains(pin["version"], prereleases=True):
            problems.append(f"{name}=={pin['version']} does not satisfy {requirement}")
    assert problems == []


def test_torch_is_the_cpu_build_and_no_cuda_packages_are_locked() -> None:
    """torch is the +cpu wheel: a CUDA build would bring several GB of nvidia packages."""
    pin = PIN.match(ENTRIES["torch"][0])
    assert pin
    assert Version(pin["version"]).local == "cpu"
    assert [name for name in ENTRIES if name.startswith("nvidia-")] == []


def test_extras_of_declared_dependencies_are_locked_too() -> None:
    """What an extra such as psycopg[binary] pulls in is locked as well (installed metadata)."""
    checked, missing = set(), []
    for requirement in declared_requirements():
        for extra in requirement.extras:
            for line in metadata.requires(requirement.name) or []:
                needed = Requirement(line)
                marker = needed.marker
                if marker and "extra" in str(marker) and marker.evaluate({"extra": extra}):
                    checked.add(canonicalize_name(needed.name))
                    if canonicalize_name(needed.name) not in ENTRIES:
                        missing.append(str(needed))
    assert missing == []
    assert {"apscheduler", "psycopg-binary"} <= checked
