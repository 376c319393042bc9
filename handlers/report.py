"""Families: /report step by step, messages outside a flow, /tickets, reopen and feedback.

The report flow lives in the database (bot/services/flows.py), so a restart mid-report keeps
what the family already sent.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from sqlmodel import Session
from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.context import SanadContext
from bot.i18n import Texts
from bot.services import categories, flows, tickets
from bot.services.errors import Conflict, InvalidInput, NotFound
from bot.services.people import Person
from bot.services.safeguarding import Category as Danger
from bot.services.safeguarding import DangerLevel
from bot.services.tickets import Checked, Part
from handlers import notify
from handlers.common import answer, keyboard, person_of, texts_for
from handlers.menu import menu_for
from handlers.render import category_name, emergency_guidance
from storage.models import Category, Ticket
from storage.types import utcnow

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot fetch
# Danger at home: the guidance then adds the National Domestic Abuse Helpline.
ABUSE = frozenset({Danger.VIOLENCE, Danger.THREAT, Danger.SEXUAL_ABUSE, Danger.FORCED_MARRIAGE})


class FileTooLarge(Exception):
    """An attachment the bot cannot fetch."""


async def part_from(message: Message, context: SanadContext) -> Part | None:
    """What a family message carries, or None for kinds a ticket can't hold."""
    chat_id, message_id = message.chat_id, message.message_id
    caption = message.caption or ""
    if message.text:
        return Part(
            kind="text", text=message.text, source_chat_id=chat_id, source_message_id=message_id
        )
    media: Any = None
    kind = ""
    if message.photo:
        media, kind = message.photo[-1], "photo"
    elif message.voice:
        media, kind = message.voice, "voice"
    elif message.audio:
        media, kind = message.audio, "voice"
    elif message.document:
        media, kind = message.document, "document"
    if media is None:
        return None
    if (media.file_size or 0) > MAX_FILE_BYTES:
        raise FileTooLarge()
    try:
        await context.bot.get_file(media.file_id)
    except BadRequest as exc:
        if "too big" in exc.message.lower():
            raise FileTooLarge() from exc
        raise
    return Part(
        kind=kind,
        text=caption,
        file_id=media.file_id,
        source_chat_id=chat_id,
        source_message_id=message_id,
    )


def _too_large_text(t: Texts) -> str:
    """Said when a voice note or file is too big to receive."""
    return t._(
        "This file is too big for me to receive. Please send a shorter voice note, a smaller "
        "photo, or write your message."
    )


async def stale(query: CallbackQuery, t: Texts) -> None:
    """A button whose moment has passed (already used, or from before a change)."""
    await query.answer(t._("This button no longer works."), show_alert=True)


# ---------------------------------------------------------------- the report flow


def category_keyboard(t: Texts, options: list[Category]) -> InlineKeyboardMarkup:
    """One big button per category, then Cancel."""
    rows = [[(category_name(t, c), f"rep:cat:{c.code}")] for c in options]
    rows.append([(t._("✖️ Cancel"), "rep:cancel")])
    return keyboard(rows)


def describe_keyboard(t: Texts) -> InlineKeyboardMarkup:
    """Send or cancel, under every step of describing."""
    return keyboard([[(t._("✅ Send"), "rep:send"), (t._("✖️ Cancel"), "rep:cancel")]])


async def start_report(
    update: Update, context: SanadContext, first: list[Part] | None = None
) -> None:
    """Starts a report: asks for the category (keeping messages already sent, if any)."""
    person = person_of(update, context)
    t = texts_for(update, context)
    parts = [asdict(part) for part in first or []]
    with context.db.session() as session:
        flows.start(session, person.telegram_user_id, "report", step="category", parts=parts)
        options = categories.active_categories(session)
    prompt = (
        t._("What is this about? Tap the closest one.")
        if parts
        else t._("What is the problem about? Tap the closest one.")
    )
    await answer(update, prompt, category_keyboard(t, options))


async def report_command(update: Update, context: SanadContext) -> None:
    """/report (and the menu button)."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await start_report(update, context)


async def category_button(update: Update, context: SanadContext) -> None:
    """A category was chosen: now describe it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    code = query.data.split(":", 2)[2]
    with context.db.session() as session:
        flow = flows.active(session, person.telegram_user_id, "report")
        try:
            category = categories.by_code(session, code)
        except NotFound:
            category = None
        if flow is None or category is None:
            await stale(query, t)
            return
        flows.update(session, flow, step="describe", category=code)
        has_parts = bool(flow.data.get("parts"))
    await query.answer()
    await query.edit_message_text(t._("Chosen: {category}", category=category_name(t, category)))
    if has_parts:
        text = t._("Thank you. You can add more (text, photos or a voice note), or tap Send.")
    else:
        text = t._(
            "Tell us about the problem. You can write, send photos or a voice note, in "
            "several messages. When you have finished, tap Send."
        )
    await answer(update, text, describe_keyboard(t))


