"""Re-inviting a connected person from Telegram: refused, then relinked on purpose and told."""

from __future__ import annotations

from bot.i18n import texts
from bot.services import registry
from handlers.notices import unlinked_text
from handlers.start import bilingual, not_registered_text, privacy_text
from tests.e2e.conftest import Harness

UNLINKED_AR = "نُقلت دعوتك إلى حساب آخر"


def _code(text: str) -> str:
    """The invite code from the link in a coordinator's answer."""
    link = next(w for w in text.split() if w.startswith("https://t.me/"))
    return link.split("start=")[1]


async def test_a_relink_cuts_the_old_account_off_and_the_new_one_consents(
    harness: Harness,
) -> None:
    _, kim = await harness.join_staff("coordinator", "Kim")
    amina = await harness.join_family("KH-0101")

    kim.send_text("/invite family KH-0101")
    refused = await kim.wait_for("is already connected to Sanad")
    assert "Amina" in refused.text and "/invite family KH-0101 relink" in refused.text

    kim.send_text("/invite family KH-0101 Amina relink")
    invite = await kim.wait_for("It works once")
    assert "Their old Telegram account was disconnected and told." in invite.text
    told = await amina.wait_for(UNLINKED_AR)
    assert told.text == unlinked_text(texts("ar"))
    amina.send_text("مرحبا")
    await amina.wait_for(lambda m: m.text == bilingual(not_registered_text))

    # The new phone types the code with Arabic-Indic digits, as an Arabic keyboard gives them.
    typed = _code(invite.text).translate(str.maketrans("234567", "٢٣٤٥٦٧"))
    new_phone = harness.user(language_code="ar")
    new_phone.send_text(f"/start {typed}")
    notice = await new_phone.wait_for(lambda m: m.text == privacy_text(texts("ar")))
    assert notice.buttons == [("✅ فهمت", "consent:ok")]


async def test_the_relink_refusal_is_in_the_coordinators_language(harness: Harness) -> None:
    _, kim = await harness.join_staff("coordinator", "Kim", language_code="ar")
    await harness.join_family("KH-0102")
    kim.send_text("/invite family KH-0102")
    refused = await kim.wait_for("لم تُنشأ دعوة")
    assert "/invite family KH-0102 relink" in refused.text


async def test_a_name_not_in_the_household_lists_who_is(harness: Harness) -> None:
    _, kim = await harness.join_staff("coordinator", "Kim")
    harness.family("KH-0103", member="Amina")
    kim.send_text("/invite family KH-0103 Omar")
    answer = await kim.wait_for("has no member called Omar")
    assert answer.text == "Family KH-0103 has no member called Omar. Its member is: Amina."

    with harness.db.session() as session:
        registry.add_family(
            session, ref="KH-0104", district="Dover", scheme="VPRS", arrived="2024-05-01"
        )
    kim.send_text("/invite family KH-0104 Omar")
    empty = await kim.wait_for("has no members registered yet")
    assert "admin add-member --family KH-0104 --name NAME" in empty.text

    with harness.db.session() as session:
        registry.add_member(session, family="KH-0103", name="Layla")
    kim.send_text("/invite family KH-0103")
    several = await kim.wait_for("Family KH-0103 has 2 members: Amina, Layla.")
    assert "Send /invite family KH-0103 NAME." in several.text
