"""/stats and /support end to end through the local Bot API: a coordinator gets the chart and
the CSV; a lead's forged button for another provider is refused; a caseworker is refused
figures; the support window differs for a coordinator and a caseworker; the monthly notice
arrives once."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.delivery import reminder_clock, support_window_job
from bot.services import registry
from bot.services.stats import local_today
from storage.models import Category, Household, Member, Ticket
from storage.types import utcnow
from tests.e2e.conftest import Harness

PNG = b"\x89PNG\r\n\x1a\n"


def _setup(harness: Harness) -> None:
    """Two providers; a ticket this month for the first; support ending soon for KH-0001."""
    harness.provider()
    harness.provider("East Kent Support", "Canterbury")
    with harness.db.session() as session:
        for ref, district in (("KH-0001", "Dover"), ("KH-0002", "Dover")):
            registry.add_family(
                session, ref=ref, district=district, scheme="VPRS", arrived="2024-05-01"
            )
            registry.add_member(session, family=ref, name="Amina")


def _ticket_and_window(harness: Harness, sam_id: int) -> None:
    """One ticket answered today; KH-0001 (Sam's) ends in two months, KH-0002 in three."""
    now = utcnow()
    with harness.db.session() as session:
        housing = session.exec(select(Category).where(Category.code == "housing")).one()
        for ref, days, caseworker in (("KH-0001", 60, sam_id), ("KH-0002", 90, None)):
            household = session.exec(select(Household).where(Household.reference == ref)).one()
            household.support_ends_on = local_today(now) + timedelta(days=days)
            household.caseworker_id = caseworker
            session.add(household)
        household = session.exec(select(Household).where(Household.reference == "KH-0001")).one()
        member = session.exec(select(Member).where(Member.household_id == household.id)).first()
        assert member is not None
        session.add(
            Ticket(
                household_id=household.id or 0,
                member_id=member.id or 0,
                category_id=housing.id or 0,
                provider_id=1,
                created_at=now,
                due_at=now + timedelta(hours=8),
            )
        )


async def test_a_coordinator_gets_the_chart_and_the_csv(harness: Harness) -> None:
    _setup(harness)
    sam_id, _ = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    _ticket_and_window(harness, sam_id)
    _, kim = await harness.join_staff("coordinator", "Kim")
    kim.send_text("/stats")
    await kim.wait_for("Choose a period")
    kim.press(*kim.button("This month"))
    photo = await kim.wait_for(lambda m: m.kind == "photo")
    assert photo.file_bytes is not None and photo.file_bytes.startswith(PNG)
    assert "Figures for" in photo.content and "Data as of" in photo.content
    document = await kim.wait_for(lambda m: m.kind == "document")
    assert document.file_name is not None and document.file_name.endswith(".csv")
    assert document.file_bytes is not None
    rows = list(csv.DictReader(io.StringIO(document.file_bytes.decode("utf-8-sig"))))
    assert rows[0]["level"] == "total" and rows[0]["tickets_opened"] == "1"
    assert rows[0]["opened_housing"] == "1"

    # Typed dates, end before start: refused, nothing sent.
    kim.send_text("/stats 2026-03-31 2026-01-01")
    await kim.wait_for("before its start")
    # An empty typed period: an honest empty chart, not an error.
    kim.send_text("/stats 2001-01-01 2001-01-31")
    empty = await kim.wait_for(lambda m: m.kind == "photo")
    assert "Nothing was recorded" in empty.content

    # The support window: everything for the coordinator.
    kim.send_text("/support")
    listing = await kim.wait_for("support ends")
    assert "KH-0001" in listing.content and "KH-0002" in listing.content
    assert "Sam" in listing.content


async def test_leads_only_their_provider_and_caseworkers_no_figures(harness: Harness) -> None:
    _setup(harness)
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    _ticket_and_window(harness, sam_id)
    _, lea = await harness.join_staff("lead", "Lea", "East Kent Support")
    lea.send_text("/stats 2026-01-01 2026-01-31 1")
    await lea.wait_for("only your own provider")
    lea.send_text("/stats")
    message = await lea.wait_for("Choose a period")
    # A forged button asking for provider 1's figures.
    lea.press(message.message_id, "st:p:tm:1")
    await lea.wait_for("only your own provider")
    assert not any(m.kind == "photo" for m in lea.messages)
    lea.press(*lea.button("This month"))
    photo = await lea.wait_for(lambda m: m.kind == "photo")
    assert "East Kent Support" in photo.content

    sam.send_text("/stats")
    await sam.wait_for("Only coordinators and provider leads")
    sam.send_text("/support")
    listing = await sam.wait_for("end of support")
    assert "KH-0001" in listing.content and "KH-0002" not in listing.content


async def test_the_monthly_notice_arrives_once(harness: Harness) -> None:
    _setup(harness)
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    _ticket_and_window(harness, sam_id)
    _, kim = await harness.join_staff("coordinator", "Kim")
    assert harness.app is not None
    # A Tuesday at 10:00 London time this month (working hours), by the injected clock.
    today = local_today(utcnow())
    day = today.replace(day=1)
    while day.weekday() != 1:
        day += timedelta(days=1)
    at = datetime.combine(day, time(10), tzinfo=ZoneInfo("Europe/London"))
    reminder_clock.set_clock(harness.app, lambda: at)
    job = SimpleNamespace(application=harness.app)
    await support_window_job.support_window_job(job)
    await support_window_job.support_window_job(job)
    notice = await kim.wait_for("monthly reminder")
    assert "KH-0001" in notice.content and "KH-0002" in notice.content
    mine = await sam.wait_for("monthly reminder")
    assert "KH-0002" not in mine.content
    await harness.api.quiet(0.5)
    assert sum("monthly reminder" in m.content for m in kim.messages) == 1
