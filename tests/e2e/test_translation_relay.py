"""Translation in the relay: real argostranslate with the fixture models, and without models.

The fixture models (tests/fixtures) have random weights: ar→en answers ``english`` per
sentence and en→ar ``عربي``, which tells the tests which direction ran. Glossary-protected
tokens come back unchanged.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from bot.services.argos_models import install_models
from bot.services.translation import Translation
from storage.models import AuditEvent, TicketMessage
from tests.e2e.conftest import Harness
from tests.e2e.test_tickets import HOUSING_AR, report, setup_provider
from tests.fixtures import (
    AR_EN,
    AR_EN_SHA,
    AR_EN_WORD,
    EN_AR,
    EN_AR_SHA,
    EN_AR_WORD,
    require_fixtures,
)

MT_EN = "🌐 Machine translation, may contain mistakes:"
MT_AR = "🌐 ترجمة آلية، قد تحتوي على أخطاء:"


@pytest.fixture(autouse=True)
def _office_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("handlers.report.utcnow", lambda: datetime(2026, 11, 24, 10, tzinfo=UTC))


@pytest.fixture
async def with_models(harness: Harness) -> Harness:
    """The running bot restarted with both fixture packages installed from files."""
    require_fixtures()
    install_models([AR_EN], models_dir=harness.settings.models_dir, sha256=AR_EN_SHA)
    install_models([EN_AR], models_dir=harness.settings.models_dir, sha256=EN_AR_SHA)
    await harness.restart()
    assert harness.app is not None
    # The first import of argostranslate (torch, stanza) takes seconds, more on a busy machine;
    # the bot starts it in the background at start-up. Wait for it, so the translation timeout
    # below measures translating, not importing.
    warm_up = harness.app.bot_data.extras.get("warm_up")
    assert warm_up is not None, "the bot should start warming up its models at start-up"
    await asyncio.wait_for(warm_up, timeout=120)
    return harness


async def test_family_and_caseworker_read_each_other_through_argostranslate(
    with_models: Harness,
) -> None:
    harness = with_models
    assert harness.app is not None
    assert harness.app.bot_data.translator.available_directions() == {("ar", "en"), ("en", "ar")}
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0001", caseworker_id=sam_id)
    await report(amina, HOUSING_AR, "المدفأة معطلة والأطفال يشعرون بالبرد")
    card = await sam.wait_for("📥 New request", timeout=30)
    translated, original = card.text.split("Original:")
    assert MT_EN in translated and AR_EN_WORD in translated.split(MT_EN)[1]
    assert "المدفأة معطلة والأطفال يشعرون بالبرد" in original
    assert ("🔁 Translate again", "tr:again:1") in card.buttons

    sam.send_text("Please call NHS 111 about K-0001 at 14:30.", reply_to=card.message_id)
    reply = await amina.wait_for(MT_AR, timeout=30)
    machine, original_en = reply.text.split("النص الأصلي:")
    assert EN_AR_WORD in machine and "K-0001" in machine and "14:30" in machine
    assert "Please call NHS 111 about K-0001 at 14:30." in original_en

    with harness.db.session() as session:
        messages = session.exec(select(TicketMessage).order_by(TicketMessage.id)).all()
    family, staff = messages
    assert (family.language, family.translation_target, family.translation_status) == (
        "ar",
        "en",
        "translated",
    )
    assert family.translation_model is not None and "ar→en" in family.translation_model
    assert (staff.language, staff.translation_target) == ("en", "ar")
    assert staff.text == "Please call NHS 111 about K-0001 at 14:30."

    sam.press(card.message_id, "tr:wrong:1")
    await harness.api.quiet()
    assert "wrong translation" in sam.callback_answers[-1]["text"]
    sam.press(card.message_id, "tr:again:1")
    fresh = await sam.wait_for("🔁 Translated again", timeout=30)
    assert MT_EN in fresh.text
    with harness.db.session() as session:
        audit = [e.action for e in session.exec(select(AuditEvent))]
    assert "translation.flag" in audit


async def test_without_a_model_messages_flow_marked_untranslated(harness: Harness) -> None:
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0002", caseworker_id=sam_id)
    await report(amina, HOUSING_AR, "الباب مكسور")
    card = await sam.wait_for("📥 New request")
    assert "⚠️ Not translated: no translation model is installed. Original:" in card.text
    assert "الباب مكسور" in card.text
    sam.send_text("/reply K-0001 A carpenter will come on Friday.")
    reply = await amina.wait_for("ردّ مسؤول حالتك")
    assert "⚠️ لم نتمكن من ترجمة هذه الرسالة، وهذا نصها الأصلي." in reply.text
    assert "A carpenter will come on Friday." in reply.text


class FailingTranslator:
    """A translator whose model fails, as a broken model file would."""

    def available_directions(self) -> set[tuple[str, str]]:
        return {("ar", "en"), ("en", "ar")}

    async def translate(
        self, text: str, *, target: str, source: str | None = None, **_: Any
    ) -> Translation:
        return Translation(None, source or "ar", target, "failed", "argos ar→en 1.0")

    async def warm_up(self) -> set[tuple[str, str]]:
        return set()

    def close(self) -> None:
        return None


async def test_a_failed_translation_still_delivers_the_original(harness: Harness) -> None:
    assert harness.app is not None
    harness.app.bot_data.translator = FailingTranslator()
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0003", caseworker_id=sam_id)
    await report(amina, HOUSING_AR, "السقف يقطر")
    card = await sam.wait_for("📥 New request")
    assert "⚠️ Not translated: the translation failed. Original:" in card.text
    assert "السقف يقطر" in card.text


class SlowTranslator(FailingTranslator):
    """Takes two seconds in a worker thread for Arabic, like a long message on a real model."""

    def __init__(self) -> None:
        self.threads: set[str] = set()

    async def translate(
        self, text: str, *, target: str, source: str | None = None, **_: Any
    ) -> Translation:
        def work() -> str:
            self.threads.add(threading.current_thread().name)
            time.sleep(2.0)
            return "slow translation"

        result = await asyncio.to_thread(work)
        return Translation(result, source or "ar", target, "translated", "slow")


async def test_a_slow_translation_delays_only_its_own_message(harness: Harness) -> None:
    assert harness.app is not None
    slow = SlowTranslator()
    harness.app.bot_data.translator = slow
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0004", caseworker_id=sam_id)
    other = await harness.join_family("KH-0005", caseworker_id=sam_id)
    await report(amina, HOUSING_AR, "الغسالة معطلة")
    started = time.monotonic()
    other.send_text("/help")
    await other.wait_for("سند يساعدك على التواصل مع مسؤول حالتك", timeout=5)
    assert time.monotonic() - started < 1.5, "another family's update waited for the translation"
    card = await sam.wait_for("slow translation", timeout=10)
    assert "الغسالة معطلة" in card.text
    assert threading.main_thread().name not in slow.threads


async def test_a_card_needing_no_translation_is_not_held_behind_another_familys(
    harness: Harness,
) -> None:
    assert harness.app is not None
    harness.app.bot_data.translator = SlowTranslator()
    sam_id, sam, _, _ = await setup_provider(harness)
    amina = await harness.join_family("KH-0004", caseworker_id=sam_id)
    john = await harness.join_family(
        "KH-0005", caseworker_id=sam_id, language="en", language_code="en", member="John"
    )
    await report(amina, HOUSING_AR, "الغسالة معطلة")  # its card waits two seconds to translate
    john.send_text("/report")
    await john.wait_for("What is the problem about?")
    john.press_button("Housing and repairs")
    await john.wait_for("Tell us about the problem.")
    john.send_text("The boiler is leaking")
    await john.wait_for("Added. Add more, or tap Send.")
    john.press_button("Send")
    await john.wait_for("to your caseworker?")
    john.press_button("Yes, send it")
    await john.wait_for("Your request number is")
    english = await sam.wait_for("The boiler is leaking", timeout=10)
    arabic = await sam.wait_for("slow translation", timeout=10)
    # Sam's cards about two families are two queues: John's went while Amina's translated.
    assert english.message_id < arabic.message_id
