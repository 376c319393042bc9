"""Joining: ``/start <invite-code>``, the privacy notice and consent."""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import InlineKeyboardMarkup, Update

from bot.context import SanadContext
from bot.i18n import Texts, texts
from bot.services import accounts, invites, people
from bot.services.accounts import JoinResult
from bot.services.people import Person
from handlers.common import answer, keyboard, person_of
from handlers.menu import menu_for, menu_prompt, update_menu
from storage.models import StaffRole
from storage.types import utcnow

logger = logging.getLogger(__name__)


def bilingual(build: Callable[[Texts], str]) -> str:
    """The same message in Arabic, then English, for people whose language we don't know."""
    return f"{build(texts('ar'))}\n\n———\n\n{build(texts('en'))}"


def not_registered_text(t: Texts) -> str:
    """What a stranger is told: how to get an invite."""
    # TRANSLATORS: "the council" is Kent County Council (in Arabic: the municipality).
    return t._(
        "Welcome to Sanad.\n"
        "Sanad is for families supported by the Kent refugee resettlement programme, and for "
        "their caseworkers. To use it you need your own invite link. Please ask your "
        "caseworker or the council's resettlement team for one, then open it on this phone."
    )


def invalid_code_text(t: Texts) -> str:
    """A code that is unknown, used or expired (deliberately the same answer)."""
    return t._(
        "This invite code does not work. It may be mistyped, already used, or too old. "
        "Please ask your caseworker for a new invite link."
    )


def too_many_text(t: Texts, minutes: int) -> str:
    """After too many wrong codes."""
    return t.n_(
        "Too many wrong codes. Please wait {n} minute and try again, or ask your caseworker "
        "for a new invite link.",
        "Too many wrong codes. Please wait {n} minutes and try again, or ask your caseworker "
        "for a new invite link.",
        minutes,
    )


def privacy_text(t: Texts) -> str:
    """The short, plain privacy notice a family member sees before anything else."""
    # TRANSLATORS: the privacy notice; every sentence must stay true. "Kent County Council"
    # is the council (in Arabic: the municipality, with the English name in brackets). The
    # ICO is the UK's data protection regulator; keep ico.org.uk and 0303 123 1113 as they
    # are. Address the family in the plural or with neutral forms.
    return t._(
        "Before we start, how Sanad looks after your information:\n\n"
        "• Kent County Council and the organisation your caseworker works for are responsible "
        "for your information.\n"
        "• Sanad keeps your family's details, your messages to your caseworker and your "
        "appointments. Only your caseworker, their team and the council's resettlement team "
        "can see them.\n"
        "• Your messages travel through Telegram, so Telegram also holds them, under its own "
        "rules.\n"
        "• Messages are translated on Sanad's own computer. They are not sent to any other "
        "company for translation.\n"
        "• If we think someone is at risk of harm, we may share information with the services "
        "that can keep them safe, such as the police, doctors or children's services.\n"
        "• We keep your information while your family is supported by the programme, and "
        "delete it after that, as the council's policy says.\n"
        "• You can ask your caseworker for a copy of your information, or ask us to delete "
        "it. If you are unhappy with how we use it, you can complain to the Information "
        "Commissioner's Office (ICO): ico.org.uk or 0303 123 1113.\n\n"
        'Tap "I understand" to continue.'
    )


def consent_keyboard(t: Texts) -> InlineKeyboardMarkup:
    """The single button under the privacy notice."""
    return keyboard([[(t._("✅ I understand"), "consent:ok")]])


def staff_welcome(t: Texts, role: StaffRole | None) -> str:
    """The first message a member of staff sees after joining."""
    if role == StaffRole.COORDINATOR:
        return t._("You are now connected to Sanad as a coordinator.")
    if role == StaffRole.LEAD:
        return t._("You are now connected to Sanad as a provider lead.")
    return t._("You are now connected to Sanad as a caseworker.")


async def show_privacy_notice(update: Update, context: SanadContext, person: Person) -> None:
    """Shows the notice with its button; nothing else works until it is accepted."""
    t = texts(person.language)
    await answer(update, privacy_text(t), consent_keyboard(t))


async def start_command(update: Update, context: SanadContext) -> None:
    """/start with or without an invite code."""
    user = update.effective_user
    assert user is not None
    person = person_of(update, context)
    code = " ".join(context.args or []).strip()
    if not code:
        await _start_without_code(update, context, person)
        return
    if person.kind != "guest":
        t = texts(person.language)
        await answer(update, t._("You are already connected to Sanad."))
        await _after_join(update, context, person)
        return
    joining = await context.db.run(
        accounts.join,
        raw_code=code,
        telegram_user_id=user.id,
        language_code=user.language_code,
        now=utcnow(),
    )
    if joining.result is JoinResult.INVALID:
        logger.info("invite refused (%s)", joining.reason)
        await answer(update, bilingual(invalid_code_text))
        return
    if joining.result is JoinResult.TOO_MANY:
        minutes = int(invites.ATTEMPT_WINDOW.total_seconds() // 60)
        await answer(update, bilingual(lambda t: too_many_text(t, minutes)))
        return
    if joining.result is JoinResult.ALREADY_LINKED:
        await answer(update, texts(person.language)._("You are already connected to Sanad."))
        return
    joined = context.person = joining.person
    logger.info("account linked as %s", joined.kind)
    await update_menu(context.bot, context.db, joined)
    await _after_join(update, context, joined)


async def _start_without_code(update: Update, context: SanadContext, person: Person) -> None:
    """/start alone: strangers learn how to join; members see their menu."""
    if person.kind == "guest":
        await answer(update, bilingual(not_registered_text))
        return
    await _after_join(update, context, person)


async def _after_join(update: Update, context: SanadContext, person: Person) -> None:
    """What comes after linking: the privacy notice for families, else the menu."""
    t = texts(person.language)
    if person.is_member and not person.consented:
        await show_privacy_notice(update, context, person)
        return
    if person.is_staff:
        await answer(update, staff_welcome(t, person.role))
    await answer(update, menu_prompt(t), menu_for(t, person))


async def consent_button(update: Update, context: SanadContext) -> None:
    """'I understand': records consent and time, then opens the menu."""
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts(person.language)
    if not person.is_member or person.member_id is None:
        await query.answer(t._("This button no longer works."), show_alert=True)
        return
    recorded = await context.db.run(people.record_consent, member_id=person.member_id)
    await query.answer()
    if recorded:
        await query.edit_message_reply_markup(None)
        await answer(update, t._("Thank you. You are now connected to your caseworker."))
    await answer(update, menu_prompt(t), menu_for(t, person))
