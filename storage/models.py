"""Every table of Sanad, as SQLModel classes; times are UTC and end in ``_at``."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, String, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

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


class ReferenceChange(SQLModel, table=True):
    """A coordinator's change to providers, districts or Lots, keyed by the Telegram message
    it came from: handled again, it changes nothing further and answers what it did."""

    __table_args__ = (
        UniqueConstraint(
            "source_chat_id", "source_message_id", "key", name="uq_referencechange_source"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    source_message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(String(20), nullable=False))  # services' ChangeKind
    key: str = Field(sa_column=Column(String(80), nullable=False))  # kind and what it was on
    provider_id: int | None = Field(default=None, foreign_key="provider.id")
    district_id: int | None = Field(default=None, foreign_key="district.id")
    detail: str = ""  # a provider's new name, or the provider that lost a district
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


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
    # Erased on request (bot/services/privacy.py): names, Telegram ids and words are gone;
    # the row stays, anonymous, so the statistics still count it.
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


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
    # The coordinator's message (typed /invite) or button message it was made from: a
    # redelivery of that update finds it instead of making a second code (with the target:
    # one list of members offers a button each).
    source_chat_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True, index=True)
    )
    source_message_id: int | None = Field(
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
    # Hash chain (bot/services/audit.py): each row's hash covers its content and the previous
    # row's hash, so a change, deletion or reordering is detected by ``admin audit verify``.
    prev_hash: str | None = None
    hash: str | None = Field(default=None, index=True)


class AuditHead(SQLModel, table=True):
    """The newest link of the audit chain (one row), locked by each writer to append in order."""

    id: int = Field(default=1, primary_key=True)
    last_event_id: int | None = None
    last_hash: str = ""


class TicketStatus(StrEnum):
    """Where a request stands, as the family sees it."""

    RECEIVED = "received"  # routed, nobody has picked it up yet
    WITH_CASEWORKER = "with_caseworker"  # claimed or assigned, being worked on
    WAITING_FAMILY = "waiting_family"  # staff answered; the family's turn
    RESOLVED = "resolved"


class PriorityCode(StrEnum):
    """The priorities the code itself names; their response times are data (``Priority``)."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Direction(StrEnum):
    """Which way a ticket message went."""

    IN = "in"  # from the family
    OUT = "out"  # to the family
    NOTE = "note"  # staff only, never sent to the family


class TranslationStatus(StrEnum):
    """What became of a message's translation."""

    TRANSLATED = "translated"  # a machine translation is stored beside the original
    HUMAN = "human"  # a person wrote the Arabic version (a saved reply)
    SAME_LANGUAGE = "same_language"  # already in the reader's language, nothing to do
    NO_MODEL = "no_model"  # no translation model installed for that pair of languages
    FAILED = "failed"  # the model was there but the translation did not come back


