"""Caseworkers, leads and coordinators: /tickets, ticket buttons, replies, notes, saved replies."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlmodel import Session
from telegram import CallbackQuery, Update

from bot.context import SanadContext
from bot.delivery import dispatcher
from bot.i18n import BIDI_CONTROLS, Texts, plain
from bot.services import audit, saved_replies, staff_actions, tickets
from bot.services.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    TicketClaimed,
    TicketResolved,
)
from bot.services.people import Person
from bot.services.staff_actions import Outcome, Writing, Written
from handlers.callbacks import MAX_ID
from handlers.cards import card_context
from handlers.common import answer, edit_or_send, keyboard, person_of, texts_for
from handlers.menu import menu_for
from handlers.render import (
    CardContext,
    category_name,
    needs_translation_buttons,
    split_text,
    staff_buttons,
    staff_card,
)
from storage.models import Ticket

logger = logging.getLogger(__name__)

# Pauses before a Telegram reply to an unlinked message is asked about again (see below).
LINK_GRACE_SECONDS = (0.1, 0.3, 0.6)


def error_text(t: Texts, exc: DomainError, ref: str) -> str:
    """A staff-facing explanation of why a ticket action did not happen."""
    if isinstance(exc, NotFound):
        return t._("There is no ticket {ref} that you can see.", ref=ref)
    if isinstance(exc, TicketResolved):
        return t._(
            "Ticket {ref} is resolved, so nothing was sent. The family can reopen it.", ref=ref
        )
    if isinstance(exc, TicketClaimed):
        return t._(
            "Ticket {ref} was already claimed by {name}.", ref=ref, name=exc.details.get("holder")
        )
    if isinstance(exc, InvalidInput):
        return t._("Please write some text.")
    if isinstance(exc, Forbidden):
        return t._("You can't do that with ticket {ref}.", ref=ref)
    return t._("That did not work. Nothing was changed.")


def _ticket_id(data: str) -> int:
    """The ticket id in callback data like ``tk:claim:42``; 0 (no ticket) when forged."""
    text = data.split(":")[2]
    return int(text) if text.isdigit() and int(text) <= MAX_ID else 0


@dataclass
class Press:
    """A button press on a ticket: who pressed, in which language, about which ticket."""

    query: CallbackQuery
    person: Person
    t: Texts
    ticket_id: int
    data: str

    @property
    def ref(self) -> str:
        """The ticket's reference."""
        return tickets.reference(self.ticket_id)

    async def refuse(self, exc: DomainError) -> None:
        """Explains, in a pop-up, why nothing happened."""
        await self.query.answer(error_text(self.t, exc, self.ref), show_alert=True)


def pressed(update: Update, context: SanadContext) -> Press:
    """Reads a ticket button press."""
    query = update.callback_query
    assert query is not None and query.data is not None
    return Press(
        query=query,
        person=person_of(update, context),
        t=texts_for(update, context),
        ticket_id=_ticket_id(query.data),
        data=query.data,
    )


def _visible_card(session: Session, person: Person, ticket_id: int) -> CardContext:
    """What a fresh card shows about a ticket the caller may see (read in one transaction);
    the read itself is in the audit trail (a household's data shown to staff)."""
    ticket, _ = tickets.get_visible(session, person, ticket_id)
    audit.record(
        session,
        actor=f"staff:{person.staff_id}",
        action="ticket.view",
        subject=f"ticket:{ticket_id}",
        household=ticket.household_id,
    )
    return card_context(session, ticket, include_notes=True)


async def show_card(update: Update, context: SanadContext, ticket_id: int, intro: str) -> None:
    """Sends a fresh card for a ticket, linked so replies to it find the ticket."""
    person = person_of(update, context)
    t = texts_for(update, context)
    card = await context.db.run(_visible_card, person, ticket_id)
    text = staff_card(t, card, intro=intro)
    markup = staff_buttons(t, card.ticket, translated=needs_translation_buttons(t, card.messages))
    pieces = split_text(text)
    for index, piece in enumerate(pieces):
        sent = await answer(update, piece, markup if index == len(pieces) - 1 else None)
        if sent is not None:  # linked only once Telegram has given the message its id
            await context.db.run(
                tickets.link_message,
                chat_id=sent.chat_id,
                message_id=sent.message_id,
                ticket_id=ticket_id,
            )


