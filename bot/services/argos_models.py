"""Argos Translate model packages: checksum-verified installation from files, listing, and setup.

Nothing here downloads. argostranslate is optional and only imported lazily (see `load_argos`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

KNOWN_PACKAGES: dict[str, str] = {
    "bc98cd4e27ca1cebfae9b7086b2ebc635e4dbed45e7cb5f0891cb7d22feacfad": (
        "translate-ar_en-1_0.argosmodel (Argos Translate 1.0, Arabic→English, 81,869,670 bytes)"
    ),
    "e2a6e84337f7ebbb55f9dc61dcba3a861c0d786ae5a46fa198fd8d6473f5c775": (
        "translate-en_ar-1_0.argosmodel (Argos Translate 1.0, English→Arabic, 88,502,631 bytes)"
    ),
}

PACKAGES_SUBDIR = "packages"
ARGOS_HOME_SUBDIR = ".argos"
STAGING_SUBDIR = ".staging"
INSTALL_RECORD = "sanad-install.json"

_HASH_CHUNK = 1 << 20
_argos_lock = threading.Lock()


class ModelError(Exception):
    """A model package was refused or could not be installed."""


@dataclass(frozen=True)
class ModelInfo:
    """One installed translation package."""

    from_code: str
    to_code: str
    version: str
    name: str
    path: Path
    sha256: str | None = None

    @property
    def direction(self) -> tuple[str, str]:
        """Return the (source, target) language codes."""
        return (self.from_code, self.to_code)

    @property
    def model_id(self) -> str:
        """Return a short stable identifier, e.g. ``argos ar→en 1.0 (bc98cd4e)``."""
        sha = self.sha256[:8] if self.sha256 else "unverified"
        return f"argos {self.from_code}→{self.to_code} {self.version} ({sha})"


def packages_dir(models_dir: Path) -> Path:
    """Return the folder holding installed packages (argostranslate's ARGOS_PACKAGES_DIR)."""
    return Path(models_dir) / PACKAGES_SUBDIR


def argos_available() -> bool:
    """Return True if argostranslate can be imported (without importing it)."""
    return importlib.util.find_spec("argostranslate") is not None


def sha256_of(path: Path) -> str:
    """Return the hex sha256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _normalise_sha(value: str) -> str:
    """Return a lower-case 64-hex digest or raise ModelError."""
    cleaned = value.strip().lower()
    if len(cleaned) != 64 or any(c not in "0123456789abcdef" for c in cleaned):
        raise ModelError(f"--sha256 must be 64 hexadecimal characters, got {value!r}")
    return cleaned


def _package_root(names: list[str], file_name: str) -> PurePosixPath:
    """Return the folder inside the archive that holds metadata.json, refusing unsafe paths."""
    for name in names:
        member = PurePosixPath(name)
        if member.is_absolute() or ".." in member.parts or "\\" in name:
            raise ModelError(f"{file_name}: archive contains an unsafe path {name!r}")
    if "metadata.json" in names:
        return PurePosixPath(".")
    tops = {PurePosixPath(name).parts[0] for name in names if PurePosixPath(name).parts}
    if len(tops) == 1:
        top = tops.pop()
        if f"{top}/metadata.json" in names:
            return PurePosixPath(top)
    raise ModelError(f"{file_name}: not an Argos Translate package (no metadata.json)")


def _read_metadata(
    archive: zipfile.ZipFile, root: PurePosixPath, file_name: str
) -> dict[str, Any]:
    """Return the package metadata after checking the fields translation needs."""
    try:
        metadata = json.loads(archive.read(str(root / "metadata.json")).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{file_name}: metadata.json is not valid JSON") from exc
    if not isinstance(metadata, dict):
        raise ModelError(f"{file_name}: metadata.json is not an object")
    if metadata.get("type", "translate") != "translate":
        raise ModelError(f"{file_name}: not a translation package (type {metadata['type']!r})")
    for key in ("from_code", "to_code"):
        value = metadata.get(key)
        if not isinstance(value, str) or not value.isalpha() or not 2 <= len(value) <= 3:
            raise ModelError(f"{file_name}: metadata.json has no valid {key}")
    names = set(archive.namelist())
    if str(root / "model" / "model.bin") not in names:
        raise ModelError(f"{file_name}: package has no model/model.bin")
    tokenizers = {str(root / "sentencepiece.model"), str(root / "bpe.model")}
    if not names & tokenizers:
        raise ModelError(f"{file_name}: package has no sentencepiece.model or bpe.model")
    return metadata


def _accepted(digest: str, explicit: str | None) -> bool:
    """Return True if a digest is a known package or the operator's explicit checksum."""
    return digest in KNOWN_PACKAGES or (explicit is not None and digest == explicit)


def _verify(path: Path, explicit: str | None) -> str:
    """Return the file's sha256 if it is a known package or matches the explicit checksum."""
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    digest = sha256_of(path)
    if _accepted(digest, explicit):
        return digest
    if explicit is not None:
        raise ModelError(
            f"{path.name}: sha256 {digest} does not match the given --sha256 {explicit} "
            "and is not a known model package; refused"
        )
    raise ModelError(
        f"{path.name}: sha256 {digest} is not a known model package; refused "
        "(pass --sha256 with the expected checksum to install another package)"
    )


def _install_one(path: Path, digest: str, *, models_dir: Path) -> ModelInfo:
    """Unpack one verified package file into place, replacing the same direction."""
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path.name}: not a zip archive, so not an .argosmodel package")
    target_root = packages_dir(models_dir)
    staging_root = Path(models_dir) / STAGING_SUBDIR
    target_root.mkdir(parents=True, exist_ok=True)
    staging_root.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(path) as archive:
            root = _package_root(archive.namelist(), path.name)
            metadata = _read_metadata(archive, root, path.name)
            staging = Path(tempfile.mkdtemp(prefix="install-", dir=staging_root))
            try:
                archive.extractall(staging / "unpacked")
                unpacked = staging / "unpacked" / root
                record = {"sha256": digest, "file": path.name}
                (unpacked / INSTALL_RECORD).write_text(json.dumps(record), encoding="utf-8")
                name = f"translate-{metadata['from_code']}_{metadata['to_code']}"
                final = target_root / name
                if final.exists():
                    final.rename(staging / "previous")
                unpacked.rename(final)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{path.name}: damaged zip archive") from exc
    finally:
        with contextlib.suppress(OSError):
            staging_root.rmdir()
    logger.info("installed model package %s→%s", metadata["from_code"], metadata["to_code"])
    return _info_from_dir(final)