class Category(SQLModel, table=True):
    """A kind of problem a family can report, named in Arabic and English."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True)
    name_en: str
    name_ar: str
    emoji: str = ""
    # A Priority row's code: usually a PriorityCode, but the table may hold others.
    priority: str = PriorityCode.NORMAL
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
    priority: str = PriorityCode.NORMAL  # a Priority row's code, as on Category
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
    # Plain strings in the database, as before the enums (sa_type keeps the column unchanged).
    direction: Direction = Field(sa_type=AutoString)
    kind: str = "text"  # text, photo, voice, document
    text: str = ""
    file_id: str | None = None
    language: str | None = None
    translation: str | None = None
    translation_status: TranslationStatus | None = Field(default=None, sa_type=AutoString)
    translation_model: str | None = None
    translation_target: str | None = None  # the language the translation is in
    translation_flagged: bool = False  # staff said the machine translation is wrong
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    source_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    source_message_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True)
    )
    # When retention (or erasure) removed the text, translation and file of this message.
    purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The family edited the message in Telegram: ``text`` holds the newest wording, this the
    # words as first sent (kept from the first edit on), and when the newest edit was made.
    original_text: str | None = None
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


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

    __table_args__ = (
        UniqueConstraint("source_chat_id", "source_message_id", name="uq_savedreply_source"),
    )

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="staff.id", index=True)
    title: str
    text_en: str
    text_ar: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The /saved add message that created it: a redelivered update adds nothing.
    source_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    source_message_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True)
    )


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
    # Appointments, classes and reminders (issue 9).
    STAFF_BOOKING = "staff.booking"  # a family booked, moved or cancelled (payload "action")
    STAFF_CANT_COME = "staff.cant_come"  # "I can't come" pressed on a reminder
    FAMILY_APPOINTMENT_ADDED = "family.appointment_added"  # an external appointment entered
    FAMILY_APPOINTMENT_CANCELLED = "family.appointment_cancelled"  # by staff; offers new times
    FAMILY_ENROLLED = "family.enrolled"  # put in an ESOL class, with its timetable
    FAMILY_REMINDER = "family.reminder"  # an appointment or class session is coming
    # Broadcasts, figures, support window (issue 10) and privacy rights (issue 11).
    FAMILY_BROADCAST = "family.broadcast"  # one family member's copy of a broadcast
    STAFF_BROADCAST_UNREACHABLE = "staff.broadcast_unreachable"  # families who blocked the bot
    STAFF_SUPPORT_ENDING = "staff.support_ending"  # monthly: support ends within 6 months
    STAFF_ERASURE_REQUEST = "staff.erasure_request"  # a family asked for their data deleted
    FLOW_EXPIRED = "account.flow_expired"  # a conversation left for a day was closed
    STAFF_MESSAGE_EDITED = "staff.message_edited"  # the family corrected a message they sent
    STAFF_ERROR_REPORT = "staff.error_report"  # an update or a job failed: a reference only


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


# --- Appointments, ESOL classes and reminders ------------------------------------------------


class AppointmentKind(StrEnum):
    """Where an appointment came from."""

    BOOKING = "booking"  # a family booked one of their caseworker's (or provider's) slots
    EXTERNAL = "external"  # a caseworker entered one the family has elsewhere (GP, Jobcentre...)


class AppointmentMode(StrEnum):
    """How a booked meeting happens."""

    HOME = "home"  # home visit
    OFFICE = "office"
    PHONE = "phone"


class AppointmentStatus(StrEnum):
    """Where an appointment stands."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    KEPT = "kept"  # the caseworker marked it kept
    MISSED = "missed"  # the caseworker marked it missed


class AttendanceStatus(StrEnum):
    """What was recorded for one person at one appointment or class session."""

    KEPT = "kept"  # appointment kept
    MISSED = "missed"  # appointment missed
    ATTENDED = "attended"  # ESOL session attended
    ABSENT = "absent"  # ESOL session missed without apology
    APOLOGY = "apology"  # "I can't come" before the session
    WILL_COME = "will_come"  # "I will come" before the session


class ReminderState(StrEnum):
    """Where a reminder stands; only PENDING rows are ever claimed."""

    PENDING = "pending"  # waiting for ``due_at``
    QUEUED = "queued"  # turned into an outbox notice (``notice_key``), exactly once
    MISSED = "missed"  # its time passed while the bot was down and the event is over
    CANCELLED = "cancelled"  # the event was cancelled or moved, or the person left it


