"""One render function per notice kind, registered here and nowhere else.

A notice is rendered at send time, in its recipient's current language, after checking that
the recipient may still see it: staff who can no longer open the ticket get nothing and the
notice goes where the ticket now is; members no longer linked to the family get nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session
from telegram import InlineKeyboardMarkup

from bot.i18n import Texts, texts
from bot.services import (
    appointments,
    classes,
    people,
    reminders,
    routing,
    safeguarding_alerts,
    tickets,
)
from bot.services.flows import FlowName
from bot.services.people import Person
from handlers import calendar_texts, reminder_texts
from handlers.cards import card_context, danger
from handlers.common import keyboard
from handlers.render import (
    danger_lines,
    needs_translation_buttons,
    quote,
    readable,
    split_text,
    staff_buttons,
    staff_card,
)
from storage.models import (
    AppointmentStatus,
    Direction,
    District,
    Household,
    NoticeKind,
    Notification,
    Reminder,
    SafeguardingFinding,
    Staff,
    StaffRole,
    Ticket,
    TicketMessage,
)
from storage.types import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    """A file that travels with a notice, by its Telegram file id."""

    kind: str
    file_id: str
    caption: str


@dataclass
class Outgoing:
    """One rendered notice: text pieces (buttons on the last), then attachments; each a part."""

    chat_id: int
    pieces: list[str]
    markup: InlineKeyboardMarkup | None = None
    attachments: list[Attachment] = field(default_factory=list)
    ticket_id: int | None = None  # replies to the sent messages find this ticket

    @property
    def parts(self) -> int:
        """How many Telegram messages the notice takes."""
        return len(self.pieces) + len(self.attachments)


@dataclass(frozen=True)
class Cancel:
    """The recipient may no longer see the notice: nothing is sent (for operators, English)."""

    reason: str


@dataclass(frozen=True)
class Retarget:
    """A ticket notice whose recipient may no longer open the ticket: send it where the ticket
    now is instead, as (staff id, chat id) pairs."""

    recipients: list[tuple[int, int]]
    reason: str


Rendered = Outgoing | Cancel | Retarget


class Audience(StrEnum):
    """Who a kind is for, which decides the check made before rendering."""

    TICKET_STAFF = "ticket_staff"  # staff who may open the ticket; else where it now is
    STAFF = "staff"  # active staff (what they may read is decided by the renderer)
    FAMILY = "family"  # a member still linked to the ticket's household
    ANYONE = "anyone"  # the account itself, whoever it is now


RenderFn = Callable[[Session, Notification, Person, Texts], Outgoing | Cancel]


@dataclass(frozen=True)
class Renderer:
    """A kind's render function and its audience."""

    audience: Audience
    render: RenderFn


RENDERERS: dict[NoticeKind, Renderer] = {}


def renders(kind: NoticeKind, audience: Audience) -> Callable[[RenderFn], RenderFn]:
    """Registers the one render function of ``kind``."""

    def register(fn: RenderFn) -> RenderFn:
        if kind in RENDERERS:
            raise RuntimeError(f"{kind} already has a render function")
        RENDERERS[kind] = Renderer(audience, fn)
        return fn

    return register


def render(session: Session, notice: Notification, person: Person | None = None) -> Rendered:
    """Checks the recipient (``person``: already resolved in this transaction), then builds
    the notice in the recipient's current language."""
    renderer = RENDERERS[NoticeKind(notice.kind)]
    if person is None:
        person = people.identify(session, telegram_user_id=notice.chat_id, language_code=None)
    ticket = session.get(Ticket, notice.ticket_id) if notice.ticket_id is not None else None
    if renderer.audience == Audience.TICKET_STAFF:
        if ticket is None:
            return Cancel("the ticket no longer exists")
        if not (person.is_staff and _may_open(session, person, ticket)):
            return _where_ticket_is(session, ticket, person)
    elif renderer.audience == Audience.STAFF and not person.is_staff:
        return Cancel("the recipient is no longer active staff")
    elif renderer.audience == Audience.FAMILY and (
        ticket is None or not person.is_member or person.household_id != ticket.household_id
    ):
        return Cancel("the recipient is no longer linked to this family")
    return renderer.render(session, notice, person, texts(person.language))


