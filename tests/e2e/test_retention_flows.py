"""A report left half-written for a day is closed, and the family is told in Arabic."""

from __future__ import annotations

from datetime import timedelta

from bot.delivery import dispatcher
from bot.services import retention
from storage.types import utcnow
from tests.e2e.conftest import Harness


async def test_a_report_left_for_a_day_is_closed_and_the_family_told(harness: Harness) -> None:
    amina = await harness.join_family("KH-0801")
    amina.send_text("/report")
    await amina.wait_for("ما موضوع المشكلة؟")
    with harness.db.session() as session:
        purged = retention.run(session, now=utcnow() + timedelta(days=1, hours=1), days=90)
    assert purged.stale_flows == 1
    assert harness.app is not None
    dispatcher.kick(harness.app)
    note = await amina.wait_for("لم يُرسَل شيء")
    assert "/menu" in note.text
    amina.press_button("السكن")  # the old buttons no longer continue anything
    await harness.api.quiet()
    assert not any("يرجى إخبارنا عن المشكلة" in m.text for m in amina.messages)
