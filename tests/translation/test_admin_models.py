"""The admin CLI's model commands: install-models (checksum-verified) and models, with --json."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from bot.admin import run
from bot.services.argos_models import installed_models, packages_dir
from bot.settings import Settings
from tests.translation.conftest import AR_EN, AR_EN_SHA, EN_AR, EN_AR_SHA

WRONG_SHA = "0" * 64


@pytest.fixture
def settings(tmp_path: Path, private_home: Path) -> Settings:
    """Settings with a database path and model folder under tmp_path (HOME is private)."""
    return Settings(
        bot_token="123456:TEST-TOKEN",
        bot_username="sanad_test_bot",
        database_url=f"sqlite:///{tmp_path / 'sanad.db'}",
        models_dir=tmp_path / "models",
    )


def _json(capsys: pytest.CaptureFixture[str], settings: Settings, *argv: str) -> dict:
    code = run([*argv, "--json"], settings=settings)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    payload = json.loads(out[0])
    assert payload["ok"] is (code == 0)
    assert code in (0, 1)
    return payload


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _nothing_installed(settings: Settings) -> bool:
    folder = packages_dir(settings.models_dir)
    return not folder.is_dir() or not any(folder.iterdir())


@pytest.mark.usefixtures("fixture_packages")
def test_install_both_then_list_both_directions(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    assert _json(capsys, settings, "models")["models"] == []
    result = _json(
        capsys,
        settings,
        "install-models",
        str(AR_EN),
        str(EN_AR),
        "--sha256",
        AR_EN_SHA,
        "--sha256",
        EN_AR_SHA.upper(),
    )
    assert result["ok"] is True
    assert result["installed"] == [
        {
            "direction": "ar→en",
            "from_code": "ar",
            "to_code": "en",
            "version": "0.0.1",
            "name": "translate-ar_en",
            "sha256": AR_EN_SHA,
        },
        {
            "direction": "en→ar",
            "from_code": "en",
            "to_code": "ar",
            "version": "0.0.1",
            "name": "translate-en_ar",
            "sha256": EN_AR_SHA,
        },
    ]
    listed = _json(capsys, settings, "models")
    assert [m["direction"] for m in listed["models"]] == ["ar→en", "en→ar"]
    assert {m["sha256"] for m in listed["models"]} == {AR_EN_SHA, EN_AR_SHA}
    assert all(m["version"] == "0.0.1" for m in listed["models"])
    # The model commands never create or migrate the database.
    assert not (tmp_path / "sanad.db").exists()


@pytest.mark.usefixtures("fixture_packages")
def test_single_path_with_single_checksum_and_readable_output(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    assert run(["install-models", str(AR_EN), "--sha256", AR_EN_SHA], settings=settings) == 0
    out = capsys.readouterr().out
    assert "ar→en 0.0.1 translate-ar_en " + AR_EN_SHA in out
    assert [i.direction for i in installed_models(settings.models_dir)] == [("ar", "en")]


@pytest.mark.usefixtures("fixture_packages")
def test_wrong_checksum_is_refused_and_installs_nothing(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    error = _json(capsys, settings, "install-models", str(AR_EN), "--sha256", WRONG_SHA)
    assert error["ok"] is False
    assert "does not match" in error["error"]
    assert _nothing_installed(settings)


def test_a_file_that_is_not_a_model_is_refused(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    text = tmp_path / "notes.argosmodel"
    text.write_text("not a model at all\n", encoding="utf-8")
    error = _json(capsys, settings, "install-models", str(text), "--sha256", _sha(text))
    assert error["ok"] is False
    assert "not a zip archive" in error["error"]
    assert _nothing_installed(settings)


@pytest.mark.usefixtures("fixture_packages")
def test_unknown_package_without_checksum_is_refused_as_not_known(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    error = _json(capsys, settings, "install-models", str(AR_EN))
    assert error["ok"] is False
    assert "not a known model package" in error["error"]
    assert "--sha256" in error["error"]
    assert _nothing_installed(settings)


@pytest.mark.usefixtures("fixture_packages")
def test_one_good_and_one_bad_file_installs_nothing(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    # A bad checksum on the second file.
    error = _json(
        capsys,
        settings,
        "install-models",
        str(AR_EN),
        str(EN_AR),
        "--sha256",
        AR_EN_SHA,
        "--sha256",
        WRONG_SHA,
    )
    assert error["ok"] is False and EN_AR.name in error["error"]
    assert _nothing_installed(settings)
    # A second file whose checksum matches but which is not a package.
    broken = tmp_path / "broken.argosmodel"
    broken.write_bytes(b"PK\x03\x04 truncated")
    error = _json(
        capsys,
        settings,
        "install-models",
        str(AR_EN),
        str(broken),
        "--sha256",
        AR_EN_SHA,
        "--sha256",
        _sha(broken),
    )
    assert error["ok"] is False and "broken.argosmodel" in error["error"]
    assert _nothing_installed(settings)


@pytest.mark.usefixtures("fixture_packages")
def test_checksum_count_must_match_the_files(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    error = _json(
        capsys, settings, "install-models", str(AR_EN), str(EN_AR), "--sha256", AR_EN_SHA
    )
    assert error["ok"] is False and "one --sha256 per file" in error["error"]
    bad_hex = _json(capsys, settings, "install-models", str(AR_EN), "--sha256", "xyz")
    assert bad_hex["ok"] is False and "64 hexadecimal" in bad_hex["error"]
    missing = _json(capsys, settings, "install-models", str(AR_EN.parent / "nope.argosmodel"))
    assert missing["ok"] is False and "no such file" in missing["error"]
    assert _nothing_installed(settings)


def test_models_is_empty_when_nothing_installed(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    listed = _json(capsys, settings, "models")
    assert listed["models"] == []
    assert listed["models_dir"] == str(settings.models_dir)
    assert not (tmp_path / "sanad.db").exists()


@pytest.mark.usefixtures("fixture_packages")
def test_reinstalling_a_direction_replaces_it(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.argosmodel"
    shutil.copy(AR_EN, copy)
    assert _json(capsys, settings, "install-models", str(copy), "--sha256", AR_EN_SHA)["ok"]
    again = _json(capsys, settings, "install-models", str(AR_EN), "--sha256", AR_EN_SHA)
    assert [m["direction"] for m in again["installed"]] == ["ar→en"]
    assert [p.name for p in packages_dir(settings.models_dir).iterdir()] == ["translate-ar_en"]
