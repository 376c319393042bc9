"""Coordinators on Telegram: decide erasure requests, and read a household's audit trail."""

from __future__ import annotations

from telegram import Update

from bot.context import SanadContext
from bot.services import privacy
from bot.services.errors import ErasureGone, Forbidden, NotFound
from handlers import fallback, privacy_text
from handlers.callbacks import Prefix, PrivacyAction, ids
from handlers.common import answer, edit_or_send, person_of, texts_for
from storage.models import ErasureState
from storage.types import utcnow


async def show_requests(update: Update, context: SanadContext) -> None:
    """/mydata from staff: the erasure requests waiting, each with its buttons."""
    person = person_of(update, context)
    t = texts_for(update, context)
    if not person.is_coordinator:
        await answer(update, t._("Only coordinators decide requests to delete a family's data."))
        return
    waiting = await context.db.run(privacy.waiting_requests)
    if not waiting:
        await answer(update, t._("No family is waiting for their data to be deleted."))
        return
    for info in waiting:
        await answer(
            update,
            privacy_text.staff_request_text(t, info.reference, info.members, info.requested_at),
            privacy_text.staff_request_buttons(t, info.request_id, info.household_id),
        )


async def _request(update: Update, context: SanadContext, action: PrivacyAction) -> int | None:
    """The request id of a pressed button (answered); None when forged."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    found = ids(query.data, Prefix.PRIVACY, action)
    if found is None:
        await fallback.stale_button(update, context)
        return None
    return found[0]


async def erase_button(update: Update, context: SanadContext) -> None:
    """Asks the coordinator to confirm an erasure."""
    request_id = await _request(update, context, PrivacyAction.ERASE)
    if request_id is None:
        return
    t = texts_for(update, context)
    info = await context.db.run(privacy.describe_request, request_id)
    if info is None or info.state != ErasureState.REQUESTED:
        await edit_or_send(update, privacy_text.decided_text(t), None)
        return
    await edit_or_send(
        update,
        privacy_text.erase_question(t, info.reference),
        privacy_text.erase_buttons(t, request_id),
    )


async def decide_button(update: Update, context: SanadContext) -> None:
    """Erase now (confirmed) or decline."""
    query = update.callback_query
    assert query is not None
    confirm = ids(query.data, Prefix.PRIVACY, PrivacyAction.ERASE_OK) is not None
    action = PrivacyAction.ERASE_OK if confirm else PrivacyAction.DECLINE
    request_id = await _request(update, context, action)
    if request_id is None:
        return
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        _, household = await context.db.run(
            privacy.decide,
            request_id=request_id,
            staff_id=person.staff_id or 0,
            confirm=confirm,
            now=utcnow(),
        )
    except (ErasureGone, NotFound):
        await edit_or_send(update, privacy_text.decided_text(t), None)
        return
    except Forbidden:
        await fallback.stale_button(update, context)
        return
    if confirm:
        await edit_or_send(update, privacy_text.erased_text(t, household.id or 0), None)
    else:
        await edit_or_send(update, privacy_text.declined_text(t, household.reference), None)


async def trail_button(update: Update, context: SanadContext) -> None:
    """A household's audit trail (the newest 200 entries); the read is audited."""
    household_id = await _request(update, context, PrivacyAction.TRAIL)
    if household_id is None:
        return
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        reference, rows = await context.db.run(
            privacy.trail_for_staff, household_id=household_id, staff_id=person.staff_id or 0
        )
    except (Forbidden, NotFound):
        await fallback.stale_button(update, context)
        return
    for piece in privacy_text.trail_pieces(t, reference, rows):
        await answer(update, piece)


async def audit_command(update: Update, context: SanadContext) -> None:
    """/audit FAMILY-REF: a coordinator reads a household's audit trail."""
    person = person_of(update, context)
    t = texts_for(update, context)
    words = list(context.args or [])
    if not person.is_coordinator or len(words) != 1:
        await answer(
            update,
            t._("Coordinators can read a household's audit trail: /audit FAMILY-REF"),
        )
        return
    try:
        reference, rows = await context.db.run(
            privacy.trail_by_reference, reference=words[0], staff_id=person.staff_id or 0
        )
    except (Forbidden, NotFound):
        await answer(update, t._("No household has the reference {ref}.", ref=words[0][:40]))
        return
    for piece in privacy_text.trail_pieces(t, reference, rows):
        await answer(update, piece)


# (callback, action, number of ids) for handlers/__init__.py, staff only.
BUTTONS = [
    (erase_button, PrivacyAction.ERASE, 1),
    (decide_button, PrivacyAction.ERASE_OK, 1),
    (decide_button, PrivacyAction.DECLINE, 1),
    (trail_button, PrivacyAction.TRAIL, 1),
]
