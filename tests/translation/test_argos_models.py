"""Model package installation: checksums, refusals, listing and argostranslate's folders."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from bot.services import argos_models
from bot.services.argos_models import (
    KNOWN_PACKAGES,
    ModelError,
    install_models,
    installed_models,
    packages_dir,
)
from tests.translation.conftest import AR_EN, AR_EN_SHA, EN_AR, EN_AR_SHA, requires_fixtures


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


@requires_fixtures
def test_install_with_explicit_checksum_lists_direction_and_version(tmp_path: Path) -> None:
    infos = install_models([AR_EN], models_dir=tmp_path, sha256=AR_EN_SHA.upper())
    assert [(i.from_code, i.to_code, i.version) for i in infos] == [("ar", "en", "0.0.1")]
    listed = installed_models(tmp_path)
    assert listed == infos
    assert listed[0].sha256 == AR_EN_SHA
    assert listed[0].model_id == "argos ar→en 0.0.1 (b6d36244)"
    assert listed[0].path.parent == packages_dir(tmp_path)
    # No staging or extraction leftovers beside the installed package.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["packages"]
    assert [p.name for p in packages_dir(tmp_path).iterdir()] == ["translate-ar_en"]


@requires_fixtures
def test_listing_both_directions_sorted(tmp_path: Path) -> None:
    install_models([EN_AR], models_dir=tmp_path, sha256=EN_AR_SHA)
    install_models([AR_EN], models_dir=tmp_path, sha256=AR_EN_SHA)
    assert [m.direction for m in installed_models(tmp_path)] == [("ar", "en"), ("en", "ar")]


@requires_fixtures
def test_reinstall_replaces_the_package(tmp_path: Path) -> None:
    install_models([AR_EN], models_dir=tmp_path, sha256=AR_EN_SHA)
    marker = packages_dir(tmp_path) / "translate-ar_en" / "stale.txt"
    marker.write_text("old")
    install_models([AR_EN], models_dir=tmp_path, sha256=AR_EN_SHA)
    assert not marker.exists()
    assert len(installed_models(tmp_path)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["packages"]


@requires_fixtures
def test_unknown_file_without_checksum_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a known model package"):
        install_models([AR_EN], models_dir=tmp_path)
    assert installed_models(tmp_path) == []


@requires_fixtures
def test_wrong_checksum_is_refused_before_installing(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not match the given --sha256"):
        install_models([AR_EN], models_dir=tmp_path, sha256=EN_AR_SHA)
    assert installed_models(tmp_path) == []
    assert not packages_dir(tmp_path).exists() or not any(packages_dir(tmp_path).iterdir())


@requires_fixtures
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


@requires_fixtures
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


def test_argos_folders_are_inside_the_model_folder(
    models_dir: Path, argos_imported_before: bool, private_home: Path
) -> None:
    from bot.services.translation import Translator

    if argos_imported_before:
        pytest.skip("argostranslate was imported by another test before this package")
    translator = Translator(models_dir=models_dir)
    try:
        assert translator.translate_sync("Hello.", target="ar").status == "translated"
    finally:
        translator.close()
    from argostranslate import settings

    root = models_dir.resolve()
    assert settings.package_data_dir == packages_dir(root)
    for folder in (settings.data_dir, settings.config_dir, settings.cache_dir):
        assert root in Path(folder).parents
    # Nothing was created in the (temporary) home folder.
    assert not any(private_home.iterdir())
