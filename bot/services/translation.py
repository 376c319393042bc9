"""Offline Arabic⇄English translation with argostranslate, off the event loop, with a cache.

Returns data only (`Translation`); callers decide what people see. Nothing goes online: model
packages come from `argos_models.install_models` and sentences are split here, not by argos.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.services import argos_models
from bot.services.argos_models import ModelInfo
from bot.services.glossary import Glossary, default_glossary, restore
from storage.models import TranslationStatus

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0
_MAX_SENTENCE_CHARS = 400
_SENTENCE_END = re.compile(r"(?<=[.!?؟…。])[\"'”’»)\]]*\s+")
_WARM_UP_TEXT = {"en": "Hello.", "ar": "مرحبا."}


def _is_arabic_letter(char: str) -> bool:
    """Return True for letters of the Arabic script blocks."""
    code = ord(char)
    return (
        0x0600 <= code <= 0x06FF
        or 0x0750 <= code <= 0x077F
        or 0x08A0 <= code <= 0x08FF
        or 0xFB50 <= code <= 0xFDFF
        or 0xFE70 <= code <= 0xFEFF
    )


def detect_language(text: str) -> str:
    """Return "ar" if Arabic letters dominate the letters, "en" otherwise, "und" with none."""
    arabic = other = 0
    for char in text:
        if not unicodedata.category(char).startswith("L"):
            continue
        if _is_arabic_letter(char):
            arabic += 1
        else:
            other += 1
    if arabic == other == 0:
        return "und"
    return "ar" if arabic > other else "en"


@dataclass(frozen=True)
class Translation:
    """The outcome of one translation request; text is None unless there is text to show."""

    text: str | None
    source: str
    target: str
    status: TranslationStatus
    model: str | None = None

    @property
    def ok(self) -> bool:
        """Return True if text holds a machine translation."""
        return self.status == TranslationStatus.TRANSLATED


@dataclass(frozen=True)
class TranslatorStats:
    """Counters for benchmarks and health checks."""

    hits: int
    misses: int
    failures: int
    timeouts: int
    cache_size: int


class SimpleSentencizer:
    """Offline sentence splitter installed in place of argostranslate's downloading ones."""

    def split_sentences(self, text: str) -> list[str]:
        """Split a paragraph after sentence-final punctuation; cap very long sentences."""
        sentences: list[str] = []
        for sentence in _SENTENCE_END.split(text):
            sentence = sentence.strip()
            while len(sentence) > _MAX_SENTENCE_CHARS:
                cut = sentence.rfind(" ", 0, _MAX_SENTENCE_CHARS)
                cut = cut if cut > 0 else _MAX_SENTENCE_CHARS
                sentences.append(sentence[:cut].strip())
                sentence = sentence[cut:].strip()
            if sentence:
                sentences.append(sentence)
        return sentences


@dataclass
class _LoadedModel:
    """A direction ready to translate: package info and argos' translation object."""

    info: ModelInfo
    translation: Any


