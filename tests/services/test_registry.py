"""Registering providers, staff and families, and importing CSV all-or-nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from bot.services import registry
from bot.services.errors import Conflict, InvalidInput, NotFound
from storage.db import Database
from storage.models import District, Household, Member, Scheme


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
