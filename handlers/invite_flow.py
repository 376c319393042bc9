"""/invite with buttons: a household then a member (or a new one typed), or a member of staff
(not yet connected, or new: role, provider, typed name). The coordinator gets the link."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup, Update

from bot.context import SanadContext
from bot.delivery import dispatcher
from bot.i18n import Texts
from bot.services import invites, reference_data
from bot.services.accounts import Issued
from bot.services.errors import DomainError, NotFound
from bot.services.invites import AccountLinked, IssuedInvite
from bot.services.people import Person
from bot.services.reference_data import PAGE, TypedStep
from handlers.admin_texts import coordinator_only, refusal_text
from handlers.callbacks import InviteAction, Prefix, args, build, ids
from handlers.common import Keyboard, answer, edit_or_send, keyboard, person_of, texts_for
from handlers.redelivery import ack, source_of
from storage.models import StaffRole

if TYPE_CHECKING:  # the type of what an invite button runs; handlers never open a session
    from sqlmodel import Session


def role_label(t: Texts, role: StaffRole) -> str:
    """A staff role on a button."""
    labels = {
        StaffRole.CASEWORKER: t._("🧑‍💼 Caseworker"),
        StaffRole.LEAD: t._("🧭 Provider lead"),
        StaffRole.COORDINATOR: t._("🏛 Coordinator"),
    }
    return labels[role]


def start_keyboard(t: Texts) -> Keyboard:
    """Who the invite is for."""
    return [
        [(t._("👪 A family member"), build(Prefix.INVITE, InviteAction.FAMILIES, 1))],
        [
            (role_label(t, role), build(Prefix.INVITE, InviteAction.STAFF, role.value))
            for role in StaffRole
        ],
    ]


def start_text(t: Texts) -> str:
    """Above the first invite buttons, with the typed forms for those who prefer them."""
    return t._(
        "Who is the invite for?\n\nYou can also type:\n/invite family FAMILY-REF [member name]"
        "\n/invite caseworker STAFF-ID (also: lead, coordinator)"
    )


async def show_start(update: Update, context: SanadContext) -> None:
    """The first step of /invite with buttons."""
    t = texts_for(update, context)
    await answer(update, start_text(t), keyboard(start_keyboard(t)))


def invite_text(t: Texts, context: SanadContext, issued: IssuedInvite, who: str) -> str:
    """The link and code, and a word about the old account when one was cut off."""
    link = invites.deep_link(context.settings.bot_username, issued.code)
    text = t._(
        "Invite for {who}. It works once and expires on {date}.\n\n{link}\n\n"
        "If the link does not open, they can send /start {code}",
        who=who,
        date=t.datetime(issued.expires_at),
        link=link,
        code=invites.display_code(issued.code),
    )
    if issued.relinked:
        text += "\n\n" + t._("Their old Telegram account was disconnected and told.")
    return text


def earlier_text(t: Texts, earlier: invites.Earlier) -> str:
    """The same message or button handled again: no second code (it would stop the first one
    working), and the first code cannot be shown again since only its hash is kept."""
    if earlier.family_ref is not None:
        who = t._("{name} of family {ref}", name=earlier.name, ref=earlier.family_ref)
    else:
        who = earlier.name
    if earlier.state == invites.EarlierState.USED:
        return t._(
            "An invite for {who} was already created from this message, and it has been used.",
            who=who,
        )
    if earlier.state == invites.EarlierState.ENDED:
        return t._(
            "An invite for {who} was already created from this message. It no longer works: "
            "start /invite again for a new one.",
            who=who,
        )
    return t._(
        "An invite for {who} was already created from this message, and it works until "
        "{date}. Its code is not kept, so it cannot be shown again. If the link was lost, "
        "start /invite again: the new invite replaces it.",
        who=who,
        date=t.datetime(earlier.expires_at),
    )


async def _issued(update: Update, context: SanadContext, made: Issued | invites.Earlier) -> None:
    """Shows the link and code of a new invite (or says it was made already)."""
    t = texts_for(update, context)
    if isinstance(made, invites.Earlier):
        await answer(update, earlier_text(t, made))
        return
    if made.family_ref is not None:
        who = t._("{name} of family {ref}", name=made.name, ref=made.family_ref)
    else:
        who = made.name
    if made.invite.relinked:
        dispatcher.kick(context.application)
    await answer(update, invite_text(t, context, made.invite, who))


async def _refused(update: Update, context: SanadContext, exc: DomainError) -> None:
    """A refusal in the coordinator's language (an alert on the button, and a message)."""
    t = texts_for(update, context)
    query = update.callback_query
    if query is not None:
        await ack(query)
    await answer(update, refusal_text(t, exc))


