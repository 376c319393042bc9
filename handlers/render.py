"""Turning tickets into text and buttons in the reader's language; every sentence is whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telegram import InlineKeyboardMarkup

from bot.i18n import Texts
from bot.services import tickets
from bot.services.safeguarding import DangerLevel
from handlers.common import keyboard
from storage.models import (
    Category,
    Direction,
    PriorityCode,
    Ticket,
    TicketMessage,
    TicketStatus,
    TranslationStatus,
)
from storage.types import utcnow

TELEGRAM_LIMIT = 4096


# Where a long text may be cut, best first: a paragraph, a line, a sentence, then a word.
BREAKS = ("\n\n", "\n", ". ", "؟ ", "? ", "! ", "، ", " ")


def _cut(text: str, limit: int) -> int:
    """Where to cut ``text`` (longer than ``limit``): the best break in the second half."""
    for mark in BREAKS:
        at = text.rfind(mark, 0, limit - len(mark) + 1)
        if at >= limit // 2:
            return at + len(mark.rstrip(" ")) if mark.endswith(" ") else at
    return limit  # one unbroken run longer than half a message: cut it where it must be


def split_text(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Splits a long text into Telegram-sized pieces at paragraph, line, sentence or word
    breaks (the best one in the second half of each piece), never losing a character."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _cut(rest, limit)
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
    # The "family status" context keeps these apart from the staff buttons "Claim", "Resolve".
    return {
        # TRANSLATORS: status of a family's request: we have it, nobody has taken it yet.
        TicketStatus.RECEIVED: t.p_("family status", "Received"),
        # TRANSLATORS: status of a family's request: their caseworker is working on it.
        TicketStatus.WITH_CASEWORKER: t.p_("family status", "With your caseworker"),
        # TRANSLATORS: status of a family's request: the caseworker asked them something.
        TicketStatus.WAITING_FAMILY: t.p_("family status", "Waiting for your answer"),
        # TRANSLATORS: status of a family's request: the problem has been solved (not a button).
        TicketStatus.RESOLVED: t.p_("family status", "Resolved"),
    }[status]


def priority_name(t: Texts, priority: str) -> str:
    """A priority as staff read it, agreeing with the word "priority" (feminine in Arabic)."""
    # A code the reference data added beyond PriorityCode is shown as it is.
    names: dict[str, str] = {
        # TRANSLATORS: a ticket's priority, shown as "priority {priority}"; agree with it.
        PriorityCode.URGENT: t.p_("priority", "urgent"),
        # TRANSLATORS: a ticket's priority, shown as "priority {priority}"; agree with it.
        PriorityCode.HIGH: t.p_("priority", "high"),
        # TRANSLATORS: a ticket's priority, shown as "priority {priority}"; agree with it.
        PriorityCode.NORMAL: t.p_("priority", "normal"),
        # TRANSLATORS: a ticket's priority, shown as "priority {priority}"; agree with it.
        PriorityCode.LOW: t.p_("priority", "low"),
    }
    return names.get(priority, priority)


def emergency_guidance(
    t: Texts,
    *,
    abuse: bool = False,
    out_of_hours: bool = False,
    opens_at: datetime | None = None,
) -> str:
    """What to do in an emergency: the one text every place shows, in the reader's language.

    ``abuse`` adds the National Domestic Abuse Helpline (violence or abuse was mentioned);
    ``out_of_hours`` says first that nobody reads messages until the office opens (at
    ``opens_at``, else the next opening from now) and to call 999 meanwhile.
    """
    paragraphs = []
    if out_of_hours:
        when = opens_at or tickets.WORKING_HOURS.next_opening(utcnow())
        paragraphs.append(
            # TRANSLATORS: after a message out of office hours. {when} is a weekday, date and
            # time. Never promise that someone reads now. Address the family in the plural.
            t._(
                "The office is closed now. Nobody will read messages here until it opens on "
                "{when}. If someone is in danger, call 999 now: do not wait for an answer here.",
                when=t.datetime(when),
            )
        )
    paragraphs.append(
        # TRANSLATORS: the emergency numbers, shown whenever danger is mentioned and in /help.
        # Dial 999 (life in danger) and 111 (urgent medical, not life-threatening); "NHS 111"
        # is only the service's name. Families must say the English word "Arabic" to get an
        # interpreter: keep it in Latin letters, with how it sounds. Keep "Samaritans" beside
        # its Arabic spelling. 0800 111 999 is the free gas emergency line. Wrap every number
        # in U+2068…U+2069 so it is never reversed (never at the start of a line), and
        # address the family in the plural (they may be a woman, a man or several people).
        t._(
            "🆘 If someone's life is in danger now (someone is badly hurt or cannot breathe, "
            "violence or threats, a missing child, a fire), call 999.\n"
            "For urgent medical help that is not life-threatening, call 111 (NHS 111).\n"
            'When you call 999 or 111, say "Arabic" to get an interpreter, free of charge.\n'
            "If you smell gas, open the windows, go outside and call the gas emergency line "
            "free on 0800 111 999.\n"
            "To talk to someone at any time, day or night, call Samaritans free on 116 123."
        )
    )
    if abuse:
        paragraphs.append(
            # TRANSLATORS: added when someone mentions violence or abuse at home. The helpline
            # (run by Refuge) is free, day and night. "55" is the Silent Solution: press it on
            # a 999 call from a mobile when speaking is not safe. Isolate the numbers.
            t._(
                "If someone at home hurts, threatens or controls you or your children, you can "
                "call the National Domestic Abuse Helpline free, day or night, on "
                "0808 2000 247. They can get an interpreter. If you call 999 and it is not "
                "safe to speak, stay on the line and press 55 when you are asked."
            )
        )
    return "\n\n".join(paragraphs)


def message_body(t: Texts, message: TicketMessage) -> str:
    """The text of one ticket message, naming attachments that travel beside it."""
    kinds = {
        # TRANSLATORS: stands for an attachment inside a list of messages.
        "photo": t._("[photo]"),
        "voice": t._("[voice note]"),
        "document": t._("[document]"),
    }
    label = kinds.get(message.kind, "")
    if label and message.text:
        return f"{label} {message.text}"
    return label or message.text


QUOTE = "│ "


def quote(text: str) -> str:
    """Someone's own words as a quoted block: every line starts with a bar, so nothing inside
    can pass for a line of Sanad's own (a heading such as "Staff replied:")."""
    # splitlines: every separator Telegram shows as a new line (\r, U+2028…) starts a quoted one.
    return "\n".join(f"{QUOTE}{line}".rstrip() for line in text.splitlines() or [""])


