"""Coordinators' broadcasts: a draft, its audience and translations, confirm, send, cancel.

A broadcast row is the draft and then the record. Confirming is idempotent (the row's state
moves once). Sending queues one BroadcastDelivery and one outbox notice per member in the same
short transaction, in batches by member id, so a restart resumes where the last batch ended.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, update
from sqlmodel import Session, col, select

from bot.delivery.lanes import Lane
from bot.services import audiences, audit, flows, outbox, people
from bot.services.errors import (
    BadPeriod,
    BroadcastClosed,
    BroadcastFileTooLarge,
    BroadcastTooLong,
    EmptyAudience,
    EmptyMessage,
    InvalidInput,
    NotCoordinator,
    NotFound,
    ScheduledInPast,
)
from bot.services.people import Person
from bot.services.translation import detect_language
from storage.models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastState,
    Household,
    Member,
    NoticeKind,
    NoticeState,
    Notification,
    Staff,
)
from storage.types import utcnow

FLOW = flows.FlowName.BROADCAST
MAX_TEXT = 8000  # split into Telegram-sized parts when sent; longer is refused with the count
MAX_CAPTION = 1024  # Telegram's caption limit
MAX_FILE_BYTES = 20 * 1024 * 1024  # what a bot may take in from a chat
# Members queued per transaction: each batch holds the database's write lock while it runs, so
# a small one lets families' messages and the sends' records in between (about 0.1 s each).
BATCH = 100
OPEN = (BroadcastState.SCHEDULED, BroadcastState.SENDING)
LONDON = ZoneInfo("Europe/London")


class Source:
    """Where a language's text came from (stored in ``Broadcast.translations``)."""

    MACHINE = "machine"
    STAFF = "staff"
    ORIGINAL = "original"  # no translation available: the original is sent


class BroadcastStep(StrEnum):
    """Where a coordinator composing a broadcast is: what their next typed message is."""

    TEXT = "text"  # the notice itself: text, or one photo or document with a caption
    AUDIENCE = "audience"  # choosing with buttons: a typed message is not for the broadcast
    ARRIVED = "arrived"  # two dates: the arrival cohort
    EDIT = "edit"  # their own text for one language (stored as "edit:<language>")
    WHEN = "when"  # the date and time of a scheduled send


@dataclass(frozen=True)
class ComposeState:
    """The broadcast flow's draft, read from and written to its ``Flow.data`` (keys ``id``
    and ``step``, as stored since the flow began, so a composition survives an upgrade)."""

    broadcast_id: int
    step: BroadcastStep | None  # None: a step this version does not know (typing is ignored)
    language: str = ""  # the language being rewritten, at EDIT

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ComposeState:
        """Reads the stored draft."""
        raw = str(data.get("step") or "")
        broadcast_id = int(data.get("id") or 0)
        prefix = f"{BroadcastStep.EDIT}:"
        if raw.startswith(prefix):
            return cls(broadcast_id, BroadcastStep.EDIT, raw.removeprefix(prefix))
        try:
            step = BroadcastStep(raw)
        except ValueError:
            step = None
        return cls(broadcast_id, None if step is BroadcastStep.EDIT else step)

    def to_data(self) -> dict[str, Any]:
        """The draft as stored (``step`` carries the language at EDIT)."""
        if self.step is BroadcastStep.EDIT:
            step = f"{BroadcastStep.EDIT}:{self.language}"
        else:
            step = str(self.step or "")
        return {"id": self.broadcast_id, "step": step}


def _compose(session: Session, person: Person, state: ComposeState) -> None:
    """Starts (or moves) the person's broadcast flow to ``state``."""
    flows.start(session, person.telegram_user_id, FLOW, **state.to_data())


def _coordinator(person: Person) -> int:
    """The staff id of a coordinator; NotCoordinator for anyone else."""
    if not (person.is_staff and person.is_coordinator and person.staff_id):
        raise NotCoordinator("broadcast")
    return person.staff_id


