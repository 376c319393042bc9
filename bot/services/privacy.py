"""Privacy rights: everything held about a household (export) and its erasure on request.

``RULES`` classifies every table and column: a new table or column fails
tests/unit/test_personal_data_coverage.py until it is classified here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, delete, event, inspect, text, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from bot.services import audit, outbox
from bot.services.errors import Conflict, ErasureGone, Forbidden, NotFound
from storage.models import (
    Appointment,
    AppointmentStatus,
    Attendance,
    BroadcastDelivery,
    Direction,
    Enrolment,
    ErasureRequest,
    ErasureState,
    Flow,
    Household,
    InboundUpdate,
    Invite,
    JoinAttempt,
    Member,
    MessageLink,
    NoticeKind,
    Notification,
    Reminder,
    RoutingDecision,
    SafeguardingFinding,
    Staff,
    StaffRole,
    Ticket,
    TicketMessage,
    TicketStatus,
    UserSetting,
)

FORMAT = "sanad-export/1"


class Holds(StrEnum):
    """Whose data a table holds."""

    NOTHING = "nothing"  # reference data, or the audit chain's head
    STAFF = "staff"  # staff's own records (names, drafts, slots): not a family's data
    FAMILY = "family"  # rows about a household: exported and erased


class Col(StrEnum):
    """What one column of a family table is."""

    PERSONAL = "personal"  # names, Telegram ids, words, file ids: erased
    KEPT = "kept"  # ids, states, times: kept, anonymous, for the statistics


class Erase(StrEnum):
    """What erasure does to a family table's rows about the household."""

    DELETE = "delete"  # the rows go
    SCRUB = "scrub"  # the rows stay; their personal columns are emptied
    KEEP = "keep"  # nothing personal in them (append-only audit events: ids only)


@dataclass(frozen=True)
class Rule:
    """How one table is treated by export and erasure."""

    holds: Holds
    personal: frozenset[str] = frozenset()  # its PERSONAL columns (the rest are KEPT)
    erase: Erase = Erase.KEEP
    section: str = ""  # the export's key for its rows
    columns: frozenset[str] = field(default_factory=frozenset)  # every column, classified

    def use(self, column: str) -> Col:
        """Whether a column is personal or kept."""
        return Col.PERSONAL if column in self.personal else Col.KEPT


def _rule(
    holds: Holds, columns: str, personal: str = "", erase: Erase = Erase.KEEP, section: str = ""
) -> Rule:
    """A rule from space-separated column names."""
    return Rule(holds, frozenset(personal.split()), erase, section, frozenset(columns.split()))


