"""Main menus, command menus kept up to date, help, and honest answers for features to come."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.context import SanadContext
from bot.i18n import LANGUAGES, Texts
from bot.services import menus
from bot.services.menus import Expected, MenuHolder, MenuKind
from bot.services.people import Person
from handlers.commands import commands_for
from handlers.common import answer, edit_or_send, keyboard, person_of, texts_for
from handlers.render import emergency_guidance
from storage.db import Database
from storage.models import StaffRole

logger = logging.getLogger(__name__)


def family_menu(t: Texts) -> InlineKeyboardMarkup:
    """The family's main menu: one big button per thing they can do."""
    return keyboard(
        [
            # TRANSLATORS: the family's main button for asking for help (in Arabic: "I have a
            # problem"), never "reporting" someone to the authorities.
            [(t._("📝 Report a problem"), "menu:report")],
            [(t._("📋 My requests"), "menu:tickets")],
            [(t._("📅 Book a meeting"), "menu:book"), (t._("🗓 My appointments"), "menu:appts")],
            [(t._("📚 English classes"), "menu:classes")],
            [(t._("🌐 Language"), "menu:language"), (t._("❓ Help"), "menu:help")],
        ]
    )


def staff_menu(t: Texts, person: Person) -> InlineKeyboardMarkup:
    """The staff main menu; coordinators get their own tools too."""
    rows = [
        [(t._("📥 Tickets"), "menu:tickets")],
        [(t._("🗓 My diary"), "menu:appts"), (t._("⏱ My free slots"), "menu:slots")],
    ]
    if person.role == StaffRole.COORDINATOR:
        rows.append(
            [(t._("✉️ Invite someone"), "menu:invite"), (t._("🗂 Reference data"), "menu:refdata")]
        )
        rows.append(
            [(t._("📣 Send a notice"), "menu:broadcast"), (t._("📊 Figures"), "menu:stats")]
        )
    elif person.role == StaffRole.LEAD:
        rows.append([(t._("📊 Figures"), "menu:stats")])
    rows.append([(t._("🌐 Language"), "menu:language"), (t._("❓ Help"), "menu:help")])
    return keyboard(rows)


def menu_for(t: Texts, person: Person) -> InlineKeyboardMarkup:
    """The right main menu for this person."""
    return staff_menu(t, person) if person.is_staff else family_menu(t)


def menu_prompt(t: Texts) -> str:
    """The line above every main menu."""
    # TRANSLATORS: above every main menu. Do not assume the reader is a man or a woman.
    return t._("How can we help? Tap a button.")


async def send_menu(update: Update, context: SanadContext) -> None:
    """Shows the caller's main menu as a new message."""
    person = person_of(update, context)
    t = texts_for(update, context)
    await answer(update, menu_prompt(t), menu_for(t, person))


async def menu_command(update: Update, context: SanadContext) -> None:
    """/menu: the main menu."""
    await send_menu(update, context)


def help_text(t: Texts, person: Person) -> str:
    """What this person can do, in their language."""
    if person.is_staff:
        text = t._(
            "Sanad brings your families' requests to you, with the original message and "
            "an English translation.\n\n"
            "📥 Tickets: your open requests and your provider's unclaimed queue.\n"
            "Reply to a ticket message to answer the family, or send /reply with the reference "
            "and your text.\n"
            "📋 Saved replies, written in English and Arabic: /saved.\n"
            "🌐 Language: change the language of the bot.\n\n"
            "Commands: /menu /tickets /reply /note /saved /language /help /cancel"
        )
        if person.role in (StaffRole.CASEWORKER, StaffRole.LEAD):
            text += "\n\n" + t._(
                "⏱ My free slots: /slots lists the time families can book with you; "
                "/slots add tue 10:00-12:00 publishes more (or use the buttons)."
            )
        text += "\n\n" + t._(
            "🗓 My diary: /appointments shows your next 7 days with buttons to mark each "
            "appointment kept or missed; /appointments add FAMILY-REF YYYY-MM-DD HH:MM | WHAT | "
            "WHERE | WHAT TO BRING adds one a family has elsewhere. /classes: English classes, "
            "enrolment and registers."
        )
        if person.role in (StaffRole.LEAD, StaffRole.COORDINATOR):
            text += "\n\n" + t._(
                "📊 /stats: contract figures for a period, chosen with buttons or typed "
                "(/stats 2026-01-01 2026-03-31), sent as a chart and a CSV file."
            )
        text += "\n\n" + t._(
            "📅 /support lists the households whose resettlement support ends in the next six "
            "months, with their caseworker (your own households, or all for coordinators)."
        )
        if person.role == StaffRole.COORDINATOR:
            text += "\n\n" + t._(
                "As a coordinator you can create invite links: "
                "/invite family FAMILY-REF [member name] or /invite staff STAFF-ID."
            )
            text += "\n\n" + t._(
                "✉️ /invite alone lets you pick the family member or member of staff with "
                "buttons. 🗂 /providers (and their Lots), /districts, /routing and /staff show "
                "the reference data, with buttons to change it."
            )
            text += "\n\n" + t._(
                "📣 /broadcast sends a notice to families: choose who with buttons, check the "
                "translation into each family's language, then send now or schedule it."
            )
            text += "\n\n" + t._(
                "🔒 /mydata lists the families waiting for their data to be deleted, with "
                "buttons to erase, decline or read the household's audit trail; "
                "/audit FAMILY-REF shows any household's audit trail."
            )
        return text
    # TRANSLATORS: the family's /help. Name the buttons exactly as they are translated
    # ("📝 Report a problem" must not sound like reporting someone to the authorities).
    about = t._(
        "Sanad helps you talk to your caseworker.\n\n"
        "📝 Report a problem: tell us about a problem with your home, health, money, school, "
        "English classes, documents or anything else. You will get a request number.\n"
        "📋 My requests: see your requests and the answers from your caseworker.\n"
        "🌐 Language: choose Arabic or English."
    )
    # TRANSLATORS: the last line of the family's /help; commands stay as they are.
    commands = t._("Commands: /menu /report /tickets /language /help /cancel")
    booking = t._("📅 Book a meeting: choose a day and a time to meet your caseworker.")
    calendar = t._(
        "🗓 My appointments: your meetings and the appointments your caseworker added for you "
        "(/appointments).\n📚 English classes: your class times and next sessions (/classes)."
    )
    mydata = t._(
        "🔒 Your data: /mydata sends you a copy of everything Sanad keeps about your "
        "household, or asks for it to be deleted."
    )
    return "\n\n".join((about, booking, calendar, mydata, emergency_guidance(t), commands))


