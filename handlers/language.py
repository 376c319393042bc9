"""/language: switching between Arabic and English with buttons."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.context import SanadContext
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, texts
from bot.services import accounts
from handlers.common import answer, keyboard, person_of
from handlers.menu import menu_for, menu_prompt, update_menu

# Both languages, one per line: on one line the bidi algorithm reorders the Arabic and English
# halves around the slash, and a line that starts in Arabic keeps its own direction.
LANGUAGE_PROMPT = "يرجى اختيار اللغة:\nChoose your language:"


def language_keyboard() -> InlineKeyboardMarkup:
    """One button per language, each in its own script."""
    return keyboard([[(LANGUAGE_NAMES[code], f"lang:{code}") for code in LANGUAGES]])


async def language_command(update: Update, context: SanadContext) -> None:
    """/language: asks which language, in both (a person may not read the current one)."""
    await answer(update, LANGUAGE_PROMPT, language_keyboard())


async def language_button(update: Update, context: SanadContext) -> None:
    """Stores the chosen language and answers in it from now on."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    language = query.data.split(":", 1)[1]
    if language not in LANGUAGES:
        await query.answer()
        return
    user = update.effective_user
    person = context.person = await context.db.run(
        accounts.choose_language,
        telegram_user_id=user.id,
        language=language,
        language_code=user.language_code,
    )
    await query.answer()
    t = texts(language)
    confirmation = (
        t._("From now on I will write to you in Arabic.")
        if language == "ar"
        else t._("From now on I will write to you in English.")
    )
    await query.edit_message_text(confirmation)
    if person.kind == "guest":
        return
    await update_menu(context.bot, context.db, person)
    if person.is_member and not person.consented:
        from handlers.start import show_privacy_notice

        await show_privacy_notice(update, context, person)
        return
    await answer(update, menu_prompt(t), menu_for(t, person))


async def language_menu_button(update: Update, context: SanadContext) -> None:
    """The Language button of a main menu."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    person_of(update, context)
    await language_command(update, context)