_F, _S, _N = Holds.FAMILY, Holds.STAFF, Holds.NOTHING
RULES: dict[str, Rule] = {
    # Reference data and staff's own records.
    "district": _rule(_N, "id name local_authority self_coordinated lot_id active"),
    "scheme": _rule(_N, "id code name support_years"),
    "provider": _rule(_N, "id name active created_at"),
    "lot": _rule(_N, "id name provider_id"),
    "category": _rule(_N, "id code name_en name_ar emoji priority position active"),
    "priority": _rule(_N, "code first_response_hours rank"),
    "routingrule": _rule(_N, "id district_id category_id provider_id active created_at"),
    "esolclass": _rule(
        _N,
        "id name venue weekday start_time minutes term_from term_to breaks provider_id "
        "active created_at",
    ),
    "audithead": _rule(_N, "id last_event_id last_hash"),
    "staff": _rule(
        _S,
        "id name role provider_id telegram_user_id language telegram_language "
        "menu_fingerprint active created_at linked_at",
    ),
    "savedreply": _rule(
        _S, "id owner_id title text_en text_ar created_at source_chat_id source_message_id"
    ),
    "lease": _rule(
        _N, "name holder host pid acquired_at expires_at updates_at outbox_at reminders_at"
    ),
    "referencechange": _rule(
        _S,
        "id source_chat_id source_message_id kind key provider_id district_id detail created_at",
    ),
    "slot": _rule(
        _S,
        "id staff_id provider_id starts_at ends_at series created_at withdrawn_at "
        "source_chat_id source_message_id",
    ),
    "broadcast": _rule(
        _S,
        "id key created_by text language attachment_kind attachment_file_id audience "
        "translations state recipients scheduled_for created_at confirmed_at started_at "
        "finished_at cancelled_at cancelled_by progress_chat_id progress_message_id delivered "
        "failed blocked",
    ),
    # A family's data.
    "household": _rule(
        _F,
        "id reference district_id scheme_id arrived_on support_ends_on caseworker_id "
        "language created_at erased_at",
        "reference",
        Erase.SCRUB,
        "household",
    ),
    "member": _rule(
        _F,
        "id household_id name telegram_user_id language telegram_language menu_fingerprint "
        "consent_at linked_at unreachable_at created_at",
        "name telegram_user_id telegram_language menu_fingerprint",
        Erase.SCRUB,
        "members",
    ),
    "invite": _rule(
        _F,
        "id code_hash member_id staff_id created_at expires_at used_at used_by_telegram_id "
        "source_chat_id source_message_id",
        "code_hash used_by_telegram_id source_chat_id source_message_id",
        Erase.DELETE,
        "invites",
    ),
    "joinattempt": _rule(
        _F, "id telegram_user_id at", "telegram_user_id", Erase.DELETE, "join_attempts"
    ),
    "usersetting": _rule(
        _F, "telegram_user_id language", "telegram_user_id", Erase.DELETE, "settings"
    ),
    "flow": _rule(
        _F, "telegram_user_id name data updated_at", "telegram_user_id data", Erase.DELETE, "flows"
    ),
    "auditevent": _rule(
        _F, "id at actor action subject detail prev_hash hash", section="audit_events"
    ),
    "ticket": _rule(
        _F,
        "id household_id member_id category_id priority urgent status provider_id "
        "assignee_id created_at due_at first_response_at resolved_at escalation_level reopened "
        "helpful family_unreachable",
        section="tickets",
    ),
    "ticketmessage": _rule(
        _F,
        "id ticket_id author direction kind text file_id language translation "
        "translation_status translation_model translation_target translation_flagged "
        "created_at source_chat_id source_message_id purged_at original_text edited_at",
        "text file_id translation source_chat_id source_message_id original_text",
        Erase.SCRUB,
        "messages",
    ),
    "messagelink": _rule(
        _F, "chat_id message_id ticket_id", "chat_id message_id", Erase.DELETE, "message_links"
    ),
    "routingdecision": _rule(
        _F, "id ticket_id at reason provider_id staff_id rule_id", section="routing"
    ),
    "notification": _rule(
        _F,
        "id key kind lane chat_id ticket_id message_id payload state attempts parts_sent "
        "created_at next_attempt_at expires_at claimed_by claimed_at sent_at closed_at "
        "last_error",
        "chat_id payload",
        Erase.DELETE,
        "notices",
    ),
    "safeguardingfinding": _rule(
        _F,
        "id household_id member_id ticket_id level signals text alerted created_at "
        "source_chat_id source_message_id",
        "signals text source_chat_id source_message_id",
        Erase.SCRUB,
        "safeguarding_findings",
    ),
    "appointment": _rule(
        _F,
        "id household_id member_id staff_id kind mode slot_id former_slot_id starts_at "
        "ends_at what place bring interpreter status rescheduled_from_id created_by created_at "
        "cancelled_at cancelled_by outcome_at source_chat_id source_message_id",
        "what place bring source_chat_id source_message_id",
        Erase.SCRUB,
        "appointments",
    ),
    "enrolment": _rule(_F, "id class_id member_id created_at ended_at", section="enrolments"),
    "reminder": _rule(
        _F,
        "id key member_id appointment_id class_id session_on event_at offset_minutes due_at "
        "state notice_key created_at handled_at response responded_at",
        "key notice_key",
        Erase.DELETE,
        "reminders",
    ),
    "attendance": _rule(
        _F,
        "id household_id member_id appointment_id class_id session_on status source recorded_at",
        section="attendance",
    ),
    "broadcastdelivery": _rule(
        _F,
        "id broadcast_id member_id notice_key created_at",
        "notice_key",
        Erase.DELETE,
        "broadcasts_received",
    ),
    "inboundupdate": _rule(
        _F,
        "update_id payload chat_id user_id state attempts last_error received_at handled_at",
        "payload chat_id user_id",
        Erase.DELETE,
        "inbound_updates",
    ),
    "erasurerequest": _rule(
        _F,
        "id household_id member_id state requested_at decided_by decided_at",
        "member_id",
        Erase.SCRUB,
        "erasure_requests",
    ),
}

