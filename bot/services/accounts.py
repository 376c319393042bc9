"""Who is writing and their account: resolving the caller, joining by invite, language, invites.

One transaction per intent (run with ``Database.run``); nothing here sends anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session

from bot.services import invites, people, registry
from bot.services.errors import AlreadyLinked, InvalidInput, InviteInvalid, TooManyAttempts
from bot.services.invites import IssuedInvite
from bot.services.people import Person
from storage.models import StaffRole


def resolve_caller(
    session: Session, *, telegram_user_id: int, language_code: str | None
) -> Person:
    """The caller of an update, remembering the language Telegram reports for them."""
    return people.identify_and_remember(
        session, telegram_user_id=telegram_user_id, language_code=language_code
    )


class JoinResult(StrEnum):
    """How a /start with a code ended."""

    JOINED = "joined"
    INVALID = "invalid"  # unknown, used or expired: deliberately one answer
    TOO_MANY = "too_many"
    ALREADY_LINKED = "already_linked"


@dataclass(frozen=True)
class Joining:
    """The outcome of a /start with a code, and who the caller is now."""

    result: JoinResult
    person: Person
    reason: str = ""  # why an invite was refused, for the log (never the code)


def join(
    session: Session,
    *,
    raw_code: str,
    telegram_user_id: int,
    language_code: str | None,
    now: datetime,
) -> Joining:
    """Redeems an invite; a refused code is counted in the same transaction (rate limit)."""
    try:
        with session.begin_nested():
            invites.redeem(session, raw_code=raw_code, telegram_user_id=telegram_user_id, now=now)
    except InviteInvalid as exc:
        invites.record_failure(session, telegram_user_id=telegram_user_id, now=now)
        person = people.identify(
            session, telegram_user_id=telegram_user_id, language_code=language_code
        )
        return Joining(JoinResult.INVALID, person, str(exc.details.get("reason", "")))
    except (TooManyAttempts, AlreadyLinked) as exc:
        result = (
            JoinResult.TOO_MANY if isinstance(exc, TooManyAttempts) else JoinResult.ALREADY_LINKED
        )
        person = people.identify(
            session, telegram_user_id=telegram_user_id, language_code=language_code
        )
        return Joining(result, person)
    person = resolve_caller(
        session, telegram_user_id=telegram_user_id, language_code=language_code
    )
    return Joining(JoinResult.JOINED, person)


def choose_language(
    session: Session, *, telegram_user_id: int, language: str, language_code: str | None
) -> Person:
    """Stores the language a person chose and returns them as they are now."""
    people.set_language(session, telegram_user_id=telegram_user_id, language=language)
    return resolve_caller(session, telegram_user_id=telegram_user_id, language_code=language_code)


@dataclass(frozen=True)
class Issued:
    """An invite made from Telegram, and whom it is for."""

    invite: IssuedInvite
    name: str
    family_ref: str | None = None  # set for a family member's invite


def issue_invite(
    session: Session,
    *,
    kind: str,
    target: str,
    member_name: str | None,
    ttl_days: int,
    relink: bool,
    actor: str,
) -> Issued:
    """A coordinator's /invite: for a family member (``kind`` "family") or a member of staff."""
    if kind == "family":
        member = registry.find_member(session, family=target, name=member_name)
        issued = invites.create_invite(
            session, member_id=member.id, ttl_days=ttl_days, relink=relink, actor=actor
        )
        return Issued(issued, member.name, target.upper())
    if not target.isdigit():
        raise InvalidInput("staff id")
    staff = registry.get_staff(session, int(target))
    if kind != "staff" and staff.role != StaffRole(kind):
        raise InvalidInput("role")
    issued = invites.create_invite(
        session, staff_id=staff.id, ttl_days=ttl_days, relink=relink, actor=actor
    )
    return Issued(issued, staff.name)
