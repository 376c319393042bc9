"""A broadcast's audience: filters as data, and the family members they reach.

An audience is ``{dimension: [values]}``: AND across dimensions, OR within one; empty means
every family. Only members who can be reached are counted: linked, consented, not erased, and
not known to have blocked the bot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, literal
from sqlmodel import Session, col, select

from bot.languages import LANGUAGES
from bot.services.errors import BadPeriod, InvalidInput
from storage.models import District, Household, Lot, Member, Provider, Scheme

MAX_VALUES = 50  # more values in one dimension than any deployment has: forged


class Dimension(StrEnum):
    """What an audience can be narrowed by."""

    DISTRICT = "district"
    LOT = "lot"
    PROVIDER = "provider"
    SCHEME = "scheme"
    LANGUAGE = "language"
    ARRIVED = "arrived"  # [from, to] ISO dates, both included


def language_of() -> Any:
    """A member's reading language in SQL, as people.identify chooses it."""
    return func.coalesce(
        Member.language, Household.language, Member.telegram_language, literal("ar")
    )


def normalise(audience: dict[str, Any]) -> dict[str, list[Any]]:
    """A clean copy of an audience; InvalidInput for an unknown dimension or a bad value."""
    clean: dict[str, list[Any]] = {}
    for name, values in (audience or {}).items():
        try:
            dimension = Dimension(name)
        except ValueError:
            raise InvalidInput("audience_dimension") from None
        if not isinstance(values, list) or len(values) > MAX_VALUES:
            raise InvalidInput("audience_value")
        if not values:
            continue
        if dimension == Dimension.LANGUAGE:
            if any(v not in LANGUAGES for v in values):
                raise InvalidInput("audience_value")
            clean[name] = sorted(set(values))
        elif dimension == Dimension.ARRIVED:
            clean[name] = list(arrival_range(values))
        else:
            if any(not isinstance(v, int) or isinstance(v, bool) or v <= 0 for v in values):
                raise InvalidInput("audience_value")
            clean[name] = sorted(set(values))
    return clean


def arrival_range(values: list[Any]) -> tuple[str, str]:
    """A validated [from, to] pair of ISO dates; BadPeriod when unread or reversed."""
    if len(values) != 2:
        raise InvalidInput("audience_value")
    try:
        start, end = date.fromisoformat(str(values[0])), date.fromisoformat(str(values[1]))
    except ValueError:
        raise BadPeriod("date", reason="bad_date") from None
    if end < start:
        raise BadPeriod("end_before_start", reason="end_before_start")
    return start.isoformat(), end.isoformat()


def _conditions(audience: dict[str, list[Any]]) -> list[Any]:
    """The WHERE clauses of an audience over Member ⋈ Household ⋈ District ⟕ Lot."""
    where: list[Any] = [
        col(Member.telegram_user_id).is_not(None),
        col(Member.consent_at).is_not(None),
        col(Member.unreachable_at).is_(None),
        col(Household.erased_at).is_(None),
    ]
    for name, values in audience.items():
        dimension = Dimension(name)
        if dimension == Dimension.DISTRICT:
            where.append(col(Household.district_id).in_(values))
        elif dimension == Dimension.LOT:
            where.append(col(District.lot_id).in_(values))
        elif dimension == Dimension.PROVIDER:
            where.append(col(Lot.provider_id).in_(values))
        elif dimension == Dimension.SCHEME:
            where.append(col(Household.scheme_id).in_(values))
        elif dimension == Dimension.LANGUAGE:
            where.append(language_of().in_(values))
        elif dimension == Dimension.ARRIVED:
            start, end = (date.fromisoformat(v) for v in values)
            where.append(
                and_(col(Household.arrived_on) >= start, col(Household.arrived_on) <= end)
            )
    return where


def _joined(query: Any) -> Any:
    """Joins the tables an audience filters on."""
    return (
        query.join(Household, col(Household.id) == Member.household_id)
        .join(District, col(District.id) == Household.district_id)
        .outerjoin(Lot, col(Lot.id) == District.lot_id)
    )


def count(session: Session, audience: dict[str, Any]) -> int:
    """How many members the audience reaches now."""
    query = _joined(select(func.count()).select_from(Member))
    return int(session.exec(query.where(*_conditions(normalise(audience)))).one())


def by_language(session: Session, audience: dict[str, Any]) -> dict[str, int]:
    """How many members of the audience read each language."""
    language = language_of()
    query = _joined(select(language, func.count()).select_from(Member))
    rows = session.exec(query.where(*_conditions(normalise(audience))).group_by(language)).all()
    return {str(lang): int(n) for lang, n in rows}


@dataclass(frozen=True)
class Recipient:
    """One member a broadcast goes to."""

    member_id: int
    chat_id: int


def recipients(
    session: Session, audience: dict[str, Any], *, after: int = 0, limit: int = 500
) -> list[Recipient]:
    """The next ``limit`` members of the audience by member id, after member ``after``."""
    query = _joined(select(Member.id, Member.telegram_user_id).select_from(Member))
    query = (
        query.where(*_conditions(normalise(audience)), col(Member.id) > after)
        .order_by(col(Member.id))
        .limit(limit)
    )
    return [Recipient(int(mid), int(chat)) for mid, chat in session.exec(query).all()]


@dataclass(frozen=True)
class Option:
    """One value a dimension can take, with its label (names are data; languages are codes)."""

    value: int | str
    label: str


def options(session: Session, dimension: Dimension) -> list[Option]:
    """The values offered as buttons for a dimension (not the arrival dates, which are typed)."""
    if dimension == Dimension.DISTRICT:
        rows = session.exec(
            select(District).where(col(District.active)).order_by(col(District.name))
        )
        return [Option(d.id or 0, d.name) for d in rows]
    if dimension == Dimension.LOT:
        return [
            Option(lot.id or 0, lot.name)
            for lot in session.exec(select(Lot).order_by(col(Lot.name)))
        ]
    if dimension == Dimension.PROVIDER:
        rows_p = session.exec(
            select(Provider).where(col(Provider.active)).order_by(col(Provider.name))
        )
        return [Option(p.id or 0, p.name) for p in rows_p]
    if dimension == Dimension.SCHEME:
        return [
            Option(s.id or 0, s.code)
            for s in session.exec(select(Scheme).order_by(col(Scheme.code)))
        ]
    if dimension == Dimension.LANGUAGE:
        return [Option(code, code) for code in LANGUAGES]
    return []


def labels(session: Session, audience: dict[str, Any]) -> dict[Dimension, list[str]]:
    """The chosen values of each dimension as names (for the coordinator's summary)."""
    shown: dict[Dimension, list[str]] = {}
    for name, values in normalise(audience).items():
        dimension = Dimension(name)
        if dimension in (Dimension.LANGUAGE, Dimension.ARRIVED):
            shown[dimension] = [str(v) for v in values]
            continue
        names = {o.value: o.label for o in options(session, dimension)}
        shown[dimension] = [names.get(v, f"#{v}") for v in values]
    return shown


def toggle(audience: dict[str, Any], dimension: Dimension, value: int | str) -> dict[str, Any]:
    """The audience with one value of a dimension switched on or off."""
    current = dict(normalise(audience))
    values = list(current.get(str(dimension), []))
    if value in values:
        values.remove(value)
    else:
        values.append(value)
    current[str(dimension)] = values
    return normalise(current)
