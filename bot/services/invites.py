"""Invite codes: 128 random bits, stored only as a hash, single use, expiring, rate-limited."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, TypeVar

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from bot.services import audit, outbox, people
from bot.services.errors import (
    AlreadyLinked,
    Conflict,
    InvalidInput,
    InviteInvalid,
    NotFound,
    TooManyAttempts,
)
from bot.services.people import member_by_telegram, staff_by_telegram
from storage.models import Household, Invite, JoinAttempt, Member, Staff
from storage.types import utcnow

CODE_BYTES = 16  # 128 bits from the OS CSPRNG
CODE_LENGTH = 26  # base32 without padding
CODE_PATTERN = re.compile(r"^[A-Z2-7]{26}$")
MAX_FAILED_ATTEMPTS = 5
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_TTL_DAYS = 90
# Families type codes on Arabic keyboards: Arabic-Indic and Persian digits mean 0-9.
EASTERN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)


class AccountLinked(Conflict):
    """The person already has a Telegram account linked; a new invite needs ``relink``."""

    code = "account_linked"


def new_code() -> str:
    """A fresh invite code: 26 base32 characters, safe in a deep link."""
    return base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii").rstrip("=")


def normalize_code(raw: str) -> str:
    """Forgives how people type or copy a code: spaces, dashes, bidi marks and lower case."""
    cleaned = re.sub(r"[\s\-_.\u200e\u200f\u2066-\u2069\u202a-\u202e]", "", raw)
    return cleaned.translate(EASTERN_DIGITS).upper()


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
    relinked: bool = False


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
    relink: bool = False,
    actor: str = "admin",
    now: datetime | None = None,
) -> IssuedInvite:
    """Issues a code for one member or member of staff; older unused codes stop working.

    A person whose Telegram account is already linked gets a new code only with
    ``relink=True``: the old account is then cut off at once and told, in its language.
    """
    if (member_id is None) == (staff_id is None):
        raise InvalidInput("an invite is for exactly one member or member of staff")
    if ttl_days < 1 or ttl_days > MAX_TTL_DAYS:
        raise InvalidInput(f"an invite lasts 1 to {MAX_TTL_DAYS} days, not {ttl_days}")
    now = now or utcnow()
    person: Member | Staff | None = (
        session.get(Member, member_id) if member_id is not None else session.get(Staff, staff_id)
    )
    if person is None:
        raise NotFound("nobody to invite", member=member_id, staff=staff_id)
    if person.telegram_user_id is not None and not relink:
        raise AccountLinked(
            f"{person.name} is already connected on a Telegram account; to move them to a new "
            "account, invite again with relink (the old account is cut off and told)",
            name=person.name,
        )
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
    cut = people.unlink(session, person, actor=actor, now=now) if relink else None
    if cut is not None:
        old_account, language = cut
        outbox.enqueue(
            session,
            key=f"unlinked:{subject}:invite:{invite.id}",
            chat_id=old_account,
            kind=outbox.NoticeKind.ACCOUNT_UNLINKED,
            language=language,
        )
    return IssuedInvite(
        invite_id=invite.id or 0,
        code=code,
        expires_at=invite.expires_at,
        relinked=cut is not None,
    )


class EarlierState(StrEnum):
    """What became of an invite made earlier from the same Telegram message."""

    WORKS = "works"  # unused and not expired: the code shown then still works
    USED = "used"
    ENDED = "ended"  # expired, or replaced by a newer invite


@dataclass(frozen=True)
class Earlier:
    """An invite already made from this message or button; its code was shown then and is
    kept only as a hash, so it cannot be shown again."""

    invite_id: int
    name: str
    family_ref: str | None
    expires_at: datetime
    state: EarlierState


def made_from(
    session: Session,
    source: tuple[int, int],
    *,
    member_id: int | None = None,
    staff_id: int | None = None,
    now: datetime | None = None,
) -> Earlier | None:
    """The invite a Telegram message (chat id, message id) already made; with a target, the
    one for that person (a list of members carries a button for each on one message)."""
    query = select(Invite).where(
        Invite.source_chat_id == source[0], Invite.source_message_id == source[1]
    )
    if member_id is not None:
        query = query.where(Invite.member_id == member_id)
    if staff_id is not None:
        query = query.where(Invite.staff_id == staff_id)
    invite = session.exec(query.order_by(col(Invite.id))).first()
    if invite is None:
        return None
    now = now or utcnow()
    family_ref: str | None = None
    person: Member | Staff | None
    if invite.member_id is not None:
        person = session.get(Member, invite.member_id)
        household = session.get(Household, person.household_id) if person else None
        family_ref = household.reference if household else ""
    else:
        person = session.get(Staff, invite.staff_id)
    if invite.used_at is not None:
        state = EarlierState.USED
    elif invite.expires_at <= now:
        state = EarlierState.ENDED
    else:
        state = EarlierState.WORKS
    return Earlier(
        invite.id or 0, person.name if person else "", family_ref, invite.expires_at, state
    )


class _Made(Protocol):
    """Anything that carries a newly issued invite."""

    @property
    def invite(self) -> IssuedInvite:
        """The new invite."""
        ...


M = TypeVar("M", bound=_Made)


def once(
    session: Session,
    source: tuple[int, int] | None,
    issue: Callable[[Session], M],
    *,
    member_id: int | None = None,
    staff_id: int | None = None,
) -> M | Earlier:
    """Issues an invite through ``issue`` once per Telegram message (or button and target).

    Handled again (a redelivered update, a second tap), it makes no second code, which would
    stop the first one working: it returns the earlier invite, whose code it cannot show.
    """
    if source is not None:
        earlier = made_from(session, source, member_id=member_id, staff_id=staff_id)
        if earlier is not None:
            return earlier
    made = issue(session)
    if source is not None:
        mark_source(session, made.invite.invite_id, source)
    return made


def mark_source(session: Session, invite_id: int, source: tuple[int, int]) -> None:
    """Records the Telegram message an invite was made from."""
    invite = session.get(Invite, invite_id)
    if invite is not None:
        invite.source_chat_id, invite.source_message_id = source
        session.add(invite)
        session.flush()


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