async def families_button(update: Update, context: SanadContext) -> None:
    """A page of households (references only), with a typed search."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    found = ids(query.data, Prefix.INVITE, InviteAction.FAMILIES)
    page = found[0] - 1 if found else 0
    t = texts_for(update, context)
    person = person_of(update, context)
    rows, total = await context.db.run(reference_data.households_page, person, page=page)
    await query.answer()
    await edit_or_send(update, *_households(t, rows, total, page))


def _households(
    t: Texts, rows: list[tuple[int, str]], total: int, page: int, search: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and buttons of one page of households."""
    buttons = [(ref, build(Prefix.INVITE, InviteAction.HOUSEHOLD, hid)) for hid, ref in rows]
    grid: Keyboard = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    paging: list[tuple[str, str]] = []
    if page > 0 and not search:
        paging.append((t._("◀️ Previous"), build(Prefix.INVITE, InviteAction.FAMILIES, page)))
    if (page + 1) * PAGE < total and not search:
        paging.append((t._("Next ▶️"), build(Prefix.INVITE, InviteAction.FAMILIES, page + 2)))
    if paging:
        grid.append(paging)
    grid.append([(t._("🔎 Type a reference"), build(Prefix.INVITE, InviteAction.SEARCH))])
    if total == 0:
        text = t._("No families are registered yet.")
    else:
        text = t.n_(
            "Which family? {n} family is registered; tap its reference, or type one.",
            "Which family? {n} families are registered; tap a reference, or type one.",
            total,
        )
    return text, keyboard(grid)


async def search_button(update: Update, context: SanadContext) -> None:
    """Asks for a reference to be typed."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    await context.db.run(reference_data.expect_typing, person=person, step=TypedStep.FAMILY_SEARCH)
    await query.answer()
    await answer(
        update,
        t._("Type the family reference, or its beginning (for example KH-00). /cancel stops."),
    )


async def household_button(update: Update, context: SanadContext) -> None:
    """A household picked: its members, and a button for a new one."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    found = ids(query.data, Prefix.INVITE, InviteAction.HOUSEHOLD)
    try:
        if found is None:
            raise NotFound("family")
        ref, members = await context.db.run(reference_data.household_members, person, found[0])
    except DomainError as exc:
        await _refused(update, context, exc)
        return
    await query.answer()
    rows: Keyboard = []
    for member in members:
        label = t._("🔗 {name} (connected)", name=member.name) if member.linked else member.name
        rows.append([(label, build(Prefix.INVITE, InviteAction.MEMBER, member.member_id))])
    rows.append([(t._("➕ New member"), build(Prefix.INVITE, InviteAction.NEW_MEMBER, found[0]))])
    text = (
        t._("Family {ref}: who is the invite for?", ref=ref)
        if members
        else t._("Family {ref} has no members registered yet. Add one:", ref=ref)
    )
    await edit_or_send(update, text, keyboard(rows))


@dataclass(frozen=True)
class _Invitee:
    """Who an invite button is for: its two actions, and the invite for one picked id."""

    pick: InviteAction
    relink: InviteAction
    kind: str  # "member" or "staff": what a missing id is
    invite: Callable[[Person, int, int, bool], Callable[[Session], Issued]]


