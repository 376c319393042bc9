"""Audiences: AND across dimensions, OR within one; only reachable members are counted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from bot.services import audiences, registry
from bot.services.audiences import Dimension
from bot.services.errors import BadPeriod, InvalidInput
from storage.db import Database
from storage.models import District, Household, Lot, Member, Provider, Scheme

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


def _member(session: Session, ref: str, *, district: str, arrived: str, language: str | None,
            tg: int | None, consent: bool = True) -> Member:  # fmt: skip
    """A household with one member (linked when ``tg``)."""
    registry.add_family(
        session, ref=ref, district=district, scheme="VPRS", arrived=arrived, language=language
    )
    member = registry.add_member(session, family=ref, name="M")
    member.telegram_user_id = tg
    member.consent_at = NOW if consent else None
    session.add(member)
    session.flush()
    return member


def _world(session: Session) -> None:
    """Dover+Thanet held by A, Ashford by B; five members, three reachable by default."""
    registry.add_provider(session, name="A", districts=["Dover", "Thanet"])
    registry.add_provider(session, name="B", districts=["Ashford"])
    _member(session, "H1", district="Dover", arrived="2024-01-10", language="ar", tg=101)
    _member(session, "H2", district="Thanet", arrived="2024-06-01", language="en", tg=102)
    _member(session, "H3", district="Ashford", arrived="2025-02-01", language=None, tg=103)
    _member(session, "H4", district="Dover", arrived="2024-01-10", language="ar", tg=None)
    _member(session, "H5", district="Dover", arrived="2024-01-10", language="ar", tg=105,
            consent=False)  # fmt: skip


def _id(session: Session, model: type, **where: object) -> int:
    """A row's id by one column."""
    ((name, value),) = where.items()
    return int(session.exec(select(model).where(getattr(model, name) == value)).one().id)


def test_everyone_reachable_and_each_dimension(db: Database) -> None:
    with db.session() as session:
        _world(session)
        dover = _id(session, District, name="Dover")
        thanet = _id(session, District, name="Thanet")
        provider_b = _id(session, Provider, name="B")
        assert audiences.count(session, {}) == 3  # unlinked and unconsented are not counted
        assert audiences.count(session, {"district": [dover]}) == 1
        assert audiences.count(session, {"district": [dover, thanet]}) == 2  # OR within
        assert audiences.count(session, {"provider": [provider_b]}) == 1
        lot = session.exec(select(District).where(District.name == "Ashford")).one().lot_id
        assert lot is not None and session.get(Lot, lot) is not None
        assert audiences.count(session, {"lot": [lot]}) == 1
        vprs = _id(session, Scheme, code="VPRS")
        assert audiences.count(session, {"scheme": [vprs]}) == 3
        # A household with no language reads Arabic (the families' default).
        assert audiences.by_language(session, {}) == {"ar": 2, "en": 1}
        assert audiences.count(session, {"language": ["en"]}) == 1
        cohort = {"arrived": ["2024-01-01", "2024-12-31"]}
        assert audiences.count(session, cohort) == 2
        # AND across dimensions.
        assert audiences.count(session, {**cohort, "language": ["ar"]}) == 1
        assert (
            audiences.count(
                session, {**cohort, "district": [_id(session, District, name="Ashford")]}
            )
            == 0
        )


def test_erased_and_blocked_members_are_left_out(db: Database) -> None:
    with db.session() as session:
        _world(session)
        household = session.exec(select(Household).where(Household.reference == "H1")).one()
        household.erased_at = NOW
        member = session.exec(select(Member).where(Member.telegram_user_id == 102)).one()
        member.unreachable_at = NOW
        session.add(household)
        session.add(member)
        session.flush()
        assert [r.chat_id for r in audiences.recipients(session, {})] == [103]


def test_recipients_come_in_batches_by_member_id(db: Database) -> None:
    with db.session() as session:
        _world(session)
        first = audiences.recipients(session, {}, limit=2)
        rest = audiences.recipients(session, {}, after=first[-1].member_id, limit=2)
        assert [r.chat_id for r in first + rest] == [101, 102, 103]


@pytest.mark.parametrize(
    "bad",
    [
        {"colour": [1]},
        {"district": ["x"]},
        {"district": [True]},
        {"language": ["fr"]},
        {"arrived": ["2024-05-01", "2024-01-01"]},
        {"arrived": ["2024-13-01", "2024-12-01"]},
        {"district": list(range(1, 60))},
    ],
)
def test_a_forged_or_bad_audience_is_refused(db: Database, bad: dict[str, object]) -> None:
    with db.session() as session, pytest.raises(InvalidInput):
        audiences.count(session, bad)


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        (["2024-05-01", "2024-01-01"], "end_before_start"),
        (["2024-13-01", "2024-12-01"], "bad_date"),
    ],
)
def test_a_bad_arrival_range_is_a_bad_period(words: list[str], reason: str) -> None:
    with pytest.raises(BadPeriod) as caught:
        audiences.arrival_range(words)
    assert caught.value.details["reason"] == reason


def test_toggle_switches_one_value() -> None:
    on = audiences.toggle({}, Dimension.LANGUAGE, "ar")
    assert on == {"language": ["ar"]}
    assert audiences.toggle(on, Dimension.LANGUAGE, "ar") == {}
