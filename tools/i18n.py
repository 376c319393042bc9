"""The gettext workflow: extract, update (no fuzzy matching), compile with statistics, check.

Run through the Makefile (``make i18n-extract``, ``i18n-update``, ``i18n-compile``,
``i18n-check``). The Arabic ``Plural-Forms`` header is pinned to CLDR order on every update.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from bot.languages import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"
# CLDR order zero, one, two, few, many, other; `pybabel init -l ar` swaps the last two.
ARABIC_PLURALS = (
    "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : "
    "n%100>=11 ? 4 : 5);"
)
PYBABEL = [sys.executable, "-m", "babel.messages.frontend"]
VERSION = "0.1.0"
TEAM_EMAIL = "sanad@kent.gov.uk"
TEAM = f"Sanad team <{TEAM_EMAIL}>"
# Who answers for each catalog: the Arabic is reviewed by the programme's Arabic speakers.
LANGUAGE_TEAMS = {
    "ar": f"Sanad Arabic translators <{TEAM_EMAIL}>",
    "en": f"Sanad team <{TEAM_EMAIL}>",
}
HEADER_COMMENT = (
    "# {language} translations for Sanad.\n"
    "# Copyright (C) 2026 Kent County Council\n"
    "# This file is distributed under the same license as the Sanad project.\n"
    f"# {TEAM}, 2026."
)
# Texts._, Texts.n_, and the msgctxt forms Texts.p_(context, msgid), Texts.np_(context, s, p, n).
KEYWORDS = ("-k", "_", "-k", "n_:1,2", "-k", "p_:1c,2", "-k", "np_:1c,2,3")


def po_path(language: str) -> Path:
    """The catalog of one language."""
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


def extract(output: Path = POT) -> None:
    """Collects every t._(), t.n_(), t.p_() and t.np_() string into messages.pot."""
    subprocess.run(
        [*PYBABEL, "extract", "-F", str(ROOT / "babel.cfg"), *KEYWORDS,
         "--add-comments=TRANSLATORS:", "--sort-by-file", "--no-wrap",
         "--project=Sanad", f"--version={VERSION}", "--copyright-holder=Kent County Council",
         f"--msgid-bugs-address={TEAM_EMAIL}", f"--last-translator={TEAM}",
         "-o", str(output), "bot", "handlers"],
        check=True, cwd=ROOT, capture_output=True,
    )  # fmt: skip


def update() -> None:
    """Merges the template into each catalog without fuzzy guesses; English mirrors msgids."""
    with POT.open("rb") as handle:
        template = read_po(handle)
    for language in LANGUAGES:
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            catalog = read_po(POT.open("rb"), locale=language)
            for message in catalog:
                message.string = ("", "") if message.pluralizable else ""
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        _complete_header(catalog, language)
        if language == "en":
            for message in catalog:
                if message.id:
                    message.string = message.id
        with path.open("wb") as handle:
            write_po(handle, catalog, width=0, omit_header=False)
        _pin_header(path, language)


def _complete_header(catalog: Catalog, language: str) -> None:
    """A real header: who translated, which team, when; never marked fuzzy."""
    catalog.fuzzy = False
    catalog.version = VERSION
    catalog.msgid_bugs_address = TEAM_EMAIL
    catalog.last_translator = TEAM
    catalog.language_team = LANGUAGE_TEAMS[language]
    catalog.revision_date = datetime.now(UTC).replace(microsecond=0)
    name = "Arabic" if language == "ar" else "English"
    catalog.header_comment = HEADER_COMMENT.format(language=name)


def _pin_header(path: Path, language: str) -> None:
    """Rewrites the Plural-Forms header line babel may have changed."""
    if language != "ar":
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    out = []
    for line in lines:
        if line.startswith('"Plural-Forms:'):
            line = f'"Plural-Forms: {ARABIC_PLURALS}\\n"\n'
        out.append(line)
    path.write_text("".join(out), encoding="utf-8")


def compile_catalogs() -> None:
    """Builds .mo files (for tools that want them) and prints statistics."""
    for language in LANGUAGES:
        subprocess.run(
            [*PYBABEL, "compile", "--statistics", "-i", str(po_path(language)),
             "-o", str(po_path(language).with_suffix(".mo")), "-l", language],
            check=True, cwd=ROOT,
        )  # fmt: skip


def check() -> int:
    """Fails when the template is out of date or any Arabic string is missing."""
    with POT.open("rb") as handle:
        before = _keys(read_po(handle))
    with tempfile.TemporaryDirectory() as folder:
        fresh = Path(folder) / "messages.pot"
        extract(fresh)
        with fresh.open("rb") as handle:
            after = _keys(read_po(handle))
    problems = []
    if before != after:
        problems.append("messages.pot is out of date: run make i18n-extract i18n-update")
    for language in LANGUAGES:
        with po_path(language).open("rb") as handle:
            catalog = read_po(handle, locale=language)
        missing = [m.id for m in catalog if m.id and (m.fuzzy or not all(_strings(m.string)))]
        if _keys(catalog) != after:
            problems.append(f"{language}: catalog not in sync with messages.pot")
        if missing:
            problems.append(f"{language}: {len(missing)} untranslated or fuzzy")
        if catalog.fuzzy or catalog.last_translator != TEAM:
            problems.append(f"{language}: header is fuzzy or has no real Last-Translator")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def _keys(catalog: Iterable[Message]) -> set[tuple[str | None, object]]:
    """Each message's (msgctxt, msgid): the same English may be a button and a status."""
    return {(m.context, m.id) for m in catalog if m.id}


def _strings(value: object) -> tuple[str, ...]:
    """A message's string(s) as a tuple."""
    return tuple(value) if isinstance(value, tuple | list) else (str(value or ""),)


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else "check"
    if action == "extract":
        extract()
    elif action == "update":
        update()
    elif action == "compile":
        compile_catalogs()
    else:
        sys.exit(check())