def readable(t: Texts, message: TicketMessage, *, quoted: bool = False) -> str:
    """A message for a reader: the original, and a translation into their language marked as
    machine translation (or a person-written version), or a clear note that it is untranslated.

    ``quoted`` shows the writer's words (and their translation) as quoted blocks beneath
    Sanad's own headings, as staff cards show a family's words.
    """
    body = message_body(t, message)
    translation = message.translation or ""
    if quoted:
        body, translation = quote(body), quote(translation)
    if message.translation_status == TranslationStatus.HUMAN and message.translation:
        return translation if message.translation_target == t.language else body
    if not message.text.strip() or message.language in (None, "und", t.language):
        return body
    if (
        message.translation_status == TranslationStatus.TRANSLATED
        and message.translation
        and message.translation_target == t.language
    ):
        heading = t._("🌐 Machine translation, may contain mistakes:")
        if message.translation_flagged:
            heading = t._("🌐 Machine translation, marked as wrong by staff:")
        # TRANSLATORS: heading above the words exactly as their writer sent them.
        original = t._("Original:")
        return f"{heading}\n{translation}\n\n{original}\n{body}"
    if message.direction == Direction.OUT:
        # A family is never told about models or failures, only what they can do about it.
        return (
            t._(
                "⚠️ We could not translate this message, so here is the original. You can ask "
                "your caseworker for an interpreter."
            )
            + "\n"
            + body
        )
    if message.translation_status == TranslationStatus.FAILED:
        return t._("⚠️ Not translated: the translation failed. Original:") + "\n" + body
    return t._("⚠️ Not translated: no translation model is installed. Original:") + "\n" + body


