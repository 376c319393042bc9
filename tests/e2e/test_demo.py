"""The offline demo's story runs to the end, tells the truth about translation, leaves nothing."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from sqlmodel import select

from bot.demo import INSTALL_COMMAND, PERSONAS, run_demo, translation_setup
from bot.i18n import texts
from bot.services import argos_models
from storage.db import Database
from storage.models import Member, TicketMessage

AR = texts("ar")
# The random-weight test package for ar→en (tests/fixtures/models): not a real model.
FIXTURE_SHA = "d290bc54a434dcc1f2e45d4965105fff646ae73ae2dda269d02c7fc90e818466"
REAL_SHA = next(iter(argos_models.KNOWN_PACKAGES))


def fake_installed(models_dir: Path, sha256: str, pair: tuple[str, str] = ("ar", "en")) -> Path:
    """An installed package folder as install_models leaves it (metadata and record only)."""
    folder = argos_models.packages_dir(models_dir) / f"translate-{pair[0]}_{pair[1]}"
    folder.mkdir(parents=True)
    metadata = {"package_version": "1.0", "from_code": pair[0], "to_code": pair[1]}
    (folder / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    record = {"sha256": sha256, "file": "x.argosmodel"}
    (folder / argos_models.INSTALL_RECORD).write_text(json.dumps(record), encoding="utf-8")
    return folder


def arabic(msgid: str) -> str:
    """The Arabic the bot shows for a msgid (and proof the catalogue has it)."""
    text = AR._(msgid)
    assert text != msgid and any("\u0600" <= c <= "\u06ff" for c in text)
    return text


async def test_the_story_runs_ends_with_a_new_member_joining_and_cleans_up(
    tmp_path: Path,
) -> None:
    models = tmp_path / "models"
    fake_installed(models, FIXTURE_SHA)  # random-weight test models must never be shown
    before = set(asyncio.all_tasks())
    out = io.StringIO()
    database = tmp_path / "demo.db"
    code = await run_demo(
        interactive=False, database=database, out=out, models_dir=models, pause=0.15
    )
    assert code == 0
    transcript = out.getvalue()
    assert f"👆 Amina (family, Arabic) taps [ {arabic('✅ I understand')} ]" in transcript
    assert arabic("From now on I will write to you in Arabic.") in transcript
    assert "From now on I will write to you in English." in transcript
    assert "📥 New request" in transcript and "K-0001" in transcript
    assert "↩️ Sam (caseworker) replies to K-0001" in transcript
    assert "An engineer will visit tomorrow between 9 and 12." in transcript
    assert "تم حل طلبك" in transcript
    assert "you need your own invite link" in transcript
    # Translation: the fixture models are named as unusable; the install command is given.
    assert "are not the Argos Translate 1.0 packages" in transcript
    assert INSTALL_COMMAND in transcript
    # The story ends with a new member added, invited and joining (not a re-invite).
    assert "$ python -m bot admin add-member --family KH-0042 --name Omar" in transcript
    assert "Invite for Omar of family KH-0042" in transcript
    assert "Invite for Amina" not in transcript
    assert f"👆 Omar (family, Arabic) taps [ {arabic('✅ I understand')} ]" in transcript
    assert transcript.rstrip().endswith("Demo finished. Everything it started has stopped.")
    db = Database(f"sqlite:///{database}")
    try:
        with db.session() as session:
            omar = session.exec(select(Member).where(Member.name == "Omar")).one()
            amina = session.exec(select(Member).where(Member.name == "Amina")).one()
            statuses = {m.translation_status for m in session.exec(select(TicketMessage))}
    finally:
        db.dispose()
    omar_spec = next(p for p in PERSONAS if p.key == "omar")
    assert omar.telegram_user_id == omar_spec.user_id and omar.consent_at is not None
    assert amina.telegram_user_id == PERSONAS[0].user_id  # Amina kept her account
    assert "translated" not in statuses and "no_model" in statuses
    await asyncio.sleep(0)
    assert {t for t in asyncio.all_tasks() if not t.done()} - before == set()


def test_without_models_the_demo_says_so_and_how_to_install_them(tmp_path: Path) -> None:
    setup = translation_setup(tmp_path / "models")
    text = "\n".join(setup.explanation)
    assert not setup.real and setup.bot_models_dir is None
    assert "No translation model is installed" in text and str(tmp_path / "models") in text
    assert "untranslated and are marked as such" in text
    assert INSTALL_COMMAND in text


def test_random_weight_models_are_never_used_as_translation(tmp_path: Path) -> None:
    fake_installed(tmp_path, REAL_SHA, ("en", "ar"))
    fake_installed(tmp_path, FIXTURE_SHA, ("ar", "en"))
    setup = translation_setup(tmp_path)
    assert not setup.real and setup.bot_models_dir is None
    assert "not the Argos Translate 1.0 packages" in "\n".join(setup.explanation)


def test_real_models_are_used_and_named(tmp_path: Path) -> None:
    shas = iter(argos_models.KNOWN_PACKAGES)
    fake_installed(tmp_path, next(shas), ("ar", "en"))
    fake_installed(tmp_path, next(shas), ("en", "ar"))
    setup = translation_setup(tmp_path)
    text = "\n".join(setup.explanation)
    assert setup.real and setup.bot_models_dir == tmp_path
    assert "argos ar→en 1.0 (bc98cd4e)" in text and "argos en→ar 1.0 (e2a6e843)" in text
    assert "English machine translation, marked as such" in text
