"""Model package installation: checksums, refusals, listing and argostranslate's folders."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bot.services import argos_models
from bot.services.argos_models import (
    KNOWN_PACKAGES,
    ModelError,
    install_models,
    installed_models,
    packages_dir,
)
from bot.settings import PROJECT_ROOT
from tests.fixtures import AR_EN_WORD, EN_AR_WORD
from tests.translation.conftest import AR_EN, AR_EN_SHA, EN_AR, EN_AR_SHA


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _make_zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def test_known_packages_are_the_two_real_models() -> None:
    assert set(KNOWN_PACKAGES) == {
        "bc98cd4e27ca1cebfae9b7086b2ebc635e4dbed45e7cb5f0891cb7d22feacfad",
        "e2a6e84337f7ebbb55f9dc61dcba3a861c0d786ae5a46fa198fd8d6473f5c775",
    }
    assert AR_EN_SHA not in KNOWN_PACKAGES
    assert EN_AR_SHA not in KNOWN_PACKAGES


@pytest.mark.usefixtures("fixture_packages")
def test_install_with_explicit_checksum_lists_direction_and_version(tmp_path: Path) -> None:
    infos = install_models([AR_EN], models_dir=tmp_path, sha256=AR_EN_SHA.upper())
    assert [(i.from_code, i.to_code, i.version) for i in infos] == [("ar", "en", "0.0.1")]
    listed = installed_models(tmp_path)
    assert listed == infos
    assert listed[0].sha256 == AR_EN_SHA
    assert listed[0].model_id == f"argos ar→en 0.0.1 ({AR_EN_SHA[:8]})"
    assert listed[0].path.parent == packages_dir(tmp_path)
    # No staging or extraction leftovers beside the installed package.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["packages"]
    assert [p.name for p in packages_dir(tmp_path).iterdir()] == ["translate-ar_en"]


@pytest.mark.usefixtures("fixture_packages")
def test_listing_both_directions_sorted(tmp_path: Path) -> None:
    install_models([EN_AR], models_dir=tmp_path, sha256=EN_AR_SHA)
    install_models([AR_EN], models_dir=tmp_path, sha256=AR_EN_SHA)
    assert [m.direction for m in installed_models(tmp_path)] == [("ar", "en"), ("en", "ar")]


@pytest.mark.usefixtures("fixture_packages")
def test_reinstall_replaces_the_package(tmp_path: Path) -> None:
    install_models([AR_EN], models_dir=tmp_path, sha256=AR_EN_SHA)
    marker = packages_dir(tmp_path) / "translate-ar_en" / "stale.txt"
    marker.write_text("old")
    install_models([AR_EN], models_dir=tmp_path, sha256=AR_EN_SHA)
    assert not marker.exists()
    assert len(installed_models(tmp_path)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["packages"]


@pytest.mark.usefixtures("fixture_packages")
def test_unknown_file_without_checksum_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a known model package"):
        install_models([AR_EN], models_dir=tmp_path)
    assert installed_models(tmp_path) == []


@pytest.mark.usefixtures("fixture_packages")
def test_wrong_checksum_is_refused_before_installing(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not match the given --sha256"):
        install_models([AR_EN], models_dir=tmp_path, sha256=EN_AR_SHA)
    assert installed_models(tmp_path) == []
    assert not packages_dir(tmp_path).exists() or not any(packages_dir(tmp_path).iterdir())


@pytest.mark.usefixtures("fixture_packages")
def test_all_checksums_are_verified_before_anything_is_installed(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="translate-en_ar-tiny-random"):
        install_models([AR_EN, EN_AR], models_dir=tmp_path, sha256=AR_EN_SHA)
    assert installed_models(tmp_path) == []


def test_malformed_checksum_argument_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="64 hexadecimal"):
        install_models([tmp_path / "x.argosmodel"], models_dir=tmp_path, sha256="abc")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such file"):
        install_models([tmp_path / "absent.argosmodel"], models_dir=tmp_path)


def test_non_zip_is_refused_even_with_matching_checksum(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.argosmodel"
    bogus.write_bytes(b"not a zip at all")
    models = tmp_path / "models"
    with pytest.raises(ModelError, match="not a zip archive"):
        install_models([bogus], models_dir=models, sha256=_sha(bogus))
    assert not packages_dir(models).exists() or not any(packages_dir(models).iterdir())


def test_zip_without_metadata_is_refused(tmp_path: Path) -> None:
    archive = _make_zip(tmp_path / "empty.argosmodel", {"pkg/model/model.bin": "x"})
    models = tmp_path / "models"
    with pytest.raises(ModelError, match=r"no metadata\.json"):
        install_models([archive], models_dir=models, sha256=_sha(archive))
    assert installed_models(models) == []
    assert not (models / argos_models.STAGING_SUBDIR).exists()


def test_zip_with_unsafe_paths_is_refused(tmp_path: Path) -> None:
    archive = _make_zip(
        tmp_path / "evil.argosmodel",
        {"pkg/metadata.json": "{}", "../escape.txt": "x"},
    )
    with pytest.raises(ModelError, match="unsafe path"):
        install_models([archive], models_dir=tmp_path / "models", sha256=_sha(archive))
    assert not (tmp_path / "escape.txt").exists()


def test_package_without_model_is_refused(tmp_path: Path) -> None:
    metadata = json.dumps({"from_code": "ar", "to_code": "en", "package_version": "1"})
    archive = _make_zip(tmp_path / "nomodel.argosmodel", {"pkg/metadata.json": metadata})
    with pytest.raises(ModelError, match=r"model/model\.bin"):
        install_models([archive], models_dir=tmp_path / "models", sha256=_sha(archive))


def test_non_translation_package_is_refused(tmp_path: Path) -> None:
    metadata = json.dumps({"type": "sbd", "from_code": "ar", "to_code": "en"})
    archive = _make_zip(tmp_path / "sbd.argosmodel", {"pkg/metadata.json": metadata})
    with pytest.raises(ModelError, match="not a translation package"):
        install_models([archive], models_dir=tmp_path / "models", sha256=_sha(archive))


@pytest.mark.usefixtures("fixture_packages")
def test_without_argostranslate_nothing_is_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_models([AR_EN], models_dir=tmp_path, sha256=AR_EN_SHA)
    monkeypatch.setattr(argos_models, "argos_available", lambda: False)
    assert installed_models(tmp_path) == []


def test_configure_argos_sets_service_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("ARGOS_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(argos_models, "_configured_dir", None)
    argos_models.configure_argos(tmp_path, intra_threads=2)
    assert os.environ["ARGOS_PACKAGES_DIR"] == str(packages_dir(tmp_path.resolve()))
    assert os.environ["ARGOS_DEVICE_TYPE"] == "cpu"
    assert os.environ["ARGOS_INTRA_THREADS"] == "2"
    assert os.environ["ARGOS_INTER_THREADS"] == "1"
    assert "XDG_DATA_HOME" not in os.environ or "argos" not in os.environ["XDG_DATA_HOME"]


# argostranslate reads its settings once, at import: the folder test needs an interpreter in
# which nothing has imported it yet, whatever ran before in this pytest process.
_FOLDERS_SCRIPT = """
import json, socket, sys
from pathlib import Path

