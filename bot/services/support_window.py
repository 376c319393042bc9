"""Households whose 5-year support ends soon, for staff only (families are never told the date
by the bot): on request, and in one monthly notice per person, queued once per month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from bot.delivery.lanes import Lane
from bot.services import outbox
from bot.services.errors import InvalidInput, SupportWindowStaffOnly
from bot.services.people import Person
from bot.services.stats import local_today
from bot.services.tickets import WORKING_HOURS
from storage.models import District, Household, Lot, NoticeKind, Staff, StaffRole

WINDOW_MONTHS = 6
MAX_MONTHS = 24
LIST_LIMIT = 500  # more than any caseload; the list says when it was cut
NOTICE_TTL = timedelta(days=14)


@dataclass(frozen=True)
class Ending:
    """One household whose support ends within the window, with its caseworker."""

    household_id: int
    reference: str
    district: str
    support_ends_on: date
    caseworker_id: int | None
    caseworker: str  # "" when nobody is assigned


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def _visible(role: StaffRole | None, staff_id: int | None, provider_id: int | None) -> Any:
    """The SQL condition for the households a member of staff sees here (None: refused)."""
    if role == StaffRole.COORDINATOR:
        return True
    if role == StaffRole.LEAD:
        if provider_id is None:
            return None
        held = (
            select(District.id)
            .join(Lot, col(Lot.id) == col(District.lot_id))
            .where(Lot.provider_id == provider_id)
        )
        return col(Household.district_id).in_(held)
    if role == StaffRole.CASEWORKER and staff_id is not None:
        return col(Household.caseworker_id) == staff_id
    return None


def _ending(session: Session, where: Any, today: date, months: int, limit: int) -> list[Ending]:
    """Households matching ``where`` whose support ends from today to ``months`` ahead."""
    last = add_months(today, months)
    query = (
        select(Household, District.name, Staff.name)
        .join(District, col(District.id) == col(Household.district_id))
        .outerjoin(Staff, col(Staff.id) == col(Household.caseworker_id))
        .where(
            col(Household.support_ends_on) >= today,
            col(Household.support_ends_on) <= last,
            col(Household.erased_at).is_(None),
        )
        .order_by(col(Household.support_ends_on), col(Household.reference))
        .limit(limit)
    )
    if where is not True:
        query = query.where(where)
    return [
        Ending(
            household.id or 0,
            household.reference,
            district,
            household.support_ends_on,
            household.caseworker_id,
            caseworker or "",
        )
        for household, district, caseworker in session.exec(query)
    ]


def check_months(months: int) -> int:
    """The window in months: 1 to 24."""
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput("bad_months", months=months, limit=MAX_MONTHS)
    return months


def ending_soon(
    session: Session,
    *,
    person: Person,
    today: date,
    months: int = WINDOW_MONTHS,
    limit: int = LIST_LIMIT,
) -> list[Ending]:
    """What a member of staff sees: coordinators every household, leads their provider's,
    caseworkers their own; families and strangers are refused."""
    where = _visible(person.role, person.staff_id, person.provider_id) if person.is_staff else None
    if where is None:
        raise SupportWindowStaffOnly("support_window_staff_only")
    return _ending(session, where, today, check_months(months), limit)


def ending_all(
    session: Session, *, today: date, months: int = WINDOW_MONTHS, limit: int = LIST_LIMIT
) -> list[Ending]:
    """Every household (the admin command line)."""
    return _ending(session, True, today, check_months(months), limit)


def month_key(now: datetime) -> str:
    """The London month of ``now``, ``YYYY-MM``."""
    return local_today(now).strftime("%Y-%m")


def queue_monthly(session: Session, *, now: datetime, months: int = WINDOW_MONTHS) -> int:
    """Queues this month's notice for each coordinator and each caseworker with households in
    the window, once per month per person (key ``support:YYYY-MM:staffID``), in working hours
    only; returns how many were queued now. The list itself is read when the notice is sent."""
    if not WORKING_HOURS.is_open(now):
        return 0
    month, today = month_key(now), local_today(now)
    staff = session.exec(
        select(Staff).where(
            col(Staff.active),
            col(Staff.telegram_user_id).is_not(None),
            col(Staff.role).in_([StaffRole.COORDINATOR, StaffRole.CASEWORKER]),
        )
    ).all()
    queued = 0
    for member in staff:
        key = f"support:{month}:staff{member.id}"
        where = _visible(member.role, member.id, member.provider_id)
        if where is None or not _ending(session, where, today, months, 1):
            continue
        assert member.telegram_user_id is not None
        if outbox.enqueue(
            session,
            key=key,
            chat_id=member.telegram_user_id,
            kind=NoticeKind.STAFF_SUPPORT_ENDING,
            lane=Lane.BULK,
            expires_at=now + NOTICE_TTL,
            now=now,
            month=month,
            months=months,
        ):
            queued += 1
    return queued