def _may_open(session: Session, person: Person, ticket: Ticket) -> bool:
    """Whether staff may open the ticket now."""
    household = session.get(Household, ticket.household_id)
    assert household is not None
    return tickets.can_see(person, ticket, household)


def _where_ticket_is(session: Session, ticket: Ticket, person: Person) -> Retarget:
    """The ticket's current assignee, else its queue, else its provider's leads, else the
    coordinators: the first of these with someone who may open it, never the recipient who
    no longer may (so a ticket stuck with an inactive caseworker still reaches someone)."""
    groups = [
        routing.staff_recipients(session, ticket),
        routing.provider_staff(session, ticket.provider_id, StaffRole.LEAD)
        if ticket.provider_id is not None
        else [],
        routing.coordinators(session),
    ]
    found: list[tuple[int, int]] = []
    for group in groups:
        for staff in group:
            chat = staff.telegram_user_id or 0
            who = people.identify(session, telegram_user_id=chat, language_code=None)
            if chat != person.telegram_user_id and _may_open(session, who, ticket):
                found.append((staff.id or 0, chat))
        if found:
            break
    why = "inactive or unlinked" if not person.is_staff else "no longer sees the ticket"
    return Retarget(found, f"recipient {why}: sent where the ticket now is")


# ---------------------------------------------------------------- staff cards


def _card(
    session: Session,
    notice: Notification,
    t: Texts,
    intro: str,
    *,
    only_message: bool = False,
    files: bool = False,
) -> Outgoing:
    """A staff card with an intro line: the whole ticket, or only the message the notice is
    about; with the family's files when ``files``."""
    ticket = session.get(Ticket, notice.ticket_id)
    assert ticket is not None
    if only_message:
        message = session.get(TicketMessage, notice.message_id)
        shows = [message] if message is not None else []
    else:  # the history as it stood when the notice was queued: later messages have their own
        shows = tickets.messages_of(
            session, ticket.id or 0, include_notes=True, until=notice.created_at
        )
    card = card_context(session, ticket, include_notes=True, messages=shows)
    shown = [m for m in card.messages if m.direction == Direction.IN] if files else []
    return Outgoing(
        chat_id=notice.chat_id,
        pieces=split_text(staff_card(t, card, intro=intro)),
        markup=staff_buttons(t, ticket, translated=needs_translation_buttons(t, card.messages)),
        attachments=[Attachment(m.kind, m.file_id, ticket.reference) for m in shown if m.file_id],
        ticket_id=ticket.id,
    )


@renders(NoticeKind.STAFF_NEW_TICKET, Audience.TICKET_STAFF)
def _new_ticket(session: Session, notice: Notification, _: Person, t: Texts) -> Outgoing:
    """A new request, with the family's photos and voice notes."""
    return _card(session, notice, t, t._("📥 New request"), files=True)


@renders(NoticeKind.STAFF_REASSIGNED, Audience.TICKET_STAFF)
def _reassigned(session: Session, notice: Notification, _: Person, t: Texts) -> Outgoing:
    """A request passed to this person or their queue."""
    return _card(
        session, notice, t, t._("↪️ A request was passed to you or to your queue."), files=True
    )


@renders(NoticeKind.STAFF_FAMILY_MESSAGE, Audience.TICKET_STAFF)
def _family_message(session: Session, notice: Notification, _: Person, t: Texts) -> Outgoing:
    """A new message from the family on an open request, with its file."""
    intro = t._("💬 New message from the family")
    return _card(session, notice, t, intro, only_message=True, files=True)


@renders(NoticeKind.STAFF_MESSAGE_EDITED, Audience.TICKET_STAFF)
def _message_edited(session: Session, notice: Notification, _: Person, t: Texts) -> Outgoing:
    """The family corrected a message on a request: its new words, and the words first sent."""
    ticket = session.get(Ticket, notice.ticket_id)
    message = session.get(TicketMessage, notice.message_id)
    assert ticket is not None
    shows = [message] if message is not None else []
    card = card_context(session, ticket, include_notes=False, messages=shows)
    intro = t._("✏️ The family corrected a message they had sent. It now reads:")
    text = staff_card(t, card, intro=intro)
    if message is not None and message.original_text:
        # TRANSLATORS: staff card heading above the family's words before they corrected them.
        text += "\n\n" + t._("As first sent:") + "\n" + quote(message.original_text)
    return Outgoing(
        chat_id=notice.chat_id,
        pieces=split_text(text),
        markup=staff_buttons(t, ticket, translated=needs_translation_buttons(t, shows)),
        ticket_id=ticket.id,
    )