# Sections of a member's copy kept to the family's own chats, by the column naming the chat.
_STAFF_CHAT_SECTIONS = {
    "flows": "telegram_user_id",
    "notices": "chat_id",
    "inbound_updates": "chat_id",
    "message_links": "chat_id",
}
# Sections a family member's own copy (/mydata) leaves out: staff-only assessments and notes,
# which could put someone at risk if another household member read them. ``admin export``
# gives everything; the chat copy says how many items were withheld.
STAFF_ONLY_SECTIONS = frozenset({"safeguarding_findings"})


# ---------------------------------------------------------------- who and what


@dataclass(frozen=True)
class Scope:
    """The ids that make rows about one household."""

    household: Household
    member_ids: list[int]
    telegram_ids: list[int]
    ticket_ids: list[int]
    message_ids: list[int]
    appointment_ids: list[int]
    finding_ids: list[int]
    reminder_ids: list[int]

    def subjects(self) -> list[str]:
        """Audit subjects naming this household's records."""
        hid = self.household.id
        return [
            f"household:{hid}",
            *(f"member:{m}" for m in self.member_ids),
            *(f"ticket:{t}" for t in self.ticket_ids),
            *(f"appointment:{a}" for a in self.appointment_ids),
            *(f"finding:{f}" for f in self.finding_ids),
        ]

    def actors(self) -> list[str]:
        """Audit actors that are this household's members."""
        return [f"member:{m}" for m in self.member_ids]


def household_by_ref(session: Session, reference: str) -> Household:
    """The household with this reference; NotFound otherwise."""
    household = session.exec(
        select(Household).where(Household.reference == reference.strip())
    ).first()
    if household is None:
        raise NotFound("household", reference=reference)
    return household


def scope(session: Session, household_id: int) -> Scope:
    """Every id that ties rows to this household."""
    household = session.get(Household, household_id)
    if household is None:
        raise NotFound("household", household=household_id)
    members = session.exec(select(Member).where(Member.household_id == household_id)).all()
    member_ids = [m.id or 0 for m in members]
    telegram_ids = [m.telegram_user_id for m in members if m.telegram_user_id is not None]
    # Telegram accounts that were once a member's (a relink leaves them on used invites).
    telegram_ids += [
        i.used_by_telegram_id
        for i in session.exec(select(Invite).where(col(Invite.member_id).in_(member_ids)))
        if i.used_by_telegram_id is not None and i.used_by_telegram_id not in telegram_ids
    ]
    ticket_ids = list(session.exec(select(Ticket.id).where(Ticket.household_id == household_id)))
    return Scope(
        household=household,
        member_ids=member_ids,
        telegram_ids=telegram_ids,
        ticket_ids=[t or 0 for t in ticket_ids],
        message_ids=[
            m or 0
            for m in session.exec(
                select(TicketMessage.id).where(col(TicketMessage.ticket_id).in_(ticket_ids))
            )
        ],
        appointment_ids=[
            a or 0
            for a in session.exec(
                select(Appointment.id).where(Appointment.household_id == household_id)
            )
        ],
        finding_ids=[
            f or 0
            for f in session.exec(
                select(SafeguardingFinding.id).where(
                    SafeguardingFinding.household_id == household_id
                )
            )
        ],
        reminder_ids=[
            r or 0
            for r in session.exec(
                select(Reminder.id).where(col(Reminder.member_id).in_(member_ids))
            )
        ],
    )


def _flows(session: Session, s: Scope) -> list[Flow]:
    """Flows of the members, and staff flows about the household (drafts to it included)."""
    found = []
    for flow in session.exec(select(Flow)):
        data: dict[str, Any] = flow.data or {}
        if (
            flow.telegram_user_id in s.telegram_ids
            or data.get("household_id") == s.household.id
            or data.get("ticket_id") in s.ticket_ids
        ):
            found.append(flow)
    return found


# Payload keys of notices that name a household's records, and which ids they hold.
_PAYLOAD_KEYS = {
    "household": "household",
    "household_id": "household",
    "member_id": "member",
    "finding": "finding",
    "appointment": "appointment",
    "appointment_id": "appointment",
    "reminder_id": "reminder",
}