def refuse(*args, **kwargs):
    raise OSError("network access attempted")

socket.socket.connect = socket.create_connection = socket.getaddrinfo = refuse
assert "argostranslate" not in sys.modules
from bot.services.translation import Translator

translator = Translator(models_dir=Path(sys.argv[1]))
result = translator.translate_sync("Hello.", target="ar")
translator.close()
from argostranslate import settings

folders = [settings.data_dir, settings.config_dir, settings.cache_dir]
print(json.dumps({
    "status": result.status,
    "text": result.text,
    "packages": str(settings.package_data_dir),
    "folders": [str(folder) for folder in folders],
}))
"""

# argostranslate's own install and translate path, with the offline sentencizer the
# Translator installs (argos 1.11 would otherwise fetch one on first use).
_ARGOS_OWN_PATH_SCRIPT = """
import json, socket, sys

def refuse(*args, **kwargs):
    raise OSError("network access attempted")

socket.socket.connect = socket.create_connection = socket.getaddrinfo = refuse
from argostranslate import package, translate
from bot.services.translation import SimpleSentencizer

for path in sys.argv[1:]:
    package.install_from_path(path)
out = {"installed": sorted(f"{p.from_code}-{p.to_code}" for p in package.get_installed_packages())}
for source, target, text in (("ar", "en", "مرحبا. كيف حالك؟"), ("en", "ar", "Hello. Bye.")):
    translation = translate.get_translation_from_codes(source, target)
    getattr(translation, "underlying", translation).sentencizer = SimpleSentencizer()
    out[f"{source}-{target}"] = translation.translate(text)
print(json.dumps(out, ensure_ascii=False))
"""


def _fresh_python(script: str, args: list[str], home: Path) -> dict[str, Any]:
    """Run a script in a new interpreter with an empty HOME and no ARGOS_/XDG_ settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ARGOS_", "XDG_")) and name not in ("HOME", "PYTHONPATH")
    }
    env.update(HOME=str(home), PYTHONPATH=str(PROJECT_ROOT))
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.usefixtures("fixture_packages")
def test_argos_folders_are_inside_the_model_folder(tmp_path: Path) -> None:
    models = tmp_path / "models"
    install_models([AR_EN], models_dir=models, sha256=AR_EN_SHA)
    install_models([EN_AR], models_dir=models, sha256=EN_AR_SHA)
    home = tmp_path / "home"
    home.mkdir()
    out = _fresh_python(_FOLDERS_SCRIPT, [str(models)], home)
    assert (out["status"], out["text"]) == ("translated", EN_AR_WORD)
    root = models.resolve()
    assert Path(out["packages"]) == packages_dir(root)
    for folder in out["folders"]:
        assert root in Path(folder).parents
    # Nothing was created in the home folder.
    assert list(home.iterdir()) == []


@pytest.mark.usefixtures("fixture_packages")
def test_argostranslate_installs_and_translates_the_fixtures_itself(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    out = _fresh_python(_ARGOS_OWN_PATH_SCRIPT, [str(AR_EN), str(EN_AR)], home)
    assert out["installed"] == ["ar-en", "en-ar"]
    assert out["ar-en"] == f"{AR_EN_WORD} {AR_EN_WORD}"
    assert out["en-ar"] == f"{EN_AR_WORD} {EN_AR_WORD}"