def _get(session: Session, broadcast_id: int, *, lock: bool = False) -> Broadcast:
    """A broadcast by id; NotFound when there is none."""
    query = select(Broadcast).where(Broadcast.id == broadcast_id)
    if lock:
        query = query.with_for_update()
    found = session.exec(query).first()
    if found is None:
        raise NotFound("broadcast")
    return found


def _draft(session: Session, person: Person, broadcast_id: int) -> Broadcast:
    """A draft a coordinator may still change; BroadcastClosed once confirmed."""
    _coordinator(person)
    found = _get(session, broadcast_id, lock=True)
    if found.state != BroadcastState.DRAFT:
        raise BroadcastClosed("broadcast", state=str(found.state))
    return found


# ---------------------------------------------------------------- writing the draft


def start(session: Session, *, person: Person, now: datetime | None = None) -> int:
    """A new draft; the coordinator's next message is its text (kept in their flow)."""
    staff_id = _coordinator(person)
    draft = Broadcast(key=secrets.token_hex(16), created_by=staff_id, created_at=now or utcnow())
    session.add(draft)
    session.flush()
    _compose(session, person, ComposeState(draft.id or 0, BroadcastStep.TEXT))
    return draft.id or 0


def step(session: Session, *, person: Person) -> ComposeState | None:
    """Where the person is in the broadcast flow; None outside it."""
    flow = flows.active(session, person.telegram_user_id, FLOW)
    if flow is None:
        return None
    return ComposeState.from_data(flow.data)


def expect(
    session: Session,
    *,
    person: Person,
    broadcast_id: int,
    step: BroadcastStep,
    language: str = "",
) -> None:
    """The coordinator's next typed message answers ``step`` (arrival dates, the ``language``
    text, the time)."""
    _draft(session, person, broadcast_id)
    _compose(session, person, ComposeState(broadcast_id, step, language))


def set_content(
    session: Session,
    *,
    person: Person,
    broadcast_id: int,
    text: str,
    attachment_kind: str | None = None,
    file_id: str | None = None,
    file_size: int | None = None,
) -> Broadcast:
    """The notice itself: text, or one photo or document with a caption (checked here)."""
    draft = _draft(session, person, broadcast_id)
    text = text.strip()
    if attachment_kind is not None:
        if attachment_kind not in ("photo", "document") or not file_id:
            raise InvalidInput("attachment")
        if file_size is not None and file_size > MAX_FILE_BYTES:
            raise BroadcastFileTooLarge("file", size=file_size, limit=MAX_FILE_BYTES)
        if len(text) > MAX_CAPTION:
            raise BroadcastTooLong("caption", count=len(text), limit=MAX_CAPTION, caption=True)
    elif not text:
        raise EmptyMessage("empty")
    if len(text) > MAX_TEXT:
        raise BroadcastTooLong("text", count=len(text), limit=MAX_TEXT, caption=False)
    language = detect_language(text) if text else "und"
    draft.text = text
    draft.language = language if language in audiences.LANGUAGES else "en"
    draft.attachment_kind, draft.attachment_file_id = attachment_kind, file_id
    draft.translations = {}
    session.add(draft)
    _compose(session, person, ComposeState(broadcast_id, BroadcastStep.AUDIENCE))
    return draft


def toggle(
    session: Session,
    *,
    person: Person,
    broadcast_id: int,
    dimension: audiences.Dimension,
    value: int | str,
) -> Broadcast:
    """Switches one value of the audience on or off (a forged value is refused)."""
    draft = _draft(session, person, broadcast_id)
    if dimension == audiences.Dimension.ARRIVED:
        raise InvalidInput("audience_value")
    known = {o.value for o in audiences.options(session, dimension)}
    if value not in known:
        raise InvalidInput("audience_value")
    draft.audience = audiences.toggle(draft.audience, dimension, value)
    draft.translations = {}  # another audience may read other languages
    session.add(draft)
    return draft


