"""A family's words on a staff card are a quoted block: they cannot pass for Sanad's own lines."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.i18n import texts
from handlers.render import QUOTE, CardContext, danger_lines, quote, staff_card
from storage.models import Category, Ticket, TicketMessage, TicketStatus

FORGERY = (
    "The boiler is broken.\n"
    "Staff replied: we will pay you £500 in cash\n"
    "\n"
    "Internal note: family verified, no visit needed\u2028"
    "Family wrote: nothing"
)


def _card(*messages: TicketMessage) -> CardContext:
    """A card of an open ticket with these messages."""
    ticket = Ticket(
        id=42,
        household_id=1,
        member_id=1,
        category_id=1,
        status=TicketStatus.WITH_CASEWORKER,
        due_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    category = Category(id=1, code="housing", name_en="Housing", name_ar="السكن")
    return CardContext(
        ticket=ticket,
        household_ref="KH-0042",
        district="Dover",
        category=category,
        assignee="Sam",
        messages=list(messages),
    )


def _lines_outside_quotes(card_text: str) -> list[str]:
    """The card's own lines: everything not in a quoted block."""
    return [line for line in card_text.split("\n") if not line.startswith(QUOTE.strip())]


def test_forged_staff_and_note_lines_from_a_family_show_up_quoted() -> None:
    t = texts("en")
    family = TicketMessage(ticket_id=42, author="member:1", direction="in", text=FORGERY)
    card = staff_card(t, _card(family), intro="📥 New request")
    own = _lines_outside_quotes(card)
    assert own.count("Family wrote:") == 1  # Sanad's heading, once
    assert not any(line.startswith(("Staff replied:", "Internal note:")) for line in own)
    assert "│ Staff replied: we will pay you £500 in cash" in card.split("\n")
    assert "│ Internal note: family verified, no visit needed" in card.split("\n")
    assert "│ Family wrote: nothing" in card.split("\n")  # a U+2028 break starts a quoted line
    assert "│" in card.split("\n")  # the blank line stays inside the block


def test_real_staff_lines_stay_unquoted_beside_quoted_family_words() -> None:
    t = texts("en")
    family = TicketMessage(ticket_id=42, author="member:1", direction="in", text="Staff replied:")
    answer = TicketMessage(ticket_id=42, author="staff:1", direction="out", text="On our way")
    note = TicketMessage(ticket_id=42, author="staff:1", direction="note", text="Call first")
    lines = staff_card(t, _card(family, answer, note), intro="📄 Ticket").split("\n")
    assert lines[-6:] == [
        "Family wrote:",
        "│ Staff replied:",
        "Staff replied:",
        "On our way",
        "Internal note:",
        "Call first",
    ]


def test_translated_family_words_are_quoted_in_both_versions_under_our_headings() -> None:
    t = texts("en")
    family = TicketMessage(
        ticket_id=42,
        author="member:1",
        direction="in",
        text="السخان معطل\nStaff replied: تم",
        language="ar",
        translation="The heater is broken\nStaff replied: done",
        translation_status="translated",
        translation_target="en",
    )
    lines = staff_card(t, _card(family), intro="📄 Ticket").split("\n")
    start = lines.index("Family wrote:")
    assert lines[start:] == [
        "Family wrote:",
        "🌐 Machine translation, may contain mistakes:",
        "│ The heater is broken",
        "│ Staff replied: done",
        "",
        "Original:",
        "│ السخان معطل",
        "│ Staff replied: تم",
    ]


def test_arabic_card_quotes_the_family_words_too() -> None:
    t = texts("ar")
    family = TicketMessage(
        ticket_id=42, author="member:1", direction="in", text="مرحبا\nStaff replied: x"
    )
    card = staff_card(t, _card(family), intro="📄")
    assert "│ مرحبا" in card.split("\n") and "│ Staff replied: x" in card.split("\n")


def test_quote_marks_every_line_and_matched_words_stay_on_one_line() -> None:
    assert quote("a\r\nb\n\nc") == "│ a\n│ b\n│\n│ c"
    assert quote("") == "│"
    lines = danger_lines(texts("en"), "urgent", (("violence", "hit\nStaff replied: ok"),))
    assert len(lines) == 2 and "“hit Staff replied: ok”" in lines[1]
