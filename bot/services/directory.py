"""Read-only listings of the registry for operators: reference data, providers, staff, families.

Rows are plain JSON values; names of people appear here (the operator's own data) but never in logs.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, func, select

from storage.models import (
    Category,
    District,
    Household,
    Lot,
    Member,
    Provider,
    RoutingRule,
    Scheme,
    Staff,
)

Row = dict[str, Any]


def _lot_providers(session: Session) -> dict[int | None, str]:
    """Lot id → the name of the provider holding it."""
    providers = {p.id: p.name for p in session.exec(select(Provider))}
    return {lot.id: providers.get(lot.provider_id, "") for lot in session.exec(select(Lot))}


def districts(session: Session) -> list[Row]:
    """Every district with its Lot's provider."""
    holders = _lot_providers(session)
    return [
        {
            "district": d.name,
            "self_coordinated": d.self_coordinated,
            "lot_provider": holders.get(d.lot_id) if d.lot_id else None,
        }
        for d in session.exec(select(District).order_by(col(District.name)))
    ]


def schemes(session: Session) -> list[Row]:
    """Every resettlement scheme and its years of support."""
    return [
        {"code": s.code, "name": s.name, "support_years": s.support_years}
        for s in session.exec(select(Scheme).order_by(col(Scheme.code)))
    ]


def categories(session: Session) -> list[Row]:
    """Every category a family can pick (and retired ones), in menu order."""
    return [
        {"code": c.code, "name_en": c.name_en, "name_ar": c.name_ar, "priority": c.priority,
         "active": c.active}
        for c in session.exec(select(Category).order_by(col(Category.position)))
    ]  # fmt: skip


def providers(session: Session) -> list[Row]:
    """Every provider with the districts of its Lot and its number of staff."""
    rows = []
    for provider in session.exec(select(Provider).order_by(col(Provider.name))):
        held = session.exec(
            select(District.name)
            .join(Lot, col(District.lot_id) == col(Lot.id))
            .where(Lot.provider_id == provider.id)
            .order_by(col(District.name))
        ).all()
        staff = session.exec(
            select(func.count()).select_from(Staff).where(Staff.provider_id == provider.id)
        ).one()
        rows.append(
            {"provider_id": provider.id, "name": provider.name, "districts": list(held),
             "staff": int(staff), "active": provider.active}
        )  # fmt: skip
    return rows


def staff(session: Session) -> list[Row]:
    """Every member of staff: role, provider, whether their Telegram account is linked."""
    names = {p.id: p.name for p in session.exec(select(Provider))}
    return [
        {"staff_id": s.id, "name": s.name, "role": s.role.value,
         "provider": names.get(s.provider_id) if s.provider_id else None,
         "linked": s.telegram_user_id is not None, "active": s.active}
        for s in session.exec(select(Staff).order_by(col(Staff.id)))
    ]  # fmt: skip


def families(session: Session) -> list[Row]:
    """Every household: district, scheme, dates, caseworker and members (linked or not)."""
    district_names = {d.id: d.name for d in session.exec(select(District))}
    scheme_codes = {s.id: s.code for s in session.exec(select(Scheme))}
    staff_names = {s.id: s.name for s in session.exec(select(Staff))}
    members: dict[int, list[Member]] = {}
    for member in session.exec(select(Member).order_by(col(Member.id))):
        members.setdefault(member.household_id, []).append(member)
    rows = []
    for household in session.exec(select(Household).order_by(col(Household.reference))):
        own = members.get(household.id or 0, [])
        rows.append(
            {
                "ref": household.reference,
                "district": district_names.get(household.district_id),
                "scheme": scheme_codes.get(household.scheme_id),
                "arrived": household.arrived_on.isoformat(),
                "support_ends_on": household.support_ends_on.isoformat(),
                "caseworker": staff_names.get(household.caseworker_id)
                if household.caseworker_id
                else None,
                "members": [m.name for m in own],
                "linked": [m.name for m in own if m.telegram_user_id is not None],
            }
        )
    return rows


def routing(session: Session) -> list[Row]:
    """Every district with its Lot's provider and its active routing rules."""
    names = {p.id: p.name for p in session.exec(select(Provider))}
    holders = _lot_providers(session)
    codes = {c.id: c.code for c in session.exec(select(Category))}
    rules = session.exec(
        select(RoutingRule).where(col(RoutingRule.active).is_(True)).order_by(col(RoutingRule.id))
    ).all()
    return [
        {
            "district": d.name,
            "self_coordinated": d.self_coordinated,
            "lot_provider": holders.get(d.lot_id) if d.lot_id else None,
            "rules": [
                {"rule_id": r.id, "provider": names.get(r.provider_id),
                 "category": codes.get(r.category_id) if r.category_id else None}
                for r in rules if r.district_id == d.id
            ],
        }
        for d in session.exec(select(District).order_by(col(District.name)))
    ]  # fmt: skip


def same_rule(
    session: Session, *, district_id: int, category_id: int | None
) -> RoutingRule | None:
    """The active rule already routing this district (and category), if any."""
    category = (
        col(RoutingRule.category_id).is_(None)
        if category_id is None
        else col(RoutingRule.category_id) == category_id
    )
    return session.exec(
        select(RoutingRule).where(
            RoutingRule.district_id == district_id, col(RoutingRule.active).is_(True), category
        )
    ).first()