async def add_to_report(update: Update, context: SanadContext, flow_data: dict[str, Any]) -> None:
    """A message while describing, or while the category buttons are showing: kept as part of
    the report (never dropped), and the family sees the buttons of the step they are at."""
    message = update.effective_message
    assert message is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    at_category = flow_data.get("step") == "category"
    with context.db.session() as session:
        options = categories.active_categories(session) if at_category else []
    markup = category_keyboard(t, options) if at_category else describe_keyboard(t)
    try:
        part = await part_from(message, context)
    except FileTooLarge:
        await answer(update, _too_large_text(t), markup)
        return
    if part is None:
        await answer(update, unsupported_in_report(t), markup)
        return
    with context.db.session() as session:
        flow = flows.current(session, person.telegram_user_id)
        assert flow is not None
        parts = flow.data.get("parts", [])
        if any(p.get("source_message_id") == part.source_message_id for p in parts):
            return  # the same Telegram message again (a redelivery after a restart)
        flows.update(session, flow, parts=[*parts, asdict(part)])
    if at_category:
        text = t._("I have kept your message with your request. Please tap the closest category.")
    else:
        text = t._("Added. Add more, or tap Send.")
    await answer(update, text, markup)


def unsupported_in_report(t: Texts) -> str:
    """A sticker or location while describing a problem."""
    return t._("I can only add text, photos, voice notes and documents to a request.")


async def send_button(update: Update, context: SanadContext) -> None:
    """Send: check there is something, then ask to confirm."""
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    with context.db.session() as session:
        flow = flows.active(session, person.telegram_user_id, "report", "describe")
        if flow is None:
            await stale(query, t)
            return
        parts = flow.data.get("parts", [])
        category = categories.by_code(session, flow.data["category"])
        if parts:
            flows.update(session, flow, step="confirm")
    await query.answer()
    if not parts:
        await answer(
            update,
            t._(
                "Please tell us about the problem first: write a message, or send a photo or "
                "a voice note."
            ),
            describe_keyboard(t),
        )
        return
    await answer(
        update,
        t.n_(
            "Send your request about {category} ({n} message) to your caseworker?",
            "Send your request about {category} ({n} messages) to your caseworker?",
            len(parts),
            category=category_name(t, category),
        ),
        keyboard(
            [
                [(t._("✅ Yes, send it"), "rep:confirm")],
                [(t._("➕ Add more"), "rep:more"), (t._("✖️ Cancel"), "rep:cancel")],
            ]
        ),
    )


async def more_button(update: Update, context: SanadContext) -> None:
    """Add more: back to describing."""
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    with context.db.session() as session:
        flow = flows.active(session, person.telegram_user_id, "report")
        if flow is None:
            await stale(query, t)
            return
        flows.update(session, flow, step="describe")
    await query.answer()
    await answer(update, t._("Add more, then tap Send."), describe_keyboard(t))


async def cancel_button(update: Update, context: SanadContext) -> None:
    """Cancel: nothing is created."""
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    with context.db.session() as session:
        flows.clear(session, person.telegram_user_id)
    await query.answer()
    await answer(update, t._("Cancelled. Nothing was sent."), menu_for(t, person))


def acknowledgement(t: Texts, ticket: Ticket, *, now: Any) -> str:
    """The plain promise after a report: reference, what happens next, when, and emergencies."""
    lines = [t._("Thank you. Your request number is {ref}.", ref=ticket.reference)]
    if ticket.assignee_id is not None:
        lines.append(
            t._("Your caseworker has received it and will answer you here, in this chat.")
        )
    else:
        lines.append(
            t._(
                "It has gone to your support team. A caseworker will answer you here, in this chat."
            )
        )
    hours = tickets.WORKING_HOURS
    if ticket.urgent:
        lines.append(t._("We have marked it as urgent and told the council's team straight away."))
    closed = not hours.is_open(now)
    if ticket.urgent or closed:
        opens_at = hours.next_opening(now) if closed else None
        lines.append(emergency_guidance(t, out_of_hours=closed, opens_at=opens_at))
    lines.append(t._("You can see your requests at any time with 📋 My requests."))
    return "\n\n".join(lines)


