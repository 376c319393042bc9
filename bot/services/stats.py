"""Contract figures for a period, per provider and per Lot: one function computes them and the
chart, the CSV, the JSON and the admin CLI all render its result. Counts are SQL GROUP BYs;
response and resolution times are working hours (weekends and England bank holidays left out).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_
from sqlmodel import Session, col, select

from bot.i18n import plain
from bot.services import audit
from bot.services.errors import (
    BadPeriod,
    NotFound,
    StatsNoProvider,
    StatsNotAllowed,
    StatsOtherProvider,
)
from bot.services.people import Person
from bot.services.tickets import OPEN_STATUSES, WORKING_HOURS
from bot.services.working_hours import WorkingHours
from storage.models import (
    Appointment,
    Attendance,
    AttendanceStatus,
    Category,
    District,
    Household,
    Lot,
    Member,
    Provider,
    StaffRole,
    Ticket,
)

ZONE = ZoneInfo("Europe/London")
MAX_DAYS = 3 * 366  # a longer typed period is a typo, and would be slow
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
Key = tuple[int | None, int | None]  # (provider id, Lot id)


class PeriodChoice(StrEnum):
    """The periods offered as buttons (short codes: they travel in callback data)."""

    THIS_MONTH = "tm"
    LAST_MONTH = "lm"
    LAST_QUARTER = "lq"
    THIS_YEAR = "ty"


class RowLevel(StrEnum):
    """What a row of figures adds up."""

    TOTAL = "total"  # every provider the caller may see
    PROVIDER = "provider"  # one provider, all its Lots
    LOT = "lot"  # one provider's tickets from the households of one Lot


@dataclass(frozen=True)
class Period:
    """London calendar dates from ``start`` to ``end``, both inclusive."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """How many days the period spans."""
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """The UTC instants of London midnight at the start and after the end (exclusive)."""
        first = datetime.combine(self.start, time(0), tzinfo=ZONE).astimezone(UTC)
        after = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=ZONE)
        return first, after.astimezone(UTC)


def local_today(now: datetime) -> date:
    """The London date of a UTC instant."""
    return now.astimezone(ZONE).date()


def period_for(choice: PeriodChoice | str, today: date) -> Period:
    """The period a button names, as of ``today`` (this month and this year end today)."""
    choice = PeriodChoice(choice)
    if choice == PeriodChoice.THIS_MONTH:
        return Period(today.replace(day=1), today)
    if choice == PeriodChoice.LAST_MONTH:
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end)
    if choice == PeriodChoice.LAST_QUARTER:
        quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        end = quarter_start - timedelta(days=1)
        return Period(date(end.year, end.month - 2, 1), end)
    return Period(date(today.year, 1, 1), today)


def parse_date(text: str) -> date:
    """A typed YYYY-MM-DD date (Arabic-Indic digits too); BadPeriod when it is not one."""
    found = _DATE.match(plain(text).strip())
    if found is None:
        raise BadPeriod("bad_date", reason="bad_date", value=text[:20])
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        raise BadPeriod("bad_date", reason="bad_date", value=text[:20]) from None


def make_period(start: date, end: date) -> Period:
    """A checked period: refused when the end is before the start or it is far too long."""
    if end < start:
        raise BadPeriod("end_before_start", reason="end_before_start", start=start, end=end)
    if (end - start).days + 1 > MAX_DAYS:
        raise BadPeriod("too_long", reason="too_long", days=MAX_DAYS)
    return Period(start, end)


def parse_period(start: str, end: str) -> Period:
    """A period from two typed dates."""
    return make_period(parse_date(start), parse_date(end))


# ---------------------------------------------------------------- who may see what


def scope_role(person: Person) -> None:
    """Refuses everyone but coordinators and leads (and leads not linked to a provider)."""
    if not person.is_staff or person.role not in (StaffRole.LEAD, StaffRole.COORDINATOR):
        raise StatsNotAllowed("stats_not_allowed")
    if person.role == StaffRole.LEAD and person.provider_id is None:
        raise StatsNoProvider("stats_no_provider")


def scope(session: Session, person: Person, provider_id: int | None) -> int | None:
    """The provider whose figures the caller gets (None: every provider).

    Coordinators: any provider, or all. Leads: only their own provider (asking for another, by
    typed arguments or a forged button, is refused). Everyone else is refused.
    """
    scope_role(person)
    if person.role == StaffRole.LEAD:
        if provider_id is not None and provider_id != person.provider_id:
            raise StatsOtherProvider("stats_other_provider", provider=provider_id)
        return person.provider_id
    if provider_id is not None and session.get(Provider, provider_id) is None:
        raise NotFound("provider", provider=provider_id)
    return provider_id


# ---------------------------------------------------------------- the figures


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile by linear interpolation between closest ranks (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Row:
    """The figures of one provider and Lot (or a provider's, or everyone's, total)."""

    level: RowLevel
    provider_id: int | None
    provider: str
    lot_id: int | None = None
    lot: str = ""
    opened: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    urgent: int = 0
    breached: int = 0
    overdue_now: int = 0
    first_response: list[float] = field(default_factory=list)  # working hours, per ticket
    resolution: list[float] = field(default_factory=list)
    kept: int = 0
    missed: int = 0
    attended: int = 0
    absent: int = 0
    apology: int = 0
    unreachable: int = 0

    @property
    def esol_rate(self) -> float | None:
        """Sessions attended over sessions attended, absent or apologised for (None if none)."""
        marked = self.attended + self.absent + self.apology
        return self.attended / marked if marked else None

    @property
    def first_response_median(self) -> float | None:
        """Median working hours to the first response."""
        return percentile(self.first_response, 0.5)

    @property
    def first_response_p90(self) -> float | None:
        """90th percentile working hours to the first response."""
        return percentile(self.first_response, 0.9)

    @property
    def resolution_median(self) -> float | None:
        """Median working hours to resolution."""
        return percentile(self.resolution, 0.5)

    @property
    def resolution_p90(self) -> float | None:
        """90th percentile working hours to resolution."""
        return percentile(self.resolution, 0.9)

    @property
    def empty(self) -> bool:
        """Nothing at all to show."""
        return not (
            self.opened or self.overdue_now or self.kept or self.missed or self.attended
            or self.absent or self.apology or self.unreachable
        )  # fmt: skip

    def add(self, other: Row) -> None:
        """Adds another row's counts and times into this one."""
        for name in ("opened", "urgent", "breached", "overdue_now", "kept", "missed",
                     "attended", "absent", "apology", "unreachable"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for code, n in other.by_category.items():
            self.by_category[code] = self.by_category.get(code, 0) + n
        self.first_response.extend(other.first_response)
        self.resolution.extend(other.resolution)


@dataclass
class Figures:
    """Every row for a period, as of ``generated_at`` (the data date)."""

    period: Period
    generated_at: datetime
    provider_id: int | None  # the scope: None = every provider
    categories: list[str]  # category codes, in menu order (the CSV's columns)
    rows: list[Row]

    @property
    def total(self) -> Row:
        """The overall row (the one provider's row for a lead)."""
        return self.rows[0]

    @property
    def providers(self) -> list[Row]:
        """One row per provider."""
        return [r for r in self.rows if r.level == RowLevel.PROVIDER]

    @property
    def empty(self) -> bool:
        """Nothing happened in the period and nothing is overdue or unreachable now."""
        return all(r.empty for r in self.rows)


def _ticket_keys(provider_id: int | None) -> Any:
    """Tickets with their (provider, Lot) key columns, optionally of one provider only."""
    query = (
        select(Ticket.provider_id, District.lot_id)
        .join(Household, col(Household.id) == col(Ticket.household_id))
        .join(District, col(District.id) == col(Household.district_id))
    )
    if provider_id is not None:
        query = query.where(Ticket.provider_id == provider_id)
    return query


def _household_keys(provider_id: int | None) -> Any:
    """Households' (Lot provider, Lot) key columns, optionally of one provider's Lots only."""
    query = (
        select(Lot.provider_id, District.lot_id)
        .select_from(Household)
        .join(District, col(District.id) == col(Household.district_id))
        .outerjoin(Lot, col(Lot.id) == col(District.lot_id))
    )
    if provider_id is not None:
        query = query.where(Lot.provider_id == provider_id)
    return query


def compute(
    session: Session,
    *,
    period: Period,
    now: datetime,
    provider_id: int | None = None,
    hours: WorkingHours = WORKING_HOURS,
) -> Figures:
    """The figures of ``period`` for one provider (or all), as of ``now``.

    Tickets count by when they were opened and by the provider they were routed to, under the
    Lot of the family's district; attendance and unreachable families by the Lot of the
    household's district. A ticket breached when its first response came after ``due_at``, or
    none came and ``due_at`` has passed. Families unreachable: households with a member marked
    unreachable now (they blocked the bot).
    """
    first, after = period.bounds()
    in_period = and_(col(Ticket.created_at) >= first, col(Ticket.created_at) < after)
    cells: dict[Key, Row] = {}

    def cell(key: Key) -> Row:
        if key not in cells:
            cells[key] = Row(RowLevel.LOT, key[0], "", key[1])
        return cells[key]

    breached = case(
        (
            or_(
                and_(
                    col(Ticket.first_response_at).is_not(None),
                    col(Ticket.first_response_at) > col(Ticket.due_at),
                ),
                and_(col(Ticket.first_response_at).is_(None), col(Ticket.due_at) < now),
            ),
            1,
        ),
        else_=0,
    )
    counted = (
        _ticket_keys(provider_id)
        .add_columns(
            Category.code,
            func.count(),
            func.sum(case((col(Ticket.urgent), 1), else_=0)),
            func.sum(breached),
        )
        .join(Category, col(Category.id) == col(Ticket.category_id))
        .where(in_period)
        .group_by(col(Ticket.provider_id), col(District.lot_id), col(Category.code))
    )
    for provider, lot, code, n, urgent, late in session.exec(counted):
        row = cell((provider, lot))
        row.opened += n
        row.by_category[code] = row.by_category.get(code, 0) + n
        row.urgent += int(urgent or 0)
        row.breached += int(late or 0)

    timed = (
        _ticket_keys(provider_id)
        .add_columns(Ticket.created_at, Ticket.first_response_at, Ticket.resolved_at)
        .where(in_period)
        .where(
            or_(col(Ticket.first_response_at).is_not(None), col(Ticket.resolved_at).is_not(None))
        )
    )
    for provider, lot, created, answered, resolved in session.exec(timed):
        row = cell((provider, lot))
        if answered is not None:
            row.first_response.append(hours.working_hours_between(created, answered))
        if resolved is not None:
            row.resolution.append(hours.working_hours_between(created, resolved))

    overdue = (
        _ticket_keys(provider_id)
        .add_columns(func.count())
        .where(
            col(Ticket.status).in_(list(OPEN_STATUSES)),
            col(Ticket.first_response_at).is_(None),
            col(Ticket.due_at) <= now,
        )
        .group_by(col(Ticket.provider_id), col(District.lot_id))
    )
    for provider, lot, n in session.exec(overdue):
        cell((provider, lot)).overdue_now += n

    _attendance(session, period, provider_id, cell)
    unreachable = (
        _household_keys(provider_id)
        .add_columns(func.count(func.distinct(Household.id)))
        .join(Member, col(Member.household_id) == col(Household.id))
        .where(col(Member.unreachable_at).is_not(None))
        .group_by(col(Lot.provider_id), col(District.lot_id))
    )
    for provider, lot, n in session.exec(unreachable):
        cell((provider, lot)).unreachable += n

    categories = [
        c.code
        for c in session.exec(select(Category).order_by(col(Category.position), col(Category.id)))
    ]
    rows = _assemble(session, cells, provider_id)
    return Figures(period, now, provider_id, categories, rows)


def _attendance(session: Session, period: Period, provider_id: int | None, cell: Any) -> None:
    """Appointments kept and missed (by their London start date) and ESOL session marks (by
    session date), in the period, counted in SQL per Lot (the same rule as
    bot.services.appointments.attendance_counts, which gives the per-provider totals)."""
    first, after = period.bounds()
    query = (
        _household_keys(provider_id)
        .add_columns(Attendance.status, func.count())
        .join(Attendance, col(Attendance.household_id) == col(Household.id))
        .outerjoin(Appointment, col(Appointment.id) == col(Attendance.appointment_id))
        .where(
            or_(
                and_(
                    col(Attendance.appointment_id).is_not(None),
                    col(Appointment.starts_at) >= first,
                    col(Appointment.starts_at) < after,
                ),
                and_(
                    col(Attendance.appointment_id).is_(None),
                    col(Attendance.session_on) >= period.start,
                    col(Attendance.session_on) <= period.end,
                ),
            )
        )
        .group_by(col(Lot.provider_id), col(District.lot_id), col(Attendance.status))
    )
    for provider, lot, status, n in session.exec(query):
        row = cell((provider, lot))
        name = str(AttendanceStatus(status))
        if name in ("kept", "missed", "attended", "absent", "apology"):
            setattr(row, name, getattr(row, name) + n)


def _assemble(session: Session, cells: dict[Key, Row], provider_id: int | None) -> list[Row]:
    """Lot rows under their provider's row, providers by name, the total first."""
    providers = {p.id: p.name for p in session.exec(select(Provider))}
    lots = {lot.id: lot.name for lot in session.exec(select(Lot))}
    if provider_id is not None and (provider_id, None) not in cells and not cells:
        cells[(provider_id, None)] = Row(RowLevel.LOT, provider_id, "", None)
    by_provider: dict[int | None, list[Row]] = defaultdict(list)
    for (provider, lot), row in cells.items():
        row.provider = providers.get(provider, "") if provider is not None else ""
        row.lot = lots.get(lot, "") if lot is not None else ""
        by_provider[provider].append(row)
    if provider_id is not None:
        by_provider.setdefault(provider_id, [])
    ordered: list[Row] = []
    for provider in sorted(by_provider, key=lambda p: (p is None, providers.get(p, ""), p or 0)):
        name = providers.get(provider, "") if provider is not None else ""
        total = Row(RowLevel.PROVIDER, provider, name)
        lot_rows = sorted(by_provider[provider], key=lambda r: (r.lot_id is None, r.lot))
        for row in lot_rows:
            total.add(row)
        ordered.append(total)
        ordered.extend(lot_rows)
    if provider_id is not None:
        return ordered
    everyone = Row(RowLevel.TOTAL, None, "")
    for row in ordered:
        if row.level == RowLevel.PROVIDER:
            everyone.add(row)
    return [everyone, *ordered]


def figures_for(
    session: Session,
    *,
    person: Person,
    period: Period,
    now: datetime,
    provider_id: int | None = None,
) -> Figures:
    """The figures a member of staff may see (checked with :func:`scope`), audited."""
    allowed = scope(session, person, provider_id)
    audit.record(
        session,
        actor=f"staff:{person.staff_id}",
        action="stats.view",
        subject=f"provider:{allowed}" if allowed is not None else "provider:all",
        start=period.start.isoformat(),
        end=period.end.isoformat(),
    )
    return compute(session, period=period, now=now, provider_id=allowed)


# ---------------------------------------------------------------- CSV and JSON


def _hours(value: float | None) -> float | None:
    """Working hours to one decimal place (None stays None)."""
    return None if value is None else round(value, 1)


def row_dict(row: Row, categories: Iterable[str]) -> dict[str, Any]:
    """One row as plain values: the CSV's columns and the JSON's fields."""
    rate = row.esol_rate
    values: dict[str, Any] = {
        "level": str(row.level),
        "provider_id": row.provider_id,
        "provider": row.provider,
        "lot_id": row.lot_id,
        "lot": row.lot,
        "tickets_opened": row.opened,
    }
    for code in categories:
        values[f"opened_{code}"] = row.by_category.get(code, 0)
    values.update(
        {
            "urgent": row.urgent,
            "first_responses": len(row.first_response),
            "first_response_median_wh": _hours(row.first_response_median),
            "first_response_p90_wh": _hours(row.first_response_p90),
            "resolved": len(row.resolution),
            "resolution_median_wh": _hours(row.resolution_median),
            "resolution_p90_wh": _hours(row.resolution_p90),
            "overdue_now": row.overdue_now,
            "breached": row.breached,
            "appointments_kept": row.kept,
            "appointments_missed": row.missed,
            "esol_attended": row.attended,
            "esol_absent": row.absent,
            "esol_apology": row.apology,
            "esol_attendance_rate": None if rate is None else round(rate, 3),
            "families_unreachable": row.unreachable,
        }
    )
    return values


def to_json(figures: Figures) -> dict[str, Any]:
    """The figures as one JSON-ready object."""
    return {
        "from": figures.period.start.isoformat(),
        "to": figures.period.end.isoformat(),
        "data_as_of": figures.generated_at.astimezone(UTC).isoformat(timespec="seconds"),
        "provider_id": figures.provider_id,
        "empty": figures.empty,
        "rows": [row_dict(r, figures.categories) for r in figures.rows],
    }


def _safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (a name starting with = + - @)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def to_csv(figures: Figures) -> bytes:
    """The figures as a UTF-8 CSV (with a BOM, so spreadsheet programs read Arabic names)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    head = ["from", "to", "data_as_of"]
    stamp = [
        figures.period.start.isoformat(),
        figures.period.end.isoformat(),
        figures.generated_at.astimezone(UTC).isoformat(timespec="seconds"),
    ]
    columns = list(row_dict(Row(RowLevel.TOTAL, None, ""), figures.categories))
    writer.writerow(head + columns)
    for row in figures.rows:
        values = row_dict(row, figures.categories)
        writer.writerow(stamp + [_safe_cell(values[c]) for c in columns])
    return ("\ufeff" + out.getvalue()).encode()
