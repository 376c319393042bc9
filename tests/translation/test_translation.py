"""The Translator through the real argostranslate library with the random-weight fixtures.

Fixture output is a marker, not a translation (one word per sentence: AR_EN_WORD for ar→en,
EN_AR_WORD for en→ar, see tools/build_fixture_models.py); tests use it only to tell which
direction ran.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.services import argos_models
from bot.services.glossary import FSI, PDI, default_glossary
from bot.services.translation import SimpleSentencizer, Translator, detect_language
from tests.fixtures import AR_EN_SHA, AR_EN_WORD, EN_AR_WORD
from tests.translation.conftest import NetworkBlocked

SECRET = "Universal Credit K-0042 secret family message"


@pytest.fixture
def translator(models_dir: Path) -> Iterator[Translator]:
    """A translator over the shared fixture models."""
    instance = Translator(models_dir=models_dir)
    yield instance
    instance.close()


@pytest.fixture
def package_translation(models_dir: Path) -> Any:
    """argostranslate's PackageTranslation class (the call our worker makes)."""
    return argos_models.load_argos(models_dir).PackageTranslation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("مرحبا، كيف حالك؟", "ar"),
        ("Hello, how are you?", "en"),
        ("موعد Universal Credit يوم الاثنين القادم", "ar"),
        ("My appointment at المستشفى tomorrow morning", "en"),
        ("", "und"),
        ("   ", "und"),
        ("👍🙏", "und"),
        ("07700 900123", "und"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_sentencizer_splits_offline() -> None:
    splitter = SimpleSentencizer()
    assert splitter.split_sentences("Hello there. How are you? Fine!") == [
        "Hello there.",
        "How are you?",
        "Fine!",
    ]
    assert splitter.split_sentences("مرحبا؟ أنا بخير.") == ["مرحبا؟", "أنا بخير."]
    assert splitter.split_sentences("   ") == []
    long = " ".join(["word"] * 300)
    assert all(len(s) <= 400 for s in splitter.split_sentences(long))


def test_network_is_really_blocked() -> None:
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("example.com", 443))


async def test_arabic_to_english_runs_the_ar_en_model(translator: Translator) -> None:
    result = await translator.translate("مرحبا، كيف حالك؟", target="en")
    assert result.status == "translated"
    assert (result.source, result.target) == ("ar", "en")
    assert result.text == AR_EN_WORD
    assert result.model == f"argos ar→en 0.0.1 ({AR_EN_SHA[:8]})"