# ---------------------------------------------------------------- /tickets


async def staff_tickets_command(update: Update, context: SanadContext) -> None:
    """/tickets for staff: my open tickets and the unclaimed queue, with buttons."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    person = person_of(update, context)
    t = texts_for(update, context)
    # One transaction, off the event loop; only what the list shows is loaded.
    view = await context.db.run(tickets.staff_tickets, person=person, limit=15)
    lines, rows = [], []
    lines.append(t.n_("Your open tickets: {n}", "Your open tickets: {n}", view.mine_total))
    for ticket in view.mine:
        lines.append(_line(t, view, ticket))
        rows.append([(t._("Open {ref}", ref=ticket.reference), f"tk:open:{ticket.id}")])
    lines.append("")
    lines.append(
        t.n_("Unclaimed in the queue: {n}", "Unclaimed in the queue: {n}", view.queue_total)
    )
    for ticket in view.queue:
        lines.append(_line(t, view, ticket))
        rows.append(
            [
                (t._("Open {ref}", ref=ticket.reference), f"tk:open:{ticket.id}"),
                (t._("🙋 Claim {ref}", ref=ticket.reference), f"tk:claim:{ticket.id}"),
            ]
        )
    await answer(update, "\n".join(lines), keyboard(rows) if rows else None)


def _line(t: Texts, view: tickets.StaffView, ticket: Ticket) -> str:
    """One ticket in a staff list: urgency, reference, family, category, deadline."""
    household = view.households.get(ticket.household_id)
    category = view.categories.get(ticket.category_id)
    flags = ("🚨 " if ticket.urgent else "") + (
        "⏰ " if ticket.first_response_at is None and ticket.escalation_level else ""
    )
    if ticket.first_response_at is None:
        return flags + t._(
            "{ref} · {family} · {category} · answer by {due}",
            ref=ticket.reference,
            family=household.reference if household else "?",
            category=category_name(t, category),
            due=t.datetime(ticket.due_at),
        )
    return flags + t._(
        "{ref} · {family} · {category}",
        ref=ticket.reference,
        family=household.reference if household else "?",
        category=category_name(t, category),
    )


async def open_button(update: Update, context: SanadContext) -> None:
    """Open: shows the full card of a ticket."""
    query = update.callback_query
    assert query is not None and query.data is not None
    t = texts_for(update, context)
    ticket_id = _ticket_id(query.data)
    try:
        await query.answer()
        await show_card(update, context, ticket_id, intro=t._("📄 Ticket"))
    except DomainError as exc:
        await answer(update, error_text(t, exc, tickets.reference(ticket_id)))


# ---------------------------------------------------------------- card buttons


async def claim_button(update: Update, context: SanadContext) -> None:
    """Claim: exactly one caseworker wins; the other is told who has it."""
    press = pressed(update, context)
    query, person, t = press.query, press.person, press.t
    ticket_id, ref = press.ticket_id, press.ref
    try:
        ticket = await context.db.run(tickets.claim, person=person, ticket_id=ticket_id)
    except DomainError as exc:
        await press.refuse(exc)
        return
    markup = staff_buttons(t, ticket)
    await query.answer(t._("You have claimed {ref}.", ref=ref))
    await answer(update, t._("You have claimed {ref}. Reply when you are ready.", ref=ref), markup)


async def reply_button(update: Update, context: SanadContext) -> None:
    """Reply: the next message is the answer to the family."""
    await _start_staff_flow(update, context, Writing.REPLY)


async def note_button(update: Update, context: SanadContext) -> None:
    """Internal note: the next message is kept on the ticket, never sent to the family."""
    await _start_staff_flow(update, context, Writing.NOTE)


async def _start_staff_flow(update: Update, context: SanadContext, kind: Writing) -> None:
    """Asks for the text of a reply or a note."""
    press = pressed(update, context)
    query, person, t = press.query, press.person, press.t
    ticket_id, ref = press.ticket_id, press.ref
    try:
        await context.db.run(
            staff_actions.start_writing, person=person, ticket_id=ticket_id, kind=kind
        )
    except DomainError as exc:
        await press.refuse(exc)
        return
    await query.answer()
    prompt = (
        t._("Write your reply to {ref}. It goes to the family. Send /cancel to stop.", ref=ref)
        if kind is Writing.REPLY
        else t._("Write your internal note on {ref}. The family never sees it.", ref=ref)
    )
    await answer(update, prompt)


async def resolve_button(update: Update, context: SanadContext) -> None:
    """Resolve: the family is told and may reopen within seven days."""
    press = pressed(update, context)
    query, person, t = press.query, press.person, press.t
    ticket_id, ref = press.ticket_id, press.ref
    try:
        await context.db.run(tickets.resolve, person=person, ticket_id=ticket_id)
    except DomainError as exc:
        await press.refuse(exc)
        return
    await query.answer()
    await edit_or_send(
        update, t._("✅ {ref} is resolved. The family has been told.", ref=ref), None
    )
    dispatcher.kick(context.application)


async def reassign_button(update: Update, context: SanadContext) -> None:
    """Reassign: pick a colleague of the same provider, or send it back to the queue."""
    press = pressed(update, context)
    query, person, t = press.query, press.person, press.t
    ticket_id, ref = press.ticket_id, press.ref
    try:
        options = await context.db.run(tickets.colleagues, person=person, ticket_id=ticket_id)
    except DomainError as exc:
        await press.refuse(exc)
        return
    rows = [[(s.name, f"tk:to:{ticket_id}:{s.id}")] for s in options[:10]]
    rows.append([(t._("↩️ Back to the queue"), f"tk:to:{ticket_id}:q")])
    await query.answer()
    await answer(update, t._("Who should take {ref}?", ref=ref), keyboard(rows))


async def reassign_to_button(update: Update, context: SanadContext) -> None:
    """The chosen colleague (or the queue) gets the ticket."""
    query = update.callback_query
    assert query is not None and query.data is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    _, _, raw_id, target = query.data.split(":")
    ticket_id = int(raw_id)
    ref = tickets.reference(ticket_id)
    try:
        to = None if target == "q" else int(target)
        name = await context.db.run(
            staff_actions.reassign, person=person, ticket_id=ticket_id, to_staff_id=to
        )
    except (DomainError, ValueError) as exc:
        error = exc if isinstance(exc, DomainError) else Forbidden("bad target")
        await query.answer(error_text(t, error, ref), show_alert=True)
        return
    await query.answer()
    text = (
        t._("{ref} is now with {name}.", ref=ref, name=name)
        if name
        else t._("{ref} is back in the queue.", ref=ref)
    )
    await edit_or_send(update, text, None)
    dispatcher.kick(context.application)


async def urgent_button(update: Update, context: SanadContext) -> None:
    """Mark or unmark urgency."""
    press = pressed(update, context)
    query, person, t = press.query, press.person, press.t
    ticket_id, ref = press.ticket_id, press.ref
    urgent = press.data.endswith(":1")
    try:
        ticket = await context.db.run(
            tickets.set_urgent, person=person, ticket_id=ticket_id, urgent=urgent
        )
    except DomainError as exc:
        await press.refuse(exc)
        return
    markup = staff_buttons(t, ticket)
    await query.answer(
        t._("{ref} is marked urgent.", ref=ref)
        if urgent
        else t._("{ref} is no longer urgent.", ref=ref)
    )
    await query.edit_message_reply_markup(markup)
    dispatcher.kick(context.application)


# ---------------------------------------------------------------- saved replies


async def saved_button(update: Update, context: SanadContext) -> None:
    """Saved reply: choose one of mine for this ticket."""
    query = update.callback_query
    assert query is not None and query.data is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    ticket_id = _ticket_id(query.data)
    mine = await context.db.run(saved_replies.mine, person=person)
    await query.answer()
    if not mine:
        await answer(update, _no_saved_text(t))
        return
    rows = [[(s.title, f"tk:sr:{ticket_id}:{s.id}")] for s in mine[:20]]
    await answer(
        update,
        t._("Which saved reply for {ref}?", ref=tickets.reference(ticket_id)),
        keyboard(rows),
    )


def _no_saved_text(t: Texts) -> str:
    """How to create a saved reply."""
    return t._(
        "You have no saved replies yet. Add one, written in both languages:\n"
        "/saved add Title | English text | Arabic text"
    )


async def send_saved_button(update: Update, context: SanadContext) -> None:
    """Sends a saved reply; the family reads the version in their language."""
    press = pressed(update, context)
    query, person, t, ref = press.query, press.person, press.t, press.ref
    reply_id = int(press.data.split(":")[3])
    try:
        await context.db.run(
            staff_actions.send_saved, person=person, ticket_id=press.ticket_id, reply_id=reply_id
        )
    except DomainError as exc:
        await press.refuse(exc)
        return
    await query.answer()
    await edit_or_send(update, t._("Saved reply sent to the family of {ref}.", ref=ref), None)
    dispatcher.kick(context.application)


async def saved_command(update: Update, context: SanadContext) -> None:
    """/saved: list, add (``/saved add Title | English | Arabic``) or delete saved replies."""
    person = person_of(update, context)
    t = texts_for(update, context)
    message = update.effective_message
    assert message is not None and message.text is not None
    rest = message.text.partition(" ")[2].strip()
    if rest.lower().startswith("add"):
        fields = [f.strip() for f in rest[3:].split("|")]
        try:
            if len(fields) != 3:
                raise InvalidInput("fields")
            saved = await context.db.run(
                saved_replies.add,
                person=person,
                title=fields[0],
                text_en=fields[1],
                text_ar=fields[2],
                source=(message.chat_id, message.message_id),
            )
        except DomainError:
            await answer(update, _no_saved_text(t))
            return
        await answer(update, t._("Saved reply \u201c{title}\u201d added.", title=saved.title))
        return
    mine = await context.db.run(saved_replies.mine, person=person)
    if not mine:
        await answer(update, _no_saved_text(t))
        return
    lines = [t._("Your saved replies:")]
    rows = []
    for saved in mine:
        lines.append(f"• {saved.title}\n  EN: {saved.text_en}\n  AR: {saved.text_ar}")
        rows.append([(t._("🗑 Delete {title}", title=saved.title), f"sr:del:{saved.id}")])
    # A long list is split at entries, never cut; the delete buttons sit under the last part.
    pieces = split_text("\n\n".join(lines))
    for piece in pieces[:-1]:
        await answer(update, piece)
    await answer(update, pieces[-1], keyboard(rows))


async def delete_saved_button(update: Update, context: SanadContext) -> None:
    """Deletes one of my saved replies."""
    query = update.callback_query
    assert query is not None and query.data is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        reply_id = _ticket_id(query.data)  # the same bounds: a forged number finds nothing
        await context.db.run(saved_replies.delete, person=person, reply_id=reply_id)
    except DomainError:
        await query.answer(t._("This button no longer works."), show_alert=True)
        return
    await query.answer(t._("Deleted."))
    await query.edit_message_reply_markup(None)


# ---------------------------------------------------------------- replies and notes


async def reply_command(update: Update, context: SanadContext) -> None:
    """``/reply K-0042 text``."""
    await _command_with_ref(update, context, note=False)


async def note_command(update: Update, context: SanadContext) -> None:
    """``/note K-0042 text``."""
    await _command_with_ref(update, context, note=True)


async def _command_with_ref(update: Update, context: SanadContext, *, note: bool) -> None:
    """Parses ``/reply|/note <ref> <text>`` and acts."""
    t = texts_for(update, context)
    message = update.effective_message
    assert message is not None and message.text is not None
    _, _, rest = message.text.partition(" ")
    # A reference copied from an Arabic message carries bidi marks, and may be typed ٤٢.
    ref_text, _, text = rest.lstrip(BIDI_CONTROLS).strip().partition(" ")
    ref_text = plain(ref_text)
    if not ref_text or not text.strip():
        usage = (
            t._("Write it like this: /note K-0042 your note")
            if note
            else t._("Write it like this: /reply K-0042 your answer")
        )
        await answer(update, usage)
        return
    try:
        ticket_id = tickets.parse_reference(ref_text)
    except NotFound:
        await answer(update, t._("There is no ticket {ref} that you can see.", ref=ref_text))
        return
    await _act(update, context, ticket_id, text, note=note)


async def _act(
    update: Update, context: SanadContext, ticket_id: int, text: str, *, note: bool
) -> None:
    """Sends a reply or keeps a note, then confirms."""
    message = update.effective_message
    assert message is not None
    outcome = await context.db.run(
        staff_actions.write,
        person=person_of(update, context),
        ticket_id=ticket_id,
        text=text,
        note=note,
        source=(message.chat_id, message.message_id),
    )
    await _tell(update, context, outcome)


async def on_staff_message(update: Update, context: SanadContext) -> None:
    """Staff text: a reply or note in progress, a Telegram reply to a ticket, or a hint."""
    message = update.effective_message
    assert message is not None
    replied = message.reply_to_message

    async def ask() -> Outcome:
        """What the message does, in one transaction."""
        return await context.db.run(
            staff_actions.staff_message,
            person=person_of(update, context),
            text=message.text or message.caption or "",
            source=(message.chat_id, message.message_id),
            reply_to=replied.message_id if replied is not None else None,
        )

    outcome = await ask()
    # The dispatcher links a card to its ticket just after Telegram accepts it; a reply typed
    # within that moment is asked about again (nothing was written) before being refused.
    for pause in LINK_GRACE_SECONDS:
        if outcome.written is not Written.NOT_A_TICKET:
            break
        await asyncio.sleep(pause)
        outcome = await ask()
    await _tell(update, context, outcome)


async def _tell(update: Update, context: SanadContext, outcome: Outcome) -> None:
    """Tells a member of staff what became of what they wrote."""
    t = texts_for(update, context)
    ref = tickets.reference(outcome.ticket_id) if outcome.ticket_id is not None else ""
    if outcome.written is Written.REFUSED:
        assert outcome.error is not None
        await answer(update, error_text(t, outcome.error, ref))
    elif outcome.written is Written.NOTE_KEPT:
        await answer(update, t._("Note kept on {ref}. The family does not see it.", ref=ref))
    elif outcome.written is Written.UNREACHABLE:
        dispatcher.kick(context.application)
        await answer(
            update,
            t._(
                "⚠️ Your reply on {ref} is saved, but the family cannot be reached on Telegram "
                "(they may have blocked Sanad). Please contact them another way.",
                ref=ref,
            ),
        )
    elif outcome.written is Written.SENT:
        dispatcher.kick(context.application)
        await answer(update, t._("Sent to the family of {ref}.", ref=ref))
    elif outcome.written is Written.NOT_A_TICKET:
        await answer(
            update,
            t._(
                "That message is not part of a ticket, so nothing was sent. Reply to a "
                "ticket message, or use /reply K-0042 your answer."
            ),
        )
    else:
        await answer(
            update,
            t._(
                "To answer a family, reply to their ticket message, or use /reply K-0042 your "
                "answer. Your tickets are in /tickets."
            ),
            menu_for(t, person_of(update, context)),
        )
