"""Turning tickets into text and buttons in the reader's language; every sentence is whole."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from bot.i18n import Texts
from handlers.common import keyboard
from storage.models import Category, Ticket, TicketMessage, TicketStatus

TELEGRAM_LIMIT = 4096


def split_text(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Splits a long text into Telegram-sized pieces at paragraph, line or word breaks."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max(
            rest.rfind("\n\n", 0, limit), rest.rfind("\n", 0, limit), rest.rfind(" ", 0, limit)
        )
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def category_name(t: Texts, category: Category | None) -> str:
    """A category's name in the reader's language (names are data in both languages)."""
    if category is None:
        return "?"
    name = category.name_ar if t.language == "ar" else category.name_en
    return f"{category.emoji} {name}".strip()


def family_status(t: Texts, status: TicketStatus) -> str:
    """A status as the family reads it."""
    return {
        TicketStatus.RECEIVED: t._("Received"),
        TicketStatus.WITH_CASEWORKER: t._("With your caseworker"),
        TicketStatus.WAITING_FAMILY: t._("Waiting for your answer"),
        TicketStatus.RESOLVED: t._("Resolved"),
    }[status]


def priority_name(t: Texts, priority: str) -> str:
    """A priority as staff read it."""
    return {
        "urgent": t._("urgent"),
        "high": t._("high"),
        "normal": t._("normal"),
        "low": t._("low"),
    }.get(priority, priority)


def emergency_guidance(t: Texts) -> str:
    """What to do in an emergency, with the UK numbers."""
    return t._(
        "If anyone is in danger now, call 999. For urgent medical help call NHS 111. "
        "To talk to someone at any time, call Samaritans free on 116 123."
    )


def message_body(t: Texts, message: TicketMessage) -> str:
    """The text of one ticket message, naming attachments that travel beside it."""
    kinds = {
        "photo": t._("[photo]"),
        "voice": t._("[voice note]"),
        "document": t._("[document]"),
    }
    label = kinds.get(message.kind, "")
    if label and message.text:
        return f"{label} {message.text}"
    return label or message.text


def readable(t: Texts, message: TicketMessage) -> str:
    """A message for a reader: the original, and a translation into their language marked as
    machine translation (or a person-written version), or a clear note that it is untranslated.
    """
    body = message_body(t, message)
    if message.translation_status == "human" and message.translation:
        return message.translation if message.translation_target == t.language else body
    if not message.text.strip() or message.language in (None, "und", t.language):
        return body
    if (
        message.translation_status == "translated"
        and message.translation
        and message.translation_target == t.language
    ):
        heading = t._("🌐 Machine translation, may contain mistakes:")
        if message.translation_flagged:
            heading = t._("🌐 Machine translation, marked as wrong by staff:")
        original = t._("Original:")
        return f"{heading}\n{message.translation}\n\n{original}\n{body}"
    if message.translation_status == "failed":
        return t._("⚠️ Not translated: the translation failed. Original:") + "\n" + body
    return t._("⚠️ Not translated: no translation model is installed. Original:") + "\n" + body


def needs_translation_buttons(t: Texts, messages: list[TicketMessage]) -> bool:
    """Whether a card shows family words in another language than the reader's."""
    return any(
        m.direction == "in" and m.text.strip() and m.language not in (None, "und", t.language)
        for m in messages
    )


@dataclass
class CardContext:
    """Everything a staff ticket card shows."""

    ticket: Ticket
    household_ref: str
    district: str
    category: Category | None
    assignee: str | None
    messages: list[TicketMessage]


def staff_header(t: Texts, card: CardContext) -> str:
    """The first lines of every staff message about a ticket."""
    ticket = card.ticket
    lines = []
    if ticket.urgent:
        lines.append(t._("🚨 URGENT"))
    lines.append(
        t._(
            "Ticket {ref} · family {family} · {district}",
            ref=ticket.reference,
            family=card.household_ref,
            district=card.district,
        )
    )
    lines.append(
        t._(
            "Category: {category} · priority {priority}",
            category=category_name(t, card.category),
            priority=priority_name(t, ticket.priority),
        )
    )
    if ticket.status == TicketStatus.RESOLVED:
        lines.append(t._("Status: resolved"))
    elif card.assignee:
        lines.append(t._("Status: with {name}", name=card.assignee))
    else:
        lines.append(t._("Status: in the queue, not claimed yet"))
    if ticket.first_response_at is None and ticket.status != TicketStatus.RESOLVED:
        lines.append(t._("First response due: {due}", due=t.datetime(ticket.due_at)))
    if ticket.family_unreachable:
        lines.append(
            t._("⚠️ The family cannot be reached on Telegram (they may have blocked Sanad).")
        )
    return "\n".join(lines)


def staff_card(t: Texts, card: CardContext, *, intro: str) -> str:
    """A ticket as staff see it: header, then the family's messages."""
    parts = [intro, staff_header(t, card), ""]
    for message in card.messages:
        if message.direction == "in":
            parts.append(t._("Family wrote:"))
        elif message.direction == "out":
            parts.append(t._("Staff replied:"))
        else:
            parts.append(t._("Internal note:"))
        parts.append(
            readable(t, message) if message.direction == "in" else message_body(t, message)
        )
    return "\n".join(parts).strip()


def staff_buttons(
    t: Texts, ticket: Ticket, *, translated: bool = False
) -> InlineKeyboardMarkup | None:
    """Claim, reply, resolve, reassign, note, urgency, saved replies and translation checks."""
    if ticket.status == TicketStatus.RESOLVED:
        return None
    tid = ticket.id
    rows = []
    if ticket.assignee_id is None:
        rows.append([(t._("🙋 Claim"), f"tk:claim:{tid}"), (t._("💬 Reply"), f"tk:reply:{tid}")])
    else:
        rows.append(
            [(t._("💬 Reply"), f"tk:reply:{tid}"), (t._("📋 Saved reply"), f"tk:saved:{tid}")]
        )
    rows.append(
        [(t._("✅ Resolve"), f"tk:resolve:{tid}"), (t._("↪️ Reassign"), f"tk:reassign:{tid}")]
    )
    urgency = (
        (t._("⬇️ Not urgent"), f"tk:urgent:{tid}:0")
        if ticket.urgent
        else (t._("🚨 Mark urgent"), f"tk:urgent:{tid}:1")
    )
    rows.append([(t._("📝 Internal note"), f"tk:note:{tid}"), urgency])
    if translated:
        rows.append(
            [
                (t._("🔁 Translate again"), f"tr:again:{tid}"),
                (t._("⚠️ Wrong translation"), f"tr:wrong:{tid}"),
            ]
        )
    return keyboard(rows)


def family_ticket_line(t: Texts, ticket: Ticket, category: Category | None) -> str:
    """One of the family's requests in their list."""
    return t._(
        "{ref} · {category}\nStatus: {status}",
        ref=ticket.reference,
        category=category_name(t, category),
        status=family_status(t, ticket.status),
    )
