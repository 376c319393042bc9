"""Every table of Sanad, as SQLModel classes; times are UTC and end in ``_at``."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class StaffRole(StrEnum):
    """What a member of staff may do."""

    CASEWORKER = "caseworker"
    LEAD = "lead"
    COORDINATOR = "coordinator"


class District(SQLModel, table=True):
    """A district housing authority; belongs to at most one Lot."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    local_authority: str = "Kent County Council"
    # Some districts run their own support rather than the council's: a flag, not a code path.
    self_coordinated: bool = False
    lot_id: int | None = Field(default=None, foreign_key="lot.id", index=True)
    active: bool = True


class Scheme(SQLModel, table=True):
    """A resettlement scheme (VPRS, VCRS, UKRS, any future one)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True)
    name: str
    support_years: int = 5


class Provider(SQLModel, table=True):
    """An organisation commissioned to give casework support for one or more Lots."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Lot(SQLModel, table=True):
    """A contract area: a group of districts held by one provider."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    provider_id: int | None = Field(default=None, foreign_key="provider.id", index=True)


class Staff(SQLModel, table=True):
    """A caseworker, provider lead or council coordinator."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    role: StaffRole = Field(index=True)
    provider_id: int | None = Field(default=None, foreign_key="provider.id", index=True)
    telegram_user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, unique=True, nullable=True)
    )
    language: str | None = None
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    linked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Household(SQLModel, table=True):
    """A resettled family: the unit a caseworker supports."""

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True)
    district_id: int = Field(foreign_key="district.id", index=True)
    scheme_id: int = Field(foreign_key="scheme.id")
    arrived_on: date
    support_ends_on: date
    caseworker_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    language: str | None = None  # the household's preferred language, when registered with one
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Member(SQLModel, table=True):
    """An adult of a household who may use the bot."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    name: str
    telegram_user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, unique=True, nullable=True)
    )
    language: str | None = None
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    linked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unreachable_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Invite(SQLModel, table=True):
    """A single-use, expiring invite; only the code's hash is kept."""

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(unique=True, index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_telegram_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True)
    )


class JoinAttempt(SQLModel, table=True):
    """A failed invite-code attempt, kept to rate-limit guessing."""

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_column=Column(BigInteger, index=True, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class UserSetting(SQLModel, table=True):
    """A language chosen by someone not (yet) linked to a member or staff record."""

    telegram_user_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    language: str


class Flow(SQLModel, table=True):
    """Where a person is in a multi-step conversation; kept in the database to survive restarts."""

    telegram_user_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    name: str
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """Who did what to which record; never message text or names."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str  # "staff:12", "member:7", "admin", "system"
    action: str = Field(index=True)
    subject: str = Field(index=True)  # "ticket:42", "invite:9", "household:3"
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