async def confirm_button(update: Update, context: SanadContext) -> None:
    """Yes, send it: opens the ticket, routes it and tells the family what happens next."""
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    now = utcnow()
    with context.db.session() as session:
        flow = flows.active(session, person.telegram_user_id, "report", "confirm")
        if flow is None:
            await stale(query, t)
            return
        parts = [Part(**p) for p in flow.data.get("parts", [])]
        opened = tickets.open_ticket(
            session, person=person, category=flow.data["category"], parts=parts, now=now
        )
        flows.clear(session, person.telegram_user_id)
        ticket = opened.ticket
    logger.info("ticket %s opened (%s)", ticket.id, opened.decision.reason)
    await query.answer()
    await query.edit_message_reply_markup(None)
    sent = await answer(update, acknowledgement(t, ticket, now=now), menu_for(t, person))
    if sent is not None:
        with context.db.session() as session:
            tickets.link_message(
                session, chat_id=sent.chat_id, message_id=sent.message_id, ticket_id=ticket.id or 0
            )
    notify.kick(context.application)


# ---------------------------------------------------------------- outside any flow


def danger_notice(t: Texts, checked: Checked, *, now: Any) -> str:
    """Said at once when a family's words suggest danger: staff were told, and what to do now."""
    hours = tickets.WORKING_HOURS
    closed = not hours.is_open(now)
    guidance = emergency_guidance(
        t,
        abuse=bool(ABUSE & set(checked.categories)),
        out_of_hours=closed,
        opens_at=hours.next_opening(now) if closed else None,
    )
    told = t._(
        "What you wrote worries us, so we have told your caseworker and the council's team "
        "straight away."
    )
    return f"{told}\n\n{guidance}"


async def check_danger(
    update: Update, context: SanadContext, *, ticket_id: int | None, seen: bool
) -> Checked:
    """Triages a family message (text or caption) the moment it arrives, in any step. Urgent
    danger: the family sees the guidance now and the outbox alerts staff, once per message;
    ``seen`` (a redelivery or an edit already taken in) shows the guidance only if the edit
    is what made it urgent."""
    message = update.effective_message
    assert message is not None
    text = message.text or message.caption or ""
    if not text.strip():
        return Checked(DangerLevel.NONE)
    person = person_of(update, context)
    source = (message.chat_id, message.message_id)
    try:
        with context.db.session() as session:
            checked = tickets.check_arrival(
                session, person=person, text=text, source=source, ticket_id=ticket_id
            )
    except NotFound:  # the request is gone or not theirs: check without it
        with context.db.session() as session:
            checked = tickets.check_arrival(session, person=person, text=text, source=source)
    if checked.alerted:
        logger.info("safeguarding alert queued (%s)", ",".join(checked.categories))
        notify.kick(context.application)
    if checked.urgent and (checked.alerted or not seen):
        t = texts_for(update, context)
        await answer(update, danger_notice(t, checked, now=utcnow()))
    return checked


def _known_ticket(
    session: Session, person: Person, message: Message, flow_name: str, flow_data: dict[str, Any]
) -> int | None:
    """The request a message will join, when that is already clear as it arrives."""
    if flow_name == "report":
        return None  # a draft: no request yet
    if flow_name == "family_add":
        return int(flow_data["ticket_id"])
    if message.reply_to_message is not None:
        linked = tickets.ticket_for_message(
            session, chat_id=message.chat_id, message_id=message.reply_to_message.message_id
        )
        if linked is not None:
            return linked
    if flow_name == "attach":
        return None  # waiting for "which request?"
    open_tickets = tickets.open_family_tickets(session, person=person)
    return open_tickets[0].id if len(open_tickets) == 1 else None


def _in_flow(flow_data: dict[str, Any], message: Message) -> bool:
    """Whether a message is already kept in a draft or a "which request?" wait."""
    return any(
        p.get("source_chat_id") == message.chat_id
        and p.get("source_message_id") == message.message_id
        for p in flow_data.get("parts", [])
    )


