"""Caseworkers' bookable time: /slots lists it, /slots add (or buttons) publishes, withdraw.

The button flow keeps its state in the button data (``sl:…``) and publishes through the same
checks as the typed command.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime, timedelta

from telegram import Update
from telegram.error import BadRequest

from bot.context import SanadContext
from bot.delivery import dispatcher, reminder_clock
from bot.i18n import Texts, plain
from bot.services import slots
from bot.services.errors import BadSlotInput, DomainError, NotFound, SlotClash
from bot.services.slots import Reason, SlotRequest
from handlers.booking import local_day, when_text
from handlers.callbacks import Prefix, SlotAction, args, build
from handlers.common import answer, edit_or_send, keyboard, person_of, texts_for
from handlers.menu import menu_for
from handlers.redelivery import ack, source_of
from storage.models import Slot, StaffRole
from storage.types import utcnow

LISTED = 30  # slots listed with a withdraw button; the rest are counted
BUTTON_DAYS = 14
STARTS = range(8, 18)  # 08:00 … 17:00 start buttons
LENGTHS = (30, 45, 60)
_DAY = re.compile(r"^\d{8}$")
_HHMM = re.compile(r"^([01]\d|2[0-3])([0-5]\d)$")


def example(t: Texts) -> str:
    """How to write /slots add, with examples."""
    return t._(
        "Write it like this:\n"
        "/slots add 2027-01-12 09:00-12:00\n"
        "/slots add tomorrow 14:00-16:00 45\n"
        "/slots add tue 10:00-12:00 30 until 2027-03-30\n"
        "A weekday repeats every week (4 weeks when you give no date after until)."
    )


def error_text(t: Texts, exc: DomainError) -> str:
    """Why nothing was published, with an example."""
    if isinstance(exc, SlotClash):
        clash = when_text(t, exc.details["starts_at"], exc.details["ends_at"])  # type: ignore[arg-type]
        return t._(
            "Nothing was published: this overlaps time you already published ({when}). "
            "Withdraw that first or choose other times.",
            when=clash,
        )
    reason = exc.details.get("reason")
    texts_by_reason: dict[str, str] = {
        Reason.END_BEFORE_START: t._("Nothing was published: the end must be after the start."),
        Reason.LENGTH: t._("Nothing was published: the slot length must be more than 0 minutes."),
        Reason.TOO_LONG: t._("Nothing was published: one slot is longer than the time you gave."),
        Reason.PAST: t._("Nothing was published: that time has already passed."),
        Reason.WEEKDAY: t._(
            "Nothing was published: I don't know that day. Use a date like 2027-01-12, "
            "today, tomorrow or a weekday like mon, tue, wed."
        ),
        Reason.DATE: t._(
            "Nothing was published: I don't know that date. Use a date like 2027-01-12, "
            "today, tomorrow or a weekday like mon, tue, wed."
        ),
        Reason.UNTIL_BEFORE: t._(
            "Nothing was published: the date after until is before the first day."
        ),
        Reason.UNTIL_FAR: t._("Nothing was published: you can publish time up to 6 months ahead."),
        Reason.TOO_MANY: t._(
            "Nothing was published: that is more than {limit} slots at once.",
            limit=slots.MAX_SLOTS,
        ),
    }
    first = texts_by_reason.get(str(reason), t._("Nothing was published: I could not read that."))
    return first + "\n\n" + example(t)


def published_text(t: Texts, request: SlotRequest, count: int) -> str:
    """What was published."""
    lines = [
        t.n_(
            "✅ Published {n} slot of {minutes} minutes, {start}–{end}.",
            "✅ Published {n} slots of {minutes} minutes, {start}–{end}.",
            count,
            minutes=request.minutes,
            start=request.start,
            end=request.end,
        )
    ]
    if request.weekly and request.until is not None:
        lines.append(
            t._(
                "Every {weekday} from {first} until {last}.",
                weekday=t.weekday(request.days[0]),
                first=t.date(request.days[0]),
                last=t.date(request.days[-1]),
            )
        )
    else:
        lines.append(t._("On {day}.", day=t.day(request.days[0])))
    if request.leftover:
        lines.append(
            t.n_(
                "The last {n} minute of each day is shorter than a slot, so it was not published.",
                "The last {n} minutes of each day are shorter than a slot, so they were not "
                "published.",
                request.leftover,
            )
        )
    return "\n".join(lines)


def again_text(t: Texts, published: list[Slot]) -> str:
    """The same message (or Publish button) handled again: what it published the first time."""
    first = published[0]
    return t.n_(
        "✅ Already published from this message: {n} slot, the first on {when}.",
        "✅ Already published from this message: {n} slots, the first on {when}.",
        len(published),
        when=when_text(t, first.starts_at, first.ends_at),
    )


async def _published_before(update: Update, context: SanadContext) -> bool:
    """Answers a redelivered /slots add or Publish press with what it published then."""
    source = source_of(update)
    person = person_of(update, context)
    if source is None:
        return False
    earlier = await context.db.run(slots.published_from, person.staff_id or 0, source)
    if not earlier:
        return False
    t = texts_for(update, context)
    await answer(
        update,
        again_text(t, earlier),
        keyboard([[(t._("⏱ My free slots"), build(Prefix.SLOTS, SlotAction.LIST))]]),
    )
    return True


def _may_publish(update: Update, context: SanadContext) -> bool:
    """Caseworkers and provider leads publish time; coordinators do not."""
    person = person_of(update, context)
    return person.is_staff and person.role in (StaffRole.CASEWORKER, StaffRole.LEAD)


async def _not_for_you(update: Update, context: SanadContext) -> None:
    """Told to coordinators."""
    t = texts_for(update, context)
    await answer(update, t._("Free time for bookings is published by caseworkers and leads."))


async def slots_command(update: Update, context: SanadContext) -> None:
    """/slots (list) and /slots add …; the menu button too."""
    query = update.callback_query
    if query is not None:
        await query.answer()
    if not _may_publish(update, context):
        await _not_for_you(update, context)
        return
    text = plain(update.message.text or "") if update.message is not None else ""
    words = text.split(maxsplit=1)
    rest = words[1].strip() if len(words) > 1 else ""
    if not rest:
        await show_list(update, context)
        return
    t = texts_for(update, context)
    first, _, tail = rest.partition(" ")
    if first.lower() != "add":
        await answer(update, example(t))
        return
    # Checked before reading the words: "tomorrow" read again after midnight is another day.
    if await _published_before(update, context):
        return
    try:
        request = slots.parse_add(tail, now=utcnow())
    except BadSlotInput as exc:
        await answer(update, error_text(t, exc))
        return
    await _publish(update, context, request)


async def _publish(update: Update, context: SanadContext, request: SlotRequest) -> None:
    """Stores the request and says what was published (or why nothing was)."""
    if not _may_publish(update, context):
        await _not_for_you(update, context)
        return
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        created = await context.db.run(
            slots.publish, person.staff_id or 0, request, source=source_of(update)
        )
    except DomainError as exc:
        await answer(update, error_text(t, exc))
        return
    await answer(
        update,
        published_text(t, request, len(created)),
        keyboard([[(t._("⏱ My free slots"), build(Prefix.SLOTS, SlotAction.LIST))]]),
    )


async def show_list(update: Update, context: SanadContext) -> None:
    """My published time from today: free and booked, with withdraw buttons."""
    person = person_of(update, context)
    t = texts_for(update, context)
    views = await context.db.run(slots.upcoming, person.staff_id or 0, now=utcnow())
    add_row = [(t._("➕ Add time"), build(Prefix.SLOTS, SlotAction.ADD))]
    if not views:
        await answer(
            update,
            t._("You have no free time published from today.") + "\n\n" + example(t),
            keyboard([add_row]),
        )
        return
    lines, rows = [t._("Your published time from today:")], []
    for item in views[:LISTED]:
        when = when_text(t, item.starts_at, item.ends_at)
        if item.booked:
            lines.append(t._("📌 {when} · booked by {family}", when=when, family=item.family_ref))
        else:
            lines.append(t._("🟢 {when} · free", when=when))
        rows.append(
            [
                (
                    t._(
                        "✖️ Withdraw {when}",
                        when=f"{t.day(local_day(item.starts_at))} {t.time(item.starts_at)}",
                    ),
                    build(Prefix.SLOTS, SlotAction.WITHDRAW, item.slot_id),
                )
            ]
        )
    if len(views) > LISTED:
        lines.append(t.n_("… and {n} more.", "… and {n} more.", len(views) - LISTED))
    rows.append(add_row)
    await answer(update, "\n".join(lines), keyboard(rows))


async def list_button(update: Update, context: SanadContext) -> None:
    """The "My free slots" button."""
    await slots_command(update, context)


# ---------------------------------------------------------------- adding with buttons


def _day(text: str) -> date | None:
    """YYYYMMDD as a date, or None."""
    if not _DAY.match(text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _clock(text: str) -> str | None:
    """HHMM as "HH:MM", or None."""
    match = _HHMM.match(text)
    return f"{match.group(1)}:{match.group(2)}" if match else None


async def _stale(update: Update, context: SanadContext) -> None:
    """A button that no longer works (old or forged)."""
    query = update.callback_query
    assert query is not None
    t = texts_for(update, context)
    await query.answer(t._("This button no longer works."), show_alert=True)


async def add_button(update: Update, context: SanadContext) -> None:
    """Add time: pick a day of the next two weeks."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    t = texts_for(update, context)
    today = slots.local_today(utcnow())
    buttons = [
        (t.day(day), build(Prefix.SLOTS, SlotAction.DAY, f"{day:%Y%m%d}"))
        for day in (today + timedelta(days=n) for n in range(BUTTON_DAYS))
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await edit_or_send(update, t._("Which day?"), keyboard(rows))


async def day_button(update: Update, context: SanadContext) -> None:
    """A day: pick a start time."""
    query = update.callback_query
    assert query is not None
    found = args(query.data, Prefix.SLOTS, SlotAction.DAY)
    day = _day(found[0]) if found and len(found) == 1 else None
    if day is None:
        await _stale(update, context)
        return
    await query.answer()
    t = texts_for(update, context)
    buttons = [
        (f"{hour:02d}:00", build(Prefix.SLOTS, SlotAction.FROM, f"{day:%Y%m%d}", f"{hour:02d}00"))
        for hour in STARTS
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    await edit_or_send(update, t._("{day}: from what time?", day=t.day(day)), keyboard(rows))


async def from_button(update: Update, context: SanadContext) -> None:
    """A start: pick an end time."""
    query = update.callback_query
    assert query is not None
    found = args(query.data, Prefix.SLOTS, SlotAction.FROM)
    if not found or len(found) != 2 or _day(found[0]) is None or _clock(found[1]) is None:
        await _stale(update, context)
        return
    await query.answer()
    t = texts_for(update, context)
    start = int(found[1][:2])
    buttons = [
        (f"{hour:02d}:00", build(Prefix.SLOTS, SlotAction.TO, found[0], found[1], f"{hour:02d}00"))
        for hour in range(start + 1, 19)
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    day = _day(found[0])
    assert day is not None
    await edit_or_send(
        update,
        t._("{day}, from {start}: until what time?", day=t.day(day), start=_clock(found[1])),
        keyboard(rows),
    )


async def to_button(update: Update, context: SanadContext) -> None:
    """An end: pick a slot length."""
    query = update.callback_query
    assert query is not None
    found = args(query.data, Prefix.SLOTS, SlotAction.TO)
    if not found or len(found) != 3 or _day(found[0]) is None or None in map(_clock, found[1:]):
        await _stale(update, context)
        return
    await query.answer()
    t = texts_for(update, context)
    rows = [
        [
            (
                t.n_("{n} minute", "{n} minutes", minutes),
                build(Prefix.SLOTS, SlotAction.LENGTH, *found, minutes),
            )
            for minutes in LENGTHS
        ]
    ]
    await edit_or_send(update, t._("How long is each meeting?"), keyboard(rows))


def _request(found: list[str] | None) -> tuple[date, str, str, int] | None:
    """(day, start, end, minutes) from a length or publish button."""
    if not found or len(found) != 4 or not found[3].isdigit() or len(found[3]) > 3:
        return None
    day, start, end = _day(found[0]), _clock(found[1]), _clock(found[2])
    if day is None or start is None or end is None:
        return None
    return day, start, end, int(found[3])


async def length_button(update: Update, context: SanadContext) -> None:
    """A length: confirm before publishing."""
    query = update.callback_query
    assert query is not None
    found = args(query.data, Prefix.SLOTS, SlotAction.LENGTH)
    parsed = _request(found)
    if parsed is None or found is None:
        await _stale(update, context)
        return
    await query.answer()
    t = texts_for(update, context)
    day, start, end, minutes = parsed
    text = t.n_(
        "Publish {day}, {start}–{end}, in meetings of {n} minute?",
        "Publish {day}, {start}–{end}, in meetings of {n} minutes?",
        minutes,
        day=t.day(day),
        start=start,
        end=end,
    )
    rows = [
        [(t._("✅ Publish"), build(Prefix.SLOTS, SlotAction.PUBLISH, *found))],
        [(t._("✖️ Cancel"), build(Prefix.SLOTS, SlotAction.LIST))],
    ]
    await edit_or_send(update, text, keyboard(rows))


async def publish_button(update: Update, context: SanadContext) -> None:
    """Publishes what the buttons chose, through the same checks as /slots add."""
    query = update.callback_query
    assert query is not None
    parsed = _request(args(query.data, Prefix.SLOTS, SlotAction.PUBLISH))
    if parsed is None:
        await _stale(update, context)
        return
    await ack(query)
    if not _may_publish(update, context):
        await _not_for_you(update, context)
        return
    if await _published_before(update, context):
        return
    t = texts_for(update, context)
    day, start, end, minutes = parsed
    try:
        request = slots.build(day, start, end, minutes, now=utcnow())
    except BadSlotInput as exc:
        await answer(update, error_text(t, exc))
        return
    # Already taken off by a second press: publishing below decides what happens.
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)
    await _publish(update, context, request)


# ---------------------------------------------------------------- withdrawing


def _slot_id(data: str | None, action: SlotAction) -> int | None:
    """The slot id of a withdraw button, or None when forged."""
    found = args(data, Prefix.SLOTS, action)
    if not found or len(found) != 1 or not found[0].isdigit() or len(found[0]) > 10:
        return None
    value = int(found[0])
    return value if 0 < value < 2**31 else None


async def _withdraw(update: Update, context: SanadContext, *, confirmed: bool) -> None:
    """Withdraws a slot; a booked one asks first, then cancels and tells the family."""
    query = update.callback_query
    assert query is not None
    action = SlotAction.WITHDRAW_BOOKED if confirmed else SlotAction.WITHDRAW
    slot_id = _slot_id(query.data, action)
    if slot_id is None:
        await _stale(update, context)
        return
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        done = await context.db.run(
            slots.withdraw, person.staff_id or 0, slot_id, confirmed=confirmed, now=utcnow()
        )
    except NotFound:
        await query.answer(
            t._("That time is not yours, or it was already withdrawn."), show_alert=True
        )
        return
    await query.answer()
    when = when_text(t, done.starts_at, done.ends_at)
    if not done.done:
        rows = [
            [
                (
                    t._("Yes, withdraw and cancel"),
                    build(Prefix.SLOTS, SlotAction.WITHDRAW_BOOKED, slot_id),
                )
            ],
            [(t._("No, keep it"), build(Prefix.SLOTS, SlotAction.LIST))],
        ]
        await answer(
            update,
            t._(
                "{when} is booked by family {family}. Withdraw it and cancel their meeting? "
                "The family will be told and offered other times.",
                when=when,
                family=done.family_ref,
            ),
            keyboard(rows),
        )
        return
    if done.family_ref:
        text = t._(
            "Withdrawn: {when}. The meeting with family {family} is cancelled and the family "
            "has been told.",
            when=when,
            family=done.family_ref,
        )
    else:
        text = t._("Withdrawn: {when}.", when=when)
    await answer(update, text, menu_for(t, person))
    if done.family_ref:
        dispatcher.kick(context.application)
        reminder_clock.rearm(context.application)


async def withdraw_button(update: Update, context: SanadContext) -> None:
    """Withdraw one slot (asks first when booked)."""
    await _withdraw(update, context, confirmed=False)


async def withdraw_booked_button(update: Update, context: SanadContext) -> None:
    """Withdraw a booked slot after confirming."""
    await _withdraw(update, context, confirmed=True)


BUTTONS = [
    (list_button, SlotAction.LIST, 0),
    (add_button, SlotAction.ADD, 0),
    (day_button, SlotAction.DAY, 1),
    (from_button, SlotAction.FROM, 2),
    (to_button, SlotAction.TO, 3),
    (length_button, SlotAction.LENGTH, 4),
    (publish_button, SlotAction.PUBLISH, 4),
    (withdraw_button, SlotAction.WITHDRAW, 1),
    (withdraw_booked_button, SlotAction.WITHDRAW_BOOKED, 1),
]
