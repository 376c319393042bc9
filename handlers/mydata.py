"""/mydata for families: a copy of everything held (readable and JSON), or ask to delete it.

Staff who send /mydata see the erasure requests waiting (handlers/privacy_admin.py).
"""

from __future__ import annotations

import json

from telegram import InputFile, Update

from bot.context import SanadContext
from bot.delivery import dispatcher
from bot.services import privacy
from handlers import privacy_admin, privacy_text
from handlers.callbacks import PrivacyAction
from handlers.common import answer, edit_or_send, person_of, texts_for
from storage.types import utcnow


async def mydata_command(update: Update, context: SanadContext) -> None:
    """/mydata: what the family can do with their data (staff: the requests waiting)."""
    person = person_of(update, context)
    if person.is_staff:
        await privacy_admin.show_requests(update, context)
        return
    if not person.is_member:
        return
    t = texts_for(update, context)
    await answer(update, privacy_text.mydata_text(t), privacy_text.mydata_buttons(t))


async def copy_button(update: Update, context: SanadContext) -> None:
    """Sends the household's data: a readable file in the member's language and a JSON file."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    person = person_of(update, context)
    t = texts_for(update, context)
    data = await context.db.run(
        privacy.export_for_member, member_id=person.member_id or 0, now=utcnow()
    )
    chat = update.effective_chat
    assert chat is not None
    readable = privacy_text.document(t, data).encode("utf-8")
    machine = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
    await chat.send_document(InputFile(readable, filename="sanad-my-data.txt"))
    await chat.send_document(InputFile(machine, filename="sanad-my-data.json"))
    await answer(update, privacy_text.copy_sent_text(t, int(data.get("withheld") or 0)))


async def delete_button(update: Update, context: SanadContext) -> None:
    """Asks before sending an erasure request."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    t = texts_for(update, context)
    await edit_or_send(update, privacy_text.delete_question(t), privacy_text.delete_buttons(t))


async def delete_ok_button(update: Update, context: SanadContext) -> None:
    """Sends the erasure request to the coordinators."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    person = person_of(update, context)
    t = texts_for(update, context)
    _, new = await context.db.run(
        privacy.request_erasure, member_id=person.member_id or 0, now=utcnow()
    )
    if new:
        dispatcher.kick(context.application)
    await edit_or_send(update, privacy_text.requested_text(t, new), None)


async def keep_button(update: Update, context: SanadContext) -> None:
    """The member changed their mind: nothing is asked."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    t = texts_for(update, context)
    await edit_or_send(update, privacy_text.kept_text(t), None)


# (callback, action, number of ids) for handlers/__init__.py, members only.
BUTTONS = [
    (copy_button, PrivacyAction.COPY, 0),
    (delete_button, PrivacyAction.DELETE, 0),
    (delete_ok_button, PrivacyAction.DELETE_OK, 0),
    (keep_button, PrivacyAction.KEEP, 0),
]