MEMBER = _Invitee(
    InviteAction.MEMBER,
    InviteAction.RELINK_MEMBER,
    "member",
    lambda person, target, ttl, relink: functools.partial(
        reference_data.invite_member, person=person, member_id=target, ttl_days=ttl, relink=relink
    ),
)
STAFF = _Invitee(
    InviteAction.PICK_STAFF,
    InviteAction.RELINK_STAFF,
    "staff",
    lambda person, target, ttl, relink: functools.partial(
        reference_data.invite_staff, person=person, staff_id=target, ttl_days=ttl, relink=relink
    ),
)


async def member_button(update: Update, context: SanadContext) -> None:
    """A member picked (or relink confirmed): the invite."""
    await _invite_pressed(update, context, MEMBER)


async def _invite_pressed(update: Update, context: SanadContext, who: _Invitee) -> None:
    """A person picked (or relink confirmed): one invite per button press, however often the
    press is handled; a connected person is offered a relink instead."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    relink = args(query.data, Prefix.INVITE, who.relink) is not None
    found = ids(query.data, Prefix.INVITE, who.relink if relink else who.pick)
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        if found is None:
            raise NotFound(who.kind)
        target = found[0]
        made = await context.db.run(
            invites.once,
            source_of(update),
            who.invite(person, target, context.settings.invite_ttl_days, relink),
            member_id=target if who is MEMBER else None,
            staff_id=target if who is STAFF else None,
        )
    except AccountLinked as exc:
        await ack(query)
        await answer(
            update,
            relink_offer_text(t, str(exc.details.get("name"))),
            relink_keyboard(t, who.relink, found[0] if found else 0),
        )
        return
    except DomainError as exc:
        await _refused(update, context, exc)
        return
    await ack(query)
    await _issued(update, context, made)


def relink_keyboard(t: Texts, action: InviteAction, target: int) -> InlineKeyboardMarkup:
    """The one button that invites a connected person again on purpose."""
    return keyboard([[(t._("🔁 Move to a new account"), build(Prefix.INVITE, action, target))]])


def relink_offer_text(t: Texts, name: str) -> str:
    """The person is connected already: a new invite only on purpose."""
    return t._(
        "{name} is already connected to Sanad on a Telegram account, so no invite was created. "
        "If they now use a different phone or account, tap below: their old account will be "
        "disconnected and told.",
        name=name,
    )


async def new_member_button(update: Update, context: SanadContext) -> None:
    """Asks for the new member's name."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    found = ids(query.data, Prefix.INVITE, InviteAction.NEW_MEMBER)
    try:
        if found is None:
            raise NotFound("family")
        ref, _ = await context.db.run(reference_data.household_members, person, found[0])
        await context.db.run(
            reference_data.expect_typing,
            person=person,
            step=TypedStep.MEMBER_NAME,
            household_id=found[0],
        )
    except DomainError as exc:
        await _refused(update, context, exc)
        return
    await query.answer()
    await answer(
        update,
        t._("Type the new member's name for family {ref}. /cancel stops.", ref=ref),
    )


def _role(data: str | None, action: InviteAction) -> StaffRole | None:
    """The role argument of a button, or None when forged."""
    found = args(data, Prefix.INVITE, action)
    if not found or found[0] not in {r.value for r in StaffRole}:
        return None
    return StaffRole(found[0])