def clear_audience(session: Session, *, person: Person, broadcast_id: int) -> Broadcast:
    """Back to every family."""
    draft = _draft(session, person, broadcast_id)
    draft.audience, draft.translations = {}, {}
    session.add(draft)
    return draft


def set_arrival(session: Session, *, person: Person, broadcast_id: int, text: str) -> Broadcast:
    """Arrived between two typed dates (``YYYY-MM-DD YYYY-MM-DD``), both included."""
    draft = _draft(session, person, broadcast_id)
    words = text.replace("–", " ").replace(" - ", " ").split()
    if len(words) != 2:
        raise BadPeriod("date", reason="bad_date")
    start_on, end_on = audiences.arrival_range(words)
    draft.audience = {**audiences.normalise(draft.audience), "arrived": [start_on, end_on]}
    draft.translations = {}
    session.add(draft)
    _compose(session, person, ComposeState(broadcast_id, BroadcastStep.AUDIENCE))
    return draft


@dataclass(frozen=True)
class Summary:
    """What the coordinator sees before confirming."""

    broadcast: Broadcast
    reach: int
    by_language: dict[str, int]
    labels: dict[audiences.Dimension, list[str]]

    @property
    def others(self) -> list[str]:
        """Languages of the audience other than the notice's own."""
        return sorted(lang for lang in self.by_language if lang != self.broadcast.language)


def summary(session: Session, *, person: Person, broadcast_id: int) -> Summary:
    """The draft, how many it reaches and in which languages."""
    _coordinator(person)
    found = _get(session, broadcast_id)
    session.expunge(found)
    return Summary(
        found,
        audiences.count(session, found.audience),
        audiences.by_language(session, found.audience),
        audiences.labels(session, found.audience),
    )


def set_translation(
    session: Session,
    *,
    person: Person,
    broadcast_id: int,
    language: str,
    text: str,
    source: str,
    model: str | None = None,
) -> Broadcast:
    """Keeps one language's text: a machine translation, the coordinator's own (typed), or the
    original when no translation is available."""
    draft = _draft(session, person, broadcast_id)
    if language not in audiences.LANGUAGES or source not in (
        Source.MACHINE, Source.STAFF, Source.ORIGINAL,
    ):  # fmt: skip
        raise InvalidInput("language")
    text = text.strip()
    if source == Source.STAFF:
        if not text:
            raise EmptyMessage("empty")
        limit = MAX_CAPTION if draft.attachment_kind else MAX_TEXT
        if len(text) > limit:
            raise BroadcastTooLong(
                "text", count=len(text), limit=limit, caption=bool(draft.attachment_kind)
            )
    draft.translations = {
        **draft.translations,
        language: {"text": text, "source": source, "model": model},
    }
    session.add(draft)
    _compose(session, person, ComposeState(broadcast_id, BroadcastStep.AUDIENCE))
    return draft


# ---------------------------------------------------------------- confirm, schedule, cancel


def parse_when(text: str) -> datetime:
    """A typed ``YYYY-MM-DD HH:MM`` in UK time, as UTC; ScheduledInPast(unread) when unread."""
    try:
        local = datetime.strptime(" ".join(text.split()), "%Y-%m-%d %H:%M")
    except ValueError:
        raise ScheduledInPast("unread", unread=True) from None
    return local.replace(tzinfo=LONDON).astimezone(UTC)


@dataclass(frozen=True)
class Confirmed:
    """The outcome of confirming: ``again`` when it had already been confirmed."""

    broadcast_id: int
    state: BroadcastState
    recipients: int
    scheduled_for: datetime | None
    again: bool = False


