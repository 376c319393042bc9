"""The support window: who sees which households, and the monthly notice queued once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from bot.services import registry, support_window
from bot.services.errors import SupportWindowStaffOnly
from bot.services.people import Person
from storage.db import Database
from storage.models import Household, NoticeKind, Notification, StaffRole

TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # a Tuesday, 10:00 in London


def _person(role: StaffRole, staff_id: int, provider_id: int | None = None) -> Person:
    """A member of staff."""
    return Person(
        telegram_user_id=staff_id + 1000, kind="staff", language="en", staff_id=staff_id,
        role=role, provider_id=provider_id,
    )  # fmt: skip


def _setup(db: Database) -> dict[str, int]:
    """Households ending in 1, 5 and 7 months (and one already ended), two caseworkers."""
    with db.session() as session:
        provider, _ = registry.add_provider(session, name="KRA", districts=["Dover"])
        sam = registry.add_staff(session, role="caseworker", name="Sam", provider="KRA")
        rita = registry.add_staff(session, role="caseworker", name="Rita", provider="KRA")
        kim = registry.add_staff(session, role="coordinator", name="Kim")
        for staff, tg in ((sam, 11), (rita, 12), (kim, 13)):
            staff.telegram_user_id = tg
        for ref, ends, who in (
            ("KH-0001", date(2026, 4, 1), sam.id),
            ("KH-0002", date(2026, 8, 31), rita.id),
            ("KH-0003", date(2026, 10, 1), sam.id),
            ("KH-0004", date(2026, 3, 1), sam.id),
            ("KH-0005", date(2026, 9, 10), None),
        ):
            registry.add_family(
                session, ref=ref, district="Canterbury" if ref == "KH-0005" else "Dover",
                scheme="VPRS", arrived="2021-09-01", caseworker_id=who,
            )  # fmt: skip
            household = session.exec(select(Household).where(Household.reference == ref)).one()
            household.support_ends_on = ends
            session.add(household)
        return {"sam": sam.id or 0, "rita": rita.id or 0, "kim": kim.id or 0,
                "provider": provider.id or 0}  # fmt: skip


def test_coordinators_see_all_caseworkers_their_own(db: Database) -> None:
    ids = _setup(db)
    with db.session() as session:
        everyone = support_window.ending_soon(
            session, person=_person(StaffRole.COORDINATOR, ids["kim"]), today=TODAY
        )
        assert [e.reference for e in everyone] == ["KH-0001", "KH-0002", "KH-0005"]
        assert [e.caseworker for e in everyone] == ["Sam", "Rita", ""]
        sams = support_window.ending_soon(
            session, person=_person(StaffRole.CASEWORKER, ids["sam"], ids["provider"]),
            today=TODAY,
        )  # fmt: skip
        assert [e.reference for e in sams] == ["KH-0001"]
        lead = _person(StaffRole.LEAD, 99, ids["provider"])
        held = support_window.ending_soon(session, person=lead, today=TODAY)
        assert [e.reference for e in held] == ["KH-0001", "KH-0002"]  # Canterbury is not KRA's
        longer = support_window.ending_soon(
            session, person=_person(StaffRole.COORDINATOR, ids["kim"]), today=TODAY, months=7
        )
        assert "KH-0003" in [e.reference for e in longer]
        family = Person(telegram_user_id=5, kind="member", language="ar", member_id=1)
        with pytest.raises(SupportWindowStaffOnly):
            support_window.ending_soon(session, person=family, today=TODAY)


def test_the_monthly_notice_is_queued_once_per_person_per_month(db: Database) -> None:
    ids = _setup(db)
    with db.session() as session:
        assert support_window.queue_monthly(session, now=NOW) == 3  # Kim, Sam and Rita
    with db.session() as session:
        assert support_window.queue_monthly(session, now=NOW) == 0  # the same month: nothing
        keys = sorted(n.key for n in session.exec(select(Notification)))
        assert keys == sorted(f"support:2026-03:staff{ids[k]}" for k in ("kim", "sam", "rita"))
        kinds = {n.kind for n in session.exec(select(Notification))}
        assert kinds == {NoticeKind.STAFF_SUPPORT_ENDING}
    night = datetime(2026, 4, 1, 23, 0, tzinfo=UTC)
    with db.session() as session:
        assert support_window.queue_monthly(session, now=night) == 0  # never at night
        april = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)
        # In April KH-0001 (1 April) is still in the window; Sam and Rita and Kim again.
        assert support_window.queue_monthly(session, now=april) == 3


def test_add_months_keeps_the_day_or_the_months_end() -> None:
    assert support_window.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert support_window.add_months(date(2026, 1, 15), 6) == date(2026, 7, 15)
    assert support_window.add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
