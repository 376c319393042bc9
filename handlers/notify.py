"""The outbox dispatcher: renders queued notices in each reader's language and sends them once.

Services queue notices in the same transaction as the change; this sends them right after
each update, every few seconds from the job queue, and at start-up, so nothing is lost in a
crash and nothing already sent goes again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application

from bot.i18n import Texts, texts
from bot.services import (
    escalation,
    notifications,
    people,
    routing,
    safeguarding_alerts,
    tickets,
)
from bot.services.people import Person
from handlers import translate
from handlers.common import keyboard
from handlers.render import (
    CardContext,
    danger_lines,
    needs_translation_buttons,
    readable,
    split_text,
    staff_buttons,
    staff_card,
)
from storage.db import Database
from storage.models import (
    Category,
    District,
    Household,
    Notification,
    SafeguardingFinding,
    Staff,
    Ticket,
    TicketMessage,
)

logger = logging.getLogger(__name__)


@dataclass
class Attachment:
    """A file that travels with a notice, by its Telegram file id."""

    kind: str
    file_id: str
    caption: str


@dataclass
class Outgoing:
    """One rendered notice: text pieces, buttons on the last piece, then attachments."""

    chat_id: int
    pieces: list[str]
    markup: InlineKeyboardMarkup | None = None
    attachments: list[Attachment] = field(default_factory=list)
    ticket_id: int | None = None
    to_family: bool = False


def card_context(session: Session, ticket: Ticket, *, include_notes: bool) -> CardContext:
    """Loads what a staff card shows about a ticket."""
    household = session.get(Household, ticket.household_id)
    assert household is not None
    district = session.get(District, household.district_id)
    assignee = session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
    return CardContext(
        ticket=ticket,
        household_ref=household.reference,
        district=district.name if district else "?",
        category=session.get(Category, ticket.category_id),
        assignee=assignee.name if assignee else None,
        messages=tickets.messages_of(session, ticket.id or 0, include_notes=include_notes),
        **_danger(safeguarding_alerts.ticket_findings(session, ticket.id or 0)),
    )


def _danger(findings: list[SafeguardingFinding]) -> dict[str, Any]:
    """The safeguarding level and (category, words) pairs a card shows for some findings."""
    pairs = {(s["category"], s["matched"]): None for f in findings for s in f.signals}
    return {
        "danger_level": str(safeguarding_alerts.ticket_level(findings)),
        "danger": tuple(pairs),
    }


def _render_alert(
    session: Session, notification: Notification, person: Person, t: Texts
) -> Outgoing | None:
    """A safeguarding alert: what was found, and the family's words only for staff who may see
    the household; with the request's card and buttons once there is a request."""
    finding = session.get(SafeguardingFinding, notification.data.get("finding"))
    if finding is None:
        return None
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
        card = card_context(session, ticket, include_notes=False)
        card.messages = []
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
        danger = _danger([finding])
        if not allowed:
            danger["danger"] = tuple((category, "") for category, _ in danger["danger"])
        lines = [
            intro,
            t._(
                "Family {family} · {district}",
                family=household.reference,
                district=district.name if district else "?",
            ),
            *danger_lines(t, danger["danger_level"], danger["danger"]),
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
        chat_id=notification.chat_id,
        pieces=split_text("\n".join(lines)),
        markup=markup,
        ticket_id=ticket.id if ticket is not None and allowed else None,
    )


def _intro(t: Texts, notification: Notification) -> str:
    """The first line of a staff notice, by why it was sent."""
    template = notification.template
    if template == "staff.new_ticket":
        if notification.key.startswith("reassign:"):
            return t._("↪️ A request was passed to you or to your queue.")
        return t._("📥 New request")
    if template == "staff.urgent":
        return t._("🚨 This request is now marked urgent.")
    if template == safeguarding_alerts.OPENED_TEMPLATE:
        return t._("🛡 The family has now sent the request that the safeguarding alert was about.")
    if template == "staff.reopened":
        return t._("🔄 The family reopened this request.")
    if template == "staff.unreachable":
        return t._(
            "⚠️ A message to this family could not be delivered: they may have blocked Sanad. "
            "Please contact them another way."
        )
    if template == "staff.escalated":
        if notification.data.get("level") == 2:
            return t._("⏰ No first response by the deadline: escalated to the coordinators.")
        return t._("⏰ No first response by the deadline: escalated to you as provider lead.")
    return t._("💬 New message from the family")


