"""Ticket categories and priorities: reference data, seeded and editable."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.services.errors import NotFound
from storage.models import Category, Priority


def seed_categories(session: Session, data: dict) -> dict[str, int]:  # type: ignore[type-arg]
    """Inserts missing categories and priorities; existing rows keep their edits."""
    added = {"categories": 0, "priorities": 0}
    for rank, entry in enumerate(data.get("priorities", [])):
        if session.get(Priority, entry["code"]) is None:
            session.add(Priority(rank=entry.get("rank", rank), **{
                k: v for k, v in entry.items() if k != "rank"
            }))  # fmt: skip
            added["priorities"] += 1
    for position, entry in enumerate(data.get("categories", [])):
        if session.exec(select(Category).where(Category.code == entry["code"])).first() is None:
            session.add(Category(position=position, **entry))
            added["categories"] += 1
    return added


def active_categories(session: Session) -> list[Category]:
    """The categories a family can pick, in menu order."""
    return list(
        session.exec(
            select(Category).where(col(Category.active).is_(True)).order_by(col(Category.position))
        ).all()
    )


def by_code(session: Session, code: str) -> Category:
    """One active category by its code."""
    category = session.exec(
        select(Category).where(Category.code == code, col(Category.active).is_(True))
    ).first()
    if category is None:
        raise NotFound(f"unknown category: {code!r}")
    return category


def response_hours(session: Session, priority: str) -> float:
    """Working hours allowed before a first response for a priority."""
    found = session.get(Priority, priority)
    return found.first_response_hours if found else 8.0
