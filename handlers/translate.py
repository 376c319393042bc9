"""Staff buttons on translated cards: translate again, or flag a wrong translation."""

from __future__ import annotations

from telegram import Update

from bot.context import SanadContext
from bot.delivery.translation import translate_text
from bot.services import tickets
from bot.services.errors import DomainError
from handlers.staff_tickets import pressed, show_card


async def again_button(update: Update, context: SanadContext) -> None:
    """Translate again: fresh machine translations of the family's messages, then the card."""
    press = pressed(update, context)
    query, person, t, ticket_id = press.query, press.person, press.t, press.ticket_id
    try:
        with context.db.session() as session:
            todo = [
                (m.id or 0, m.text, m.language)
                for m in tickets.translated_messages(session, person=person, ticket_id=ticket_id)
                if m.language != person.language
            ]
    except DomainError as exc:
        await press.refuse(exc)
        return
    await query.answer(t._("Translating again…"))
    for message_id, text, source in todo:
        result = await translate_text(
            context.application, text, target=person.language, source=source, force=True
        )
        with context.db.session() as session:
            tickets.store_translation(session, message_id=message_id, result=result)
    await show_card(update, context, ticket_id, intro=t._("🔁 Translated again"))


async def wrong_button(update: Update, context: SanadContext) -> None:
    """Wrong translation: flags it on the ticket (and in the audit trail) for everyone."""
    press = pressed(update, context)
    query, person, t, ticket_id = press.query, press.person, press.t, press.ticket_id
    try:
        with context.db.session() as session:
            tickets.flag_translation(session, person=person, ticket_id=ticket_id)
    except DomainError as exc:
        await press.refuse(exc)
        return
    await query.answer(
        t._("Marked as a wrong translation. Rely on the original, or use an interpreter."),
        show_alert=True,
    )
