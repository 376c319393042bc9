"""Who is writing: a family member, a member of staff, or a stranger; and their language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bot.i18n import negotiate
from bot.languages import LANGUAGES
from bot.services import audit
from bot.services.errors import InvalidInput, NotFound
from storage.models import Household, Member, Staff, StaffRole, UserSetting
from storage.types import utcnow

# Telegram reports a handful of language codes; babel's negotiation costs more than a lookup.
_negotiate = lru_cache(maxsize=256)(negotiate)


def member_by_telegram(session: Session, telegram_user_id: int) -> Member | None:
    """The member linked to a Telegram account."""
    return session.exec(select(Member).where(Member.telegram_user_id == telegram_user_id)).first()


def staff_by_telegram(session: Session, telegram_user_id: int) -> Staff | None:
    """The member of staff linked to a Telegram account."""
    return session.exec(select(Staff).where(Staff.telegram_user_id == telegram_user_id)).first()


@dataclass(frozen=True)
class Person:
    """The caller of an update, resolved from the database."""

    telegram_user_id: int
    kind: str  # "member", "staff" or "guest"
    language: str
    member_id: int | None = None
    household_id: int | None = None
    household_ref: str | None = None
    consented: bool = False
    staff_id: int | None = None
    role: StaffRole | None = None
    provider_id: int | None = None

    @property
    def is_member(self) -> bool:
        """A linked family member."""
        return self.kind == "member"

    @property
    def is_staff(self) -> bool:
        """A linked, active member of staff."""
        return self.kind == "staff"

    @property
    def is_coordinator(self) -> bool:
        """A council coordinator."""
        return self.role == StaffRole.COORDINATOR


@dataclass(frozen=True)
class _Linked:
    """The columns of a linked member (with their household) or member of staff that
    resolving a caller needs: one row, never whole ORM objects (this runs on every update)."""

    kind: str  # "member" or "staff"
    id: int
    language: str | None
    telegram_language: str | None
    household_id: int | None = None
    household_ref: str | None = None
    household_language: str | None = None
    consented: bool = False
    active: bool = True
    role: StaffRole | None = None
    provider_id: int | None = None


# Built once: on this path building a statement costs more than SQLite takes to run it.
_MEMBER_BY_ACCOUNT = (
    sa_select(
        col(Member.id),
        col(Member.language),
        col(Member.telegram_language),
        col(Member.consent_at),
        col(Household.id),
        col(Household.reference),
        col(Household.language),
    )
    .join(Household, col(Household.id) == col(Member.household_id))
    .where(col(Member.telegram_user_id) == bindparam("account"))
)
_STAFF_BY_ACCOUNT = sa_select(
    col(Staff.id),
    col(Staff.language),
    col(Staff.telegram_language),
    col(Staff.active),
    col(Staff.role),
    col(Staff.provider_id),
).where(col(Staff.telegram_user_id) == bindparam("account"))


def _linked(session: Session, telegram_user_id: int) -> _Linked | None:
    """The member (joined with their household) or else the member of staff linked to a
    Telegram account, as the columns identifying them needs; None for a stranger."""
    account = {"account": telegram_user_id}
    member = session.execute(_MEMBER_BY_ACCOUNT, account).first()
    if member is not None:
        member_id, language, told, consent_at, household_id, reference, home = member
        return _Linked(
            "member",
            member_id or 0,
            language,
            told,
            household_id=household_id,
            household_ref=reference,
            household_language=home,
            consented=consent_at is not None,
        )
    staff = session.execute(_STAFF_BY_ACCOUNT, account).first()
    if staff is None:
        return None
    staff_id, language, told, active, role, provider_id = staff
    return _Linked(
        "staff", staff_id or 0, language, told, active=active, role=role, provider_id=provider_id
    )


def _person(
    session: Session, telegram_user_id: int, linked: _Linked | None, telegram_language: str | None
) -> Person:
    """The Person a resolved account is, with the language to answer in."""
    if linked is not None and linked.kind == "member":
        return Person(
            telegram_user_id=telegram_user_id,
            kind="member",
            language=linked.language
            or linked.household_language
            or telegram_language
            or linked.telegram_language
            or "ar",
            member_id=linked.id,
            household_id=linked.household_id,
            household_ref=linked.household_ref,
            consented=linked.consented,
        )
    if linked is not None and linked.active:
        return Person(
            telegram_user_id=telegram_user_id,
            kind="staff",
            language=linked.language or telegram_language or linked.telegram_language or "en",
            staff_id=linked.id,
            role=linked.role,
            provider_id=linked.provider_id,
        )
    setting = session.get(UserSetting, telegram_user_id)
    return Person(
        telegram_user_id=telegram_user_id,
        kind="guest",
        language=(setting.language if setting else None) or telegram_language or "ar",
    )


def identify(session: Session, *, telegram_user_id: int, language_code: str | None) -> Person:
    """Resolves a Telegram account to a Person with the language to answer in.

    Language: the person's stored choice, else Telegram's ``language_code``, else Arabic for
    families and strangers and English for staff.
    """
    linked = _linked(session, telegram_user_id)
    return _person(session, telegram_user_id, linked, _negotiate(language_code))


def _remember(session: Session, linked: _Linked | None, language: str | None) -> None:
    """Stores the language Telegram reports for a linked person, only when it changed."""
    if linked is None or language is None or linked.telegram_language == language:
        return
    table = Member if linked.kind == "member" else Staff
    # An ORM-enabled UPDATE: a copy of the row already loaded in this session follows it.
    session.execute(
        update(table).where(col(table.id) == linked.id).values(telegram_language=language)
    )


def remember_telegram_language(
    session: Session, *, telegram_user_id: int, language_code: str | None
) -> None:
    """Keeps the language Telegram reports for a linked person, for notices sent later."""
    language = _negotiate(language_code)
    if language is not None:
        _remember(session, _linked(session, telegram_user_id), language)


def identify_and_remember(
    session: Session, *, telegram_user_id: int, language_code: str | None
) -> Person:
    """:func:`identify` and :func:`remember_telegram_language` with one lookup of the account
    (the caller of every update goes through here)."""
    linked = _linked(session, telegram_user_id)
    language = _negotiate(language_code)
    _remember(session, linked, language)
    return _person(session, telegram_user_id, linked, language)


def set_language(session: Session, *, telegram_user_id: int, language: str) -> None:
    """Stores the language a person chose, whoever they are."""
    if language not in LANGUAGES:
        raise InvalidInput(f"unsupported language: {language!r}")
    member = member_by_telegram(session, telegram_user_id)
    staff = staff_by_telegram(session, telegram_user_id)
    if member is not None:
        member.language = language
        session.add(member)
    elif staff is not None:
        staff.language = language
        session.add(staff)
    else:
        setting = session.get(UserSetting, telegram_user_id)
        if setting is None:
            setting = UserSetting(telegram_user_id=telegram_user_id, language=language)
        setting.language = language
        session.add(setting)


def record_consent(session: Session, *, member_id: int, now: datetime | None = None) -> bool:
    """Records that a member read the privacy notice; False when it was already recorded."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound("member")
    if member.consent_at is not None:
        return False
    member.consent_at = now or utcnow()
    session.add(member)
    audit.record(
        session,
        actor=f"member:{member_id}",
        action="privacy.consent",
        subject=f"member:{member_id}",
    )
    return True


