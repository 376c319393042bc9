"""Fixtures for translation tests: private HOME and model folder, fixture models, no network.

A missing fixture package or a missing argostranslate fails the tests that need them, with the
reason: they are part of the project (tests/fixtures/models) and of `.[translation]`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.services.argos_models import install_models
from tests.fixtures import AR_EN, AR_EN_SHA, EN_AR, EN_AR_SHA, require_fixtures

__all__ = ["AR_EN", "AR_EN_SHA", "EN_AR", "EN_AR_SHA", "NetworkBlocked", "require_fixtures"]


@pytest.fixture
def fixture_packages() -> tuple[Path, Path]:
    """The two fixture package files (ar→en, en→ar); fails if either is missing."""
    require_fixtures()
    return AR_EN, EN_AR


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
def models_dir(tmp_path_factory: pytest.TempPathFactory, private_home: Path) -> Path:
    """Install both fixture packages once, into one folder shared by the package's tests."""
    require_fixtures()
    folder = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as mp:
        _block_network(mp)
        install_models([AR_EN], models_dir=folder, sha256=AR_EN_SHA)
        install_models([EN_AR], models_dir=folder, sha256=EN_AR_SHA)
    return folder
