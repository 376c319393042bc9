"""tools/build_fixture_models.py builds packages that install and translate through our path."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bot.services.argos_models import install_models, installed_models
from bot.services.translation import Translator
from bot.settings import PROJECT_ROOT
from tests.fixtures import AR_EN, AR_EN_WORD, EN_AR, EN_AR_WORD

TOOL = PROJECT_ROOT / "tools" / "build_fixture_models.py"
NAMES = ("translate-ar_en-tiny-random.argosmodel", "translate-en_ar-tiny-random.argosmodel")


@pytest.fixture(scope="module")
def built_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the tool once into a temporary folder and return that folder."""
    out = tmp_path_factory.mktemp("built_packages")
    done = subprocess.run(
        [sys.executable, str(TOOL), str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # One line per package: name, size and sha256, which the operator copies into the tests.
    for line, name in zip(done.stdout.splitlines(), NAMES, strict=True):
        file_name, size, digest = line.split()
        assert file_name == name
        assert int(size) == (out / name).stat().st_size
        assert digest == hashlib.sha256((out / name).read_bytes()).hexdigest()
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tool_writes_two_argos_packages(built_packages: Path) -> None:
    assert sorted(p.name for p in built_packages.iterdir()) == list(NAMES)
    for name, root in zip(NAMES, ("ar_en", "en_ar"), strict=True):
        with zipfile.ZipFile(built_packages / name) as archive:
            assert sorted(archive.namelist()) == [
                f"{root}/README.md",
                f"{root}/metadata.json",
                f"{root}/model/config.json",
                f"{root}/model/model.bin",
                f"{root}/model/shared_vocabulary.json",
                f"{root}/sentencepiece.model",
            ]


def test_built_packages_install_and_translate_through_the_service(
    built_packages: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    for name in NAMES:
        install_models(
            [built_packages / name], models_dir=models, sha256=_sha(built_packages / name)
        )
    assert [m.direction for m in installed_models(models)] == [("ar", "en"), ("en", "ar")]
    translator = Translator(models_dir=models)
    try:
        arabic = translator.translate_sync("مرحبا، كيف حالك؟ أنا بخير.", target="en")
        english = translator.translate_sync("Hello there.\n\nThe heating is broken.", target="ar")
    finally:
        translator.close()
    assert (arabic.status, arabic.source, arabic.text) == (
        "translated",
        "ar",
        f"{AR_EN_WORD} {AR_EN_WORD}",
    )
    assert (english.status, english.text) == ("translated", f"{EN_AR_WORD}\n\n{EN_AR_WORD}")


@pytest.mark.usefixtures("fixture_packages")
def test_committed_fixtures_match_what_the_tool_builds(built_packages: Path) -> None:
    # The model weights may round differently under another numpy or CTranslate2; the
    # tokenizer, vocabulary, configuration and metadata must not drift from the script.
    for committed, name in zip((AR_EN, EN_AR), NAMES, strict=True):
        with zipfile.ZipFile(committed) as old, zipfile.ZipFile(built_packages / name) as new:
            assert old.namelist() == new.namelist()
            for member in old.namelist():
                if not member.endswith("model.bin"):
                    assert old.read(member) == new.read(member), member
