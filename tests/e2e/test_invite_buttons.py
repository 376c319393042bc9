"""/invite with buttons: a coordinator invites a family member and a caseworker by tapping;
others (and forged buttons) are refused."""

from __future__ import annotations

from sqlmodel import select

from bot.i18n import texts
from handlers.start import privacy_text
from storage.models import AuditEvent, Member, Staff, StaffRole
from tests.e2e.conftest import Harness

NOT_COORDINATOR = "Only coordinators can do this. Nothing was changed."


def _code(text: str) -> str:
    """The invite code from the link in a coordinator's answer."""
    link = next(w for w in text.split() if w.startswith("https://t.me/"))
    return link.split("start=")[1]


async def test_a_family_member_invited_by_buttons_joins_and_reads_the_arabic_notice(
    harness: Harness,
) -> None:
    _, kim = await harness.join_staff("coordinator", "Kim")
    harness.family("KH-0201", member="Amina")
    harness.family("KH-0202", member="Layla")
    kim.send_text("/invite")
    await kim.wait_for("Who is the invite for?")
    kim.press_button("A family member")
    await kim.wait_for("2 families are registered")
    kim.press_button("KH-0202")
    members = await kim.wait_for("Family KH-0202: who is the invite for?")
    assert [label for label, _ in members.buttons] == ["Layla", "➕ New member"]
    kim.press_button("New member")
    await kim.wait_for("Type the new member's name for family KH-0202.")
    kim.send_text("Omar Haddad")
    invite = await kim.wait_for("It works once and expires on")
    assert "Omar Haddad of family KH-0202" in invite.text

    omar = harness.user(language_code="ar")
    omar.send_text(f"/start {_code(invite.text)}")
    notice = await omar.wait_for(lambda m: m.text == privacy_text(texts("ar")))
    assert notice.buttons == [("✅ فهمت", "consent:ok")]
    with harness.db.session() as session:
        member = session.exec(select(Member).where(Member.name == "Omar Haddad")).one()
        assert member.telegram_user_id == omar.id
        actions = {e.action for e in session.exec(select(AuditEvent))}
    assert {"member.add", "invite.create", "invite.redeem"} <= actions

    # The search by typed reference, and a connected member needs an explicit relink.
    kim.send_text("/invite")
    await kim.wait_for("Who is the invite for?")
    kim.press_button("A family member")
    await kim.wait_for("Which family?")
    kim.press_button("Type a reference")
    await kim.wait_for("Type the family reference")
    kim.send_text("zz")
    await kim.wait_for("No family reference starts with ZZ")
    kim.send_text("kh-0202")
    await kim.wait_for("1 family is registered")
    kim.press_button("KH-0202")
    await kim.wait_for("who is the invite for?")
    kim.press_button("Omar Haddad (connected)")
    offer = await kim.wait_for("already connected to Sanad")
    assert offer.buttons[0][0] == "🔁 Move to a new account"


async def test_a_new_caseworker_invited_by_buttons_joins_as_staff(harness: Harness) -> None:
    harness.provider()
    _, kim = await harness.join_staff("coordinator", "Kim")
    kim.press_button("Invite someone")
    await kim.wait_for("Who is the invite for?")
    kim.press_button("Caseworker")
    await kim.wait_for("Everyone registered in this role is connected.")
    kim.press_button("Someone new")
    await kim.wait_for("Which provider do they work for?")
    kim.press_button("Kent Refugee Action")
    await kim.wait_for("Type the full name of the new")
    kim.send_text("")  # nothing typed is not possible on Telegram; a long name is refused
    kim.send_text("x" * 120)
    await kim.wait_for("A name is one line of at most 80 characters.")
    kim.send_text("Sam Taylor")
    invite = await kim.wait_for("Invite for Sam Taylor.")
    sam = harness.user(language_code="en")
    sam.send_text(f"/start {_code(invite.text)}")
    await sam.wait_for(lambda m: any(d == "menu:tickets" for _, d in m.buttons))
    with harness.db.session() as session:
        staff = session.exec(select(Staff).where(Staff.name == "Sam Taylor")).one()
        assert staff.role == StaffRole.CASEWORKER and staff.telegram_user_id == sam.id


async def test_others_are_refused_even_with_forged_buttons(harness: Harness) -> None:
    harness.provider()
    _, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    amina = await harness.join_family("KH-0203")
    with harness.db.session() as session:
        member_id = session.exec(select(Member)).one().id
    sam.send_text("/invite")
    await sam.wait_for("Only coordinators can create invite links.")
    menu = sam.messages[-1]
    for data in (f"iv:mem:{member_id}", "iv:fam:1", "iv:staff:coordinator", "ad:soff:1"):
        query = sam.press(menu.message_id, data)
        await harness.api.quiet()
        answered = next(a for a in sam.callback_answers if a.get("callback_query_id") == query)
        assert answered.get("text") == NOT_COORDINATOR and answered.get("show_alert")
    sam.send_text("/staff")
    await sam.wait_for(NOT_COORDINATOR)
    # A family's forged button is just a stale one; nothing is created.
    amina.press(amina.messages[-1].message_id, f"iv:mem:{member_id}")
    await harness.api.quiet()
    with harness.db.session() as session:
        made = session.exec(select(AuditEvent).where(AuditEvent.action == "invite.create"))
        assert [e.actor for e in made] == ["admin", "admin"]  # the harness's own invites
