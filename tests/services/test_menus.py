"""Out-of-date command menus are found in SQL, on SQLite and PostgreSQL, by role and language."""

from __future__ import annotations

from sqlmodel import Session

from bot.services import menus, registry
from bot.services.menus import Expected, MenuHolder, MenuKind
from storage.db import Database
from storage.models import Household, Member, Staff, StaffRole, UserSetting

# A fingerprint per menu shape, readable so a failure says which menu was expected.
EXPECTED: Expected = {
    (kind, role, language): f"{kind}:{role}:{language}"
    for kind, role in [
        (MenuKind.MEMBER, None),
        (MenuKind.GUEST, None),
        *[(MenuKind.STAFF, r) for r in StaffRole],
    ]
    for language in ("ar", "en")
}


def _world(session: Session) -> dict[str, Member | Staff]:
    """Linked people of every kind: a family member, staff of each role, an inactive one."""
    registry.add_provider(session, name="A", districts=["Dover"])
    registry.add_family(session, ref="H1", district="Dover", scheme="VPRS", arrived="2024-01-01")
    people: dict[str, Member | Staff] = {
        "amina": registry.add_member(session, family="H1", name="Amina"),
        "sam": registry.add_staff(session, role="caseworker", name="Sam", provider="A"),
        "lee": registry.add_staff(session, role="lead", name="Lee", provider="A"),
        "kim": registry.add_staff(session, role="coordinator", name="Kim"),
        "old": registry.add_staff(session, role="caseworker", name="Old", provider="A"),
    }
    for index, record in enumerate(people.values(), start=5_000_000_001):
        record.telegram_user_id = index
        session.add(record)
    session.flush()
    return people


def _stale(session: Session) -> list[MenuHolder]:
    """Everyone whose menu is out of date, in small batches to exercise the cursor."""
    found: list[MenuHolder] = []
    for stale in (menus.stale_members, menus.stale_staff):
        after = 0
        while batch := stale(session, EXPECTED, after=after, limit=2):
            found += batch
            after = batch[-1].telegram_user_id
    return found


def _record_wanted(session: Session, holders: list[MenuHolder]) -> None:
    """Records for each holder the menu it should have, as a refresh does after sending."""
    menus.record(
        session,
        {h.telegram_user_id: EXPECTED[(h.kind, h.role, h.language)] for h in holders},
    )


def test_never_set_menus_are_stale_with_the_right_shape(db: Database) -> None:
    with db.session() as session:
        people = _world(session)
        shapes = {h.telegram_user_id: (h.kind, h.role, h.language) for h in _stale(session)}
    uid = {name: record.telegram_user_id for name, record in people.items()}
    assert shapes == {
        uid["amina"]: (MenuKind.MEMBER, None, "ar"),
        uid["sam"]: (MenuKind.STAFF, StaffRole.CASEWORKER, "en"),
        uid["lee"]: (MenuKind.STAFF, StaffRole.LEAD, "en"),
        uid["kim"]: (MenuKind.STAFF, StaffRole.COORDINATOR, "en"),
        uid["old"]: (MenuKind.STAFF, StaffRole.CASEWORKER, "en"),
    }


def test_recorded_menus_are_not_stale_until_something_changes(db: Database) -> None:
    with db.session() as session:
        people = _world(session)
        _record_wanted(session, _stale(session))
        assert _stale(session) == []
        amina, sam, old = people["amina"], people["sam"], people["old"]
        assert isinstance(sam, Staff) and isinstance(old, Staff)
        amina.telegram_language = "en"  # Telegram's language, when nothing was chosen
        sam.role = StaffRole.COORDINATOR
        old.active = False
        session.add(UserSetting(telegram_user_id=old.telegram_user_id or 0, language="en"))
        session.add_all([amina, sam, old])
        session.flush()
        shapes = {h.telegram_user_id: (h.kind, h.role, h.language) for h in _stale(session)}
        assert shapes == {
            amina.telegram_user_id: (MenuKind.MEMBER, None, "en"),
            sam.telegram_user_id: (MenuKind.STAFF, StaffRole.COORDINATOR, "en"),
            old.telegram_user_id: (MenuKind.GUEST, None, "en"),  # deactivated: a stranger's
        }
        _record_wanted(session, _stale(session))
        assert _stale(session) == []


def test_a_chosen_language_beats_the_household_and_telegram_ones(db: Database) -> None:
    with db.session() as session:
        amina = _world(session)["amina"]
        assert isinstance(amina, Member)
        household = session.get(Household, amina.household_id)
        assert household is not None
        household.language, amina.telegram_language, amina.language = "ar", "ar", "en"
        session.add_all([household, amina])
        session.flush()
        found = [h for h in _stale(session) if h.kind is MenuKind.MEMBER]
        menus.record(session, {amina.telegram_user_id or 0: "from-an-old-release"})
        again = [h for h in _stale(session) if h.kind is MenuKind.MEMBER]
    assert [h.language for h in found] == ["en"]
    assert [h.language for h in again] == ["en"]  # a fingerprint no menu has is stale
