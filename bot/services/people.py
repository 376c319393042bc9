"""Who is writing: a family member, a member of staff, or a stranger; and their language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.i18n import negotiate
from bot.services import audit
from bot.services.errors import InvalidInput, NotFound
from storage.models import Household, Member, Staff, StaffRole, UserSetting
from storage.types import utcnow

LANGUAGES = ("ar", "en")


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


def identify(session: Session, *, telegram_user_id: int, language_code: str | None) -> Person:
    """Resolves a Telegram account to a Person with the language to answer in.

    Language: the person's stored choice, else Telegram's ``language_code``, else Arabic for
    families and strangers and English for staff.
    """
    telegram_language = negotiate(language_code)
    member = member_by_telegram(session, telegram_user_id)
    if member is not None:
        household = session.get(Household, member.household_id)
        assert household is not None
        return Person(
            telegram_user_id=telegram_user_id,
            kind="member",
            language=member.language
            or household.language
            or telegram_language
            or member.telegram_language
            or "ar",
            member_id=member.id,
            household_id=household.id,
            household_ref=household.reference,
            consented=member.consent_at is not None,
        )
    staff = staff_by_telegram(session, telegram_user_id)
    if staff is not None and staff.active:
        return Person(
            telegram_user_id=telegram_user_id,
            kind="staff",
            language=staff.language or telegram_language or staff.telegram_language or "en",
            staff_id=staff.id,
            role=staff.role,
            provider_id=staff.provider_id,
        )
    setting = session.get(UserSetting, telegram_user_id)
    return Person(
        telegram_user_id=telegram_user_id,
        kind="guest",
        language=(setting.language if setting else None) or telegram_language or "ar",
    )


def remember_telegram_language(
    session: Session, *, telegram_user_id: int, language_code: str | None
) -> None:
    """Keeps the language Telegram reports for a linked person, for notices sent later."""
    language = negotiate(language_code)
    if language is None:
        return
    record: Member | Staff | None = member_by_telegram(session, telegram_user_id)
    if record is None:
        record = staff_by_telegram(session, telegram_user_id)
    if record is not None and record.telegram_language != language:
        record.telegram_language = language
        session.add(record)


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
