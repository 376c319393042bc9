"""``/broadcast``: a coordinator writes a notice, chooses its audience with buttons, previews it
in every language of that audience (machine translated where a model is installed, editable),
and sends it now or later. Anyone else, forged buttons included, is refused."""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import InlineKeyboardMarkup, Message, Update

from bot.context import SanadContext
from bot.delivery import broadcaster, translation
from bot.i18n import Texts, plain
from bot.services import audiences, broadcasts
from bot.services.audiences import Dimension
from bot.services.broadcasts import BroadcastStep, Source, Summary
from bot.services.errors import (
    DomainError,
    EmptyAudience,
    InvalidInput,
    NotCoordinator,
    NotFound,
)
from bot.services.people import Person
from handlers import broadcast_text as text
from handlers.callbacks import MAX_ID, BroadcastAction, Prefix, args, build
from handlers.common import answer, edit_or_send, keyboard, person_of, texts_for
from storage.models import BroadcastState
from storage.types import utcnow

logger = logging.getLogger(__name__)

DIMENSIONS = (
    Dimension.DISTRICT, Dimension.LOT, Dimension.PROVIDER, Dimension.SCHEME, Dimension.LANGUAGE,
)  # fmt: skip


def _data(action: BroadcastAction, broadcast_id: int, *extra: int | str) -> str:
    """A button's callback data."""
    return build(Prefix.BROADCAST, action, broadcast_id, *extra)


async def _refuse(update: Update, context: SanadContext, exc: DomainError) -> None:
    """Says why nothing changed (as an alert on a button, else a message)."""
    t = texts_for(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer(text.error_text(t, exc)[:200], show_alert=True)
        return
    await answer(update, text.error_text(t, exc))


# ---------------------------------------------------------------- starting and typing


async def broadcast_command(update: Update, context: SanadContext) -> None:
    """/broadcast (and the menu button): a new draft; the next message is the notice."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    person = person_of(update, context)
    try:
        await context.db.run(broadcasts.start, person=person, now=utcnow())
    except DomainError as exc:
        await answer(update, text.error_text(texts_for(update, context), exc))
        return
    await answer(update, text.write_prompt(texts_for(update, context)))


def _content(message: Message) -> tuple[str, str | None, str | None, int | None]:
    """(text or caption, attachment kind, file id, file size) of a coordinator's message."""
    if message.photo:
        photo = message.photo[-1]
        return message.caption or "", "photo", photo.file_id, photo.file_size
    if message.document is not None:
        doc = message.document
        return message.caption or "", "document", doc.file_id, doc.file_size
    return message.text or "", None, None, None


async def on_staff_message(update: Update, context: SanadContext) -> bool:
    """A message while writing a broadcast; False when the person is not at a typed step."""
    message = update.message
    if message is None:
        return False
    person = person_of(update, context)
    if not person.is_coordinator:
        return False
    found = await context.db.run(broadcasts.step, person=person)
    if found is None:
        return False
    broadcast_id, step = found.broadcast_id, found.step
    typed = message.text or ""
    try:
        if step is BroadcastStep.TEXT:
            body, kind, file_id, size = _content(message)
            if kind is None and not message.text:
                raise InvalidInput("empty")
            await context.db.run(
                broadcasts.set_content, person=person, broadcast_id=broadcast_id, text=body,
                attachment_kind=kind, file_id=file_id, file_size=size,
            )  # fmt: skip
        elif step is BroadcastStep.ARRIVED:
            await context.db.run(
                broadcasts.set_arrival, person=person, broadcast_id=broadcast_id, text=plain(typed)
            )
        elif step is BroadcastStep.EDIT:
            await context.db.run(
                broadcasts.set_translation, person=person, broadcast_id=broadcast_id,
                language=found.language, text=typed, source=Source.STAFF,
            )  # fmt: skip
            await _preview(update, context, person, broadcast_id)
            return True
        elif step is BroadcastStep.WHEN:
            when = broadcasts.parse_when(plain(typed))  # dates copied from the example
            await _confirm(update, context, person, broadcast_id, when)
            return True
        else:
            return False
    except DomainError as exc:
        await _refuse(update, context, exc)
        return True
    await _audience(update, context, person, broadcast_id, edit=False)
    return True


# ---------------------------------------------------------------- the audience screen


def _audience_buttons(t: Texts, broadcast_id: int) -> InlineKeyboardMarkup:
    """One button per dimension, all families, and Preview."""
    rows = [
        [
            (text.dimension_name(t, d), _data(BroadcastAction.DIMENSION, broadcast_id, str(d)))
            for d in DIMENSIONS[i : i + 3]
        ]
        for i in range(0, len(DIMENSIONS), 3)
    ]
    rows.append(
        [
            (text.dimension_name(t, Dimension.ARRIVED),
             _data(BroadcastAction.ARRIVED, broadcast_id)),
            (t._("All families"), _data(BroadcastAction.ALL, broadcast_id)),
        ]
    )  # fmt: skip
    rows.append(
        [
            (t._("👁 Preview"), _data(BroadcastAction.PREVIEW, broadcast_id)),
            (t._("✖ Cancel"), _data(BroadcastAction.STOP, broadcast_id)),
        ]
    )
    return keyboard(rows)


async def _audience(
    update: Update, context: SanadContext, person: Person, broadcast_id: int, *, edit: bool
) -> None:
    """Shows the audience so far, its reach, and the buttons to change it."""
    t = texts_for(update, context)
    seen = await context.db.run(broadcasts.summary, person=person, broadcast_id=broadcast_id)
    body, markup = text.audience_text(t, seen), _audience_buttons(t, broadcast_id)
    if edit:
        await edit_or_send(update, body, markup)
    else:
        await answer(update, body, markup)


async def _options(
    update: Update, context: SanadContext, person: Person, broadcast_id: int, dim: Dimension
) -> None:
    """Toggle buttons for one dimension (✅ on the values included)."""
    t = texts_for(update, context)
    seen = await context.db.run(broadcasts.summary, person=person, broadcast_id=broadcast_id)
    chosen = audiences.normalise(seen.broadcast.audience).get(str(dim), [])
    offered = await context.db.run(audiences.options, dim)
    buttons = []
    for option in offered[:40]:
        label = (
            text.language_name(t, str(option.value))
            if dim == Dimension.LANGUAGE
            else (option.label)
        )
        mark = "✅ " if option.value in chosen else ""
        buttons.append(
            (mark + label, _data(BroadcastAction.TOGGLE, broadcast_id, str(dim), option.value))
        )
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(t._("◀ Back"), _data(BroadcastAction.AUDIENCE, broadcast_id))])
    await edit_or_send(update, text.options_text(t, dim), keyboard(rows))