def unlinked_text(t: Texts) -> str:
    """Told to a Telegram account that a relink cut off."""
    return t._(
        "This Telegram account is no longer connected to Sanad: your invite was moved to "
        "another account. If you did not ask for this, please contact your caseworker or the "
        "council's resettlement team."
    )


def render(session: Session, notification: Notification) -> Outgoing | None:
    """Builds the message for a queued notice, in the recipient's language."""
    person = people.identify(session, telegram_user_id=notification.chat_id, language_code=None)
    t = texts(person.language)
    if notification.template == notifications.ACCOUNT_UNLINKED:
        t = texts(str(notification.data.get("language") or person.language))
        return Outgoing(chat_id=notification.chat_id, pieces=[unlinked_text(t)])
    if notification.template == safeguarding_alerts.ALERT_TEMPLATE:
        return _render_alert(session, notification, person, t)
    ticket = session.get(Ticket, notification.ticket_id) if notification.ticket_id else None
    if ticket is None:
        return None
    ref = ticket.reference
    if notification.template.startswith("staff."):
        card = card_context(session, ticket, include_notes=True)
        attachments: list[Attachment] = []
        if notification.template == "staff.family_message":
            message = session.get(TicketMessage, notification.message_id)
            assert message is not None
            card.messages = [message]
            text = staff_card(t, card, intro=_intro(t, notification))
            files = [message]
        else:
            text = staff_card(t, card, intro=_intro(t, notification))
            files = [m for m in card.messages if m.direction == "in"]
            if notification.template != "staff.new_ticket":
                files = []
        for message in files:
            if message.file_id:
                attachments.append(Attachment(message.kind, message.file_id, ref))
        return Outgoing(
            chat_id=notification.chat_id,
            pieces=split_text(text),
            markup=staff_buttons(
                t, ticket, translated=needs_translation_buttons(t, card.messages)
            ),
            attachments=attachments,
            ticket_id=ticket.id,
        )
    if notification.template == "family.reply":
        message = session.get(TicketMessage, notification.message_id)
        assert message is not None
        text = (
            t._("💬 Your caseworker replied about {ref}:", ref=ref) + "\n\n" + readable(t, message)
        )
        markup = keyboard([[(t._("✍️ Answer"), f"fam:add:{ticket.id}")]])
        return Outgoing(
            chat_id=notification.chat_id,
            pieces=split_text(text),
            markup=markup,
            ticket_id=ticket.id,
            to_family=True,
        )
    if notification.template == "family.resolved":
        text = t._(
            "✅ Your request {ref} is resolved. Did this help?\n"
            "If the problem is not solved, you can reopen it within 7 days.",
            ref=ref,
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
        return Outgoing(
            chat_id=notification.chat_id,
            pieces=[text],
            markup=markup,
            ticket_id=ticket.id,
            to_family=True,
        )
    logger.warning("unknown notification template %s", notification.template)
    return None


async def _send(app: Application[Any, Any, Any, Any, Any, Any], out: Outgoing) -> list[Message]:
    """Sends the pieces and attachments of one notice."""
    bot = app.bot
    sent: list[Message] = []
    for index, piece in enumerate(out.pieces):
        last = index == len(out.pieces) - 1
        sent.append(
            await bot.send_message(out.chat_id, piece, reply_markup=out.markup if last else None)
        )
    for attachment in out.attachments:
        if attachment.kind == "photo":
            sent.append(
                await bot.send_photo(out.chat_id, attachment.file_id, caption=attachment.caption)
            )
        elif attachment.kind == "voice":
            sent.append(
                await bot.send_voice(out.chat_id, attachment.file_id, caption=attachment.caption)
            )
        else:
            sent.append(
                await bot.send_document(
                    out.chat_id, attachment.file_id, caption=attachment.caption
                )
            )
    return sent


def _lock(app: Application[Any, Any, Any, Any, Any, Any]) -> asyncio.Lock:
    """One dispatcher at a time per application."""
    lock = app.bot_data.extras.get("outbox_lock")
    if lock is None:
        lock = app.bot_data.extras["outbox_lock"] = asyncio.Lock()
    return lock


async def flush(app: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """Sends every pending notice once; returns how many were delivered.

    Chats are served concurrently (a slow translation for one family delays only its own
    notices) and each chat's notices go in the order they were queued.
    """
    db: Database = app.bot_data.db
    delivered = 0
    tried: set[int] = set()
    async with _lock(app):
        while True:
            with db.session() as session:
                ids = [i for i in notifications.pending_ids(session) if i not in tried]
                chats: dict[int, list[int]] = {}
                for notification_id in ids:
                    notification = session.get(Notification, notification_id)
                    assert notification is not None
                    chats.setdefault(notification.chat_id, []).append(notification_id)
            if not ids:
                return delivered
            tried.update(ids)
            results = await asyncio.gather(
                *(_serve_chat(app, db, queue) for queue in chats.values())
            )
            delivered += sum(results)


async def _serve_chat(
    app: Application[Any, Any, Any, Any, Any, Any], db: Database, queue: list[int]
) -> int:
    """Sends one chat's pending notices in order."""
    delivered = 0
    for notification_id in queue:
        with db.session() as session:
            if not notifications.claim(session, notification_id):
                continue
        await translate.prepare(app, notification_id)
        with db.session() as session:
            notification = session.get(Notification, notification_id)
            assert notification is not None
            out = render(session, notification)
        if out is None:
            with db.session() as session:
                notifications.mark_failed(
                    session, notification_id, "nothing to render", final=True
                )
            continue
        if await _deliver(app, db, notification_id, out):
            delivered += 1
    return delivered


def kick(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Starts delivering in the background, so the update that queued a notice returns now."""
    extras = app.bot_data.extras
    extras["outbox_dirty"] = True
    task = extras.get("outbox_task")
    if task is None or task.done():
        extras["outbox_task"] = asyncio.get_running_loop().create_task(_drain(app))


async def _drain(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Flushes until nothing new was queued meanwhile."""
    extras = app.bot_data.extras
    while extras.pop("outbox_dirty", False):
        try:
            await flush(app)
        except Exception:  # the job queue retries; a failure here must not kill the loop
            logger.exception("outbox flush failed")
            return


async def settle(app: Application[Any, Any, Any, Any, Any, Any], timeout: float = 10.0) -> None:
    """Lets a running delivery finish before shutdown (what it doesn't finish is sent later)."""
    task = app.bot_data.extras.get("outbox_task")
    if task is not None and not task.done():
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            task.cancel()


async def _deliver(
    app: Application[Any, Any, Any, Any, Any, Any],
    db: Database,
    notification_id: int,
    out: Outgoing,
) -> bool:
    """Sends one rendered notice and records the outcome."""
    try:
        sent = await _send(app, out)
    except Forbidden:
        logger.info("notice %s: recipient cannot be reached", notification_id)
        with db.session() as session:
            notifications.mark_failed(session, notification_id, "forbidden", final=True)
            if out.to_family and out.ticket_id is not None:
                people.mark_unreachable(session, telegram_user_id=out.chat_id)
                tickets.mark_family_unreachable(session, ticket_id=out.ticket_id)
                ticket = session.get(Ticket, out.ticket_id)
                assert ticket is not None
                for staff in routing.staff_recipients(session, ticket):
                    notifications.enqueue(
                        session,
                        key=f"unreachable:{notification_id}:staff:{staff.id}",
                        chat_id=staff.telegram_user_id or 0,
                        template="staff.unreachable",
                        ticket_id=ticket.id,
                    )
        return False
    except RetryAfter as exc:
        logger.warning("notice %s: rate limited, retry later", notification_id)
        with db.session() as session:
            notifications.mark_failed(session, notification_id, "retry after", final=False)
        wait = exc.retry_after
        seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
        await asyncio.sleep(min(seconds, 5.0))
        return False
    except BadRequest as exc:
        logger.warning("notice %s refused: %s", notification_id, exc.message)
        with db.session() as session:
            notifications.mark_failed(session, notification_id, exc.message, final=True)
        return False
    except TelegramError as exc:
        logger.warning("notice %s failed: %s", notification_id, type(exc).__name__)
        with db.session() as session:
            notifications.mark_failed(session, notification_id, type(exc).__name__, final=False)
        return False
    with db.session() as session:
        notifications.mark_sent(session, notification_id)
        if out.ticket_id is not None:
            for message in sent:
                tickets.link_message(
                    session,
                    chat_id=out.chat_id,
                    message_id=message.message_id,
                    ticket_id=out.ticket_id,
                )
    return True


async def outbox_job(context: Any) -> None:
    """Job queue tick: escalate overdue tickets, then send whatever is pending."""
    app = context.application
    with app.bot_data.db.session() as session:
        escalation.escalate_overdue(session)
    await flush(app)
