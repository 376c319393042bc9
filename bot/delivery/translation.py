"""Machine translation before a notice is rendered, off the event loop.

Originals are never replaced: a translation is stored beside the original with its status and
model, and every reader sees which one they are reading. Safeguarding and routing have already
run on the original text by the time anything is translated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot.services import tickets
from bot.services.translation import Translation, detect_language
from storage.models import Direction, Notification, TicketMessage, TranslationStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Todo:
    """What a notice shows that its reader cannot read yet: (message id, text, language)."""

    target: str
    messages: list[tuple[int, str, str | None]]


async def translate_text(
    app: Any, text: str, *, target: str, source: str | None, force: bool = False
) -> Translation:
    """Translates with the application's translator; untranslated (and said so) without one."""
    translator = app.bot_data.translator
    if translator is None:
        return untranslated(target, source)
    return await translator.translate(text, target=target, source=source, force=force)


def untranslated(target: str, source: str | None) -> Translation:
    """The result recorded when there is no translator."""
    return Translation(None, source or "und", target, TranslationStatus.NO_MODEL)


def without_model(
    translator: Any, text: str, *, target: str, source: str | None
) -> Translation | None:
    """What translating would give without running a model (no translator, no model for the
    pair, nothing to translate), so it can be kept in the render's transaction; else None."""
    if translator is None:
        return untranslated(target, source)
    model_for = getattr(translator, "model_for", None)
    if model_for is None:  # a translator that does not say: always asked
        return None
    source = source or detect_language(text)
    if source == "und" or source == target or not text.strip():
        return Translation(text, source, target, TranslationStatus.SAME_LANGUAGE)
    if model_for(source, target) is None:
        return Translation(None, source, target, TranslationStatus.NO_MODEL)
    return None


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
            for m in tickets.messages_of(
                session, notice.ticket_id, include_notes=False, until=notice.created_at
            )
            if m.direction == Direction.IN
        ]
    return []


def todo(session: Session, notice: Notification, target: str) -> Todo:
    """The messages of ``notice`` still to translate into its reader's language ``target``."""
    return Todo(
        target,
        [
            (m.id or 0, m.text, m.language)
            for m in _messages_shown(session, notice)
            if tickets.needs_translation(m, target)
        ],
    )


def store(session: Session, results: list[tuple[int, Translation]]) -> None:
    """Keeps each translation beside its original (in the caller's transaction)."""
    for message_id, result in results:
        tickets.store_translation(session, message_id=message_id, result=result)
        logger.info("message %s translation: %s", message_id, result.status)


async def translate_all(app: Any, work: Todo) -> list[tuple[int, Translation]]:
    """Translates what a notice shows, outside any transaction; a message the translator
    fails on stays untranslated (better than undelivered) and is not recorded."""
    done: list[tuple[int, Translation]] = []
    for message_id, text, source in work.messages:
        try:
            done.append(
                (message_id, await translate_text(app, text, target=work.target, source=source))
            )
        except Exception:
            logger.exception("message %s: translation failed", message_id)
    return done
