"""Machine translation in the relay: translate just before a notice is rendered, off the loop.

Originals are never replaced: a translation is stored beside the original with its status and
model, and every reader sees which one they are reading. Safeguarding and routing have already
run on the original text by the time anything is translated.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update

from bot.context import SanadContext
from bot.services import people, tickets
from bot.services.errors import DomainError
from bot.services.translation import Translation
from storage.models import Notification, TicketMessage

logger = logging.getLogger(__name__)


async def translate_text(
    app: Any, text: str, *, target: str, source: str | None, force: bool = False
) -> Translation:
    """Translates with the application's translator; untranslated (and said so) without one."""
    translator = app.bot_data.translator
    if translator is None:
        return Translation(None, source or "und", target, "no_model")
    return await translator.translate(text, target=target, source=source, force=force)


def _messages_shown(session: Any, notification: Notification) -> list[TicketMessage]:
    """The ticket messages a notice will show, which may need translating."""
    if notification.ticket_id is None:
        return []
    if notification.message_id is not None:
        message = session.get(TicketMessage, notification.message_id)
        return [message] if message is not None else []
    if notification.template.startswith("staff."):
        return [
            m
            for m in tickets.messages_of(session, notification.ticket_id, include_notes=False)
            if m.direction == "in"
        ]
    return []


async def prepare(app: Any, notification_id: int) -> None:
    """Translates what a notice shows into its reader's language, storing each translation."""
    db = app.bot_data.db
    with db.session() as session:
        notification = session.get(Notification, notification_id)
        if notification is None:
            return
        reader = people.identify(
            session, telegram_user_id=notification.chat_id, language_code=None
        )
        todo = [
            (m.id or 0, m.text, m.language)
            for m in _messages_shown(session, notification)
            if tickets.needs_translation(m, reader.language)
        ]
    for message_id, text, source in todo:
        result = await translate_text(app, text, target=reader.language, source=source)
        with db.session() as session:
            tickets.store_translation(session, message_id=message_id, result=result)
        logger.info("message %s translation: %s", message_id, result.status)


async def again_button(update: Update, context: SanadContext) -> None:
    """Translate again: fresh machine translations of the family's messages, then the card."""
    from handlers.staff_tickets import pressed, show_card

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
    from handlers.staff_tickets import pressed

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