def needs_translation_buttons(t: Texts, messages: list[TicketMessage]) -> bool:
    """Whether a card shows family words in another language than the reader's."""
    return any(
        m.direction == Direction.IN
        and m.text.strip()
        and m.language not in (None, "und", t.language)
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
    danger_level: str = "none"  # the highest safeguarding level found in the family's words
    danger: tuple[tuple[str, str], ...] = ()  # (category, words matched), each once


def danger_category_name(t: Texts, code: str) -> str:
    """A safeguarding category as staff read it."""
    names = {
        "violence": t._("violence"),
        "threat": t._("threats"),
        "self_harm": t._("self-harm or suicide"),
        "sexual_abuse": t._("sexual abuse"),
        "child_missing_or_hurt": t._("a child missing or hurt"),
        "medical_emergency": t._("medical emergency"),
        "ambiguous_medical": t._("possible medical emergency"),
        "fire_gas_co": t._("fire, gas or carbon monoxide"),
        "forced_marriage": t._("forced marriage"),
        "trafficking": t._("trafficking"),
        "eviction_homeless": t._("eviction or homelessness"),
        "no_food": t._("no food"),
    }
    return names.get(code, code.replace("_", " "))


def danger_lines(t: Texts, level: str, danger: tuple[tuple[str, str], ...]) -> list[str]:
    """Why a request looks dangerous: the level, the categories, and the words that matched."""
    if level not in (DangerLevel.URGENT, DangerLevel.HIGH) or not danger:
        return []
    categories = ", ".join(dict.fromkeys(danger_category_name(t, c) for c, _ in danger))
    # Matched words are the family's: kept on one line, so they cannot start a line of their own.
    words = ", ".join(
        dict.fromkeys(f"“{' '.join(matched.split())}”" for _, matched in danger if matched)
    )
    if level == DangerLevel.URGENT:
        # TRANSLATORS: staff card line; {categories} is a list such as "violence, threats".
        summary = t._("🛡 Safeguarding: urgent, danger now ({categories})", categories=categories)
    else:
        # TRANSLATORS: staff card line; {categories} is a list such as "no food".
        summary = t._(
            "🛡 Safeguarding: high, review within the deadline ({categories})",
            categories=categories,
        )
    if not words:  # the reader may not see this family's words
        return [summary]
    # TRANSLATORS: staff card line; {words} are the family's own words, quoted.
    return [summary, t._("Words that raised it: {words}", words=words)]


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
        # TRANSLATORS: {priority} is one of the "priority" context words; make them agree.
        t._(
            "Category: {category} · priority {priority}",
            category=category_name(t, card.category),
            priority=priority_name(t, ticket.priority),
        )
    )
    lines.extend(danger_lines(t, card.danger_level, card.danger))
    if ticket.status == TicketStatus.RESOLVED:
        # TRANSLATORS: staff card status line (not the "Resolve" button).
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
        if message.direction == Direction.IN and message.edited_at is not None:
            # TRANSLATORS: staff card heading above a message the family corrected in Telegram.
            parts.append(t._("Family wrote (edited):"))
        elif message.direction == Direction.IN:
            parts.append(t._("Family wrote:"))
        elif message.direction == Direction.OUT:
            parts.append(t._("Staff replied:"))
        else:
            parts.append(t._("Internal note:"))
        # The family's words are quoted: a family cannot forge a "Staff replied:" line.
        parts.append(
            readable(t, message, quoted=True)
            if message.direction == Direction.IN
            else message_body(t, message)
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
        # TRANSLATORS: staff button: take this ticket as mine (not the status "Received").
        claim = t.p_("button", "🙋 Claim")
        rows.append([(claim, f"tk:claim:{tid}"), (t._("💬 Reply"), f"tk:reply:{tid}")])
    else:
        rows.append(
            [(t._("💬 Reply"), f"tk:reply:{tid}"), (t._("📋 Saved reply"), f"tk:saved:{tid}")]
        )
    # TRANSLATORS: staff button: mark this ticket as solved (not the status "Resolved").
    resolve = t.p_("button", "✅ Resolve")
    rows.append([(resolve, f"tk:resolve:{tid}"), (t._("↪️ Reassign"), f"tk:reassign:{tid}")])
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
