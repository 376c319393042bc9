"""Regenerate requirements.lock: every package Sanad installs, pinned, with its sha256 hashes.

Run through ``make lock`` (keeps the current pins the ranges in pyproject.toml still allow) or
``make lock UPGRADE=1`` (newest releases). Needs only the standard library and the package index.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
EXTRAS = ("translation", "postgres", "test")
PIP_TOOLS = "pip-tools==7.6.2"
# Named here rather than in pyproject.toml. torch: argostranslate needs it (through stanza) and
# only the CPU build in /opt/wheels (found through pip's find-links) keeps the install small;
# unpinned, a resolve takes a CUDA build of several GB. pip: the installer itself, so the same
# pip installs the same files everywhere.
EXTRA_INPUTS = ("torch==2.13.0", "pip")
INPUTS_LABEL = "tools/lock.py"
HEADER = """\
# Sanad's locked dependencies: the bot, the translation, postgres and test extras, the build
# backend and pip, each pinned with the sha256 of every file pip may install. `make install`
# uses it with `pip install --require-hashes -r requirements.lock`.
#
# Regenerate with `make lock` (keeps the pins pyproject.toml still allows) or
# `make lock UPGRADE=1` (newest releases). That runs tools/lock.py: pip-compile
# ({pip_tools}) with this machine's pip configuration, for Python 3.11 on Linux x86_64.
# torch is the CPU build from /opt/wheels (--find-links below), pinned by that file's hash.
#
"""


def build_requirements() -> list[str]:
    """The build backend pyproject.toml names, locked so `--no-build-isolation` installs it."""
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    return list(data["build-system"]["requires"])


def compile_lock(pip_compile: Path, inputs: Path, *, upgrade: bool) -> None:
    """Run pip-compile over pyproject.toml and the extra inputs, writing the lock file."""
    command = [
        str(pip_compile),
        "--quiet",
        "--generate-hashes",
        "--allow-unsafe",  # pins pip and setuptools too
        "--strip-extras",
        "--no-header",
        "--no-emit-index-url",  # the machine's pip configuration names the indexes
        "--extra",
        ",".join(EXTRAS),
        "--output-file",
        LOCK.name,
        PYPROJECT.name,
        str(inputs),
    ]
    if upgrade:
        command.append("--upgrade")
    subprocess.run(command, cwd=ROOT, check=True)


def finish(inputs: Path) -> None:
    """Put the header on the lock and name the extra inputs by where they are written."""
    body = LOCK.read_text(encoding="utf-8")
    for spelling in {str(inputs), os.path.relpath(inputs, ROOT)}:
        body = body.replace(f"-r {spelling}", INPUTS_LABEL)
    LOCK.write_text(HEADER.format(pip_tools=PIP_TOOLS) + body, encoding="utf-8")


def main() -> int:
    """Install pip-tools in a throwaway venv and regenerate the lock."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upgrade", action="store_true", help="move every pin to the newest")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sanad-lock-") as scratch:
        tools = Path(scratch) / "venv"
        venv.create(tools, with_pip=True)
        python = tools / "bin" / "python"
        subprocess.run([python, "-m", "pip", "install", "--quiet", PIP_TOOLS], check=True)
        inputs = Path(scratch) / "lock-inputs.in"
        lines = [*EXTRA_INPUTS, *build_requirements()]
        inputs.write_text("\n".join(lines) + "\n", encoding="utf-8")
        compile_lock(tools / "bin" / "pip-compile", inputs, upgrade=args.upgrade)
        finish(inputs)
    print(f"wrote {LOCK.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
