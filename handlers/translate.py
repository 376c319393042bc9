"""Staff buttons on translated cards: translate again, or flag a wrong translation."""

from __future__ import annotations

from telegram import Update

from bot.context import SanadContext
from bot.delivery.translation import translate_text
from bot.services import staff_actions, tickets
from bot.services.errors import DomainError
from handlers.staff_tickets import pressed, show_card


async def again_button(update: Update, context: SanadContext) -> None:
    """Translate again: fresh machine translations of the family's messages, then the card."""
    press = pressed(update, context)
    query, person, t, ticket_id = press.query, press.person, press.t, press.ticket_id
    try:
        todo = await context.db.run(
            staff_actions.to_translate_again, person=person, ticket_id=ticket_id
        )
    except DomainError as exc:
        await press.refuse(exc)
        return
    await query.answer(t._("Translating again…"))
    # The translator runs in its own thread; no transaction stays open while it works.
    results = [
        (
            item.message_id,
            await translate_text(
                context.application,
                item.text,
                target=person.language,
                source=item.language,
                force=True,
            ),
        )
        for item in todo
    ]
    await context.db.run(staff_actions.store_translations, results)
    await show_card(update, context, ticket_id, intro=t._("🔁 Translated again"))


async def wrong_button(update: Update, context: SanadContext) -> None:
    """Wrong translation: flags it on the ticket (and in the audit trail) for everyone."""
    press = pressed(update, context)
    query, person, t, ticket_id = press.query, press.person, press.t, press.ticket_id
    try:
        await context.db.run(tickets.flag_translation, person=person, ticket_id=ticket_id)
    except DomainError as exc:
        await press.refuse(exc)
        return
    await query.answer(
        t._("Marked as a wrong translation. Rely on the original, or use an interpreter."),
        show_alert=True,
    )
