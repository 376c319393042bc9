"""Telegram's command menu, set per language and per role (guests, families, staff)."""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats

from bot.i18n import LANGUAGES, Texts, texts
from bot.services.people import Person
from storage.models import StaffRole


def guest_commands(t: Texts) -> list[BotCommand]:
    """What someone not yet registered can do."""
    return [
        BotCommand("start", t._("Join Sanad with your invite")),
        # TRANSLATORS: descriptions in Telegram's command menu, shown beside /start, /help….
        BotCommand("help", t._("How Sanad works")),
        BotCommand("language", t._("Change language")),
    ]


def family_commands(t: Texts) -> list[BotCommand]:
    """A family member's commands."""
    return [
        BotCommand("menu", t._("Main menu")),
        # TRANSLATORS: the family's /report: asking for help, never reporting someone.
        BotCommand("report", t._("Report a problem")),
        BotCommand("tickets", t._("My requests")),
        BotCommand("book", t._("Book a meeting")),
        BotCommand("appointments", t._("My appointments")),
        BotCommand("classes", t._("My English classes")),
        BotCommand("mydata", t._("My data: a copy, or delete it")),
        BotCommand("language", t._("Change language")),
        BotCommand("help", t._("Help")),
        # TRANSLATORS: /cancel, said by the user: "stop what I am doing now".
        BotCommand("cancel", t._("Stop what I am doing")),
    ]


def staff_commands(t: Texts, role: StaffRole | None) -> list[BotCommand]:
    """A member of staff's commands; coordinators also invite."""
    commands = [
        BotCommand("menu", t._("Main menu")),
        BotCommand("tickets", t._("My tickets and the queue")),
        BotCommand("appointments", t._("My diary: the next 7 days")),
        BotCommand("reply", t._("Reply to a ticket: /reply K-0042 text")),
        BotCommand("note", t._("Internal note: /note K-0042 text")),
        BotCommand("saved", t._("My saved replies")),
        BotCommand("language", t._("Change language")),
        BotCommand("help", t._("Help")),
        BotCommand("cancel", t._("Stop what I am doing")),
    ]
    if role in (StaffRole.CASEWORKER, StaffRole.LEAD):
        commands.insert(2, BotCommand("slots", t._("My free time for bookings")))
    if role == StaffRole.COORDINATOR:
        commands.insert(4, BotCommand("invite", t._("Create an invite link")))
        commands.insert(5, BotCommand("broadcast", t._("Send a notice to families")))
        commands[-3:-3] = [
            BotCommand("providers", t._("Providers and their Lots")),
            BotCommand("districts", t._("Districts")),
            BotCommand("routing", t._("Routing rules")),
            BotCommand("staff", t._("Staff: roles, switch on or off")),
        ]
    if role == StaffRole.COORDINATOR:
        commands.insert(-3, BotCommand("audit", t._("A household's audit trail: /audit REF")))
    if role in (StaffRole.LEAD, StaffRole.COORDINATOR):
        commands.insert(-3, BotCommand("stats", t._("Contract figures: a chart and a CSV file")))
    commands.insert(-3, BotCommand("support", t._("Households whose support ends soon")))
    return commands


def commands_for(person: Person) -> list[BotCommand]:
    """The command menu of one linked person, in their language."""
    t = texts(person.language)
    if person.is_staff:
        return staff_commands(t, person.role)
    if person.is_member:
        return family_commands(t)
    return guest_commands(t)


async def set_default_commands(bot: Bot) -> None:
    """The menu strangers see, in Arabic and English (default: Arabic)."""
    scope = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands(guest_commands(texts("ar")), scope=scope)
    for language in LANGUAGES:
        await bot.set_my_commands(
            guest_commands(texts(language)), scope=scope, language_code=language
        )