class Slot(SQLModel, table=True):
    """Bookable time a caseworker published; one family at most (``Appointment.slot_id``)."""

    __table_args__ = (
        Index("ix_slot_staff_start", "staff_id", "starts_at"),
        # One /slots add message (or Publish button message) publishes each start once.
        UniqueConstraint(
            "source_chat_id", "source_message_id", "starts_at", name="uq_slot_source"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id")
    provider_id: int | None = Field(default=None, foreign_key="provider.id", index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    series: str | None = None  # slots published by one /slots add share this label
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    source_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    source_message_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True)
    )


class Appointment(SQLModel, table=True):
    """A meeting a household has: booked from a slot, or entered by a caseworker (external).

    ``slot_id`` is unique, so two families can never hold the same slot; cancelling or moving
    a booking clears it (``former_slot_id`` keeps the history) and frees the slot.
    """

    __table_args__ = (
        UniqueConstraint("slot_id", name="uq_appointment_slot"),
        # A caseworker's typed appointment is stored once per Telegram message.
        UniqueConstraint("source_chat_id", "source_message_id", name="uq_appointment_source"),
        Index("ix_appointment_staff_start", "staff_id", "starts_at"),
        Index("ix_appointment_household_start", "household_id", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id")
    member_id: int | None = Field(default=None, foreign_key="member.id")  # who booked it
    staff_id: int | None = Field(default=None, foreign_key="staff.id")  # the caseworker
    kind: AppointmentKind = Field(sa_column=Column(String(20), nullable=False))
    mode: AppointmentMode | None = Field(default=None, sa_column=Column(String(20)))
    slot_id: int | None = Field(default=None, foreign_key="slot.id")
    former_slot_id: int | None = Field(default=None, foreign_key="slot.id")
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    what: str = ""  # external: "GP", "Jobcentre interview"...
    place: str = ""  # external: the address; bookings: rendered from the mode
    bring: str = ""  # external: what to bring
    interpreter: bool | None = None
    status: AppointmentStatus = Field(
        default=AppointmentStatus.BOOKED, sa_column=Column(String(20), nullable=False)
    )
    rescheduled_from_id: int | None = Field(default=None, foreign_key="appointment.id")
    created_by: str = ""  # "member:7", "staff:3"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by: str | None = None
    outcome_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    source_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    source_message_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True)
    )


class EsolClass(SQLModel, table=True):
    """An English (ESOL) class: one weekly session from ``term_from`` to ``term_to``.

    Sessions on England bank holidays and inside ``breaks`` ([[from, to], ...], ISO dates,
    inclusive) do not happen.
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str
    venue: str
    weekday: int  # 0 = Monday
    start_time: str  # "HH:MM", Europe/London wall clock
    minutes: int
    term_from: date
    term_to: date
    breaks: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    provider_id: int | None = Field(default=None, foreign_key="provider.id", index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Enrolment(SQLModel, table=True):
    """A family member in a class; ``ended_at`` set when unenrolled (kept for attendance)."""

    __table_args__ = (UniqueConstraint("class_id", "member_id", name="uq_enrolment"),)

    id: int | None = Field(default=None, primary_key=True)
    class_id: int = Field(foreign_key="esolclass.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Reminder(SQLModel, table=True):
    """One reminder owed to one member for one event, at ``due_at`` (quiet hours applied).

    The unique key (e.g. ``appt:12:m7:24h``) stops a reminder being planned twice; claiming
    turns it into an outbox notice in the same transaction, so it is never sent twice.
    """

    __table_args__ = (Index("ix_reminder_due", "state", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id", index=True)
    class_id: int | None = Field(default=None, foreign_key="esolclass.id", index=True)
    session_on: date | None = None  # the class session's local date
    event_at: datetime = Field(sa_type=UTCDateTime)
    offset_minutes: int  # how long before the event it was meant for
    due_at: datetime = Field(sa_type=UTCDateTime)
    state: ReminderState = Field(
        default=ReminderState.PENDING, sa_column=Column(String(20), nullable=False)
    )
    notice_key: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    response: str | None = None  # AttendanceStatus.WILL_COME or APOLOGY, from its buttons
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Attendance(SQLModel, table=True):
    """What happened at one appointment (one row each) or for one person at one class session."""

    __table_args__ = (
        UniqueConstraint("appointment_id", name="uq_attendance_appointment"),
        UniqueConstraint("class_id", "session_on", "member_id", name="uq_attendance_session"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id")
    class_id: int | None = Field(default=None, foreign_key="esolclass.id")
    session_on: date | None = None
    status: AttendanceStatus = Field(sa_column=Column(String(20), nullable=False))
    source: str = ""  # "member:7" (a button) or "staff:3"
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- Broadcasts (issue 10) and privacy requests (issue 11) -------------------------------------


class BroadcastState(StrEnum):
    """Where a broadcast stands."""

    DRAFT = "draft"  # being written; audience and translations chosen
    SCHEDULED = "scheduled"  # confirmed, waiting for ``scheduled_for``
    SENDING = "sending"  # recipients being queued and sent (resumed after a restart)
    DONE = "done"
    CANCELLED = "cancelled"  # what was not yet sent is not sent


class Broadcast(SQLModel, table=True):
    """A notice from a coordinator to a chosen audience of family members.

    ``key`` makes confirming idempotent (a double tap sends one broadcast); ``audience`` is the
    filter as data; ``translations`` holds each language's text and where it came from.
    """

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    created_by: int = Field(foreign_key="staff.id", index=True)
    text: str = ""
    language: str = "en"  # the language ``text`` is written in
    attachment_kind: str | None = None  # "photo" or "document"
    attachment_file_id: str | None = None
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # {"ar": {"text": "...", "source": "machine" | "staff" | "original", "model": "..."}}
    translations: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    state: BroadcastState = Field(
        default=BroadcastState.DRAFT, sa_column=Column(String(20), nullable=False, index=True)
    )
    recipients: int = 0  # counted when confirmed
    scheduled_for: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by: int | None = Field(default=None, foreign_key="staff.id")
    progress_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    progress_message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    delivered: int = 0
    failed: int = 0
    blocked: int = 0


class BroadcastDelivery(SQLModel, table=True):
    """One member's copy of a broadcast: queued once (unique), its notice found by key."""

    __table_args__ = (UniqueConstraint("broadcast_id", "member_id", name="uq_broadcast_member"),)

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(foreign_key="broadcast.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    notice_key: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ErasureState(StrEnum):
    """A family's request to delete their data."""

    REQUESTED = "requested"
    ERASED = "erased"  # a coordinator confirmed; the household was erased
    DECLINED = "declined"  # a coordinator declined (the reason is in the audit trail)


class ErasureRequest(SQLModel, table=True):
    """A family member asked (with /mydata) for their household's data to be deleted."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    state: ErasureState = Field(
        default=ErasureState.REQUESTED, sa_column=Column(String(20), nullable=False)
    )
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- Durable inbound updates and the single running instance (issue 11) -----------------------


class InboundState(StrEnum):
    """Where an incoming Telegram update stands."""

    PENDING = "pending"  # stored before Telegram was told it arrived; not yet handled
    DONE = "done"  # handled (its handlers ran to the end)
    FAILED = "failed"  # its handlers failed on every attempt: listed by ``admin inbox --failed``


class InboundUpdate(SQLModel, table=True):
    """One Telegram update, stored before it is acknowledged and handled from here.

    Keyed by Telegram's ``update_id``, so a redelivered update is never handled twice.
    """

    __table_args__ = (Index("ix_inboundupdate_state", "state", "update_id"),)

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    user_id: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    state: InboundState = Field(
        default=InboundState.PENDING, sa_column=Column(String(20), nullable=False)
    )
    attempts: int = 0
    last_error: str | None = None  # the exception's class name only
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class Lease(SQLModel, table=True):
    """Who runs a singleton role (the update loop) and how alive each part of it is."""

    name: str = Field(primary_key=True)  # "poller"
    holder: str  # "host:pid:random", never a secret
    host: str
    pid: int
    acquired_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    # Heartbeats for `python -m bot health`: when each loop last completed a round.
    updates_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outbox_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminders_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
