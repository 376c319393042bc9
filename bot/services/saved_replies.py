"""Saved replies: written by a person in English and Arabic, sent to a ticket with two taps."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.services import audit
from bot.services.errors import Forbidden, InvalidInput, NotFound
from bot.services.people import Person
from storage.models import SavedReply

MAX_TITLE = 40


def _staff_id(person: Person) -> int:
    """Only staff keep saved replies."""
    if not person.is_staff or person.staff_id is None:
        raise Forbidden("staff only")
    return person.staff_id


def add(
    session: Session,
    *,
    person: Person,
    title: str,
    text_en: str,
    text_ar: str,
    source: tuple[int, int] | None = None,
) -> SavedReply:
    """Saves a reply; both languages are required and written by a person. The same
    Telegram message (``source``) redelivered returns the reply it already made."""
    owner = _staff_id(person)
    if source is not None:
        existing = session.exec(
            select(SavedReply).where(
                SavedReply.source_chat_id == source[0],
                SavedReply.source_message_id == source[1],
            )
        ).first()
        if existing is not None:
            return existing
    title, text_en, text_ar = title.strip(), text_en.strip(), text_ar.strip()
    if not title or not text_en or not text_ar:
        raise InvalidInput("a saved reply needs a title, English text and Arabic text")
    if len(title) > MAX_TITLE:
        raise InvalidInput("title too long")
    saved = SavedReply(
        owner_id=owner,
        title=title,
        text_en=text_en,
        text_ar=text_ar,
        source_chat_id=source[0] if source else None,
        source_message_id=source[1] if source else None,
    )
    session.add(saved)
    session.flush()
    audit.record(
        session, actor=f"staff:{owner}", action="saved_reply.add", subject=f"saved:{saved.id}"
    )
    return saved


def mine(session: Session, *, person: Person) -> list[SavedReply]:
    """The caller's saved replies, by title."""
    owner = _staff_id(person)
    return list(
        session.exec(
            select(SavedReply).where(SavedReply.owner_id == owner).order_by(col(SavedReply.title))
        )
    )


def get(session: Session, *, person: Person, reply_id: int) -> SavedReply:
    """One of the caller's saved replies."""
    owner = _staff_id(person)
    saved = session.get(SavedReply, reply_id)
    if saved is None or saved.owner_id != owner:
        raise NotFound("saved reply")
    return saved


def delete(session: Session, *, person: Person, reply_id: int) -> None:
    """Removes one of the caller's saved replies."""
    saved = get(session, person=person, reply_id=reply_id)
    session.delete(saved)


def text_for(saved: SavedReply, language: str) -> str:
    """The version written for a family's language."""
    return saved.text_ar if language == "ar" else saved.text_en
