"""A family member edited a message in Telegram: the correction is passed on, or they are told."""

from __future__ import annotations

from telegram import Update

from bot.context import SanadContext
from bot.delivery import dispatcher
from bot.i18n import Texts
from bot.services import edits
from bot.services.edits import Edited, EditOutcome
from handlers.common import answer, keyboard, person_of, texts_for
from handlers.report import tell_danger
from storage.types import utcnow


def edit_text(t: Texts, outcome: EditOutcome) -> str:
    """What the family is told about their edit (never called for Edited.NOTHING)."""
    if outcome.edited is Edited.PASSED_ON:
        return t._(
            "Your correction was passed on to your caseworker, with your request {ref}.",
            ref=outcome.reference,
        )
    if outcome.edited is Edited.IN_REPORT:
        return t._("Corrected. Your request will be sent with the new wording.")
    if outcome.edited is Edited.IN_WAIT:
        return t._("Corrected. Please tap the request your message is about, above.")
    if outcome.edited is Edited.CLOSED:
        return t._(
            "Request {ref} is closed, so your correction was not passed on. If the problem is "
            "not solved, tap Reopen.",
            ref=outcome.reference,
        )
    return t._(
        "I could not find that message to correct it, so nothing was changed. If it matters, "
        "please send your correction as a new message."
    )


async def on_family_edit(update: Update, context: SanadContext) -> None:
    """An edited text or caption from a consented family member."""
    message = update.edited_message
    assert message is not None
    outcome = await context.db.run(
        edits.family_edit,
        person=person_of(update, context),
        text=message.text or message.caption or "",
        source=(message.chat_id, message.message_id),
        edited_at=message.edit_date or utcnow(),
    )
    # The guidance shows again only if the edit is what made the message urgent.
    await tell_danger(update, context, outcome.checked, seen=True)
    if outcome.edited is Edited.NOTHING:
        return
    t = texts_for(update, context)
    markup = None
    if outcome.edited is Edited.PASSED_ON:
        dispatcher.kick(context.application)
    elif outcome.edited is Edited.CLOSED:
        markup = keyboard([[(t._("🔄 Reopen"), f"fam:reopen:{outcome.ticket_id}")]])
    await answer(update, edit_text(t, outcome), markup)