async def staff_button(update: Update, context: SanadContext) -> None:
    """A role picked: its staff not yet connected, and a button for someone new."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    role = _role(query.data, InviteAction.STAFF)
    if role is None:
        await _refused(update, context, NotFound("role"))
        return
    person = person_of(update, context)
    t = texts_for(update, context)
    waiting = await context.db.run(reference_data.unlinked_staff, person, role)
    await query.answer()
    rows: Keyboard = [
        [(s.name, build(Prefix.INVITE, InviteAction.PICK_STAFF, s.id or 0))] for s in waiting
    ]
    rows.append(
        [(t._("➕ Someone new"), build(Prefix.INVITE, InviteAction.NEW_STAFF, role.value))]
    )
    text = (
        t._(
            "Registered and not connected yet ({role}). Who is the invite for?",
            role=role_label(t, role),
        )
        if waiting
        else t._("Everyone registered in this role is connected. Add someone new:")
    )
    await edit_or_send(update, text, keyboard(rows))


async def pick_staff_button(update: Update, context: SanadContext) -> None:
    """A member of staff picked (or relink confirmed): the invite."""
    await _invite_pressed(update, context, STAFF)


async def new_staff_button(update: Update, context: SanadContext) -> None:
    """Someone new: a provider first for caseworkers and leads, else the name."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    role = _role(query.data, InviteAction.NEW_STAFF)
    if role is None:
        await _refused(update, context, NotFound("role"))
        return
    person = person_of(update, context)
    t = texts_for(update, context)
    await query.answer()
    if role == StaffRole.COORDINATOR:
        await _ask_staff_name(update, context, role, None)
        return
    found = await context.db.run(reference_data.choices, person)
    rows: Keyboard = [
        [(name, build(Prefix.INVITE, InviteAction.NEW_STAFF_PROVIDER, role.value, pid))]
        for pid, name in found["providers"]
    ]
    if not rows:
        await answer(update, t._("No provider is registered yet: add one with /providers first."))
        return
    await edit_or_send(update, t._("Which provider do they work for?"), keyboard(rows))


async def new_staff_provider_button(update: Update, context: SanadContext) -> None:
    """The provider of a new caseworker or lead picked: now the name."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    found = args(query.data, Prefix.INVITE, InviteAction.NEW_STAFF_PROVIDER)
    role = (
        StaffRole(found[0])
        if found and len(found) == 2 and found[0] in {StaffRole.CASEWORKER, StaffRole.LEAD}
        else None
    )
    if role is None or found is None or not found[1].isdigit() or len(found[1]) > 10:
        await _refused(update, context, NotFound("role"))
        return
    await query.answer()
    await _ask_staff_name(update, context, role, int(found[1]))


async def _ask_staff_name(
    update: Update, context: SanadContext, role: StaffRole, provider_id: int | None
) -> None:
    """Starts the typed step for a new member of staff's name."""
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        if provider_id is not None:
            await context.db.run(reference_data.get_provider, provider_id)
        await context.db.run(
            reference_data.expect_typing,
            person=person,
            step=TypedStep.STAFF_NAME,
            role=role.value,
            provider_id=provider_id,
        )
    except DomainError as exc:
        await answer(update, refusal_text(t, exc))
        return
    await answer(
        update,
        t._("Type the full name of the new {role}. /cancel stops.", role=role_label(t, role)),
    )


async def typed_done(update: Update, context: SanadContext, done: reference_data.Typed) -> None:
    """Answers a typed step of the invite flow (search, new member, new staff)."""
    t = texts_for(update, context)
    if done.earlier is not None:
        await answer(update, earlier_text(t, done.earlier))
        return
    if done.issued is not None:
        await _issued(update, context, done.issued)
        return
    text, markup = _households(t, done.households or [], done.total, 0, done.search)
    await answer(update, text, markup)


BUTTONS = [
    (families_button, InviteAction.FAMILIES, 1),
    (search_button, InviteAction.SEARCH, 0),
    (household_button, InviteAction.HOUSEHOLD, 1),
    (member_button, InviteAction.MEMBER, 1),
    (member_button, InviteAction.RELINK_MEMBER, 1),
    (new_member_button, InviteAction.NEW_MEMBER, 1),
    (staff_button, InviteAction.STAFF, 1),
    (pick_staff_button, InviteAction.PICK_STAFF, 1),
    (pick_staff_button, InviteAction.RELINK_STAFF, 1),
    (new_staff_button, InviteAction.NEW_STAFF, 1),
    (new_staff_provider_button, InviteAction.NEW_STAFF_PROVIDER, 2),
]