def confirm(
    session: Session,
    *,
    person: Person,
    broadcast_id: int,
    now: datetime,
    scheduled_for: datetime | None = None,
) -> Confirmed:
    """Confirms a draft once (a second tap finds it confirmed and changes nothing); sending
    starts now or at ``scheduled_for``. Refuses an empty audience and a time in the past."""
    staff_id = _coordinator(person)
    found = _get(session, broadcast_id, lock=True)
    if found.state != BroadcastState.DRAFT:
        return Confirmed(
            found.id or 0, BroadcastState(found.state), found.recipients, found.scheduled_for,
            again=True,
        )  # fmt: skip
    if not (found.text or found.attachment_file_id):
        raise EmptyMessage("empty")
    if scheduled_for is not None and scheduled_for <= now:
        raise ScheduledInPast("scheduled_for")
    reach = audiences.count(session, found.audience)
    if reach == 0:
        raise EmptyAudience("audience")
    found.recipients = reach
    found.confirmed_at = now
    found.scheduled_for = scheduled_for
    found.progress_chat_id = person.telegram_user_id
    if scheduled_for is None:
        found.state, found.started_at = BroadcastState.SENDING, now
    else:
        found.state = BroadcastState.SCHEDULED
    session.add(found)
    flows.clear(session, person.telegram_user_id)
    audit.record(
        session,
        actor=f"staff:{staff_id}",
        action="broadcast.schedule" if scheduled_for else "broadcast.send",
        subject=f"broadcast:{found.id}",
        recipients=reach,
        audience=found.audience,
    )
    return Confirmed(found.id or 0, BroadcastState(found.state), reach, scheduled_for)


def _open_notices(broadcast_id: int) -> Any:
    """The keys of a broadcast's notices, as a subquery."""
    return select(BroadcastDelivery.notice_key).where(
        BroadcastDelivery.broadcast_id == broadcast_id
    )


def cancel(
    session: Session, *, person: Person, broadcast_id: int, now: datetime
) -> BroadcastState:
    """Cancels a draft, a scheduled broadcast or one being sent: copies not yet sent are
    cancelled in the outbox (a copy already in Telegram's hands cannot be called back).
    Returns the state it was in."""
    staff_id = _coordinator(person)
    found = _get(session, broadcast_id, lock=True)
    before = BroadcastState(found.state)
    if before not in (BroadcastState.DRAFT, *OPEN):
        raise BroadcastClosed("broadcast", state=str(before))
    found.state = BroadcastState.CANCELLED
    found.cancelled_at, found.cancelled_by = now, staff_id
    session.add(found)
    session.execute(
        update(Notification)
        .where(
            col(Notification.key).in_(_open_notices(broadcast_id)),
            col(Notification.state).in_((NoticeState.QUEUED, NoticeState.UNKNOWN)),
        )
        .values(state=NoticeState.CANCELLED, closed_at=now, last_error="broadcast cancelled")
    )
    if before != BroadcastState.SENDING:
        found.finished_at = now  # nothing was sent: no report to write
        flows.clear(session, person.telegram_user_id)
    audit.record(
        session, actor=f"staff:{staff_id}", action="broadcast.cancel",
        subject=f"broadcast:{broadcast_id}", was=str(before),
    )  # fmt: skip
    return before


# ---------------------------------------------------------------- sending (the broadcaster job)


def start_due(session: Session, *, now: datetime) -> list[int]:
    """Scheduled broadcasts whose time has come start sending; returns every broadcast with
    work or a report owed (sending, or cancelled while open and not yet reported)."""
    for due in session.exec(
        select(Broadcast).where(
            Broadcast.state == BroadcastState.SCHEDULED, col(Broadcast.scheduled_for) <= now
        )
    ):
        due.state, due.started_at = BroadcastState.SENDING, now
        session.add(due)
    session.flush()
    rows = session.exec(
        select(Broadcast.id)
        .where(
            or_(
                col(Broadcast.state) == BroadcastState.SENDING,
                and_(
                    col(Broadcast.state) == BroadcastState.CANCELLED,
                    col(Broadcast.finished_at).is_(None),
                ),
            )
        )
        .order_by(col(Broadcast.id))
    ).all()
    return [int(r) for r in rows if r is not None]


