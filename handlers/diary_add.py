"""Adding an external appointment: ``/appointments add …`` typed, or a family picked with a
button and the details typed after."""

from __future__ import annotations

from telegram import Update

from bot.context import SanadContext
from bot.delivery import dispatcher, reminder_clock
from bot.i18n import Texts
from bot.services import appointments
from bot.services.appointments import Added, InputReason
from bot.services.errors import BadAppointmentInput, DomainError, Forbidden, InvalidInput, NotFound
from handlers.callbacks import DiaryAction, Prefix, build, ids
from handlers.common import answer, keyboard, person_of, texts_for
from handlers.redelivery import source_of


def form_text(t: Texts) -> str:
    """The expected form of the command, with an example."""
    return t._(
        "Write it like this:\n"
        "/appointments add FAMILY-REF YYYY-MM-DD HH:MM | WHAT | WHERE | WHAT TO BRING\n"
        "For example:\n"
        "/appointments add KH-0042 2027-01-12 09:30 | GP appointment | Dover Health Centre, "
        "High Street | Passport and NHS letter\n"
        "What to bring is optional. The time is 24-hour, UK time."
    )


def details_prompt(t: Texts, ref: str) -> str:
    """Asked after a family was picked with a button."""
    return t._(
        "Adding an appointment for family {ref}. Type the date, time, what and where, like "
        "this:\n2027-01-12 09:30 | GP appointment | Dover Health Centre | Passport\n"
        "What to bring is optional. Send /cancel to stop.",
        ref=ref,
    )


def error_text(t: Texts, exc: DomainError, ref: str) -> str:
    """Why nothing was added, with the way to write it when the form was wrong."""
    bad = exc.details.get("reason") if isinstance(exc, BadAppointmentInput) else None
    if bad == InputReason.PAST:
        return t._("That time has already passed. Nothing was saved.")
    if bad == InputReason.TOO_LONG:
        return t._(
            "That is too long: keep what, where and what to bring short. Nothing was saved."
        )
    if bad == InputReason.DATE:
        return t._("That date or time does not exist. Nothing was saved.") + "\n\n" + form_text(t)
    if isinstance(exc, InvalidInput):
        return t._("I could not read that. Nothing was saved.") + "\n\n" + form_text(t)
    if isinstance(exc, Forbidden):
        return t._("Family {ref} is not one of your families, so nothing was saved.", ref=ref)
    if isinstance(exc, NotFound):
        return t._("There is no family {ref} that you hold. Nothing was saved.", ref=ref)
    return t._("That did not work. Nothing was saved.")


def done_text(t: Texts, added: Added) -> str:
    """Told to the caseworker once the appointment is stored."""
    when = {
        "day": t.day(appointments.local_day(added.starts_at)),
        "time": t.time(added.starts_at),
        "ref": added.reference,
    }
    if added.told:
        return t._(
            "Added for family {ref} on {day} at {time}. The family has been told in their "
            "language and will be reminded.",
            **when,
        )
    return t._(
        "Added for family {ref} on {day} at {time}. Nobody in the family uses Sanad yet, so "
        "please tell them yourself.",
        **when,
    )


def _after(context: SanadContext) -> None:
    """Sends the family's notice now and wakes the reminder clock for the new reminders."""
    dispatcher.kick(context.application)
    reminder_clock.rearm(context.application)


async def add_command(update: Update, context: SanadContext, text: str) -> None:
    """``/appointments add FAMILY-REF YYYY-MM-DD HH:MM | WHAT | WHERE [| BRING]``."""
    person = person_of(update, context)
    t = texts_for(update, context)
    ref = text.split()[0].upper() if text.split() else ""
    try:
        details = appointments.parse_external(text)
        added = await context.db.run(
            appointments.add_external,
            person=person,
            details=details,
            policy=context.settings.reminder_policy,
            source=source_of(update),
        )
    except DomainError as exc:
        await answer(update, error_text(t, exc, ref))
        return
    _after(context)
    await answer(update, done_text(t, added))


async def add_button(update: Update, context: SanadContext) -> None:
    """ "Add an appointment": pick one of my families."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    person = person_of(update, context)
    t = texts_for(update, context)
    households = await context.db.run(appointments.held_households, person, limit=40)
    if not households:
        await answer(update, t._("You have no families to add an appointment for."))
        return
    buttons = [
        (h.reference, build(Prefix.DIARY, DiaryAction.FAMILY, h.id or 0)) for h in households
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    await answer(
        update,
        t._("Which family is the appointment for?") + "\n\n" + t._("Or type it at once:")
        + "\n" + form_text(t),
        keyboard(rows),
    )  # fmt: skip


async def family_button(update: Update, context: SanadContext) -> None:
    """A family was picked: ask for the details, typed."""
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    found = ids(query.data, Prefix.DIARY, DiaryAction.FAMILY)
    try:
        if found is None:
            raise NotFound("family")
        ref = await context.db.run(appointments.start_adding, person=person, household_id=found[0])
    except DomainError:
        await query.answer(t._("That family is not one of yours."), show_alert=True)
        return
    await query.answer()
    await answer(update, details_prompt(t, ref))


async def on_staff_text(update: Update, context: SanadContext) -> bool:
    """Typed details in the "add an appointment" flow; False when the person is not in it."""
    message = update.message
    if message is None or not message.text:
        return False
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        added = await context.db.run(
            appointments.add_from_flow,
            person=person,
            text=message.text,
            policy=context.settings.reminder_policy,
            source=source_of(update),
        )
    except DomainError as exc:
        await answer(update, error_text(t, exc, ""))
        return True
    if added is None:
        return False
    _after(context)
    await answer(update, done_text(t, added))
    return True
