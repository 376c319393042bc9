"""Families: their requests in /tickets, writing about one, reopening, and "did this help?"."""

from __future__ import annotations

from telegram import Update

from bot.context import SanadContext
from bot.delivery import dispatcher
from bot.i18n import Texts
from bot.services import intake, tickets
from bot.services.errors import Conflict, DomainError, ReopenTooLate
from bot.services.intake import Reply
from handlers.common import answer, keyboard, person_of, texts_for
from handlers.menu import menu_for
from handlers.render import family_ticket_line, readable
from handlers.report import closed_ticket, stale
from storage.models import TicketMessage, TicketStatus


async def family_tickets_command(update: Update, context: SanadContext) -> None:
    """/tickets for a family: their requests, status and latest reply, with buttons."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    person = person_of(update, context)
    t = texts_for(update, context)
    found = await context.db.run(intake.requests, person=person)
    blocks, rows = [], []
    for request in found:
        ticket = request.ticket
        block = family_ticket_line(t, ticket, request.category)
        if request.latest_reply is not None:
            block += "\n" + t._(
                "Latest reply: {text}", text=_short(_reply_text(t, request.latest_reply))
            )
        blocks.append(block)
        if ticket.status != TicketStatus.RESOLVED:
            rows.append(
                [(t._("✍️ Write about {ref}", ref=ticket.reference), f"fam:add:{ticket.id}")]
            )
    if not blocks:
        await answer(
            update,
            t._("You have no requests yet."),
            keyboard([[(t._("📝 Report a problem"), "menu:report")]]),
        )
        return
    rows.append([(t._("📝 Report a problem"), "menu:report")])
    header = t.n_("You have {n} request:", "You have {n} requests:", len(blocks))
    await answer(update, header + "\n\n" + "\n\n".join(blocks), keyboard(rows))


def _reply_text(t: Texts, message: TicketMessage) -> str:
    """The words of a reply, in the family's language when there is a version in it."""
    return readable(t, message)


def _short(text: str, limit: int = 200) -> str:
    """A preview of a long text."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def add_button(update: Update, context: SanadContext) -> None:
    """Write about a request: the next message goes to it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    ticket_id = int(query.data.rsplit(":", 1)[1])
    outcome = await context.db.run(intake.write_about, person=person, ticket_id=ticket_id)
    if outcome.reply is Reply.STALE:
        await stale(query, t)
        return
    if outcome.reply is Reply.CLOSED:
        await query.answer()
        await closed_ticket(update, context, ticket_id)
        return
    await query.answer()
    await answer(
        update,
        t._(
            "Write your message about {ref}, or send a photo or a voice note.",
            ref=tickets.reference(ticket_id),
        ),
        keyboard([[(t._("✖️ Cancel"), "rep:cancel")]]),
    )


async def reopen_button(update: Update, context: SanadContext) -> None:
    """Reopen a resolved request within seven days."""
    query = update.callback_query
    assert query is not None and query.data is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    ticket_id = int(query.data.rsplit(":", 1)[1])
    ref = tickets.reference(ticket_id)
    try:
        await context.db.run(tickets.reopen, person=person, ticket_id=ticket_id)
    except Conflict as exc:
        await query.answer()
        if isinstance(exc, ReopenTooLate):
            text = t._(
                "It is more than 7 days since {ref} was resolved, so it can't be reopened. "
                "Please report a new problem.",
                ref=ref,
            )
        else:
            text = t._("Request {ref} is already open.", ref=ref)
        await answer(update, text, menu_for(t, person))
        return
    except DomainError:
        await stale(query, t)
        return
    await query.answer()
    await answer(
        update, t._("Request {ref} is open again. Your caseworker has been told.", ref=ref)
    )
    dispatcher.kick(context.application)


async def helpful_button(update: Update, context: SanadContext) -> None:
    """Did this help? One tap, kept for the statistics."""
    query = update.callback_query
    assert query is not None and query.data is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    _, _, ticket_id, value = query.data.split(":")
    try:
        await context.db.run(
            tickets.record_feedback, person=person, ticket_id=int(ticket_id), helpful=value == "1"
        )
    except DomainError:
        await stale(query, t)
        return
    await query.answer(t._("Thank you for telling us."))
    await query.edit_message_reply_markup(
        keyboard([[(t._("🔄 Reopen"), f"fam:reopen:{ticket_id}")]])
    )