async def help_command(update: Update, context: SanadContext) -> None:
    """/help: what the caller can do, with their menu."""
    person = person_of(update, context)
    t = texts_for(update, context)
    await answer(update, help_text(t, person), menu_for(t, person))


async def help_button(update: Update, context: SanadContext) -> None:
    """The Help button."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    person = person_of(update, context)
    t = texts_for(update, context)
    await edit_or_send(update, help_text(t, person), menu_for(t, person))


# ---------------------------------------------------------------- command menus


def fingerprint(commands: list[BotCommand]) -> str:
    """A short digest of a command menu: its commands and their descriptions, in order."""
    items = [[c.command, c.description] for c in commands]
    return hashlib.sha256(json.dumps(items, ensure_ascii=False).encode()).hexdigest()[:16]


def expected_fingerprints() -> Expected:
    """The fingerprint of every menu a linked person can have: each kind, role and language."""
    shapes: list[tuple[MenuKind, StaffRole | None]] = [
        (MenuKind.MEMBER, None),
        (MenuKind.GUEST, None),
    ]
    shapes += [(MenuKind.STAFF, role) for role in StaffRole]
    return {
        (kind, role, language): fingerprint(
            commands_for(Person(telegram_user_id=0, kind=kind, language=language, role=role))
        )
        for kind, role in shapes
        for language in LANGUAGES
    }


async def set_menu(bot: Bot, person: Person) -> str | None:
    """Sets one chat's command menu; the fingerprint of what was set, or None if it failed."""
    commands = commands_for(person)
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(person.telegram_user_id))
    except TelegramError as exc:
        logger.warning("could not set commands for a chat: %s", type(exc).__name__)
        return None
    return fingerprint(commands)


async def update_menu(bot: Bot, db: Database, person: Person) -> None:
    """Gives a person the menu of their role and language now (after joining or a language
    change) and remembers it, so the next start-up does not send it again."""
    if person.kind == "guest":
        await set_menu(bot, person)
        return
    done = await set_menu(bot, person)
    if done is not None:
        await db.run(menus.record, {person.telegram_user_id: done})


def _person(holder: MenuHolder) -> Person:
    """The Person whose menu a holder should have."""
    return Person(
        telegram_user_id=holder.telegram_user_id,
        kind=holder.kind,
        language=holder.language,
        role=holder.role,
    )


async def refresh_menus(bot: Bot, db: Database, per_second: float = 20.0) -> int:
    """Re-sends, paced, only the menus that differ from what each person should have now (a
    release changed the commands, an operator changed a role or a language); returns how many.

    Out-of-date menus are found in SQL a batch at a time, so a restart with nothing changed
    reads no person and sends nothing, however many people there are.
    """
    expected = expected_fingerprints()
    sent = 0
    for stale in (menus.stale_members, menus.stale_staff):
        after = 0
        while batch := await db.run(stale, expected, after=after):
            done: dict[int, str] = {}
            for holder in batch:
                result = await set_menu(bot, _person(holder))
                if result is not None:
                    done[holder.telegram_user_id] = result
                    sent += 1
                await asyncio.sleep(1 / per_second)
            await db.run(menus.record, done)
            after = batch[-1].telegram_user_id
    return sent
