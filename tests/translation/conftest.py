"""Fixtures for translation tests: private HOME and model folder, fixture models, no network."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.services.argos_models import install_models
from bot.settings import FIXTURE_MODELS

FIXTURE_DIR = FIXTURE_MODELS
AR_EN = FIXTURE_DIR / "translate-ar_en-tiny-random.argosmodel"
EN_AR = FIXTURE_DIR / "translate-en_ar-tiny-random.argosmodel"
AR_EN_SHA = "b6d3624459446e5acdf46d5aacb3c185416730e81d89ae429c090578dda34b76"
EN_AR_SHA = "5e59cb40e0300fde159ce2aeb78522111f1519906ba2a375a0870a788754cab4"

requires_fixtures = pytest.mark.skipif(
    not (AR_EN.is_file() and EN_AR.is_file()), reason="fixture models not available"
)


class NetworkBlocked(RuntimeError):
    """Raised when code under test tries to open a network connection."""


def _refuse(*args: object, **kwargs: object) -> None:
    raise NetworkBlocked("network access attempted during a translation test")


def _block_network(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(socket.socket, "connect", _refuse)
    mp.setattr(socket.socket, "connect_ex", _refuse)
    mp.setattr(socket, "create_connection", _refuse)
    mp.setattr(socket, "getaddrinfo", _refuse)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that reaches for the network."""
    _block_network(monkeypatch)


@pytest.fixture(scope="package", autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point HOME and XDG_* at a temporary folder for this package, then restore them."""
    saved = dict(os.environ)
    home = tmp_path_factory.mktemp("home")
    os.environ["HOME"] = str(home)
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        os.environ[name] = str(home / name.lower())
    try:
        yield home
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="package")
def argos_imported_before() -> bool:
    """Record whether argostranslate was imported before these tests installed anything."""
    return "argostranslate.settings" in sys.modules


@pytest.fixture(scope="package")
def models_dir(
    tmp_path_factory: pytest.TempPathFactory, private_home: Path, argos_imported_before: bool
) -> Path:
    """Install both fixture packages once, into one folder shared by the package's tests."""
    pytest.importorskip("argostranslate")
    if not (AR_EN.is_file() and EN_AR.is_file()):
        pytest.skip("fixture models not available")
    folder = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as mp:
        _block_network(mp)
        install_models([AR_EN], models_dir=folder, sha256=AR_EN_SHA)
        install_models([EN_AR], models_dir=folder, sha256=EN_AR_SHA)
    return folder