# ---------------------------------------------------------------- preview and confirm


async def _translate(context: SanadContext, person: Person, seen: Summary) -> None:
    """Machine-translates the notice into each other language of the audience (off the event
    loop, in the translator's thread), keeping a staff-reviewed text; the original where no
    model is installed."""
    draft = seen.broadcast
    for language in seen.others:
        entry = (draft.translations or {}).get(language) or {}
        if entry.get("source") == Source.STAFF:
            continue
        result = None
        if draft.text:
            result = await translation.translate_text(
                context.application, draft.text, target=language, source=draft.language
            )
        if result is not None and result.ok and result.text:
            source, body, model = Source.MACHINE, result.text, result.model
        else:
            source, body, model = Source.ORIGINAL, "", None
        await context.db.run(
            broadcasts.set_translation, person=person, broadcast_id=draft.id or 0,
            language=language, text=body, source=source, model=model,
        )  # fmt: skip


async def _preview(
    update: Update, context: SanadContext, person: Person, broadcast_id: int
) -> None:
    """The notice in every language of the audience, then Send / Schedule / Cancel."""
    t = texts_for(update, context)
    seen = await context.db.run(broadcasts.summary, person=person, broadcast_id=broadcast_id)
    if seen.reach == 0:
        await _refuse(update, context, EmptyAudience("audience"))
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    await _translate(context, person, seen)
    seen = await context.db.run(broadcasts.summary, person=person, broadcast_id=broadcast_id)
    draft = seen.broadcast
    count = seen.by_language.get(draft.language, 0)
    await answer(update, text.original_header(t, draft.language, count) + "\n\n" + draft.text)
    for language in seen.others:
        entry = (draft.translations or {}).get(language) or {}
        header = text.preview_header(t, language, entry)
        body = str(entry.get("text") or "")
        edit = keyboard(
            [[(t._("✏️ Write the {language} text myself",
                   language=text.language_name(t, language)),
               _data(BroadcastAction.EDIT, broadcast_id, language))]]
        )  # fmt: skip
        await answer(update, f"{header}\n\n{body}".strip(), edit)
    await answer(
        update,
        text.confirm_text(t, seen),
        keyboard(
            [
                [
                    (t._("✅ Send now"), _data(BroadcastAction.SEND, broadcast_id)),
                    (t._("🕒 Schedule"), _data(BroadcastAction.SCHEDULE, broadcast_id)),
                ],
                [
                    (t._("◀ Audience"), _data(BroadcastAction.AUDIENCE, broadcast_id)),
                    (t._("✖ Cancel"), _data(BroadcastAction.STOP, broadcast_id)),
                ],
            ]
        ),
    )