def _notices(session: Session, s: Scope) -> list[Notification]:
    """Outbox rows to the members or about the household's records."""
    ids: dict[str, set[int | None]] = {
        "household": {s.household.id},
        "member": set[int | None](s.member_ids),
        "finding": set[int | None](s.finding_ids),
        "appointment": set[int | None](s.appointment_ids),
        "reminder": set[int | None](s.reminder_ids),
    }
    chats, tickets, messages = set(s.telegram_ids), set(s.ticket_ids), set(s.message_ids)
    # Every payload is looked at (a new kind naming the household is never missed), as plain
    # column tuples: the outbox holds every family's notices of the last 30 days.
    columns = [
        col(Notification.id),
        col(Notification.chat_id),
        col(Notification.ticket_id),
        col(Notification.message_id),
        col(Notification.payload),
    ]
    wanted = [
        row[0]
        for row in session.execute(sa_select(*columns)).yield_per(2000)
        if row[1] in chats
        or row[2] in tickets
        or row[3] in messages
        or any((row[4] or {}).get(k) in ids[group] for k, group in _PAYLOAD_KEYS.items())
    ]
    return [
        n
        for chunk in range(0, len(wanted), 500)
        for n in session.exec(
            select(Notification).where(col(Notification.id).in_(wanted[chunk : chunk + 500]))
        )
    ]


def _updates(session: Session, s: Scope) -> list[InboundUpdate]:
    """Stored Telegram updates from the members, or from staff naming the household or its
    requests (a ``/reply K-0042 ...``, a button under its card, a Telegram reply to one)."""
    references = [s.household.reference, *(f"K-{t:04d}" for t in s.ticket_ids)]
    links = {
        (link.chat_id, link.message_id)
        for link in session.exec(
            select(MessageLink).where(col(MessageLink.ticket_id).in_(s.ticket_ids))
        )
    }
    found = []
    for update_row in session.exec(select(InboundUpdate)):
        message = update_row.payload.get("message") or update_row.payload.get("edited_message")
        replied = (message or {}).get("reply_to_message") or {}
        text = json.dumps(update_row.payload, ensure_ascii=False)
        if (
            update_row.user_id in s.telegram_ids
            or update_row.chat_id in s.telegram_ids
            or (update_row.chat_id, replied.get("message_id")) in links
            or any(reference in text for reference in references)
        ):
            found.append(update_row)
    return found


