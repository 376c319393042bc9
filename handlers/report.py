"""Families: /report step by step, messages outside a flow, /tickets, reopen and feedback.

The report flow lives in the database (bot/services/flows.py), so a restart mid-report keeps
what the family already sent.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError

from bot.context import SanadContext
from bot.delivery import dispatcher
from bot.i18n import Texts
from bot.services import flows, intake, report, tickets
from bot.services.family_outcome import Outcome, Reply
from bot.services.safeguarding import Category as Danger
from bot.services.tickets import Checked, Part
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


def prompt_category(t: Texts, outcome: Outcome) -> tuple[str, InlineKeyboardMarkup]:
    """Which category? (the wording says when messages were already kept)."""
    prompt = (
        t._("What is this about? Tap the closest one.")
        if outcome.parts
        else t._("What is the problem about? Tap the closest one.")
    )
    return prompt, category_keyboard(t, outcome.options)


async def report_command(update: Update, context: SanadContext) -> None:
    """/report (and the menu button)."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    person = person_of(update, context)
    outcome = await context.db.run(report.start_report, person=person)
    await answer(update, *prompt_category(texts_for(update, context), outcome))


async def category_button(update: Update, context: SanadContext) -> None:
    """A category was chosen: now describe it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    code = query.data.split(":", 2)[2]
    outcome = await context.db.run(report.choose_category, person=person, code=code)
    if outcome.reply is Reply.STALE or outcome.category is None:
        await stale(query, t)
        return
    await query.answer()
    await query.edit_message_text(
        t._("Chosen: {category}", category=category_name(t, outcome.category))
    )
    if outcome.parts:
        text = t._("Thank you. You can add more (text, photos or a voice note), or tap Send.")
    else:
        text = t._(
            "Tell us about the problem. You can write, send photos or a voice note, in "
            "several messages. When you have finished, tap Send."
        )
    await answer(update, text, describe_keyboard(t))


def unsupported_in_report(t: Texts) -> str:
    """A sticker or location while describing a problem."""
    return t._("I can only add text, photos, voice notes and documents to a request.")


async def send_button(update: Update, context: SanadContext) -> None:
    """Send: check there is something, then ask to confirm."""
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    outcome = await context.db.run(report.review, person=person)
    if outcome.reply is Reply.STALE:
        await stale(query, t)
        return
    await query.answer()
    if outcome.reply is Reply.EMPTY or outcome.category is None:
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
            outcome.parts,
            category=category_name(t, outcome.category),
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
    outcome = await context.db.run(report.describe_more, person=person)
    if outcome.reply is Reply.STALE:
        await stale(query, t)
        return
    await query.answer()
    await answer(update, t._("Add more, then tap Send."), describe_keyboard(t))


async def cancel_button(update: Update, context: SanadContext) -> None:
    """Cancel: nothing is created."""
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    await context.db.run(flows.clear, person.telegram_user_id)
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
    outcome = await context.db.run(report.confirm, person=person, now=now)
    if outcome.opened is None:
        await stale(query, t)
        return
    ticket = outcome.opened.ticket
    logger.info("ticket %s opened (%s)", ticket.id, outcome.opened.decision.reason)
    # Staff are told at once; the family's acknowledgement does not wait for that.
    dispatcher.kick(context.application)
    await query.answer()
    await query.edit_message_reply_markup(None)
    sent = await answer(update, acknowledgement(t, ticket, now=now), menu_for(t, person))
    if sent is not None:
        await context.db.run(
            intake.link_reply,
            chat_id=sent.chat_id,
            message_id=sent.message_id,
            ticket_id=ticket.id or 0,
        )


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


async def tell_danger(update: Update, context: SanadContext, checked: Checked, seen: bool) -> None:
    """Urgent danger: the family sees the guidance at once (the outbox alerts staff, once per
    message); ``seen`` (a redelivery or an edit already taken in) shows it again only if the
    edit is what made it urgent."""
    if checked.alerted:
        logger.info("safeguarding alert queued (%s)", ",".join(checked.categories))
        dispatcher.kick(context.application)
    if checked.urgent and (checked.alerted or not seen):
        t = texts_for(update, context)
        await answer(update, danger_notice(t, checked, now=utcnow()))


async def on_family_message(update: Update, context: SanadContext) -> None:
    """Any family message: one transaction triages it and keeps it (in a draft, a request, or
    a new report); then the family is told."""
    message = update.effective_message
    assert message is not None
    person = person_of(update, context)
    text = message.text or message.caption or ""
    source = (message.chat_id, message.message_id)
    too_large = False
    try:
        part = await part_from(message, context)
    except FileTooLarge:
        part, too_large = None, True
    except TelegramError:
        # The file could not be checked: the words are still triaged before the error.
        checked = await context.db.run(intake.triage, person=person, text=text, source=source)
        await tell_danger(update, context, checked, seen=False)
        raise
    replied = message.reply_to_message
    outcome = await context.db.run(
        intake.family_message,
        person=person,
        part=part,
        text=text,
        source=source,
        reply_to=replied.message_id if replied is not None else None,
        too_large=too_large,
    )
    await tell_danger(update, context, outcome.checked, outcome.seen)
    await render_arrival(update, context, outcome)


async def render_arrival(update: Update, context: SanadContext, outcome: Outcome) -> None:
    """Tells the family where their message went."""
    person = person_of(update, context)
    t = texts_for(update, context)
    reply = outcome.reply
    if reply is Reply.NOTHING:
        return
    if outcome.in_report:
        markup = category_keyboard(t, outcome.options) if outcome.at_category else None
        markup = markup or describe_keyboard(t)
        if reply is Reply.TOO_LARGE:
            await answer(update, _too_large_text(t), markup)
        elif reply is Reply.UNSUPPORTED:
            await answer(update, unsupported_in_report(t), markup)
        elif reply is Reply.KEPT_AT_CATEGORY:
            await answer(
                update,
                t._(
                    "I have kept your message with your request. Please tap the closest category."
                ),
                markup,
            )
        else:
            await answer(update, t._("Added. Add more, or tap Send."), markup)
        return
    if reply is Reply.TOO_LARGE:
        await answer(update, _too_large_text(t), menu_for(t, person))
    elif reply is Reply.UNSUPPORTED:
        from handlers.fallback import unsupported_message

        await unsupported_message(update, context)
    elif reply is Reply.ASK_CATEGORY:
        await answer(update, *prompt_category(t, outcome))
    elif reply is Reply.ASK_WHICH:
        rows = [
            [(f"{ref} · {category_name(t, cat)}", f"att:{tid}")]
            for tid, ref, cat in outcome.labels
        ]
        rows.append([(t._("➕ A new problem"), "att:new")])
        await answer(update, t._("Which request is this about?"), keyboard(rows))
    else:
        await render_added(update, context, outcome)


async def render_added(update: Update, context: SanadContext, outcome: Outcome) -> None:
    """Where messages added to a request went (or why they could not be added)."""
    person = person_of(update, context)
    t = texts_for(update, context)
    if outcome.reply is Reply.CLOSED and outcome.ticket_id is not None:
        await closed_ticket(update, context, outcome.ticket_id)
    elif outcome.reply is Reply.NOT_ADDED:
        await answer(update, t._("I could not add that to a request."), menu_for(t, person))
    elif outcome.reply is Reply.ADDED:
        dispatcher.kick(context.application)
        # Danger in these messages was answered with the guidance as each one arrived.
        await answer(
            update, t._("Sent to your caseworker, with your request {ref}.", ref=outcome.reference)
        )


async def closed_ticket(update: Update, context: SanadContext, ticket_id: int) -> None:
    """A message about a resolved ticket (the flow was already left): offer to reopen it or
    report something new."""
    t = texts_for(update, context)
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
    target = query.data.split(":", 1)[1]
    outcome = await context.db.run(intake.attach, person=person, target=target)
    if outcome.reply is Reply.STALE:
        await stale(query, t)
        return
    await query.answer()
    await query.edit_message_reply_markup(None)
    if outcome.reply is Reply.ASK_CATEGORY:
        await answer(update, *prompt_category(t, outcome))
    else:
        await render_added(update, context, outcome)
