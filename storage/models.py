"""Every table of Sanad, as SQLModel classes; times are UTC and end in ``_at``."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, String, UniqueConstraint
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
    language: str | None = None  # chosen with /language
    telegram_language: str | None = None  # from Telegram's language_code, last seen
    # Fingerprint of the command menu last set in this person's chat: start-up re-sends
    # a menu only when it differs from what the person should have now.
    menu_fingerprint: str | None = None
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
    language: str | None = None  # chosen with /language
    telegram_language: str | None = None  # from Telegram's language_code, last seen
    # Fingerprint of the command menu last set in this person's chat: start-up re-sends
    # a menu only when it differs from what the person should have now.
    menu_fingerprint: str | None = None
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


class TicketStatus(StrEnum):
    """Where a request stands, as the family sees it."""

    RECEIVED = "received"  # routed, nobody has picked it up yet
    WITH_CASEWORKER = "with_caseworker"  # claimed or assigned, being worked on
    WAITING_FAMILY = "waiting_family"  # staff answered; the family's turn
    RESOLVED = "resolved"


class Category(SQLModel, table=True):
    """A kind of problem a family can report, named in Arabic and English."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True)
    name_en: str
    name_ar: str
    emoji: str = ""
    priority: str = "normal"
    position: int = 0
    active: bool = True


class Priority(SQLModel, table=True):
    """How fast a first response is due, in working hours; editable data."""

    code: str = Field(primary_key=True)
    first_response_hours: float
    rank: int = 0


class RoutingRule(SQLModel, table=True):
    """Sends a district's (and optionally one category's) requests to a provider's queue.

    Without a matching rule a request goes to the provider holding the district's Lot.
    """

    id: int | None = Field(default=None, primary_key=True)
    district_id: int = Field(foreign_key="district.id", index=True)
    category_id: int | None = Field(default=None, foreign_key="category.id")
    provider_id: int = Field(foreign_key="provider.id")
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Ticket(SQLModel, table=True):
    """A family's request; its reference is ``K-`` and the zero-padded id."""

    # Each queue listing filters and sorts in SQL on one of these (tickets.staff_filters and
    # escalation.escalate_overdue), so its cost follows the queue's size, not the database's.
    __table_args__ = (
        Index("ix_ticket_assignee_queue", "assignee_id", "status", "urgent", "due_at"),
        Index("ix_ticket_provider_queue", "provider_id", "assignee_id", "status", "due_at"),
        Index("ix_ticket_overdue", "status", "first_response_at", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    category_id: int = Field(foreign_key="category.id")
    priority: str = "normal"
    urgent: bool = False
    status: TicketStatus = Field(default=TicketStatus.RECEIVED, index=True)
    provider_id: int | None = Field(default=None, foreign_key="provider.id", index=True)
    assignee_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    first_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalation_level: int = 0
    reopened: int = 0
    helpful: bool | None = None
    family_unreachable: bool = False

    @property
    def reference(self) -> str:
        """The reference families and staff quote, e.g. K-0042."""
        return f"K-{self.id:04d}"


class TicketMessage(SQLModel, table=True):
    """One message of a ticket: from the family, to the family, or an internal note."""

    __table_args__ = (
        UniqueConstraint("source_chat_id", "source_message_id", name="uq_source"),
        # The newest reply of each ticket (a family's /tickets) without reading its history.
        Index("ix_ticketmessage_ticket_direction", "ticket_id", "direction", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    author: str  # "member:7", "staff:3", "system"
    direction: str  # "in" (from the family), "out" (to the family), "note" (staff only)
    kind: str = "text"  # text, photo, voice, document
    text: str = ""
    file_id: str | None = None
    language: str | None = None
    translation: str | None = None
    translation_status: str | None = None
    translation_model: str | None = None
    translation_target: str | None = None  # the language the translation is in
    translation_flagged: bool = False  # staff said the machine translation is wrong
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    source_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    source_message_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True)
    )


class MessageLink(SQLModel, table=True):
    """Which ticket a bot message in some chat belongs to, so a Telegram reply finds it."""

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    message_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    ticket_id: int = Field(foreign_key="ticket.id", index=True)


class RoutingDecision(SQLModel, table=True):
    """Why a ticket went where it went."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    reason: str
    provider_id: int | None = None
    staff_id: int | None = None
    rule_id: int | None = None


class SavedReply(SQLModel, table=True):
    """A reply written by a person in both English and Arabic, sent with two taps."""

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="staff.id", index=True)
    title: str
    text_en: str
    text_ar: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NoticeKind(StrEnum):
    """What a queued notice says; each kind has exactly one render function (handlers/notices)."""

    STAFF_NEW_TICKET = "staff.new_ticket"
    STAFF_REASSIGNED = "staff.reassigned"
    STAFF_FAMILY_MESSAGE = "staff.family_message"
    STAFF_URGENT = "staff.urgent"
    STAFF_REOPENED = "staff.reopened"
    STAFF_UNREACHABLE = "staff.unreachable"
    STAFF_ESCALATED = "staff.escalated"
    STAFF_SAFEGUARDING = "staff.safeguarding"
    STAFF_ALERT_TICKET = "staff.alert_ticket"
    FAMILY_REPLY = "family.reply"
    FAMILY_RESOLVED = "family.resolved"
    ACCOUNT_UNLINKED = "account.unlinked"


class NoticeState(StrEnum):
    """Where a notice stands in the outbox."""

    QUEUED = "queued"  # waiting for its time (``next_attempt_at``) and its turn in the chat
    SENDING = "sending"  # claimed by a dispatcher; a Telegram call may be in flight
    SENT = "sent"
    FAILED = "failed"  # a permanent error, or still undelivered when it expired
    CANCELLED = "cancelled"  # the recipient may no longer see it (``last_error`` says why)
    UNKNOWN = "unknown"  # a send cut by a crash: the part in flight may or may not have arrived


class Notification(SQLModel, table=True):
    """A message owed to someone, written in the same transaction as the change (an outbox).

    A dispatcher claims it, renders it in the recipient's language at send time and records
    each part sent; the unique key stops the same notice being queued twice.
    """

    __table_args__ = (
        Index("ix_notification_due", "state", "next_attempt_at"),
        Index("ix_notification_chat_order", "chat_id", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    # Plain strings in the database (new kinds need no schema change); NoticeKind(...) on use.
    kind: NoticeKind = Field(sa_column=Column(String(40), nullable=False))
    lane: str = Field(default="interactive", max_length=20)  # bot.delivery.lanes.Lane
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="ticketmessage.id")
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: NoticeState = Field(
        default=NoticeState.QUEUED, sa_column=Column(String(20), nullable=False)
    )
    attempts: int = 0
    parts_sent: int = 0  # of a multi-part notice, so a retry sends only what is missing
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    claimed_by: str | None = None
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    last_error: str | None = None


class SafeguardingFinding(SQLModel, table=True):
    """Danger found in one family message at arrival: its level, signals and who was alerted.

    One row per Telegram message (the unique source), so a redelivered update or an edit never
    alerts twice; ``ticket_id`` is filled when the message becomes part of a request.
    """

    __table_args__ = (
        UniqueConstraint("source_chat_id", "source_message_id", name="uq_finding_source"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    level: str  # DangerLevel: "high" or "urgent"
    signals: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )  # [{category, matched, rule, level}]
    text: str = ""  # the family's words, shown only to staff who may see the household
    alerted: bool = False  # the urgent alert was queued
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    source_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    source_message_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True)
    )
