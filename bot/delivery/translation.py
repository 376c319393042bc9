"""Machine translation before a notice is rendered, off the event loop.

Originals are never replaced: a translation is stored beside the original with its status and
model, and every reader sees which one they are reading. Safeguarding and routing have already
run on the original text by the time anything is translated.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session

from bot.services import people, tickets
from bot.services.translation import Translation
from storage.db import Database
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


def _messages_shown(session: Session, notice: Notification) -> list[TicketMessage]:
    """The ticket messages a notice will show, which may need translating."""
    if notice.ticket_id is None:
        return []
    if notice.message_id is not None:
        message = session.get(TicketMessage, notice.message_id)
        return [message] if message is not None else []
    if str(notice.kind).startswith("staff."):
        return [
            m
            for m in tickets.messages_of(session, notice.ticket_id, include_notes=False)
            if m.direction == "in"
        ]
    return []


def _todo(session: Session, notice_id: int) -> tuple[str, list[tuple[int, str, str | None]]]:
    """The reader's language and the (message id, text, language) still to translate."""
    notice = session.get(Notification, notice_id)
    if notice is None:
        return "", []
    reader = people.identify(session, telegram_user_id=notice.chat_id, language_code=None)
    return reader.language, [
        (m.id or 0, m.text, m.language)
        for m in _messages_shown(session, notice)
        if tickets.needs_translation(m, reader.language)
    ]


def _store(session: Session, message_id: int, result: Translation) -> None:
    """Keeps one translation beside its original."""
    tickets.store_translation(session, message_id=message_id, result=result)


async def prepare(app: Any, notice_id: int) -> None:
    """Translates what a notice shows into its reader's language, storing each translation."""
    db: Database = app.bot_data.db
    target, todo = await db.run(_todo, notice_id)
    for message_id, text, source in todo:
        result = await translate_text(app, text, target=target, source=source)
        await db.run(_store, message_id, result)
        logger.info("message %s translation: %s", message_id, result.status)
