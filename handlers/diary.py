"""A caseworker's diary: the next 7 days, kept/missed buttons, and the family's notice of an
appointment a caseworker added."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.context import SanadContext
from bot.i18n import Texts
from bot.services import appointments
from bot.services.appointments import DiaryEntry
from bot.services.errors import (
    AppointmentCancelled,
    AppointmentInFuture,
    DomainError,
    OutcomeRecorded,
)
from handlers.callbacks import DiaryAction, Prefix, build, ids
from handlers.common import answer, edit_or_send, keyboard, person_of, texts_for
from storage.models import (
    AppointmentKind,
    AppointmentMode,
    AppointmentStatus,
)


def mode_text(t: Texts, mode: str | None) -> str:
    """How a booked meeting happens, in words."""
    if mode == AppointmentMode.HOME:
        return t._("Home visit")
    if mode == AppointmentMode.PHONE:
        return t._("Phone call")
    if mode == AppointmentMode.OFFICE:
        return t._("Meeting at the office")
    return t._("Meeting")


def entry_text(t: Texts, entry: DiaryEntry) -> str:
    """One appointment of the diary, on a few lines."""
    lines = [
        t._(
            "{day}, {time}: family {ref}",
            day=t.day(appointments.local_day(entry.starts_at)),
            time=t.time(entry.starts_at),
            ref=entry.reference,
        )
    ]
    if entry.kind == AppointmentKind.EXTERNAL:
        lines.append(t._("{what}, at {place}", what=entry.what, place=entry.place))
    else:
        lines.append(mode_text(t, entry.mode))
    if entry.interpreter:
        lines.append(t._("Interpreter needed"))
    if entry.status == AppointmentStatus.KEPT:
        lines.append(t._("✅ Kept"))
    elif entry.status == AppointmentStatus.MISSED:
        lines.append(t._("❌ Missed"))
    return "\n".join(lines)


def diary_view(t: Texts, entries: list[DiaryEntry]) -> tuple[str, InlineKeyboardMarkup]:
    """The diary message and its buttons."""
    if not entries:
        text = t._("Nothing in your diary for the next 7 days.")
    else:
        head = t.n_(
            "🗓 Your diary for the next 7 days: {n} appointment.",
            "🗓 Your diary for the next 7 days: {n} appointments.",
            len(entries),
        )
        text = "\n\n".join([head, *(entry_text(t, e) for e in entries)])
    rows: list[list[tuple[str, str]]] = []
    for entry in entries:
        if entry.markable:
            at, ref = t.time(entry.starts_at), entry.reference
            rows.append(
                [
                    (
                        t._("✅ Kept: {time} {ref}", time=at, ref=ref),
                        build(Prefix.DIARY, DiaryAction.KEPT, entry.id),
                    ),
                    (
                        t._("❌ Missed: {time} {ref}", time=at, ref=ref),
                        build(Prefix.DIARY, DiaryAction.MISSED, entry.id),
                    ),
                ]
            )
    rows.append([(t._("➕ Add an appointment"), build(Prefix.DIARY, DiaryAction.ADD))])
    return text, keyboard(rows)


async def show(update: Update, context: SanadContext) -> None:
    """The staff /appointments: my next 7 days."""
    person = person_of(update, context)
    t = texts_for(update, context)
    entries = await context.db.run(appointments.diary, person)
    text, markup = diary_view(t, entries)
    if update.callback_query is not None:
        await update.callback_query.answer()
    await answer(update, text, markup)


def outcome_error(t: Texts, exc: DomainError) -> str:
    """Why an outcome was not recorded."""
    if isinstance(exc, OutcomeRecorded):
        return t._("The outcome of this appointment is already recorded.")
    if isinstance(exc, AppointmentCancelled):
        return t._("This appointment was cancelled.")
    if isinstance(exc, AppointmentInFuture):
        return t._("You can record this only on the day of the appointment.")
    return t._("There is no such appointment in your diary.")


async def outcome_button(update: Update, context: SanadContext) -> None:
    """Kept / Missed: recorded once, then the diary is shown again."""
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    kept = bool(ids(query.data, Prefix.DIARY, DiaryAction.KEPT))
    found = ids(query.data, Prefix.DIARY, DiaryAction.KEPT if kept else DiaryAction.MISSED)
    if found is None:
        await query.answer(t._("There is no such appointment in your diary."), show_alert=True)
        return
    try:
        await context.db.run(
            appointments.record_outcome, person=person, appointment_id=found[0], kept=kept
        )
    except DomainError as exc:
        await query.answer(outcome_error(t, exc), show_alert=True)
        return
    await query.answer(t._("Recorded: kept.") if kept else t._("Recorded: missed."))
    entries = await context.db.run(appointments.diary, person)
    text, markup = diary_view(t, entries)
    await edit_or_send(update, text, markup)
