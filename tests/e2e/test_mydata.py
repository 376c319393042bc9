"""/mydata end to end: a family gets its data in Arabic (and JSON), asks to delete it, a
coordinator confirms from Telegram, and nothing of the family is left, even after a restart."""

from __future__ import annotations

import json

from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select

from bot.services import audit, people, tickets
from bot.services.people import Person
from bot.services.tickets import Part
from localapi import UserHandle
from storage.models import Household, Ticket
from tests.e2e.conftest import Harness

NAME, REF = "Zainab Erasetest", "KH-0901"
WORDS = ["needlewordqq", "07700900456"]


def _report(harness: Harness, user: UserHandle) -> int:
    """A request from the family with words to find later (opened through the service)."""
    with harness.db.session() as session:
        person = people.identify(session, telegram_user_id=user.id, language_code="ar")
        person = Person(**{**person.__dict__, "consented": True})
        opened = tickets.open_ticket(
            session, person=person, category="housing",
            parts=[Part(text=f"{WORDS[0]} boiler, call {WORDS[1]}")],
        )  # fmt: skip
        return opened.ticket.id or 0


def _left(harness: Harness, needles: list[str]) -> set[tuple[str, str]]:
    """(table, needle) for every needle still found in any column of any table."""
    found = set()
    with harness.db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in session.execute(sa_select(table)).all():
                cells = json.dumps([str(v) for v in row], ensure_ascii=False)
                found |= {(table.name, n) for n in needles if n in cells}
    return found


async def test_a_family_gets_its_data_asks_to_delete_and_a_coordinator_erases(
    harness: Harness,
) -> None:
    harness.provider()
    _, kim = await harness.join_staff("coordinator", "Kim")
    amina = await harness.join_family(REF, member=NAME)
    ticket_id = _report(harness, amina)

    amina.send_text("/mydata")
    await amina.wait_for("بياناتك")
    amina.press_button("📄 الحصول على نسخة")
    docs = await amina.wait_for_count(len(amina.messages) + 3)
    files = {m.file_name: m.file_bytes for m in docs if m.file_bytes is not None}
    readable = (files["sanad-my-data.txt"] or b"").decode()
    assert "بياناتك المحفوظة في سند" in readable and NAME in readable and WORDS[0] in readable
    data = json.loads(files["sanad-my-data.json"] or b"{}")
    assert data["members"][0]["name"] == NAME and data["tickets"][0]["id"] == ticket_id
    await amina.wait_for("هذا كل ما يحفظه سند عن أسرتك")

    amina.press_button("🗑 حذف بياناتي")
    await amina.wait_for("هل تريد حذف بيانات أسرتك من سند؟")
    amina.press_button("🗑 نعم، احذفوا بياناتنا")
    await amina.wait_for("أُرسل طلبك إلى فريق إعادة التوطين في البلدية")

    notice = await kim.wait_for(f"Household {REF} (1 person) asked")
    assert NAME not in notice.text
    kim.press_button("🧾 Audit trail")
    trail = await kim.wait_for("Audit trail of household")
    assert "privacy.erasure_request" in trail.text and "privacy.export" in trail.text
    kim.send_text(f"/audit {REF}")
    trail = await kim.wait_for("Audit trail of household")
    assert "privacy.audit_read" in trail.text  # the first read is itself on the trail
    kim.press_button("🗑 Erase")
    await kim.wait_for("This cannot be undone")
    kim.press_button("🗑 Yes, erase")
    await kim.wait_for("has been erased")
    await harness.api.quiet()

    needles = [NAME, REF, str(amina.id), *WORDS]
    assert _left(harness, needles) == set()
    with harness.db.session() as session:
        household = session.exec(select(Household)).one()
        assert household.erased_at is not None
        assert session.get(Ticket, ticket_id) is not None  # counted, anonymous
        actions = [e.action for e in session.exec(select(audit.AuditEvent))]
        assert "privacy.erase" in actions and "privacy.audit_read" in actions
        assert audit.verify(session).ok

    # A restart brings nothing back (no pending update, notice or job holds the family).
    await harness.restart()
    await harness.api.quiet()
    assert _left(harness, needles) == set()
    # She is a stranger now: Sanad no longer knows her.
    amina.send_text("/tickets")
    await amina.wait_for(lambda m: "invite" in m.text or "دعوة" in m.text)
