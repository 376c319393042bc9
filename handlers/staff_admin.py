"""/staff for coordinators: every member of staff, their role and provider; change a role,
switch someone off or on, and say plainly what happens to their families and requests."""

from __future__ import annotations

from telegram import Update

from bot.context import SanadContext
from bot.delivery import dispatcher
from bot.i18n import Texts
from bot.services import accounts, reference_data
from bot.services.errors import DomainError, NotFound
from bot.services.reference_data import PAGE, StaffChange
from handlers.admin_texts import coordinator_only, refusal_text
from handlers.callbacks import AdminAction, Prefix, args, build, ids
from handlers.common import Keyboard, answer, edit_or_send, keyboard, person_of, texts_for
from handlers.invite_flow import role_label
from handlers.menu import update_menu
from storage.models import Staff, StaffRole


def staff_line(t: Texts, staff: Staff) -> str:
    """One member of staff on the list (the name is the coordinator's own data)."""
    state = t._("on") if staff.active else t._("off")
    linked = t._("connected") if staff.telegram_user_id else t._("not connected")
    return f"{staff.id}. {staff.name}: {role_label(t, staff.role)}, {linked}, {state}"


async def staff_command(update: Update, context: SanadContext) -> None:
    """/staff (and its button): a page of staff, a button each."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    found = ids(query.data, Prefix.ADMIN, AdminAction.STAFF) if query else None
    page = found[0] - 1 if found else 0
    if query is not None:
        await query.answer()
    person = person_of(update, context)
    t = texts_for(update, context)
    rows, total = await context.db.run(reference_data.staff_page, person, page=page)
    lines = [t.n_("{n} member of staff:", "{n} members of staff:", total)]
    lines += [staff_line(t, s) for s in rows]
    buttons: Keyboard = [
        [(f"{s.id}. {s.name}", build(Prefix.ADMIN, AdminAction.STAFF_ONE, s.id or 0))]
        for s in rows
    ]
    paging = []
    if page > 0:
        paging.append((t._("◀️ Previous"), build(Prefix.ADMIN, AdminAction.STAFF, page)))
    if (page + 1) * PAGE < total:
        paging.append((t._("Next ▶️"), build(Prefix.ADMIN, AdminAction.STAFF, page + 2)))
    if paging:
        buttons.append(paging)
    await edit_or_send(update, "\n".join(lines), keyboard(buttons))


async def one_button(update: Update, context: SanadContext) -> None:
    """One member of staff: role buttons and on/off."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    found = ids(query.data, Prefix.ADMIN, AdminAction.STAFF_ONE)
    await query.answer()
    await _page(update, context, found[0] if found else 0)


async def _page(update: Update, context: SanadContext, staff_id: int) -> None:
    """A member of staff's page, or why it is not there."""
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        staff = await context.db.run(reference_data.get_staff, person, staff_id)
    except DomainError as exc:
        await answer(update, refusal_text(t, exc))
        return
    roles = [
        (role_label(t, role), build(Prefix.ADMIN, AdminAction.ROLE, staff_id, role.value))
        for role in StaffRole
        if role != staff.role
    ]
    switch = (
        (t._("⏸ Switch off"), build(Prefix.ADMIN, AdminAction.STAFF_OFF, staff_id))
        if staff.active
        else (t._("▶️ Switch on"), build(Prefix.ADMIN, AdminAction.STAFF_ON, staff_id))
    )
    text = staff_line(t, staff) + "\n\n" + t._("Change the role, or switch them off or on:")
    await edit_or_send(update, text, keyboard([roles, [switch]]))


