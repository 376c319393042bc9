"""Invite codes on a real database: single use, expiry, hashing, rate limits, races."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.services import invites, people, registry
from bot.services.errors import AlreadyLinked, InvalidInput, InviteInvalid, TooManyAttempts
from storage.db import Database
from storage.models import Invite, Member, NoticeKind, Notification

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _member(db: Database, ref: str = "KH-1", name: str = "Amina") -> int:
    with db.session() as session:
        registry.add_provider(session, name="Prov", districts=["Dover"])
        registry.add_family(
            session, ref=ref, district="Dover", scheme="VPRS", arrived="2024-05-01"
        )
        member = registry.add_member(session, family=ref, name=name)
        assert member.id is not None
        return member.id


def test_codes_are_128_bit_random_and_only_hashed_in_the_database(db: Database) -> None:
    member_id = _member(db)
    with db.session() as session:
        issued = invites.create_invite(session, member_id=member_id, now=NOW)
    assert len(issued.code) == 26 and invites.CODE_PATTERN.match(issued.code)
    assert issued.code != invites.new_code()
    with db.session() as session:
        stored = session.exec(select(Invite)).one()
        assert stored.code_hash == invites.hash_code(issued.code)
        assert issued.code not in stored.model_dump_json()
    assert issued.expires_at == NOW + timedelta(days=14)


def test_a_code_links_once_and_forgives_spaces_and_lower_case(db: Database) -> None:
    member_id = _member(db)
    with db.session() as session:
        code = invites.create_invite(session, member_id=member_id, now=NOW).code
    typed = " " + invites.display_code(code).lower().replace("-", " ") + " "
    with db.session() as session:
        result = invites.redeem(session, raw_code=typed, telegram_user_id=2**40, now=NOW)
    assert result.member_id == member_id
    with db.session() as session:
        member = session.get(Member, member_id)
        assert member is not None and member.telegram_user_id == 2**40
    with pytest.raises(InviteInvalid) as used, db.session() as session:
        invites.redeem(session, raw_code=code, telegram_user_id=555, now=NOW)
    assert used.value.details["reason"] == "used"


def test_expired_and_unknown_codes_are_refused(db: Database) -> None:
    member_id = _member(db)
    with db.session() as session:
        code = invites.create_invite(session, member_id=member_id, now=NOW, ttl_days=1).code
    with pytest.raises(InviteInvalid) as expired, db.session() as session:
        invites.redeem(session, raw_code=code, telegram_user_id=7, now=NOW + timedelta(days=2))
    assert expired.value.details["reason"] == "expired"
    with pytest.raises(InviteInvalid), db.session() as session:
        invites.redeem(session, raw_code=invites.new_code(), telegram_user_id=7, now=NOW)
    with pytest.raises(InviteInvalid), db.session() as session:
        invites.redeem(session, raw_code="hello", telegram_user_id=7, now=NOW)


def test_a_new_invite_retires_the_old_one(db: Database) -> None:
    member_id = _member(db)
    with db.session() as session:
        old = invites.create_invite(session, member_id=member_id, now=NOW).code
    with db.session() as session:
        new = invites.create_invite(session, member_id=member_id, now=NOW).code
    with pytest.raises(InviteInvalid), db.session() as session:
        invites.redeem(session, raw_code=old, telegram_user_id=9, now=NOW + timedelta(seconds=1))
    with db.session() as session:
        invites.redeem(session, raw_code=new, telegram_user_id=9, now=NOW + timedelta(seconds=1))


def test_failed_attempts_are_rate_limited(db: Database) -> None:
    member_id = _member(db)
    with db.session() as session:
        code = invites.create_invite(session, member_id=member_id, now=NOW).code
    for _ in range(invites.MAX_FAILED_ATTEMPTS):
        with db.session() as session:
            invites.record_failure(session, telegram_user_id=42, now=NOW)
    with pytest.raises(TooManyAttempts), db.session() as session:
        invites.redeem(session, raw_code=code, telegram_user_id=42, now=NOW)
    later = NOW + invites.ATTEMPT_WINDOW + timedelta(seconds=1)
    with db.session() as session:
        assert invites.redeem(session, raw_code=code, telegram_user_id=42, now=later).member_id


def test_an_account_already_linked_cannot_take_a_second_invite(db: Database) -> None:
    member_id = _member(db)
    with db.session() as session:
        other = registry.add_member(session, family="KH-1", name="Omar")
        first = invites.create_invite(session, member_id=member_id, now=NOW).code
        second = invites.create_invite(session, member_id=other.id, now=NOW).code
    with db.session() as session:
        invites.redeem(session, raw_code=first, telegram_user_id=1, now=NOW)
    with pytest.raises(AlreadyLinked), db.session() as session:
        invites.redeem(session, raw_code=second, telegram_user_id=1, now=NOW)


def test_an_invite_is_for_exactly_one_person(db: Database) -> None:
    with pytest.raises(InvalidInput), db.session() as session:
        invites.create_invite(session)


def test_deep_link_payload_fits_telegram_rules() -> None:
    code = invites.new_code()
    link = invites.deep_link("sanad_bot", code)
    payload = link.split("start=", 1)[1]
    assert len(payload) <= 64 and payload.isalnum()


def test_eastern_arabic_digits_in_a_typed_code_work(db: Database) -> None:
    member_id = _member(db)
    with db.session() as session:
        code = invites.create_invite(session, member_id=member_id, now=NOW).code
    arabic = code.translate(str.maketrans("234567", "٢٣٤٥٦٧"))
    persian = code.translate(str.maketrans("234567", "۲۳۴۵۶۷"))
    assert invites.normalize_code(arabic) == code == invites.normalize_code(persian)
    with db.session() as session:
        typed = invites.display_code(arabic).lower()
        assert invites.redeem(session, raw_code=typed, telegram_user_id=77, now=NOW).member_id


@pytest.mark.parametrize("days", [0, -3, 91])
def test_an_invite_outside_one_to_ninety_days_is_refused(db: Database, days: int) -> None:
    member_id = _member(db)
    with pytest.raises(InvalidInput) as refused, db.session() as session:
        invites.create_invite(session, member_id=member_id, ttl_days=days, now=NOW)
    assert f"not {days}" in str(refused.value)


def test_reinviting_a_connected_member_needs_relink(db: Database) -> None:
    member_id = _member(db)
    with db.session() as session:
        first = invites.create_invite(session, member_id=member_id, now=NOW).code
    with db.session() as session:
        invites.redeem(session, raw_code=first, telegram_user_id=111, now=NOW)
        people.record_consent(session, member_id=member_id, now=NOW)
        people.set_language(session, telegram_user_id=111, language="en")
    with pytest.raises(invites.AccountLinked) as refused, db.session() as session:
        invites.create_invite(session, member_id=member_id, now=NOW)
    assert refused.value.details["name"] == "Amina"
    with db.session() as session:
        member = session.get(Member, member_id)
        assert member is not None and member.telegram_user_id == 111
        assert session.exec(select(Notification)).all() == []

    with db.session() as session:
        issued = invites.create_invite(session, member_id=member_id, relink=True, now=NOW)
    assert issued.relinked
    with db.session() as session:
        member = session.get(Member, member_id)
        assert member is not None
        assert member.telegram_user_id is None and member.consent_at is None
        notice = session.exec(select(Notification)).one()
        assert notice.chat_id == 111 and notice.kind == NoticeKind.ACCOUNT_UNLINKED
        assert notice.payload == {"language": "en"}
        assert people.identify(session, telegram_user_id=111, language_code=None).kind == "guest"
    with db.session() as session:
        invites.redeem(session, raw_code=issued.code, telegram_user_id=222, now=NOW)
        joined = people.identify(session, telegram_user_id=222, language_code="ar")
    assert joined.member_id == member_id and not joined.consented


def test_reinviting_connected_staff_needs_relink_too(db: Database) -> None:
    with db.session() as session:
        staff = registry.add_staff(session, role="coordinator", name="Kim")
        code = invites.create_invite(session, staff_id=staff.id, now=NOW).code
    with db.session() as session:
        invites.redeem(session, raw_code=code, telegram_user_id=333, now=NOW)
    with pytest.raises(invites.AccountLinked), db.session() as session:
        invites.create_invite(session, staff_id=staff.id, now=NOW)
    with db.session() as session:
        assert invites.create_invite(session, staff_id=staff.id, relink=True, now=NOW).relinked
        notice = session.exec(select(Notification)).one()
    assert notice.chat_id == 333 and notice.payload == {"language": "en"}
