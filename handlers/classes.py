"""ESOL classes on Telegram: a family's timetable; staff enrol their families and take the
register of a past session."""

from __future__ import annotations

from datetime import date

from telegram import InlineKeyboardMarkup, Update

from bot.context import SanadContext
from bot.delivery import dispatcher, reminder_clock
from bot.i18n import Texts
from bot.services import classes
from bot.services.errors import Conflict, DomainError
from bot.services.people import Person
from handlers.calendar_texts import class_text, timetable_text
from handlers.callbacks import ClassAction, Prefix, build, ids
from handlers.common import answer, edit_or_send, keyboard, person_of, texts_for
from handlers.redelivery import ack
from storage.models import AttendanceStatus, EsolClass
from storage.types import utcnow

# ---------------------------------------------------------------- the family's timetable


async def classes_command(update: Update, context: SanadContext) -> None:
    """/classes and the menu button: a member's timetable, or staff's classes."""
    person = person_of(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer()
    if person.is_staff:
        await _staff_list(update, context, person)
        return
    t = texts_for(update, context)
    mine = await context.db.run(classes.timetable, person.member_id or 0)
    await answer(update, timetable_text(t, mine, utcnow()))


# ---------------------------------------------------------------- staff


def _after(context: SanadContext) -> None:
    """Sends queued notices now and wakes the reminder clock for changed reminders."""
    dispatcher.kick(context.application)
    reminder_clock.rearm(context.application)


def _gone(t: Texts) -> str:
    """Said for a forged or stale class button."""
    return t._("That class, person or session is not one you can change.")


async def _staff_list(update: Update, context: SanadContext, person: Person) -> None:
    """The classes a member of staff can enrol their families into."""
    t = texts_for(update, context)
    found = await context.db.run(classes.staff_classes, person)
    if not found:
        await answer(update, t._("There are no English classes in Sanad yet."))
        return
    rows = [
        [(f"📚 {esol.name} ({esol.venue})", build(Prefix.CLASSES, ClassAction.OPEN, esol.id or 0))]
        for esol in found
    ]
    await answer(update, t._("English classes: tap one to enrol your families."), keyboard(rows))


def _class_page(
    t: Texts, esol: EsolClass, people: list[classes.Candidate]
) -> tuple[str, InlineKeyboardMarkup]:
    """A class for staff: its timetable, my families' members in it, and what I can do."""
    cid = esol.id or 0
    enrolled = [c for c in people if c.enrolled]
    lines = [class_text(t, esol, utcnow()), ""]
    if enrolled:
        lines.append(t._("Your families' members in this class:"))
        lines += [f"• {c.name} ({c.reference})" for c in enrolled]
    else:
        lines.append(t._("Nobody from your families is in this class yet."))
    rows = [
        [(t._("➖ Take {name} out", name=c.name),
          build(Prefix.CLASSES, ClassAction.OUT, cid, c.member_id))]
        for c in enrolled
    ]  # fmt: skip
    rows.append([(t._("➕ Enrol someone"), build(Prefix.CLASSES, ClassAction.ENROL, cid))])
    rows.append([(t._("📝 Take the register"), build(Prefix.CLASSES, ClassAction.SESSIONS, cid))])
    return "\n".join(lines), keyboard(rows)


async def _show_class(update: Update, context: SanadContext, class_id: int) -> None:
    """Edits the message into the class page."""
    person = person_of(update, context)
    t = texts_for(update, context)
    esol = await context.db.run(classes.staff_class, person, class_id)
    people = await context.db.run(classes.candidates, person, class_id)
    await edit_or_send(update, *_class_page(t, esol, people))


async def _ids(update: Update, context: SanadContext, action: ClassAction, n: int) -> list[int]:
    """The ids of a class button, or an alert and an empty list when it is forged."""
    query = update.callback_query
    assert query is not None
    found = ids(query.data, Prefix.CLASSES, action, n)
    if found is None:
        await query.answer(_gone(texts_for(update, context)), show_alert=True)
        return []
    return found


async def open_button(update: Update, context: SanadContext) -> None:
    """A class picked from the staff list."""
    if not (found := await _ids(update, context, ClassAction.OPEN, 1)):
        return
    try:
        await _show_class(update, context, found[0])
    except DomainError:
        await update.callback_query.answer(_gone(texts_for(update, context)), show_alert=True)  # type: ignore[union-attr]
        return
    await update.callback_query.answer()  # type: ignore[union-attr]


async def enrol_button(update: Update, context: SanadContext) -> None:
    """ "Enrol someone": my families' members not yet in the class."""
    if not (found := await _ids(update, context, ClassAction.ENROL, 1)):
        return
    person = person_of(update, context)
    t = texts_for(update, context)
    query = update.callback_query
    assert query is not None
    try:
        people = await context.db.run(classes.candidates, person, found[0])
    except DomainError:
        await query.answer(_gone(t), show_alert=True)
        return
    await query.answer()
    free = [c for c in people if not c.enrolled]
    if not free:
        await answer(update, t._("Everyone in your families is already in this class."))
        return
    rows = [
        [(f"{c.name} ({c.reference})", build(Prefix.CLASSES, ClassAction.PICK, found[0], c.member_id))]
        for c in free[:40]
    ]  # fmt: skip
    await answer(update, t._("Who should join this class?"), keyboard(rows))


async def pick_button(update: Update, context: SanadContext) -> None:
    """A member picked: confirm before enrolling."""
    if not (found := await _ids(update, context, ClassAction.PICK, 2)):
        return
    person = person_of(update, context)
    t = texts_for(update, context)
    query = update.callback_query
    assert query is not None
    try:
        esol = await context.db.run(classes.staff_class, person, found[0])
        people = await context.db.run(classes.candidates, person, found[0])
    except DomainError:
        await query.answer(_gone(t), show_alert=True)
        return
    who = next((c for c in people if c.member_id == found[1]), None)
    if who is None:
        await query.answer(_gone(t), show_alert=True)
        return
    await query.answer()
    text = t._("Enrol {name} ({ref}) in {course}? They will get the timetable and reminders.",
               name=who.name, ref=who.reference, course=esol.name)  # fmt: skip
    markup = keyboard(
        [[(t._("✅ Yes, enrol"), build(Prefix.CLASSES, ClassAction.YES, *found)),
          (t._("↩️ Back"), build(Prefix.CLASSES, ClassAction.OPEN, found[0]))]]
    )  # fmt: skip
    await edit_or_send(update, text, markup)


async def yes_button(update: Update, context: SanadContext) -> None:
    """Enrols, then shows the class page again."""
    if not (found := await _ids(update, context, ClassAction.YES, 2)):
        return
    person = person_of(update, context)
    t = texts_for(update, context)
    query = update.callback_query
    assert query is not None
    try:
        await context.db.run(
            classes.enrol_as_staff,
            person=person,
            class_id=found[0],
            member_id=found[1],
            policy=context.settings.reminder_policy,
        )
    except Conflict:  # a second tap, or the same press handled again: nothing changes
        await ack(query, t._("Already in this class, or its term is over."), show_alert=True)
        return
    except DomainError:
        await ack(query, _gone(t), show_alert=True)
        return
    _after(context)
    await ack(query, t._("Enrolled."))
    await _show_class(update, context, found[0])


async def out_button(update: Update, context: SanadContext) -> None:
    """Takes a member out of a class; their reminders stop."""
    if not (found := await _ids(update, context, ClassAction.OUT, 2)):
        return
    person = person_of(update, context)
    t = texts_for(update, context)
    query = update.callback_query
    assert query is not None
    try:
        await context.db.run(
            classes.unenrol_as_staff, person=person, class_id=found[0], member_id=found[1]
        )
    except DomainError:
        await query.answer(_gone(t), show_alert=True)
        return
    _after(context)
    await query.answer(t._("Taken out of the class."))
    await _show_class(update, context, found[0])


def _day_arg(on: date) -> int:
    """A session date as a button argument (YYYYMMDD)."""
    return on.year * 10000 + on.month * 100 + on.day


def _day_of(number: int) -> date | None:
    """A YYYYMMDD button argument as a date, or None when it is not one."""
    try:
        return date(number // 10000, number // 100 % 100, number % 100)
    except ValueError:
        return None


async def sessions_button(update: Update, context: SanadContext) -> None:
    """ "Take the register": pick one of the latest sessions."""
    if not (found := await _ids(update, context, ClassAction.SESSIONS, 1)):
        return
    person = person_of(update, context)
    t = texts_for(update, context)
    query = update.callback_query
    assert query is not None
    try:
        done = await context.db.run(classes.past_sessions, person, found[0])
    except DomainError:
        await query.answer(_gone(t), show_alert=True)
        return
    await query.answer()
    if not done:
        await answer(update, t._("This class has had no sessions yet."))
        return
    rows = [
        [(t.day(s.on), build(Prefix.CLASSES, ClassAction.REGISTER, found[0], _day_arg(s.on)))]
        for s in done
    ]
    await answer(update, t._("Which session?"), keyboard(rows))


def _mark(t: Texts, status: AttendanceStatus | None) -> str:
    """What is known of one person at one session."""
    marks = {
        AttendanceStatus.ATTENDED: t._("attended"),
        AttendanceStatus.ABSENT: t._("absent"),
        AttendanceStatus.APOLOGY: t._("said they could not come"),
        AttendanceStatus.WILL_COME: t._("said they would come"),
    }
    return marks.get(status, t._("not marked")) if status else t._("not marked")


async def _show_register(update: Update, context: SanadContext, class_id: int, on: date) -> None:
    """The register of one session, with attended/absent buttons per member."""
    person = person_of(update, context)
    t = texts_for(update, context)
    lines = await context.db.run(classes.register, person=person, class_id=class_id, on=on)
    text = "\n".join(
        [t._("Register for {day}:", day=t.day(on))]
        + [f"• {line.name} ({line.reference}): {_mark(t, line.status)}" for line in lines]
    )
    if not lines:
        text += "\n" + t._("Nobody from your families is in this class.")
    day = _day_arg(on)
    rows = [
        [(t._("✅ {name} came", name=line.name),
          build(Prefix.CLASSES, ClassAction.ATTENDED, class_id, day, line.member_id)),
         (t._("❌ {name} absent", name=line.name),
          build(Prefix.CLASSES, ClassAction.ABSENT, class_id, day, line.member_id))]
        for line in lines
    ]  # fmt: skip
    await edit_or_send(update, text, keyboard(rows))


async def register_button(update: Update, context: SanadContext) -> None:
    """A session picked: its register."""
    if not (found := await _ids(update, context, ClassAction.REGISTER, 2)):
        return
    query = update.callback_query
    assert query is not None
    on = _day_of(found[1])
    try:
        if on is None:
            raise Conflict("date")
        await _show_register(update, context, found[0], on)
    except DomainError:
        await query.answer(_gone(texts_for(update, context)), show_alert=True)
        return
    await query.answer()


async def mark_button(update: Update, context: SanadContext) -> None:
    """Attended / absent for one member at one session."""
    query = update.callback_query
    assert query is not None
    attended = ids(query.data, Prefix.CLASSES, ClassAction.ATTENDED, 3) is not None
    action = ClassAction.ATTENDED if attended else ClassAction.ABSENT
    if not (found := await _ids(update, context, action, 3)):
        return
    t = texts_for(update, context)
    on = _day_of(found[1])
    try:
        if on is None:
            raise Conflict("date")
        await context.db.run(
            classes.record_session,
            person=person_of(update, context),
            class_id=found[0],
            on=on,
            member_id=found[2],
            attended=attended,
        )
    except DomainError:
        await query.answer(_gone(t), show_alert=True)
        return
    await query.answer(t._("Recorded."))
    await _show_register(update, context, found[0], on)