@renders(NoticeKind.STAFF_URGENT, Audience.TICKET_STAFF)
def _urgent(session: Session, notice: Notification, _: Person, t: Texts) -> Outgoing:
    """A request marked urgent."""
    return _card(session, notice, t, t._("🚨 This request is now marked urgent."))


@renders(NoticeKind.STAFF_ALERT_TICKET, Audience.TICKET_STAFF)
def _alert_ticket(session: Session, notice: Notification, _: Person, t: Texts) -> Outgoing:
    """The request a safeguarding alert was about now exists."""
    intro = t._("🛡 The family has now sent the request that the safeguarding alert was about.")
    return _card(session, notice, t, intro)


@renders(NoticeKind.STAFF_REOPENED, Audience.TICKET_STAFF)
def _reopened(session: Session, notice: Notification, _: Person, t: Texts) -> Outgoing:
    """The family reopened a resolved request."""
    return _card(session, notice, t, t._("🔄 The family reopened this request."))


@renders(NoticeKind.STAFF_UNREACHABLE, Audience.TICKET_STAFF)
def _unreachable(session: Session, notice: Notification, _: Person, t: Texts) -> Outgoing:
    """A message to the family could not be delivered (blocked, or never through in time)."""
    if notice.payload.get("reason") == "expired":
        intro = t._(
            "⚠️ A message to this family could not be delivered before it expired. Please "
            "contact them another way."
        )
    else:
        intro = t._(
            "⚠️ A message to this family could not be delivered: they may have blocked Sanad. "
            "Please contact them another way."
        )
    return _card(session, notice, t, intro)


@renders(NoticeKind.STAFF_ESCALATED, Audience.TICKET_STAFF)
def _escalated(session: Session, notice: Notification, _: Person, t: Texts) -> Outgoing:
    """No first response by the deadline: to the provider lead, then the coordinators."""
    if notice.payload.get("level") == 2:
        intro = t._("⏰ No first response by the deadline: escalated to the coordinators.")
    else:
        intro = t._("⏰ No first response by the deadline: escalated to you as provider lead.")
    return _card(session, notice, t, intro)


@renders(NoticeKind.STAFF_SAFEGUARDING, Audience.STAFF)
def _safeguarding_alert(
    session: Session, notice: Notification, person: Person, t: Texts
) -> Outgoing | Cancel:
    """A safeguarding alert: what was found, and the family's words only for staff who may see
    the household; with the request's card and buttons once there is a request."""
    finding = session.get(SafeguardingFinding, notice.payload.get("finding"))
    if finding is None:
        return Cancel("the finding no longer exists")
    household = session.get(Household, finding.household_id)
    assert household is not None
    ticket = session.get(Ticket, finding.ticket_id) if finding.ticket_id else None
    intro = t._(
        "🚨 Safeguarding alert: a family's words suggest someone may be in danger now. The "
        "family was shown the emergency numbers straight away."
    )
    markup = None
    if ticket is not None:
        allowed = tickets.can_see(person, ticket, household)
        card = card_context(session, ticket, include_notes=False, messages=[])
        if not allowed:  # categories only: even the matched words are the family's
            card.danger = tuple((category, "") for category, _ in card.danger)
        lines = [staff_card(t, card, intro=intro)]
        if allowed:
            markup = staff_buttons(t, ticket)
    else:
        caseworker = (
            session.get(Staff, household.caseworker_id) if household.caseworker_id else None
        )
        provider_id = caseworker.provider_id if caseworker is not None else None
        allowed = safeguarding_alerts.may_see_household(person, household, provider_id)
        district = session.get(District, household.district_id)
        found = danger([finding])
        if not allowed:
            found["danger"] = tuple((category, "") for category, _ in found["danger"])
        lines = [
            intro,
            t._(
                "Family {family} · {district}",
                family=household.reference,
                district=district.name if district else "?",
            ),
            *danger_lines(t, found["danger_level"], found["danger"]),
            t._(
                "They have not sent a request yet: it will reach you when they do. Please "
                "contact the family now."
            ),
        ]
    if allowed:
        lines += ["", t._("Family wrote:"), finding.text]
    else:
        lines.append(t._("The family's words are shown only to staff who support this family."))
    return Outgoing(
        chat_id=notice.chat_id,
        pieces=split_text("\n".join(lines)),
        markup=markup,
        ticket_id=ticket.id if ticket is not None and allowed else None,
    )


