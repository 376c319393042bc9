"""Invite codes: 128 random bits, stored only as a hash, single use, expiring, rate-limited."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from bot.services import audit
from bot.services.errors import AlreadyLinked, InvalidInput, InviteInvalid, TooManyAttempts
from bot.services.people import member_by_telegram, staff_by_telegram
from storage.models import Invite, JoinAttempt, Member, Staff
from storage.types import utcnow

CODE_BYTES = 16  # 128 bits from the OS CSPRNG
CODE_LENGTH = 26  # base32 without padding
CODE_PATTERN = re.compile(r"^[A-Z2-7]{26}$")
MAX_FAILED_ATTEMPTS = 5
ATTEMPT_WINDOW = timedelta(minutes=15)


def new_code() -> str:
    """A fresh invite code: 26 base32 characters, safe in a deep link."""
    return base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii").rstrip("=")


def normalize_code(raw: str) -> str:
    """Forgives how people type or copy a code: spaces, dashes, bidi marks and lower case."""
    return re.sub(r"[\s\-_.\u200e\u200f\u2066-\u2069\u202a-\u202e]", "", raw).upper()


def hash_code(code: str) -> str:
    """The only form of a code the database keeps."""
    return hashlib.sha256(code.encode("ascii", "ignore")).hexdigest()


def deep_link(bot_username: str, code: str) -> str:
    """The t.me link that opens the bot with ``/start <code>``."""
    return f"https://t.me/{bot_username}?start={code}"


def display_code(code: str) -> str:
    """A code in groups of four, easier to read aloud or type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


@dataclass(frozen=True)
class IssuedInvite:
    """A new invite: the code exists only here, never in the database."""

    invite_id: int
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class Redeemed:
    """Who an invite linked the Telegram account to."""

    member_id: int | None
    staff_id: int | None


def create_invite(
    session: Session,
    *,
    member_id: int | None = None,
    staff_id: int | None = None,
    ttl_days: int = 14,
    actor: str = "admin",
    now: datetime | None = None,
) -> IssuedInvite:
    """Issues a code for one member or member of staff; older unused codes stop working."""
    if (member_id is None) == (staff_id is None):
        raise InvalidInput("an invite is for exactly one member or member of staff")
    if ttl_days < 1 or ttl_days > 90:
        raise InvalidInput("an invite lasts 1 to 90 days")
    now = now or utcnow()
    owner = (
        col(Invite.member_id) == member_id
        if member_id is not None
        else col(Invite.staff_id) == staff_id
    )
    session.execute(
        update(Invite)
        .where(owner, col(Invite.used_at).is_(None), col(Invite.expires_at) > now)
        .values(expires_at=now)
    )
    code = new_code()
    invite = Invite(
        code_hash=hash_code(code),
        member_id=member_id,
        staff_id=staff_id,
        created_at=now,
        expires_at=now + timedelta(days=ttl_days),
    )
    session.add(invite)
    session.flush()
    subject = f"member:{member_id}" if member_id is not None else f"staff:{staff_id}"
    audit.record(session, actor=actor, action="invite.create", subject=subject, invite=invite.id)
    return IssuedInvite(invite_id=invite.id or 0, code=code, expires_at=invite.expires_at)


def _failed_recently(session: Session, telegram_user_id: int, now: datetime) -> int:
    """How many failed attempts this account made inside the window."""
    return int(
        session.exec(
            select(func.count())
            .select_from(JoinAttempt)
            .where(
                JoinAttempt.telegram_user_id == telegram_user_id,
                col(JoinAttempt.at) > now - ATTEMPT_WINDOW,
            )
        ).one()
    )


def check_rate_limit(session: Session, *, telegram_user_id: int, now: datetime) -> None:
    """Refuses further attempts after too many failures."""
    if _failed_recently(session, telegram_user_id, now) >= MAX_FAILED_ATTEMPTS:
        raise TooManyAttempts(retry_after=ATTEMPT_WINDOW)


def record_failure(session: Session, *, telegram_user_id: int, now: datetime) -> None:
    """Counts a failed attempt; the caller commits it even though the redeem failed."""
    session.add(JoinAttempt(telegram_user_id=telegram_user_id, at=now))


def is_linked(session: Session, telegram_user_id: int) -> bool:
    """Whether the account already belongs to a member or member of staff."""
    return (
        member_by_telegram(session, telegram_user_id) is not None
        or staff_by_telegram(session, telegram_user_id) is not None
    )


def redeem(
    session: Session, *, raw_code: str, telegram_user_id: int, now: datetime | None = None
) -> Redeemed:
    """Links the Telegram account to the invite's person, once.

    Raises :class:`InviteInvalid` (unknown, used, expired — indistinguishable on purpose),
    :class:`TooManyAttempts` or :class:`AlreadyLinked`. A failure is recorded by the caller
    with :func:`record_failure` in its own transaction, since this one rolls back.
    """
    now = now or utcnow()
    check_rate_limit(session, telegram_user_id=telegram_user_id, now=now)
    if is_linked(session, telegram_user_id):
        raise AlreadyLinked()
    code = normalize_code(raw_code)
    if not CODE_PATTERN.match(code):
        raise InviteInvalid(reason="malformed")
    invite = session.exec(select(Invite).where(Invite.code_hash == hash_code(code))).first()
    if invite is None:
        raise InviteInvalid(reason="unknown")
    if invite.used_at is not None:
        raise InviteInvalid(reason="used")
    if invite.expires_at <= now:
        raise InviteInvalid(reason="expired")
    # Single use even when two accounts race with the same code: only one UPDATE matches.
    claimed = session.execute(
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
        .values(used_at=now, used_by_telegram_id=telegram_user_id)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise InviteInvalid(reason="used")
    if invite.member_id is not None:
        member = session.get(Member, invite.member_id)
        assert member is not None
        member.telegram_user_id = telegram_user_id
        member.linked_at = now
        member.unreachable_at = None
        session.add(member)
        subject = f"member:{member.id}"
    else:
        staff = session.get(Staff, invite.staff_id)
        assert staff is not None
        staff.telegram_user_id = telegram_user_id
        staff.linked_at = now
        session.add(staff)
        subject = f"staff:{staff.id}"
    session.flush()
    audit.record(session, actor=subject, action="invite.redeem", subject=subject, invite=invite.id)
    return Redeemed(member_id=invite.member_id, staff_id=invite.staff_id)