async def _confirm(
    update: Update,
    context: SanadContext,
    person: Person,
    broadcast_id: int,
    when: datetime | None = None,
) -> None:
    """Confirms once: sending starts now (or at ``when``); a second tap changes nothing."""
    t = texts_for(update, context)
    done = await context.db.run(
        broadcasts.confirm, person=person, broadcast_id=broadcast_id, now=utcnow(),
        scheduled_for=when,
    )  # fmt: skip
    if update.callback_query is not None:
        await update.callback_query.answer(text.already_text(t) if done.again else None)
    if done.again:
        return
    broadcaster.rearm(context.application)
    if done.state == BroadcastState.SCHEDULED and done.scheduled_for is not None:
        await answer(
            update,
            text.scheduled_text(t, done.scheduled_for, done.recipients),
            keyboard([[(t._("✖ Cancel it"), _data(BroadcastAction.STOP, broadcast_id))]]),
        )


# ---------------------------------------------------------------- the buttons


def _parse(data: str | None) -> tuple[BroadcastAction, int, list[str]] | None:
    """(action, broadcast id, other arguments) of a ``bc:`` button; None when forged."""
    if not data or not data.startswith(f"{Prefix.BROADCAST}:"):
        return None
    parts = data.split(":")
    try:
        action = BroadcastAction(parts[1])
    except (IndexError, ValueError):
        return None
    found = args(data, Prefix.BROADCAST, action) or []
    if not found or not found[0].isdigit() or len(found[0]) > 10:
        return None
    broadcast_id = int(found[0])
    if not 0 < broadcast_id <= MAX_ID:
        return None
    return action, broadcast_id, found[1:]


def _value(dim: Dimension, raw: str) -> int | str:
    """A toggle's value: a language code or a row id (bounded)."""
    if dim == Dimension.LANGUAGE:
        return raw
    if not raw.isdigit() or len(raw) > 10 or not 0 < int(raw) <= MAX_ID:
        raise InvalidInput("audience_value")
    return int(raw)


async def button(update: Update, context: SanadContext) -> None:
    """Every ``bc:`` button; the service refuses anyone but a coordinator."""
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    parsed = _parse(query.data)
    try:
        if not person.is_coordinator:
            raise NotCoordinator("broadcast")
        if parsed is None:
            raise NotFound("button")
        action, broadcast_id, rest = parsed
        await _act(update, context, person, action, broadcast_id, rest, t)
    except ValueError:  # a forged dimension
        await _refuse(update, context, NotFound("button"))
    except DomainError as exc:
        await _refuse(update, context, exc)


async def _act(
    update: Update,
    context: SanadContext,
    person: Person,
    action: BroadcastAction,
    broadcast_id: int,
    rest: list[str],
    t: Texts,
) -> None:
    """Does what one button asks."""
    query = update.callback_query
    assert query is not None
    db = context.db
    if action == BroadcastAction.AUDIENCE:
        await db.run(broadcasts.expect, person=person, broadcast_id=broadcast_id,
                     step=BroadcastStep.AUDIENCE)  # fmt: skip
        await query.answer()
        await _audience(update, context, person, broadcast_id, edit=True)
    elif action == BroadcastAction.DIMENSION and len(rest) == 1:
        await query.answer()
        await _options(update, context, person, broadcast_id, Dimension(rest[0]))
    elif action == BroadcastAction.TOGGLE and len(rest) == 2:
        dim = Dimension(rest[0])
        await db.run(
            broadcasts.toggle, person=person, broadcast_id=broadcast_id, dimension=dim,
            value=_value(dim, rest[1]),
        )  # fmt: skip
        await query.answer()
        await _options(update, context, person, broadcast_id, dim)
    elif action == BroadcastAction.ALL:
        await db.run(broadcasts.clear_audience, person=person, broadcast_id=broadcast_id)
        await query.answer()
        await _audience(update, context, person, broadcast_id, edit=True)
    elif action == BroadcastAction.ARRIVED:
        await db.run(broadcasts.expect, person=person, broadcast_id=broadcast_id,
                     step=BroadcastStep.ARRIVED)  # fmt: skip
        await query.answer()
        await answer(update, text.arrival_prompt(t))
    elif action == BroadcastAction.PREVIEW:
        await _preview(update, context, person, broadcast_id)
    elif action == BroadcastAction.EDIT and len(rest) == 1 and rest[0] in audiences.LANGUAGES:
        await db.run(broadcasts.expect, person=person, broadcast_id=broadcast_id,
                     step=BroadcastStep.EDIT, language=rest[0])  # fmt: skip
        await query.answer()
        await answer(update, text.edit_prompt(t, rest[0]))
    elif action == BroadcastAction.SEND:
        await _confirm(update, context, person, broadcast_id)
    elif action == BroadcastAction.SCHEDULE:
        await db.run(broadcasts.expect, person=person, broadcast_id=broadcast_id,
                     step=BroadcastStep.WHEN)  # fmt: skip
        await query.answer()
        await answer(update, text.schedule_prompt(t))
    elif action == BroadcastAction.STOP:
        was = await db.run(
            broadcasts.cancel, person=person, broadcast_id=broadcast_id, now=utcnow()
        )
        await query.answer()
        broadcaster.rearm(context.application)
        await answer(update, text.cancelled_text(t, was))
    else:
        raise NotFound("button")