def next_scheduled(session: Session) -> datetime | None:
    """When the earliest scheduled broadcast is due."""
    return session.exec(
        select(Broadcast.scheduled_for)
        .where(Broadcast.state == BroadcastState.SCHEDULED)
        .order_by(col(Broadcast.scheduled_for))
        .limit(1)
    ).first()


def notice_key(broadcast_id: int, member_id: int) -> str:
    """The outbox key of one member's copy."""
    return f"broadcast:{broadcast_id}:member:{member_id}"


def queue_batch(session: Session, *, broadcast_id: int, now: datetime, limit: int = BATCH) -> int:
    """Queues the next ``limit`` members (by id, after the last one queued) with their outbox
    notices, in this one transaction; 0 when everyone is queued or it is no longer sending."""
    found = _get(session, broadcast_id, lock=True)
    if found.state != BroadcastState.SENDING:
        return 0
    last = session.exec(
        select(func.max(BroadcastDelivery.member_id)).where(
            BroadcastDelivery.broadcast_id == broadcast_id
        )
    ).one()
    batch = audiences.recipients(session, found.audience, after=int(last or 0), limit=limit)
    for one in batch:
        key = notice_key(broadcast_id, one.member_id)
        session.add(
            BroadcastDelivery(
                broadcast_id=broadcast_id, member_id=one.member_id, notice_key=key, created_at=now
            )
        )
        outbox.enqueue(
            session,
            key=key,
            chat_id=one.chat_id,
            kind=NoticeKind.FAMILY_BROADCAST,
            lane=Lane.BULK,
            now=now,
            broadcast_id=broadcast_id,
            member_id=one.member_id,
        )
    return len(batch)


def _blocked() -> Any:
    """A failed notice whose chat refused the bot for good (as the dispatcher records it)."""
    error = func.lower(func.coalesce(Notification.last_error, ""))
    return and_(
        col(Notification.state) == NoticeState.FAILED,
        or_(error.like("403%"), error.like("%chat not found%")),
    )


@dataclass
class Progress:
    """Where a broadcast's copies stand; ``language`` is the coordinator's, for the message."""

    broadcast_id: int
    state: BroadcastState
    recipients: int
    queued: int = 0
    delivered: int = 0
    failed: int = 0
    blocked: int = 0
    cancelled: int = 0
    open: int = 0
    chat_id: int | None = None
    message_id: int | None = None
    language: str = "en"
    scheduled_for: datetime | None = None
    refs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """No copy is waiting any more."""
        return self.open == 0


def progress(session: Session, *, broadcast_id: int) -> Progress:
    """Counts a broadcast's copies by outcome."""
    found = _get(session, broadcast_id)
    notices = (
        select(Notification.state, func.sum(case((_blocked(), 1), else_=0)), func.count())
        .join(BroadcastDelivery, col(BroadcastDelivery.notice_key) == Notification.key)
        .where(BroadcastDelivery.broadcast_id == broadcast_id)
        .group_by(col(Notification.state))
    )
    seen = Progress(
        broadcast_id, BroadcastState(found.state), found.recipients,
        chat_id=found.progress_chat_id, message_id=found.progress_message_id,
        scheduled_for=found.scheduled_for,
    )  # fmt: skip
    for state, blocked, n in session.exec(notices).all():
        seen.queued += int(n)
        if state == NoticeState.SENT:
            seen.delivered += int(n)
        elif state == NoticeState.FAILED:
            seen.blocked += int(blocked or 0)
            seen.failed += int(n) - int(blocked or 0)
        elif state == NoticeState.CANCELLED:
            seen.cancelled += int(n)
        else:
            seen.open += int(n)
    if found.progress_chat_id is not None:
        seen.language = people.identify(
            session, telegram_user_id=found.progress_chat_id, language_code=None
        ).language
    return seen