async def test_message_text_never_reaches_the_logs(
    translator: Translator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        result = await translator.translate(SECRET, target="ar")
    assert result.status == "translated"
    assert result.text is not None and EN_AR_WORD in result.text
    assert "secret" not in caplog.text and EN_AR_WORD not in caplog.text


async def test_english_to_arabic_runs_the_en_ar_model(translator: Translator) -> None:
    result = await translator.translate("Hello, how are you?", target="ar")
    assert result.status == "translated"
    assert result.text == EN_AR_WORD
    assert result.model is not None and result.model.startswith("argos en→ar")


async def test_paragraphs_and_sentences(translator: Translator) -> None:
    result = await translator.translate("Hello there. How are you?\n\nBye.", target="ar")
    assert result.text is not None
    assert result.text.split("\n") == [f"{EN_AR_WORD} {EN_AR_WORD}", "", EN_AR_WORD]


async def test_glossary_and_pass_through_survive_a_model_that_drops_them(
    translator: Translator,
) -> None:
    text = "Your Universal Credit ref K-0042 is at 14:30, call 07700 900123, https://kent.gov.uk"
    result = await translator.translate(text, target="ar")
    assert result.status == "translated" and result.text is not None
    plain = result.text.replace(FSI, "").replace(PDI, "")
    assert plain.startswith(EN_AR_WORD)
    # The term comes back as the glossary's Arabic rendering, whatever the model did with it.
    rendering = default_glossary().term("universal_credit").ar
    for expected in (rendering, "K-0042", "14:30", "07700 900123", "https://kent.gov.uk"):
        assert expected in plain
    assert plain.count("Universal Credit") == rendering.count("Universal Credit")


async def test_same_language_and_undetermined(translator: Translator) -> None:
    same = await translator.translate("Hello", target="en")
    assert (same.status, same.text, same.model) == ("same_language", "Hello", None)
    emoji = await translator.translate("👍", target="ar")
    assert (emoji.status, emoji.source, emoji.text) == ("same_language", "und", "👍")
    explicit = await translator.translate("مرحبا", source="ar", target="ar")
    assert explicit.status == "same_language"


async def test_no_model_installed(tmp_path: Path) -> None:
    translator = Translator(models_dir=tmp_path)
    try:
        assert translator.available_directions() == set()
        result = await translator.translate("مرحبا", target="en")
        assert (result.status, result.text, result.source) == ("no_model", None, "ar")
        assert await translator.warm_up() == set()
    finally:
        translator.close()


async def test_no_model_for_that_direction(translator: Translator) -> None:
    result = await translator.translate("Hello", target="fr")
    assert (result.status, result.text) == ("no_model", None)


async def test_no_model_when_argostranslate_is_missing(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(argos_models, "argos_available", lambda: False)
    translator = Translator(models_dir=models_dir)
    try:
        result = await translator.translate("مرحبا", target="en")
        assert (result.status, result.text) == ("no_model", None)
    finally:
        translator.close()


async def test_available_directions(translator: Translator) -> None:
    assert translator.available_directions() == {("ar", "en"), ("en", "ar")}
    assert await translator.warm_up() == {("ar", "en"), ("en", "ar")}


async def test_failure_is_reported_and_logged_without_text(
    translator: Translator,
    package_translation: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(self: Any, input_text: str, num_hypotheses: int = 4) -> Any:
        raise RuntimeError(f"model exploded on {input_text}")

    monkeypatch.setattr(package_translation, "hypotheses", boom)
    with caplog.at_level(logging.DEBUG, logger="bot.services"):
        result = await translator.translate(SECRET, target="ar")
    assert (result.status, result.text) == ("failed", None)
    assert result.model is not None
    assert translator.stats.failures == 1
    assert "RuntimeError" in caplog.text
    assert "secret" not in caplog.text and "K-0042" not in caplog.text
    # A failure is not cached: the next call tries again and succeeds.
    monkeypatch.undo()
    assert (await translator.translate(SECRET, target="ar")).status == "translated"


async def test_cache_hit_does_not_call_the_model_again(
    translator: Translator, package_translation: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = package_translation.hypotheses

    def counting(self: Any, input_text: str, num_hypotheses: int = 4) -> Any:
        calls.append(input_text)
        return original(self, input_text, num_hypotheses)

    monkeypatch.setattr(package_translation, "hypotheses", counting)
    first = await translator.translate("Good morning", target="ar")
    second = await translator.translate("Good morning", target="ar")
    assert first == second
    assert len(calls) == 1
    stats = translator.stats
    assert (stats.hits, stats.misses) == (1, 1)
    fresh = await translator.translate("Good morning", target="ar", force=True)
    assert fresh.status == "translated"
    assert len(calls) == 2
    # Source detection and explicit source share one cache entry.
    await translator.translate("Good morning", source="en", target="ar")
    assert len(calls) == 2


async def test_cache_is_bounded(models_dir: Path) -> None:
    translator = Translator(models_dir=models_dir, cache_size=2)
    try:
        for text in ("one", "two", "three", "one"):
            await translator.translate(text, target="ar")
        stats = translator.stats
        assert stats.cache_size == 2
        assert (stats.hits, stats.misses) == (0, 4)
    finally:
        translator.close()


async def test_models_load_once(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    translator = Translator(models_dir=models_dir)
    builds: list[str] = []
    original = Translator._build

    def counting(self: Translator, translate_mod: Any, info: Any) -> Any:
        builds.append(info.name)
        return original(self, translate_mod, info)

    monkeypatch.setattr(Translator, "_build", counting)
    try:
        await translator.warm_up()
        for text in ("a", "b", "مرحبا", "c"):
            await translator.translate(text, target="ar" if text.isascii() else "en")
        assert sorted(builds) == ["translate-ar_en", "translate-en_ar"]
    finally:
        translator.close()


async def test_translation_runs_off_the_event_loop(
    translator: Translator, package_translation: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = package_translation.hypotheses
    threads: list[str] = []

    def slow(self: Any, input_text: str, num_hypotheses: int = 4) -> Any:
        threads.append(threading.current_thread().name)
        time.sleep(0.5)
        return original(self, input_text, num_hypotheses)

    await translator.warm_up()
    monkeypatch.setattr(package_translation, "hypotheses", slow)
    ticks = 0
    stop = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    beat = asyncio.create_task(heartbeat())
    started = time.monotonic()
    result = await translator.translate("A slow one", target="ar")
    elapsed = time.monotonic() - started
    stop.set()
    await beat
    assert result.status == "translated"
    assert elapsed >= 0.5
    assert ticks >= 20
    assert threads and threads[0].startswith("translation")
    assert threads[0] != threading.current_thread().name


async def test_timeout_reports_failure_and_keeps_the_late_result(
    translator: Translator, package_translation: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = package_translation.hypotheses
    release = threading.Event()

    def stuck(self: Any, input_text: str, num_hypotheses: int = 4) -> Any:
        release.wait(5)
        return original(self, input_text, num_hypotheses)

    await translator.warm_up()
    monkeypatch.setattr(package_translation, "hypotheses", stuck)
    result = await translator.translate("Stuck message", target="ar", timeout=0.05)
    assert (result.status, result.text) == ("failed", None)
    assert translator.stats.timeouts == 1
    release.set()
    monkeypatch.undo()
    # The worker finishes the translation and caches it for the next request.
    later = await translator.translate("Stuck message", target="ar")
    assert later.status == "translated"


async def test_translate_sync_matches_async(translator: Translator) -> None:
    sync = await asyncio.to_thread(translator.translate_sync, "Hello", target="ar")
    assert sync == await translator.translate("Hello", target="ar")
    assert translator.stats.hits == 1


async def test_closed_translator_refuses_work(models_dir: Path) -> None:
    translator = Translator(models_dir=models_dir)
    translator.close()
    with pytest.raises(RuntimeError, match="closed"):
        await translator.translate("Hello", target="ar")


async def test_shared_executor_is_not_shut_down(models_dir: Path) -> None:
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        translator = Translator(models_dir=models_dir, executor=pool)
        assert (await translator.translate("Hello", target="ar")).status == "translated"
        translator.close()
        assert pool.submit(lambda: 1).result() == 1