# ---------------------------------------------------------------- families and accounts


@renders(NoticeKind.FAMILY_REPLY, Audience.FAMILY)
def _family_reply(session: Session, notice: Notification, _: Person, t: Texts) -> Outgoing:
    """The caseworker's answer, with a button to answer back."""
    ticket = session.get(Ticket, notice.ticket_id)
    message = session.get(TicketMessage, notice.message_id)
    assert ticket is not None and message is not None
    text = (
        t._("💬 Your caseworker replied about {ref}:", ref=ticket.reference)
        + "\n\n"
        + readable(t, message)
    )
    return Outgoing(
        chat_id=notice.chat_id,
        pieces=split_text(text),
        markup=keyboard([[(t._("✍️ Answer"), f"fam:add:{ticket.id}")]]),
        ticket_id=ticket.id,
    )


@renders(NoticeKind.FAMILY_RESOLVED, Audience.FAMILY)
def _family_resolved(session: Session, notice: Notification, _: Person, t: Texts) -> Outgoing:
    """The request is resolved: did it help, or reopen."""
    ticket = session.get(Ticket, notice.ticket_id)
    assert ticket is not None
    text = t._(
        "✅ Your request {ref} is resolved. Did this help?\n"
        "If the problem is not solved, you can reopen it within 7 days.",
        ref=ticket.reference,
    )
    markup = keyboard(
        [
            [
                (t._("👍 Yes, it helped"), f"fam:helpful:{ticket.id}:1"),
                (t._("👎 No"), f"fam:helpful:{ticket.id}:0"),
            ],
            [(t._("🔄 Reopen"), f"fam:reopen:{ticket.id}")],
        ]
    )
    return Outgoing(chat_id=notice.chat_id, pieces=[text], markup=markup, ticket_id=ticket.id)


def unlinked_text(t: Texts) -> str:
    """Told to a Telegram account that a relink cut off."""
    return t._(
        "This Telegram account is no longer connected to Sanad: your invite was moved to "
        "another account. If you did not ask for this, please contact your caseworker or the "
        "council's resettlement team."
    )


@renders(NoticeKind.ACCOUNT_UNLINKED, Audience.ANYONE)
def _account_unlinked(_: Session, notice: Notification, person: Person, t: Texts) -> Outgoing:
    """Told to an account a relink cut off, in the language it read in (a stranger now)."""
    language = str(notice.payload.get("language") or person.language)
    return Outgoing(chat_id=notice.chat_id, pieces=[unlinked_text(texts(language))])


# ---------------------------------------------------------------- reminders (helper B)


@renders(NoticeKind.FAMILY_REMINDER, Audience.ANYONE)
def _family_reminder(
    session: Session, notice: Notification, person: Person, t: Texts
) -> Outgoing | Cancel:
    """An appointment or class session is coming: what, when, where, with "I will come" /
    "I can't come"; nothing when the event was cancelled or the account is no longer theirs."""
    reminder = session.get(Reminder, notice.payload.get("reminder_id"))
    if reminder is None:
        return Cancel("the reminder no longer exists")
    if person.member_id != reminder.member_id:
        return Cancel("the recipient is no longer this family member")
    if not reminders.still_owed(session, reminder):
        return Cancel("the event was cancelled or the member left it")
    return Outgoing(
        chat_id=notice.chat_id,
        pieces=[reminder_texts.family_text(session, reminder, t)],
        markup=reminder_texts.family_buttons(t, reminder),
    )


@renders(NoticeKind.STAFF_CANT_COME, Audience.STAFF)
def _staff_cant_come(
    session: Session, notice: Notification, _: Person, t: Texts
) -> Outgoing | Cancel:
    """A family member pressed "I can't come" on a reminder."""
    reminder = session.get(Reminder, notice.payload.get("reminder_id"))
    if reminder is None:
        return Cancel("the reminder no longer exists")
    return Outgoing(
        chat_id=notice.chat_id, pieces=[reminder_texts.staff_text(session, reminder, t)]
    )


