"""Registering providers, staff and families, and importing CSV all-or-nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from bot.services import registry
from bot.services.errors import Conflict, InvalidInput, NotFound
from storage.db import Database
from storage.models import District, Household, Lot, Member, Scheme


def test_seed_is_idempotent_and_flags_self_coordinated_districts(db: Database) -> None:
    with db.session() as session:
        assert set(registry.seed(session).values()) == {0}
        districts = session.exec(select(District)).all()
        assert len(districts) == 12
        flagged = sorted(d.name for d in districts if d.self_coordinated)
        assert flagged == ["Ashford", "Canterbury"]
        assert {s.code for s in session.exec(select(Scheme))} == {"VPRS", "VCRS", "UKRS"}


def test_provider_holds_a_lot_of_districts(db: Database) -> None:
    with db.session() as session:
        _, lot = registry.add_provider(
            session, name="Migrant Help", districts=["dover", " Thanet "]
        )
        names = sorted(
            d.name for d in session.exec(select(District).where(District.lot_id == lot.id))
        )
    assert names == ["Dover", "Thanet"]
    with pytest.raises(Conflict), db.session() as session:
        registry.add_provider(session, name="migrant help", districts=["Swale"])
    with pytest.raises(NotFound), db.session() as session:
        registry.add_provider(session, name="Other", districts=["Atlantis"])


def test_family_support_window_is_five_years(db: Database) -> None:
    with db.session() as session:
        household = registry.add_family(
            session, ref="kh-7", district="Maidstone", scheme="ukrs", arrived="2024-02-29"
        )
    assert household.reference == "KH-7"
    assert household.support_ends_on == date(2029, 2, 28)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (
            {"ref": "bad ref!", "district": "Dover", "scheme": "VPRS", "arrived": "2024-01-01"},
            InvalidInput,
        ),
        (
            {"ref": "A1", "district": "Nowhere", "scheme": "VPRS", "arrived": "2024-01-01"},
            NotFound,
        ),
        ({"ref": "A1", "district": "Dover", "scheme": "XYZ", "arrived": "2024-01-01"}, NotFound),
        (
            {"ref": "A1", "district": "Dover", "scheme": "VPRS", "arrived": "01/02/2024"},
            InvalidInput,
        ),
    ],
)
def test_bad_family_input_is_refused(db: Database, kwargs: dict[str, str], error: type) -> None:
    with pytest.raises(error), db.session() as session:
        registry.add_family(session, **kwargs)


def test_staff_roles_need_the_right_provider(db: Database) -> None:
    with db.session() as session:
        registry.add_provider(session, name="P1", districts=["Dover"])
        cw = registry.add_staff(session, role="caseworker", name="Sam", provider="P1")
        coord = registry.add_staff(session, role="coordinator", name="Kim")
    assert cw.provider_id is not None and coord.provider_id is None
    with pytest.raises(InvalidInput), db.session() as session:
        registry.add_staff(session, role="caseworker", name="NoProv")
    with pytest.raises(InvalidInput), db.session() as session:
        registry.add_staff(session, role="wizard", name="X")


CSV_GOOD = """ref,district,scheme,arrived,language,members
KH-100,Dover,VPRS,2023-06-01,ar,Amina;Omar
KH-101,Thanet,UKRS,2024-01-15,,Layla
"""


def test_import_families_all_rows(db: Database) -> None:
    with db.session() as session:
        report = registry.import_families(session, CSV_GOOD)
    assert report.errors == [] and report.households == ["KH-100", "KH-101"]
    assert report.members == 3


def test_import_reports_bad_rows_with_line_numbers(db: Database) -> None:
    bad = CSV_GOOD + "KH-102,Atlantis,VPRS,2024-01-01,,\nKH-100,Dover,VPRS,2024-01-01,,\n"
    with db.session() as session:
        report = registry.import_families(session, bad)
        session.rollback()
    assert [e["line"] for e in report.errors] == [4, 5]
    assert "Atlantis" in report.errors[0]["error"]
    with db.session() as session:
        assert session.exec(select(Household)).all() == []
        assert session.exec(select(Member)).all() == []


def test_import_needs_the_columns(db: Database) -> None:
    with db.session() as session:
        report = registry.import_families(session, "name,place\nx,y\n")
    assert report.errors[0]["line"] == 1 and "ref" in report.errors[0]["error"]


def test_taking_a_district_from_another_provider_needs_move(db: Database) -> None:
    with db.session() as session:
        registry.add_provider(session, name="First", districts=["Dover", "Thanet"])
    with pytest.raises(Conflict) as refused, db.session() as session:
        registry.add_provider(session, name="Third", districts=["Dover"])
    assert "Dover is in the Lot of 'First'" in str(refused.value)
    assert refused.value.details["moving"] == [{"district": "Dover", "from_provider": "First"}]
    with db.session() as session:
        moved = registry.held_by_others(session, ["dover", "Swale"])
        _, lot = registry.add_provider(session, name="Third", districts=["dover"], move=True)
    assert [(m.district, m.from_provider) for m in moved] == [("Dover", "First")]
    with db.session() as session:
        dover = registry.find_district(session, "Dover")
        thanet = registry.find_district(session, "Thanet")
        assert dover.lot_id == lot.id and thanet.lot_id != lot.id
        old = session.get(Lot, thanet.lot_id)
        assert old is not None and old.name == "First: Thanet"


def test_unknown_reference_data_lists_the_valid_values(db: Database) -> None:
    with pytest.raises(NotFound) as district, db.session() as session:
        registry.find_district(session, "Atlantis")
    assert "valid: Ashford, Canterbury, Dartford, Dover" in str(district.value)
    with pytest.raises(NotFound) as scheme, db.session() as session:
        registry.find_scheme(session, "XYZ")
    assert "(valid: UKRS, VCRS, VPRS)" in str(scheme.value)
    with pytest.raises(NotFound) as category, db.session() as session:
        registry.find_category(session, "weather")
    assert "housing" in str(category.value) and "health" in str(category.value)
    with db.session() as session:
        assert registry.find_category(session, " Health ").code == "health"


def test_a_coordinator_cannot_belong_to_a_provider(db: Database) -> None:
    with db.session() as session:
        registry.add_provider(session, name="P1", districts=["Dover"])
    with pytest.raises(InvalidInput) as refused, db.session() as session:
        registry.add_staff(session, role="coordinator", name="Kim", provider="P1")
    assert "leave out --provider" in str(refused.value)


def test_an_arrival_too_far_ahead_is_refused(db: Database) -> None:
    today = date(2026, 1, 1)
    with pytest.raises(InvalidInput) as refused, db.session() as session:
        registry.add_family(
            session, ref="F1", district="Dover", scheme="VPRS", arrived="2026-06-01",
            horizon_days=90, today=today,
        )  # fmt: skip
    assert "latest accepted: 2026-04-01" in str(refused.value)
    with db.session() as session:
        household = registry.add_family(
            session, ref="F1", district="Dover", scheme="VPRS", arrived="2026-04-01",
            horizon_days=90, today=today,
        )  # fmt: skip
    assert household.arrived_on == date(2026, 4, 1)


def test_member_names_are_unique_in_a_household(db: Database) -> None:
    with db.session() as session:
        registry.add_family(
            session, ref="F2", district="Dover", scheme="VPRS", arrived="2024-01-01"
        )
        registry.add_member(session, family="F2", name="Amina  Ali")
    for twin in ("amina ali", "  AMINA   ALI "):
        with pytest.raises(Conflict), db.session() as session:
            registry.add_member(session, family="F2", name=twin)
    with db.session() as session:
        registry.add_family(
            session, ref="F3", district="Dover", scheme="VPRS", arrived="2024-01-01"
        )
        assert registry.add_member(session, family="F3", name="Amina Ali").name == "Amina Ali"


def test_a_csv_with_the_same_member_twice_imports_nothing(db: Database) -> None:
    with db.session() as session:
        report = registry.import_families(
            session, "ref,district,scheme,arrived,members\nF4,Dover,VPRS,2024-01-01,Omar;omar\n"
        )
        session.rollback()
    assert report.errors and "already has a member called 'Omar'" in report.errors[0]["error"]


def test_a_missing_member_names_the_ones_there(db: Database) -> None:
    with db.session() as session:
        registry.add_family(
            session, ref="F5", district="Dover", scheme="VPRS", arrived="2024-01-01"
        )
    with pytest.raises(NotFound) as empty, db.session() as session:
        registry.find_member(session, family="F5", name="Omar")
    assert empty.value.details["members"] == []
    with db.session() as session:
        registry.add_member(session, family="F5", name="Amina")
        registry.add_member(session, family="F5", name="Layla")
    with pytest.raises(NotFound) as missing, db.session() as session:
        registry.find_member(session, family="F5", name="Omar")
    assert missing.value.details["members"] == ["Amina", "Layla"]
    assert "its members: Amina, Layla" in str(missing.value)
    with pytest.raises(InvalidInput) as several, db.session() as session:
        registry.find_member(session, family="F5", name=None)
    assert several.value.details["members"] == ["Amina", "Layla"]