async def on_family_message(update: Update, context: SanadContext) -> None:
    """Any family message: checked for danger first, then part of a flow, a reply to a ticket,
    or the start of a request."""
    message = update.effective_message
    assert message is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    with context.db.session() as session:
        flow = flows.current(session, person.telegram_user_id)
        flow_name, flow_data = (flow.name, dict(flow.data)) if flow else ("", {})
        seen = tickets.already_stored(session, message.chat_id, message.message_id)
        seen = seen or _in_flow(flow_data, message)
        target = _known_ticket(session, person, message, flow_name, flow_data)
    await check_danger(update, context, ticket_id=target, seen=seen)
    if seen:
        return  # a redelivered update after a restart, or an edit: already taken in
    if flow_name == "report":
        await add_to_report(update, context, flow_data)
        return
    try:
        part = await part_from(message, context)
    except FileTooLarge:
        await answer(update, _too_large_text(t), menu_for(t, person))
        return
    if part is None:
        from handlers.fallback import unsupported_message

        await unsupported_message(update, context)
        return
    if flow_name == "family_add":
        await _add_to_ticket(update, context, int(flow_data["ticket_id"]), [part])
        return
    replied = message.reply_to_message
    if replied is not None:
        with context.db.session() as session:
            linked = tickets.ticket_for_message(
                session, chat_id=message.chat_id, message_id=replied.message_id
            )
        if linked is not None:
            await _add_to_ticket(update, context, linked, [part])
            return
    with context.db.session() as session:
        open_tickets = tickets.open_family_tickets(session, person=person)
        labels = [
            (tk.id, tk.reference, session.get(Category, tk.category_id)) for tk in open_tickets
        ]
    waiting = [Part(**p) for p in flow_data.get("parts", [])] if flow_name == "attach" else []
    if not open_tickets:
        await start_report(update, context, first=[*waiting, part])
        return
    if len(open_tickets) == 1:
        await _add_to_ticket(update, context, open_tickets[0].id or 0, [*waiting, part])
        return
    with context.db.session() as session:
        # Still waiting for "which request?": keep every message sent meanwhile.
        parts = [asdict(p) for p in [*waiting, part]]
        flows.start(session, person.telegram_user_id, "attach", parts=parts)
    rows = [[(f"{ref} · {category_name(t, cat)}", f"att:{tid}")] for tid, ref, cat in labels[:6]]
    rows.append([(t._("➕ A new problem"), "att:new")])
    await answer(update, t._("Which request is this about?"), keyboard(rows))


async def _add_to_ticket(
    update: Update, context: SanadContext, ticket_id: int, parts: list[Part]
) -> None:
    """Adds messages to one of the family's tickets and says where they went."""
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        with context.db.session() as session:
            for part in parts:
                tickets.add_family_message(session, person=person, ticket_id=ticket_id, part=part)
            flows.clear(session, person.telegram_user_id)
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
    except Conflict:
        await closed_ticket(update, context, ticket_id)
        return
    except (NotFound, InvalidInput):
        await answer(update, t._("I could not add that to a request."), menu_for(t, person))
        return
    # Danger in these messages was answered with the guidance as each one arrived.
    await answer(
        update, t._("Sent to your caseworker, with your request {ref}.", ref=ticket.reference)
    )
    notify.kick(context.application)


async def closed_ticket(update: Update, context: SanadContext, ticket_id: int) -> None:
    """A message about a resolved ticket: offer to reopen it or report something new."""
    t = texts_for(update, context)
    with context.db.session() as session:
        flows.clear(session, person_of(update, context).telegram_user_id)
    await answer(
        update,
        t._(
            "Request {ref} is closed, so your message was not sent. If the problem is not "
            "solved, tap Reopen. For something new, tap Report a problem.",
            ref=tickets.reference(ticket_id),
        ),
        keyboard(
            [
                [(t._("🔄 Reopen"), f"fam:reopen:{ticket_id}")],
                [(t._("📝 Report a problem"), "menu:report")],
            ]
        ),
    )


async def attach_button(update: Update, context: SanadContext) -> None:
    """Which request a message is about: one of the open ones, or a new one."""
    query = update.callback_query
    assert query is not None and query.data is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    with context.db.session() as session:
        flow = flows.active(session, person.telegram_user_id, "attach")
        if flow is None:
            await stale(query, t)
            return
        parts = [Part(**p) for p in flow.data.get("parts", [])]
    await query.answer()
    await query.edit_message_reply_markup(None)
    target = query.data.split(":", 1)[1]
    if target == "new":
        await start_report(update, context, first=parts)
        return
    if not target.isdigit():
        return
    await _add_to_ticket(update, context, int(target), parts)
