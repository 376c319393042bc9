"""Reference data from Telegram: providers and Lots, routing rules and staff, by buttons."""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.models import AuditEvent, RoutingDecision, Staff, Ticket
from tests.e2e.conftest import Harness
from tests.e2e.test_tickets import TUESDAY_10, report

HEALTH_AR = "الصحة"


@pytest.fixture(autouse=True)
def _office_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports are made on a Tuesday morning."""
    monkeypatch.setattr("handlers.report.utcnow", lambda: TUESDAY_10)


async def test_a_routing_rule_added_by_buttons_routes_the_next_report(harness: Harness) -> None:
    harness.provider()  # Kent Refugee Action holds Dover and Thanet
    harness.provider("East Kent Support", "Swale")
    _, kim = await harness.join_staff("coordinator", "Kim")
    amina = await harness.join_family("KH-0301")
    kim.send_text("/routing")
    await kim.wait_for("There are no routing rules.")
    kim.press_button("Add a rule")
    await kim.wait_for("Requests from which district?")
    kim.press_button("Dover")
    await kim.wait_for("Which requests?")
    kim.press_button("health")
    await kim.wait_for("Send them to which provider?")
    kim.press_button("East Kent Support")
    added = await kim.wait_for("Rule #1 is added.")
    assert added.text == "Rule #1 is added."
    await kim.wait_for("#1 Dover, health requests → East Kent Support")

    await report(amina, HEALTH_AR, "أحتاج موعداً مع الطبيب")
    with harness.db.session() as session:
        ticket = session.exec(select(Ticket)).one()
        decision = session.exec(select(RoutingDecision)).one()
        east = session.exec(select(AuditEvent).where(AuditEvent.action == "routing.rule.add"))
        assert [e.actor for e in east] == ["staff:1"]
    assert decision.reason == "routing rule" and decision.rule_id == 1
    assert ticket.provider_id == 2

    # The same rule again is refused; removing it is one tap.
    kim.press_button("Add a rule")
    await kim.wait_for("Requests from which district?")
    kim.press_button("Dover")
    await kim.wait_for("Which requests?")
    kim.press_button("health")
    await kim.wait_for("Send them to which provider?")
    kim.press_button("Kent Refugee Action")
    await kim.wait_for("Rule #1 already routes these requests. Remove it first.")
    kim.send_text("/routing")
    await kim.wait_for("#1 Dover, health requests")
    kim.press_button("Remove #1")
    await kim.wait_for("Rule #1 is removed.")


async def test_a_district_moves_lot_only_after_a_confirm_naming_the_loser(
    harness: Harness,
) -> None:
    harness.provider()
    _, kim = await harness.join_staff("coordinator", "Kim")
    kim.send_text("/providers")
    await kim.wait_for("Kent Refugee Action (on): Dover, Thanet; staff: 0")
    kim.press_button("Add a provider")
    await kim.wait_for("Type the new provider's name.")
    kim.send_text("kent refugee action")
    await kim.wait_for("There is already a provider called Kent Refugee Action.")
    kim.send_text("East Kent Support")
    await kim.wait_for("Which district does East Kent Support hold first?")
    kim.press_button("Dover")
    ask = await kim.wait_for("Dover is in the Lot of Kent Refugee Action. Move it to East")
    assert "Kent Refugee Action will lose it" in ask.text
    with harness.db.session() as session:
        added = session.exec(select(AuditEvent).where(AuditEvent.action == "provider.add"))
        assert [e.actor for e in added] == ["admin"]  # only the harness's provider
    kim.press_button("Move it")
    done = await kim.wait_for("East Kent Support is added.")
    assert (
        "Dover is now in the Lot of East Kent Support; Kent Refugee Action no longer holds it."
        in done.text
    )
    kim.send_text("/providers")
    listing = await kim.wait_for("Providers and the districts")
    assert "Kent Refugee Action (on): Thanet" in listing.text
    assert "East Kent Support (on): Dover" in listing.text
    kim.press_button("Kent Refugee Action")
    await kim.wait_for("Districts of its Lot: Thanet")
    kim.press_button("Switch off")
    await kim.wait_for("This provider still holds districts (Thanet)")


async def test_switching_a_caseworker_off_says_what_happens_and_locks_them_out(
    harness: Harness,
) -> None:
    harness.provider()
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    _, lee = await harness.join_staff("lead", "Lee", "Kent Refugee Action")
    _, kim = await harness.join_staff("coordinator", "Kim")
    amina = await harness.join_family("KH-0302", caseworker_id=sam_id)
    await report(amina, HEALTH_AR, "أحتاج موعداً")
    kim.send_text("/staff")
    await kim.wait_for("3 members of staff:")
    kim.press_button(f"{sam_id}. Sam")
    await kim.wait_for("Change the role, or switch them off or on:")
    kim.press_button("Switch off")
    said = await kim.wait_for("Sam is switched off")
    assert "1 open request they held went back to their provider's queue" in said.text
    assert "1 family still has them as caseworker" in said.text
    await lee.wait_for("A request was passed to you or to your queue.")
    sam.send_text("/tickets")
    await sam.wait_for("you need your own invite link")
    with harness.db.session() as session:
        staff = session.get(Staff, sam_id)
        assert staff is not None and not staff.active
        assert session.exec(select(Ticket)).one().assignee_id is None
    # Coordinators cannot switch themselves off.
    kim.send_text("/staff")
    await kim.wait_for("3 members of staff:")
    kim.press_button("3. Kim")
    await kim.wait_for("Change the role")
    kim.press_button("Switch off")
    await kim.wait_for("You cannot switch off or change your own account.")