# ---------------------------------------------------------------- diary and classes (helper C)


@renders(NoticeKind.FAMILY_APPOINTMENT_ADDED, Audience.ANYONE)
def _family_appointment_added(
    session: Session, notice: Notification, person: Person, t: Texts
) -> Outgoing | Cancel:
    """An appointment a caseworker entered for the family (GP, Jobcentre…), at once."""
    appointment = appointments.appointment_for_member(
        session, int(notice.payload.get("appointment_id") or 0), person.household_id
    )
    if not person.is_member or appointment is None:
        return Cancel("the recipient is no longer linked to this family")
    if appointment.status == AppointmentStatus.CANCELLED:
        return Cancel("the appointment was cancelled before the notice was sent")
    return Outgoing(chat_id=notice.chat_id, pieces=[calendar_texts.added_text(t, appointment)])


@renders(NoticeKind.FAMILY_ENROLLED, Audience.ANYONE)
def _family_enrolled(
    session: Session, notice: Notification, person: Person, t: Texts
) -> Outgoing | Cancel:
    """A member was put in an ESOL class: the class and its next sessions."""
    class_id = int(notice.payload.get("class_id") or 0)
    member_id = int(notice.payload.get("member_id") or 0)
    if not person.is_member or person.member_id != member_id:
        return Cancel("the recipient is no longer this family member")
    esol = next((c for c in classes.timetable(session, member_id) if c.id == class_id), None)
    if esol is None:
        return Cancel("the member left the class before the notice was sent")
    text = calendar_texts.enrolled_text(t, esol, utcnow())
    return Outgoing(chat_id=notice.chat_id, pieces=[text])


# ---------------------------------------------------------------- slots and booking (helper A)


@renders(NoticeKind.STAFF_BOOKING, Audience.STAFF)
def _staff_booking(
    session: Session, notice: Notification, person: Person, t: Texts
) -> Outgoing | Cancel:
    """A family booked, moved or cancelled a meeting with this caseworker."""
    from handlers import booking_text

    said = booking_text.render_staff_booking(session, notice, person, t)
    if said.cancel:
        return Cancel(said.cancel)
    return Outgoing(chat_id=notice.chat_id, pieces=[said.text], markup=said.markup)


@renders(NoticeKind.FAMILY_APPOINTMENT_CANCELLED, Audience.ANYONE)
def _family_appointment_cancelled(
    session: Session, notice: Notification, person: Person, t: Texts
) -> Outgoing | Cancel:
    """The caseworker withdrew a booked time: sorry, with a button to choose another."""
    from handlers import booking_text

    said = booking_text.render_cancelled(session, notice, person, t)
    if said.cancel:
        return Cancel(said.cancel)
    return Outgoing(chat_id=notice.chat_id, pieces=[said.text], markup=said.markup)


# ---------------------------------------------------------------- broadcasts (issue 10)


@renders(NoticeKind.FAMILY_BROADCAST, Audience.ANYONE)
def _family_broadcast(
    session: Session, notice: Notification, person: Person, t: Texts
) -> Outgoing | Cancel:
    """A family member's copy of a coordinator's notice, in their language."""
    from bot.services import broadcasts
    from handlers import broadcast_text

    copy = broadcasts.copy_for(
        session,
        broadcast_id=int(notice.payload.get("broadcast_id") or 0),
        member_id=int(notice.payload.get("member_id") or 0),
        person=person,
    )
    if copy is None:
        return Cancel("the broadcast was cancelled or the account is no longer this member's")
    pieces, caption = broadcast_text.family_parts(t, copy)
    files = []
    if copy.file_id is not None and copy.attachment_kind is not None:
        files = [Attachment(copy.attachment_kind, copy.file_id, caption or "")]
    return Outgoing(chat_id=notice.chat_id, pieces=pieces, attachments=files)


@renders(NoticeKind.STAFF_BROADCAST_UNREACHABLE, Audience.STAFF)
def _staff_broadcast_unreachable(
    _: Session, notice: Notification, __: Person, t: Texts
) -> Outgoing:
    """A caseworker's families who blocked the bot during a broadcast."""
    from handlers import broadcast_text

    refs = [str(ref) for ref in notice.payload.get("refs") or []]
    return Outgoing(chat_id=notice.chat_id, pieces=[broadcast_text.unreachable_text(t, refs)])