# ---------------------------------------------------------------- export


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a column value."""
    if isinstance(value, datetime):
        return audit.stamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return str(value)
    return value


def _row(row: SQLModel) -> dict[str, Any]:
    """Every column of a row, JSON-safe."""
    return {a.key: _plain(getattr(row, a.key)) for a in inspect(type(row)).column_attrs}


def export(session: Session, household_id: int, *, now: datetime, full: bool = True) -> dict:
    """Everything held about a household, one list per table, as plain JSON-safe data.

    ``full=False`` (a member's own copy) leaves out staff-only sections and internal notes'
    words, counting what was withheld.
    """
    s = scope(session, household_id)
    m, t = s.member_ids, s.ticket_ids
    sections: dict[str, Sequence[Any]] = {
        "members": list(session.exec(select(Member).where(col(Member.id).in_(m)))),
        "invites": list(session.exec(select(Invite).where(col(Invite.member_id).in_(m)))),
        "join_attempts": list(
            session.exec(
                select(JoinAttempt).where(col(JoinAttempt.telegram_user_id).in_(s.telegram_ids))
            )
        ),
        "settings": list(
            session.exec(
                select(UserSetting).where(col(UserSetting.telegram_user_id).in_(s.telegram_ids))
            )
        ),
        "flows": _flows(session, s),
        "tickets": list(session.exec(select(Ticket).where(col(Ticket.id).in_(t)))),
        "messages": list(
            session.exec(
                select(TicketMessage)
                .where(col(TicketMessage.ticket_id).in_(t))
                .order_by(col(TicketMessage.id))
            )
        ),
        "message_links": list(
            session.exec(select(MessageLink).where(col(MessageLink.ticket_id).in_(t)))
        ),
        "routing": list(
            session.exec(select(RoutingDecision).where(col(RoutingDecision.ticket_id).in_(t)))
        ),
        "notices": _notices(session, s),
        "inbound_updates": _updates(session, s),
        "safeguarding_findings": list(
            session.exec(
                select(SafeguardingFinding).where(SafeguardingFinding.household_id == household_id)
            )
        ),
        "appointments": list(
            session.exec(select(Appointment).where(Appointment.household_id == household_id))
        ),
        "enrolments": list(session.exec(select(Enrolment).where(col(Enrolment.member_id).in_(m)))),
        "reminders": list(session.exec(select(Reminder).where(col(Reminder.member_id).in_(m)))),
        "attendance": list(
            session.exec(select(Attendance).where(Attendance.household_id == household_id))
        ),
        "broadcasts_received": list(
            session.exec(select(BroadcastDelivery).where(col(BroadcastDelivery.member_id).in_(m)))
        ),
        "erasure_requests": list(
            session.exec(select(ErasureRequest).where(ErasureRequest.household_id == household_id))
        ),
        "audit_events": list(audit.events_about(session, s.subjects(), s.actors())),
    }
    data: dict[str, Any] = {
        "format": FORMAT,
        "generated_at": audit.stamp(now),
        "household": _row(s.household),
    }
    withheld = 0
    for name, rows in sections.items():
        plain = [_row(r) for r in rows]
        if not full and name in STAFF_ONLY_SECTIONS:
            withheld += len(plain)
            plain = []
        if not full and name == "messages":
            for message in plain:
                if message["direction"] == Direction.NOTE:
                    withheld += 1
                    message.update(text="", translation=None, file_id=None, withheld=True)
        if not full and name == "invites":
            for invite in plain:
                invite.pop("code_hash", None)
        if not full and name in _STAFF_CHAT_SECTIONS:
            # Staff's own chats (their Telegram ids, drafts, updates) are not the family's to read.
            key = _STAFF_CHAT_SECTIONS[name]
            plain = [row for row in plain if row[key] in s.telegram_ids]
        data[name] = plain
    data["withheld"] = withheld
    return data


def export_for_member(session: Session, *, member_id: int, now: datetime) -> dict:
    """A family member's own copy of their household's data (audited as a member read)."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound("member", member=member_id)
    data = export(session, member.household_id, now=now, full=False)
    audit.record(
        session,
        actor=f"member:{member_id}",
        action="privacy.export",
        subject=f"household:{member.household_id}",
        copy="member",
    )
    return data


def export_for_staff(session: Session, *, household_id: int, actor: str, now: datetime) -> dict:
    """The full export, for ``admin export`` or a coordinator (audited)."""
    data = export(session, household_id, now=now, full=True)
    audit.record(
        session,
        actor=actor,
        action="privacy.export",
        subject=f"household:{household_id}",
        copy="full",
    )
    return data


# ---------------------------------------------------------------- erasure requests


def request_erasure(
    session: Session, *, member_id: int, now: datetime
) -> tuple[ErasureRequest, bool]:
    """Records a member's request to delete their household's data and tells coordinators.

    One open request per household: asking again returns the open one (False: not new).
    """
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound("member", member=member_id)
    open_request = session.exec(
        select(ErasureRequest).where(
            ErasureRequest.household_id == member.household_id,
            ErasureRequest.state == ErasureState.REQUESTED,
        )
    ).first()
    if open_request is not None:
        return open_request, False
    request = ErasureRequest(
        household_id=member.household_id, member_id=member_id, requested_at=now
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor=f"member:{member_id}",
        action="privacy.erasure_request",
        subject=f"household:{member.household_id}",
        request=request.id,
    )
    for staff in coordinators(session):
        outbox.enqueue(
            session,
            key=f"erasure:{request.id}:staff:{staff.id}",
            chat_id=staff.telegram_user_id or 0,
            kind=NoticeKind.STAFF_ERASURE_REQUEST,
            now=now,
            request_id=request.id,
            household=member.household_id,
        )
    return request, True


def coordinators(session: Session) -> list[Staff]:
    """Active, linked coordinators."""
    return list(
        session.exec(
            select(Staff).where(
                Staff.role == StaffRole.COORDINATOR,
                Staff.active == True,  # noqa: E712 (SQL comparison)
                col(Staff.telegram_user_id).is_not(None),
            )
        )
    )


def open_requests(session: Session) -> list[ErasureRequest]:
    """Erasure requests waiting for a coordinator, oldest first."""
    return list(
        session.exec(
            select(ErasureRequest)
            .where(ErasureRequest.state == ErasureState.REQUESTED)
            .order_by(col(ErasureRequest.id))
        )
    )


def decide(
    session: Session, *, request_id: int, staff_id: int, confirm: bool, now: datetime
) -> tuple[ErasureRequest, Household]:
    """A coordinator confirms (erases the household) or declines a request."""
    _coordinator(session, staff_id)
    request = session.get(ErasureRequest, request_id)
    if request is None:
        raise NotFound("erasure_request", request=request_id)
    if request.state != ErasureState.REQUESTED:
        raise ErasureGone("erasure request already decided", state=str(request.state))
    household = session.get(Household, request.household_id)
    assert household is not None
    if confirm:
        erase(session, household_id=request.household_id, actor=f"staff:{staff_id}", now=now)
    request.state = ErasureState.ERASED if confirm else ErasureState.DECLINED
    request.decided_by, request.decided_at = staff_id, now
    session.add(request)
    if not confirm:
        audit.record(
            session,
            actor=f"staff:{staff_id}",
            action="privacy.erasure_declined",
            subject=f"household:{request.household_id}",
            request=request.id,
        )
    return request, household


def _coordinator(session: Session, staff_id: int) -> Staff:
    """The active coordinator with this id; Forbidden for anyone else."""
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active or staff.role != StaffRole.COORDINATOR:
        raise Forbidden("coordinators only")
    return staff


@dataclass(frozen=True)
class RequestInfo:
    """What a coordinator sees of an erasure request (no names)."""

    request_id: int
    household_id: int
    reference: str
    members: int
    requested_at: datetime
    state: ErasureState


def describe_request(session: Session, request_id: int) -> RequestInfo | None:
    """An erasure request with its household's reference and size; None when unknown."""
    request = session.get(ErasureRequest, request_id)
    if request is None:
        return None
    household = session.get(Household, request.household_id)
    assert household is not None
    members = session.exec(select(Member.id).where(Member.household_id == household.id)).all()
    return RequestInfo(
        request_id=request_id,
        household_id=household.id or 0,
        reference=household.reference,
        members=len(members),
        requested_at=request.requested_at,
        state=ErasureState(request.state),
    )


def waiting_requests(session: Session) -> list[RequestInfo]:
    """Every open request, described, oldest first."""
    found = [describe_request(session, r.id or 0) for r in open_requests(session)]
    return [info for info in found if info is not None]


# ---------------------------------------------------------------- erasure


def _overwrite_freed_space(session: Session) -> None:
    """On SQLite, makes the old words unreadable in the file too: deleted and rewritten
    content is zeroed (secure_delete), and once committed the write-ahead log, which still
    holds older copies of the pages, is checkpointed and truncated."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return  # PostgreSQL: dead row versions go at the next VACUUM (see the README)
    session.execute(text("PRAGMA secure_delete=ON"))
    engine = bind.engine

    def checkpoint(_session: Session) -> None:
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()

    event.listen(session, "after_commit", checkpoint, once=True)


def erase(session: Session, *, household_id: int, actor: str, now: datetime) -> dict[str, int]:
    """Removes every name, Telegram id, phone number and word held about a household.

    The household, its members (nameless), tickets, appointments and attendance stay as
    anonymous rows so the statistics still count them. Returns rows touched per table.
    """
    s = scope(session, household_id)
    if s.household.erased_at is not None:
        raise Conflict("household already erased", household=household_id)
    _overwrite_freed_space(session)
    m, t, tg = s.member_ids, s.ticket_ids, s.telegram_ids
    counts: dict[str, int] = {}

    def run(table: str, statement: Any) -> None:
        result = cast(CursorResult[Any], session.execute(statement))
        counts[table] = counts.get(table, 0) + (result.rowcount or 0)

    flows = _flows(session, s)
    for flow in flows:
        session.delete(flow)
    counts["flow"] = len(flows)
    notices = _notices(session, s)
    for notice in notices:
        session.delete(notice)
    counts["notification"] = len(notices)
    # Before the message links go: a staff reply to a card is found through them.
    updates = _updates(session, s)
    for update_row in updates:
        session.delete(update_row)
    counts["inboundupdate"] = len(updates)
    session.flush()
    run("messagelink", delete(MessageLink).where(col(MessageLink.ticket_id).in_(t)))
    run("messagelink", delete(MessageLink).where(col(MessageLink.chat_id).in_(tg)))
    run("reminder", delete(Reminder).where(col(Reminder.member_id).in_(m)))
    run(
        "broadcastdelivery",
        delete(BroadcastDelivery).where(col(BroadcastDelivery.member_id).in_(m)),
    )
    run("invite", delete(Invite).where(col(Invite.member_id).in_(m)))
    run("joinattempt", delete(JoinAttempt).where(col(JoinAttempt.telegram_user_id).in_(tg)))
    run("usersetting", delete(UserSetting).where(col(UserSetting.telegram_user_id).in_(tg)))
    run(
        "ticketmessage",
        update(TicketMessage)
        .where(col(TicketMessage.ticket_id).in_(t))
        .values(
            text="",
            original_text=None,
            file_id=None,
            translation=None,
            source_chat_id=None,
            source_message_id=None,
            purged_at=now,
        ),
    )
    findings = session.exec(
        select(SafeguardingFinding).where(SafeguardingFinding.household_id == household_id)
    ).all()
    for finding in findings:
        # The signals keep their category and level for the figures, never the words matched.
        finding.signals = [
            {k: v for k, v in signal.items() if k not in ("matched",)}
            for signal in finding.signals
        ]
        finding.text, finding.source_chat_id, finding.source_message_id = "", None, None
        session.add(finding)
    counts["safeguardingfinding"] = len(findings)
    run(
        "appointment",
        update(Appointment)
        .where(col(Appointment.household_id) == household_id)
        .values(what="", place="", bring="", source_chat_id=None, source_message_id=None),
    )
    # Nobody is left to answer, visit or teach: open requests close, booked meetings ahead are
    # cancelled (their slots freed) and class places end. The rows stay for the figures.
    run(
        "closed_tickets",
        update(Ticket)
        .where(col(Ticket.id).in_(t), col(Ticket.status) != TicketStatus.RESOLVED)
        .values(status=TicketStatus.RESOLVED, resolved_at=now),
    )
    for appointment in session.exec(
        select(Appointment).where(
            Appointment.household_id == household_id,
            Appointment.status == AppointmentStatus.BOOKED,
            col(Appointment.starts_at) > now,
        )
    ):
        appointment.status, appointment.cancelled_at = AppointmentStatus.CANCELLED, now
        appointment.cancelled_by = "erasure"
        appointment.former_slot_id = appointment.slot_id or appointment.former_slot_id
        appointment.slot_id = None
        session.add(appointment)
        counts["cancelled_appointments"] = counts.get("cancelled_appointments", 0) + 1
    run(
        "ended_enrolments",
        update(Enrolment)
        .where(col(Enrolment.member_id).in_(m), col(Enrolment.ended_at).is_(None))
        .values(ended_at=now),
    )
    run(
        "erasurerequest",
        update(ErasureRequest)
        .where(col(ErasureRequest.household_id) == household_id)
        .values(member_id=None),
    )
    run(
        "member",
        update(Member)
        .where(col(Member.household_id) == household_id)
        .values(name="", telegram_user_id=None, telegram_language=None, menu_fingerprint=None),
    )
    household = s.household
    household.reference = f"ERASED-{household.id}"
    household.erased_at = now
    session.add(household)
    counts["household"] = 1
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="privacy.erase",
        subject=f"household:{household_id}",
        **{table: n for table, n in counts.items() if n},
    )
    return counts


# ---------------------------------------------------------------- the household's audit trail


def trail(
    session: Session, *, household_id: int, actor: str, limit: int = 0
) -> list[dict[str, Any]]:
    """The audit events about a household, oldest first; the read itself is audited."""
    s = scope(session, household_id)
    events = audit.events_about(session, s.subjects(), s.actors(), limit=limit)
    rows = [
        {"id": e.id, "at": audit.stamp(e.at), "actor": e.actor, "action": e.action,
         "subject": e.subject, "detail": e.detail}
        for e in events
    ]  # fmt: skip
    audit.record(
        session, actor=actor, action="privacy.audit_read", subject=f"household:{household_id}"
    )
    return rows


def trail_for_staff(
    session: Session, *, household_id: int, staff_id: int, limit: int = 200
) -> tuple[str, list[dict[str, Any]]]:
    """A coordinator's view of a household's trail (newest ``limit``): reference and rows."""
    _coordinator(session, staff_id)
    rows = trail(session, household_id=household_id, actor=f"staff:{staff_id}", limit=limit)
    household = session.get(Household, household_id)
    assert household is not None
    return household.reference, rows


def trail_by_reference(
    session: Session, *, reference: str, staff_id: int, limit: int = 200
) -> tuple[str, list[dict[str, Any]]]:
    """:func:`trail_for_staff` for the household with this reference."""
    _coordinator(session, staff_id)
    household = household_by_ref(session, reference)
    return trail_for_staff(session, household_id=household.id or 0, staff_id=staff_id, limit=limit)
