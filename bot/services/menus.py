"""Which linked people's command menus are out of date, found in SQL, and what was last set.

A person's menu depends on who they are (family, staff role, or a guest once deactivated) and
their language; its fingerprint is kept beside them so a restart re-sends only changed menus.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import case, func, literal, update
from sqlmodel import Session, col, select

from storage.models import Household, Member, Staff, StaffRole, UserSetting

BATCH = 200


class MenuKind(StrEnum):
    """Whose menu it is: decides which commands a person gets."""

    MEMBER = "member"
    STAFF = "staff"
    GUEST = "guest"


# (kind, staff role or None, language) → the fingerprint of the menu such a person should have.
Expected = Mapping[tuple[MenuKind, StaffRole | None, str], str]


@dataclass(frozen=True)
class MenuHolder:
    """A linked person whose chat menu must be set again, with what decides the menu."""

    telegram_user_id: int
    kind: MenuKind
    language: str
    role: StaffRole | None = None
    staff: bool = False  # the record is a Staff row (an inactive one gets the guest menu)


def _expected(expected: Expected, kind: MenuKind, role: StaffRole | None, language: Any) -> Any:
    """A CASE choosing the expected fingerprint by the person's language (English otherwise,
    as :func:`bot.i18n.texts` falls back to English)."""
    options = {lang: f for (k, r, lang), f in expected.items() if k is kind and r == role}
    fallback = options.get("en", "")
    return case(*((language == lang, literal(f)) for lang, f in options.items()), else_=fallback)


def _stale(fingerprint: Any, wanted: Any) -> Any:
    """Never set, or set to something else than what is wanted now."""
    return col(fingerprint).is_(None) | (col(fingerprint) != wanted)


def stale_members(
    session: Session, expected: Expected, *, after: int = 0, limit: int = BATCH
) -> list[MenuHolder]:
    """Linked family members whose menu differs from what they should have, by Telegram id."""
    # The same choice of language as people.identify with no language_code from Telegram.
    language = func.coalesce(Member.language, Household.language, Member.telegram_language, "ar")
    wanted = _expected(expected, MenuKind.MEMBER, None, language)
    rows = session.exec(
        select(Member.telegram_user_id, language)
        .join(Household, col(Household.id) == col(Member.household_id))
        .where(col(Member.telegram_user_id) > after, _stale(Member.menu_fingerprint, wanted))
        .order_by(col(Member.telegram_user_id))
        .limit(limit)
    ).all()
    return [MenuHolder(int(uid or 0), MenuKind.MEMBER, str(lang)) for uid, lang in rows]


def stale_staff(
    session: Session, expected: Expected, *, after: int = 0, limit: int = BATCH
) -> list[MenuHolder]:
    """Linked staff whose menu differs: their role's menu, or the guest one once inactive."""
    language = func.coalesce(Staff.language, Staff.telegram_language, "en")
    guest_language = func.coalesce(UserSetting.language, "ar")
    wanted = case(
        (col(Staff.active).is_(False), _expected(expected, MenuKind.GUEST, None, guest_language)),
        *(
            (col(Staff.role) == role, _expected(expected, MenuKind.STAFF, role, language))
            for role in StaffRole
        ),
        else_="",
    )
    rows = session.execute(
        select(col(Staff.telegram_user_id), col(Staff.role), col(Staff.active))
        .add_columns(language, guest_language)
        .outerjoin(UserSetting, col(UserSetting.telegram_user_id) == col(Staff.telegram_user_id))
        .where(col(Staff.telegram_user_id) > after, _stale(Staff.menu_fingerprint, wanted))
        .order_by(col(Staff.telegram_user_id))
        .limit(limit)
    ).all()
    return [
        MenuHolder(int(uid or 0), MenuKind.STAFF, str(lang), StaffRole(role), staff=True)
        if active
        else MenuHolder(int(uid or 0), MenuKind.GUEST, str(guest), staff=True)
        for uid, role, active, lang, guest in rows
    ]


def record(session: Session, fingerprints: Mapping[int, str]) -> None:
    """Keeps the fingerprint of the menu just set in each of these chats."""
    for telegram_user_id, fingerprint in fingerprints.items():
        for table in (Member, Staff):
            session.execute(
                update(table)
                .where(col(table.telegram_user_id) == telegram_user_id)
                .values(menu_fingerprint=fingerprint)
            )