def set_progress_message(
    session: Session, *, broadcast_id: int, chat_id: int, message_id: int
) -> None:
    """Remembers the one message that shows the broadcast's progress (edited as it goes)."""
    found = _get(session, broadcast_id)
    found.progress_chat_id, found.progress_message_id = chat_id, message_id
    session.add(found)


def finish(session: Session, *, broadcast_id: int, now: datetime) -> Progress | None:
    """When every copy is settled: records the report, marks members who blocked the bot
    unreachable and tells each of their caseworkers once (one notice listing the families).
    None while copies are still waiting (or the report was already written)."""
    found = _get(session, broadcast_id, lock=True)
    if found.finished_at is not None or found.state not in (
        BroadcastState.SENDING, BroadcastState.CANCELLED,
    ):  # fmt: skip
        return None
    seen = progress(session, broadcast_id=broadcast_id)
    if not seen.finished:
        return None
    blocked = session.exec(
        select(Member, Household)
        .join(BroadcastDelivery, col(BroadcastDelivery.member_id) == Member.id)
        .join(Notification, col(Notification.key) == BroadcastDelivery.notice_key)
        .join(Household, col(Household.id) == Member.household_id)
        .where(BroadcastDelivery.broadcast_id == broadcast_id, _blocked())
    ).all()
    by_caseworker: dict[int, set[str]] = {}
    for member, household in blocked:
        if member.telegram_user_id is not None:
            people.mark_unreachable(session, telegram_user_id=member.telegram_user_id, now=now)
        if household.caseworker_id is not None:
            by_caseworker.setdefault(household.caseworker_id, set()).add(household.reference)
    for staff_id, refs in sorted(by_caseworker.items()):
        staff = session.get(Staff, staff_id)
        if staff is None or not staff.active or staff.telegram_user_id is None:
            continue
        outbox.enqueue(
            session,
            key=f"broadcast:{broadcast_id}:unreachable:staff:{staff_id}",
            chat_id=staff.telegram_user_id,
            kind=NoticeKind.STAFF_BROADCAST_UNREACHABLE,
            now=now,
            broadcast_id=broadcast_id,
            refs=sorted(refs),
        )
        seen.refs[str(staff_id)] = sorted(refs)
    if found.state == BroadcastState.SENDING:
        found.state = BroadcastState.DONE
        seen.state = BroadcastState.DONE
    found.finished_at = now
    found.delivered, found.failed, found.blocked = seen.delivered, seen.failed, seen.blocked
    session.add(found)
    audit.record(
        session, actor="system", action="broadcast.report", subject=f"broadcast:{broadcast_id}",
        delivered=seen.delivered, failed=seen.failed, blocked=seen.blocked,
        cancelled=seen.cancelled,
    )  # fmt: skip
    return seen


# ---------------------------------------------------------------- what a family reads


@dataclass(frozen=True)
class Copy:
    """One member's copy as the renderer needs it."""

    text: str  # in the reader's language (or the original)
    original: str | None  # the original beneath, when ``text`` is a translation
    source: str  # Source.*
    attachment_kind: str | None
    file_id: str | None


def copy_for(
    session: Session, *, broadcast_id: int, member_id: int, person: Person
) -> Copy | None:
    """What this member should read, or None when the copy must not go (cancelled, or the
    account is no longer this member's)."""
    found = session.get(Broadcast, broadcast_id)
    if found is None or found.state == BroadcastState.CANCELLED:
        return None
    if not person.is_member or person.member_id != member_id:
        return None
    entry = (found.translations or {}).get(person.language) or {}
    use = person.language != found.language and entry.get("source") in (
        Source.MACHINE, Source.STAFF,
    ) and entry.get("text")  # fmt: skip
    if use:
        return Copy(
            str(entry["text"]), found.text, str(entry["source"]),
            found.attachment_kind, found.attachment_file_id,
        )  # fmt: skip
    return Copy(found.text, None, Source.ORIGINAL, found.attachment_kind, found.attachment_file_id)