def unlink(
    session: Session, record: Member | Staff, *, actor: str, now: datetime | None = None
) -> tuple[int, str] | None:
    """Cuts a person's Telegram account off; returns (old account id, its language) or None.

    A member's consent is cleared too: it was given from the old account, and whoever opens
    the next invite must read the privacy notice themselves.
    """
    old_id = record.telegram_user_id
    if old_id is None:
        return None
    language = identify(session, telegram_user_id=old_id, language_code=None).language
    record.telegram_user_id = None
    record.telegram_language = None
    record.linked_at = None
    if isinstance(record, Member):
        record.consent_at = None
        record.unreachable_at = None
        subject = f"member:{record.id}"
    else:
        subject = f"staff:{record.id}"
    session.add(record)
    session.flush()
    audit.record(session, actor=actor, action="account.unlink", subject=subject)
    return old_id, language


def mark_reachable(session: Session, *, telegram_user_id: int) -> bool:
    """A member unblocked the bot: clears the note on them and on their household's tickets."""
    from storage.models import Ticket

    member = member_by_telegram(session, telegram_user_id)
    if member is None or member.unreachable_at is None:
        return False
    member.unreachable_at = None
    session.add(member)
    for ticket in session.exec(
        select(Ticket).where(Ticket.household_id == member.household_id, Ticket.family_unreachable)
    ):
        ticket.family_unreachable = False
        session.add(ticket)
    return True


def mark_unreachable(
    session: Session, *, telegram_user_id: int, now: datetime | None = None
) -> None:
    """Notes that a member blocked the bot, so staff know the family can't be reached here."""
    member = member_by_telegram(session, telegram_user_id)
    if member is not None and member.unreachable_at is None:
        member.unreachable_at = now or utcnow()
        session.add(member)