def install_models(
    paths: Sequence[Path], *, models_dir: Path, sha256: str | None = None
) -> list[ModelInfo]:
    """Verify every file's checksum first, then install each; reinstalling replaces."""
    explicit = _normalise_sha(sha256) if sha256 is not None else None
    verified = [(Path(p), _verify(Path(p), explicit)) for p in paths]
    return [_install_one(p, digest, models_dir=Path(models_dir)) for p, digest in verified]


def _info_from_dir(folder: Path) -> ModelInfo:
    """Build a ModelInfo from an installed package folder."""
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    sha = None
    record_path = folder / INSTALL_RECORD
    if record_path.is_file():
        with contextlib.suppress(ValueError, OSError):
            sha = json.loads(record_path.read_text(encoding="utf-8")).get("sha256")
    return ModelInfo(
        from_code=metadata["from_code"],
        to_code=metadata["to_code"],
        version=str(metadata.get("package_version", "")),
        name=folder.name,
        path=folder,
        sha256=sha,
    )


def installed_models(models_dir: Path) -> list[ModelInfo]:
    """List installed translation packages; empty when argostranslate is not installed."""
    if not argos_available():
        return []
    root = packages_dir(models_dir)
    if not root.is_dir():
        return []
    found: list[ModelInfo] = []
    for folder in sorted(root.iterdir()):
        if not (folder / "metadata.json").is_file():
            continue
        try:
            info = _info_from_dir(folder)
        except (ValueError, KeyError, OSError):
            logger.warning("skipping unreadable model package folder %s", folder.name)
            continue
        found.append(info)
    return found


def argos_dirs(models_dir: Path) -> dict[str, Path]:
    """Return argostranslate's data, config and cache folders inside the service folder."""
    base = Path(models_dir) / ARGOS_HOME_SUBDIR
    return {"data": base / "data", "config": base / "config", "cache": base / "cache"}


_configured_dir: Path | None = None


def configure_argos(models_dir: Path, *, intra_threads: int = 1) -> None:
    """Set argostranslate's environment so it uses only the service folder; call before import."""
    global _configured_dir
    models_dir = Path(models_dir).resolve()
    if "argostranslate.settings" in sys.modules and _configured_dir != models_dir:
        # Settings are read once at import; later changes only affect our own loading code.
        logger.warning("argostranslate already imported; its import-time settings stay")
    packages_dir(models_dir).mkdir(parents=True, exist_ok=True)
    os.environ["ARGOS_PACKAGES_DIR"] = str(packages_dir(models_dir))
    os.environ["ARGOS_DEVICE_TYPE"] = "cpu"
    os.environ["ARGOS_INTER_THREADS"] = "1"
    os.environ["ARGOS_INTRA_THREADS"] = str(intra_threads)
    os.environ["ARGOS_MODEL_PROVIDER"] = "OPENNMT"
    os.environ["ARGOS_DEBUG"] = "0"
    os.environ.pop("ARGOS_TRANSLATE_PACKAGE_DIR", None)
    _configured_dir = models_dir


@contextlib.contextmanager
def _scoped_env(values: dict[str, str], remove: Sequence[str]) -> Iterator[None]:
    """Temporarily set and remove environment variables."""
    saved = {key: os.environ.get(key) for key in [*values, *remove]}
    try:
        os.environ.update(values)
        for key in remove:
            os.environ.pop(key, None)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def load_argos(models_dir: Path) -> ModuleType:
    """Import argostranslate.translate with its folders inside models_dir; raise ImportError."""
    with _argos_lock:
        if "argostranslate.translate" in sys.modules:
            return sys.modules["argostranslate.translate"]
        if _configured_dir is None:
            configure_argos(models_dir)
        dirs = argos_dirs(_configured_dir or models_dir)
        for folder in dirs.values():
            folder.mkdir(parents=True, exist_ok=True)
        # XDG_* only while importing: argostranslate (and onnxruntime) create folders there at
        # import time, and the rest of the process must keep the user's own XDG settings.
        scoped = {
            "XDG_DATA_HOME": str(dirs["data"]),
            "XDG_CONFIG_HOME": str(dirs["config"]),
            "XDG_CACHE_HOME": str(dirs["cache"]),
        }
        with _scoped_env(scoped, remove=("SNAP", "SNAP_USER_DATA")):
            module = importlib.import_module("argostranslate.translate")
        # argos logs every input and output at INFO on its own logger (level set at import):
        # message text must never reach our logs.
        logging.getLogger("argostranslate.utils").setLevel(logging.WARNING)
        return module