# ---------------------------------------------------------------- support window (helper "stats")


@renders(NoticeKind.STAFF_SUPPORT_ENDING, Audience.STAFF)
def _staff_support_ending(
    session: Session, notice: Notification, person: Person, t: Texts
) -> Outgoing | Cancel:
    """The monthly list of households whose support ends soon, read when it is sent."""
    from handlers import stats_text

    months = int(notice.payload.get("months") or 6)
    pieces = stats_text.support_notice(session, months, person, t, utcnow())
    if pieces is None:
        return Cancel("no household in the recipient's support window any more")
    return Outgoing(chat_id=notice.chat_id, pieces=pieces)


# ---------------------------------------------------------------- privacy rights (helper "privacy")


@renders(NoticeKind.STAFF_ERASURE_REQUEST, Audience.STAFF)
def _staff_erasure_request(
    session: Session, notice: Notification, person: Person, t: Texts
) -> Outgoing | Cancel:
    """A coordinator is asked to erase a household's data (or decline), read at send time."""
    from bot.services import privacy
    from handlers import privacy_text

    info = privacy.describe_request(session, int(notice.payload.get("request_id") or 0))
    if info is None or info.state != privacy.ErasureState.REQUESTED:
        return Cancel("the erasure request was already decided")
    if not person.is_coordinator:
        return Cancel("the recipient is no longer a coordinator")
    return Outgoing(
        chat_id=notice.chat_id,
        pieces=[
            privacy_text.staff_request_text(t, info.reference, info.members, info.requested_at)
        ],
        markup=privacy_text.staff_request_buttons(t, info.request_id, info.household_id),
    )


# ---------------------------------------------------------------- failures (ERROR_CHAT_ID)


def error_report_text(t: Texts, notice: Notification) -> str:
    """A failure for staff: its reference, what failed, the error's class and when, no content."""
    payload = notice.payload
    at = t.datetime(datetime.fromisoformat(str(payload.get("at"))))
    if payload.get("update_id") is not None:
        # TRANSLATORS: {update} is Telegram's number for the update, kept in Sanad's inbox.
        what = t._("A message or button press could not be handled (update {update}).",
                   update=str(payload["update_id"]))  # fmt: skip
    else:
        what = t._("A scheduled job failed: {job}.", job=str(payload.get("job") or "?"))
    lines = [
        t._("⚠️ Error {reference}", reference=str(payload.get("reference"))),
        what,
        t._("Error type: {error} · at {at}", error=str(payload.get("error")), at=at),
        t._(
            "If a person quotes this reference, it is this failure. The log has the same "
            "reference; no message content is kept with it."
        ),
    ]
    return "\n".join(lines)


@renders(NoticeKind.STAFF_ERROR_REPORT, Audience.ANYONE)
def _error_report(_: Session, notice: Notification, person: Person, t: Texts) -> Outgoing:
    """A failure told to the configured staff chat (a group reads English, staff their own)."""
    reader = t if person.is_staff else texts("en")
    return Outgoing(chat_id=notice.chat_id, pieces=[error_report_text(reader, notice)])


# ---------------------------------------------------------------- conversations left open


def flow_expired_text(t: Texts, flow: str) -> str:
    """Told when a conversation nobody came back to for a day was closed."""
    if flow == FlowName.REPORT:
        return t._(
            "You started telling us about a problem yesterday but did not send it, so Sanad "
            "closed it. Nothing was sent to your caseworker. When you are ready, tap "
            "\u201c📝 Report a problem\u201d in the menu (/menu) and start again."
        )
    return t._(
        "Something you started in Sanad yesterday was not finished, so Sanad closed it. "
        "Nothing was sent. Start again from the menu (/menu) when you are ready."
    )


@renders(NoticeKind.FLOW_EXPIRED, Audience.ANYONE)
def _flow_expired(_: Session, notice: Notification, person: Person, t: Texts) -> Outgoing:
    """A conversation left for a day was closed: nothing was sent; how to start again."""
    return Outgoing(
        chat_id=notice.chat_id, pieces=[flow_expired_text(t, str(notice.payload.get("flow")))]
    )