class Translator:
    """Translates between installed directions in one worker thread, with an LRU cache."""

    def __init__(
        self,
        *,
        models_dir: Path,
        cache_size: int = 2048,
        executor: concurrent.futures.Executor | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        intra_threads: int = 1,
        glossary: Glossary | None = None,
    ) -> None:
        """Prepare a translator; models load on first use or `warm_up`, in the worker."""
        self.models_dir = Path(models_dir)
        self.timeout = timeout
        self._intra_threads = intra_threads
        self._glossary = glossary or default_glossary()
        self._owns_executor = executor is None
        self._executor = executor or concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="translation"
        )
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str, str, str], str] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._models: dict[tuple[str, str], _LoadedModel] | None = None
        self._installed = {m.direction: m for m in argos_models.installed_models(self.models_dir)}
        self._hits = self._misses = self._failures = self._timeouts = 0
        self._closed = False

    # -- information -------------------------------------------------------------------------

    def available_directions(self) -> set[tuple[str, str]]:
        """Return the (source, target) pairs with an installed model."""
        return set(self._installed)

    def model_for(self, source: str, target: str) -> ModelInfo | None:
        """Return the installed package for a direction, if any."""
        return self._installed.get((source, target))

    @property
    def stats(self) -> TranslatorStats:
        """Return a snapshot of the counters."""
        with self._cache_lock:
            return TranslatorStats(
                self._hits, self._misses, self._failures, self._timeouts, len(self._cache)
            )

    # -- loading -----------------------------------------------------------------------------

    def _ensure_loaded(self) -> dict[tuple[str, str], _LoadedModel]:
        """Load every installed direction once (runs in the worker thread)."""
        with self._load_lock:
            if self._models is not None:
                return self._models
            models: dict[tuple[str, str], _LoadedModel] = {}
            if self._installed:
                argos_models.configure_argos(self.models_dir, intra_threads=self._intra_threads)
                translate_mod = argos_models.load_argos(self.models_dir)
                for direction, info in self._installed.items():
                    models[direction] = _LoadedModel(info, self._build(translate_mod, info))
                logger.info("loaded %d translation models", len(models))
            self._models = models
            return models

    def _build(self, translate_mod: Any, info: ModelInfo) -> Any:
        """Build argos' PackageTranslation for one package, bypassing its global registry."""
        import ctranslate2  # type: ignore[import-untyped]
        from argostranslate.package import Package  # type: ignore[import-untyped]

        package = Package(info.path)
        translation = translate_mod.PackageTranslation(
            translate_mod.Language(package.from_code, package.from_name),
            translate_mod.Language(package.to_code, package.to_name),
            package,
        )
        # argos 1.11 would fetch a sentence splitter online on first use; ours is offline.
        translation.sentencizer = SimpleSentencizer()
        translation.translator = ctranslate2.Translator(
            str(info.path / "model"),
            device="cpu",
            inter_threads=1,
            intra_threads=self._intra_threads,
            compute_type="auto",
        )
        return translation

    # -- translating -------------------------------------------------------------------------

    def _cache_get(self, key: tuple[str, str, str, str]) -> str | None:
        """Return a cached translation and mark it recently used."""
        with self._cache_lock:
            value = self._cache.get(key)
            if value is not None:
                self._cache.move_to_end(key)
                self._hits += 1
            return value

    def _cache_put(self, key: tuple[str, str, str, str], value: str) -> None:
        """Store a translation, evicting the least recently used beyond the bound."""
        if self._cache_size <= 0:
            return
        with self._cache_lock:
            self._cache[key] = value
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _run_model(self, text: str, source: str, target: str) -> str:
        """Translate with placeholders for glossary terms and pass-through tokens (worker)."""
        models = self._ensure_loaded()
        loaded = models.get((source, target))
        if loaded is None:
            raise LookupError(f"no model {source}→{target}")
        protected, protection = self._glossary.protect(text, source, target)
        raw = loaded.translation.translate(protected)
        return restore(raw, protection)

    def _work(self, key: tuple[str, str, str, str], text: str, source: str, target: str) -> str:
        """Translate and cache in the worker, so a result finishing after a timeout is kept."""
        result = self._run_model(text, source, target)
        self._cache_put(key, result)
        return result

    def _prepare(
        self, text: str, target: str, source: str | None, force: bool
    ) -> tuple[Translation | None, tuple[str, str, str, str] | None, str]:
        """Resolve the source, answer what needs no model, and return the cache key."""
        if self._closed:
            raise RuntimeError("translator is closed")
        source = source or detect_language(text)
        if source == "und" or source == target or not text.strip():
            return Translation(text, source, target, TranslationStatus.SAME_LANGUAGE), None, source
        info = self._installed.get((source, target))
        if info is None:
            return Translation(None, source, target, TranslationStatus.NO_MODEL), None, source
        key = (info.model_id, source, target, text)
        if not force:
            cached = self._cache_get(key)
            if cached is not None:
                return (
                    Translation(
                        cached, source, target, TranslationStatus.TRANSLATED, info.model_id
                    ),
                    key,
                    source,
                )
        with self._cache_lock:
            self._misses += 1
        return None, key, source

    def _failed(
        self, source: str, target: str, reason: str, *, timeout: bool = False
    ) -> Translation:
        """Count and log a failure without the message text."""
        with self._cache_lock:
            self._failures += 1
            self._timeouts += int(timeout)
        logger.warning("translation %s→%s failed: %s", source, target, reason)
        return Translation(
            None, source, target, TranslationStatus.FAILED, self._model_id(source, target)
        )

    def _model_id(self, source: str, target: str) -> str | None:
        """Return the model id for a direction, if installed."""
        info = self._installed.get((source, target))
        return info.model_id if info else None

    async def translate(
        self,
        text: str,
        *,
        target: str,
        source: str | None = None,
        force: bool = False,
        timeout: float | None = None,
    ) -> Translation:
        """Translate text without blocking the event loop; never raises for model problems."""
        done, key, source = self._prepare(text, target, source, force)
        if done is not None:
            return done
        assert key is not None
        limit = self.timeout if timeout is None else timeout
        try:
            future = self._executor.submit(self._work, key, text, source, target)
            result = await asyncio.wait_for(asyncio.wrap_future(future), limit)
        except TimeoutError:
            return self._failed(source, target, f"timed out after {limit}s", timeout=True)
        except Exception as exc:  # any model or library error must not lose the message
            return self._failed(source, target, type(exc).__name__)
        return Translation(
            result, source, target, TranslationStatus.TRANSLATED, self._model_id(source, target)
        )

    def translate_sync(
        self,
        text: str,
        *,
        target: str,
        source: str | None = None,
        force: bool = False,
        timeout: float | None = None,
    ) -> Translation:
        """Blocking variant for benchmarks and the CLI; never call it on the event loop."""
        done, key, source = self._prepare(text, target, source, force)
        if done is not None:
            return done
        assert key is not None
        limit = self.timeout if timeout is None else timeout
        future = self._executor.submit(self._work, key, text, source, target)
        try:
            result = future.result(limit)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return self._failed(source, target, f"timed out after {limit}s", timeout=True)
        except Exception as exc:  # any model or library error must not lose the message
            return self._failed(source, target, type(exc).__name__)
        return Translation(
            result, source, target, TranslationStatus.TRANSLATED, self._model_id(source, target)
        )

    async def warm_up(self) -> set[tuple[str, str]]:
        """Load the models and run one tiny translation per direction; return those ready."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._warm_up_blocking)

    def _warm_up_blocking(self) -> set[tuple[str, str]]:
        """Load models and exercise each direction once (worker)."""
        ready: set[tuple[str, str]] = set()
        try:
            models = self._ensure_loaded()
        except Exception as exc:  # report no directions rather than crash start-up
            logger.warning("loading translation models failed: %s", type(exc).__name__)
            return ready
        for (source, target), loaded in models.items():
            try:
                loaded.translation.translate(_WARM_UP_TEXT.get(source, "Hello."))
            except Exception as exc:  # one broken direction must not hide the others
                logger.warning("warm-up %s→%s failed: %s", source, target, type(exc).__name__)
                continue
            ready.add((source, target))
        return ready

    def clear_cache(self) -> None:
        """Forget every cached translation."""
        with self._cache_lock:
            self._cache.clear()

    def close(self) -> None:
        """Stop the worker thread (if ours) and release the models."""
        self._closed = True
        if self._owns_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)
        with self._load_lock:
            self._models = None