def change_text(t: Texts, change: StaffChange, *, active: bool | None) -> str:
    """What the change did, including to their families, requests and appointments."""
    name = change.staff.name
    if active is True:
        first = t._("{name} is switched on.", name=name)
    elif active is False:
        first = t._(
            "{name} is switched off: Sanad no longer answers them as staff, and their unused "
            "invites no longer work.",
            name=name,
        )
    else:
        first = t._("{name} is now: {role}.", name=name, role=role_label(t, change.staff.role))
    parts = [first]
    if change.returned:
        parts.append(
            t.n_(
                "{n} open request they held went back to their provider's queue, whose staff "
                "were told.",
                "{n} open requests they held went back to their provider's queue, whose staff "
                "were told.",
                change.returned,
            )
        )
    if change.households:
        parts.append(
            t.n_(
                "{n} family still has them as caseworker: its new requests go by routing "
                "rule or to the provider holding its district until a new caseworker is "
                "assigned.",
                "{n} families still have them as caseworker: their new requests go by routing "
                "rule or to the provider holding their district until a new caseworker is "
                "assigned.",
                change.households,
            )
        )
    if change.appointments:
        parts.append(
            t.n_(
                "{n} booked appointment with them is still to come and was not moved: "
                "rearrange it.",
                "{n} booked appointments with them are still to come and were not moved: "
                "rearrange them.",
                change.appointments,
            )
        )
    return "\n".join(parts)


async def _new_menu(context: SanadContext, change: StaffChange) -> None:
    """Sends the handed-back requests' notices; the changed person's command menu follows
    their new role (or the guest one)."""
    if change.returned:
        dispatcher.kick(context.application)
    if change.telegram_user_id is None:
        return
    person = await context.db.run(
        accounts.resolve_caller, telegram_user_id=change.telegram_user_id, language_code=None
    )
    await update_menu(context.bot, context.db, person)


async def switch_button(update: Update, context: SanadContext) -> None:
    """Switches a member of staff on or off."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    on = ids(query.data, Prefix.ADMIN, AdminAction.STAFF_ON)
    found = on or ids(query.data, Prefix.ADMIN, AdminAction.STAFF_OFF)
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        if found is None:
            raise NotFound("staff")
        change = await context.db.run(
            reference_data.set_staff_active,
            person=person,
            staff_id=found[0],
            active=on is not None,
        )
    except DomainError as exc:
        await query.answer()
        await answer(update, refusal_text(t, exc))
        return
    await query.answer()
    await _new_menu(context, change)
    await answer(update, change_text(t, change, active=on is not None))


async def role_button(update: Update, context: SanadContext) -> None:
    """A new role picked; a caseworker or lead without a provider is asked for one."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    found = args(query.data, Prefix.ADMIN, AdminAction.ROLE) or args(
        query.data, Prefix.ADMIN, AdminAction.ROLE_PROVIDER
    )
    parsed = _parse(found)
    try:
        if parsed is None:
            raise NotFound("staff")
        staff_id, role, provider_id = parsed
        change = await context.db.run(
            reference_data.change_role,
            person=person,
            staff_id=staff_id,
            role=role,
            provider_id=provider_id,
        )
    except DomainError as exc:
        await query.answer()
        if parsed is not None and exc.details.get("reason") == "provider":
            await _ask_provider(update, context, parsed[0], parsed[1])
            return
        await answer(update, refusal_text(t, exc))
        return
    await query.answer()
    await _new_menu(context, change)
    await answer(update, change_text(t, change, active=None))


def _parse(found: list[str] | None) -> tuple[int, str, int | None] | None:
    """(staff id, role, provider id or None) from a role button; None when forged."""
    if found is None or len(found) not in (2, 3):
        return None
    if not all(a.isdigit() and 0 < len(a) <= 10 for a in (found[0], *found[2:])):
        return None
    if found[1] not in {r.value for r in StaffRole}:
        return None
    return int(found[0]), found[1], int(found[2]) if len(found) == 3 else None


async def _ask_provider(update: Update, context: SanadContext, staff_id: int, role: str) -> None:
    """A coordinator becoming a caseworker or lead: which provider?"""
    person = person_of(update, context)
    t = texts_for(update, context)
    options = await context.db.run(reference_data.choices, person)
    rows: Keyboard = [
        [(name, build(Prefix.ADMIN, AdminAction.ROLE_PROVIDER, staff_id, role, pid))]
        for pid, name in options["providers"]
    ]
    await answer(update, t._("Which provider do they work for?"), keyboard(rows))


BUTTONS = [
    (staff_command, AdminAction.STAFF, 1),
    (one_button, AdminAction.STAFF_ONE, 1),
    (switch_button, AdminAction.STAFF_ON, 1),
    (switch_button, AdminAction.STAFF_OFF, 1),
    (role_button, AdminAction.ROLE, 2),
    (role_button, AdminAction.ROLE_PROVIDER, 3),
]
