"""Coordinators' reference data on Telegram: /providers (add, rename, on/off, which districts
its Lot holds) and /districts (list, add); and the typed step of every coordinator flow.
Each change is made once per message (or press): handled again, it answers the same."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.context import SanadContext
from bot.i18n import Texts
from bot.services import reference_data
from bot.services.errors import DomainError, LotTaken, NotFound
from bot.services.reference_data import LotMove, TypedStep
from handlers import invite_flow
from handlers.admin_texts import coordinator_only, refusal_text
from handlers.callbacks import AdminAction, Prefix, build, ids
from handlers.common import Keyboard, answer, edit_or_send, keyboard, person_of, texts_for
from handlers.redelivery import ack, source_of


def home_keyboard(t: Texts) -> InlineKeyboardMarkup:
    """The four lists a coordinator manages."""
    return keyboard(
        [
            [(t._("🏢 Providers and Lots"), build(Prefix.ADMIN, AdminAction.PROVIDERS))],
            [(t._("🗺 Districts"), build(Prefix.ADMIN, AdminAction.DISTRICTS))],
            [(t._("🔀 Routing rules"), build(Prefix.ADMIN, AdminAction.ROUTING))],
            [(t._("👥 Staff"), build(Prefix.ADMIN, AdminAction.STAFF, 1))],
        ]
    )


async def home(update: Update, context: SanadContext) -> None:
    """The coordinator's reference-data menu (menu button ``menu:refdata``)."""
    if not await coordinator_only(update, context):
        return
    if update.callback_query is not None:
        await ack(update.callback_query)
    t = texts_for(update, context)
    await answer(update, t._("What do you want to see or change?"), home_keyboard(t))


async def _refused(update: Update, context: SanadContext, exc: DomainError) -> None:
    """A refusal in the coordinator's language; nothing was changed."""
    if update.callback_query is not None:
        await ack(update.callback_query)
    await answer(update, refusal_text(texts_for(update, context), exc))


# ---------------------------------------------------------------- providers


async def providers_command(update: Update, context: SanadContext) -> None:
    """/providers (and its button): every provider and its Lot, with buttons."""
    if not await coordinator_only(update, context):
        return
    if update.callback_query is not None:
        await ack(update.callback_query)
    person = person_of(update, context)
    t = texts_for(update, context)
    rows = await context.db.run(reference_data.providers, person)
    lines = [t._("Providers and the districts of their Lot:")]
    buttons: Keyboard = []
    for row in rows:
        state = t._("on") if row["active"] else t._("off")
        lines.append(
            t._(
                "• {name} ({state}): {districts}; staff: {staff}",
                name=row["name"],
                state=state,
                districts=", ".join(row["districts"]) or "-",
                staff=row["staff"],
            )
        )
        buttons.append(
            [(row["name"], build(Prefix.ADMIN, AdminAction.PROVIDER, row["provider_id"]))]
        )
    if not rows:
        lines.append(t._("No provider is registered yet."))
    buttons.append([(t._("➕ Add a provider"), build(Prefix.ADMIN, AdminAction.ADD_PROVIDER))])
    await edit_or_send(update, "\n".join(lines), keyboard(buttons))


async def provider_button(update: Update, context: SanadContext) -> None:
    """One provider: rename, switch on or off, give it a district."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    found = ids(query.data, Prefix.ADMIN, AdminAction.PROVIDER)
    await ack(query)
    await _provider_page(update, context, found[0] if found else 0)


async def _provider_page(update: Update, context: SanadContext, provider_id: int) -> None:
    """A provider's page, or why it is not there."""
    person = person_of(update, context)
    t = texts_for(update, context)
    rows = await context.db.run(reference_data.providers, person)
    row = next((r for r in rows if r["provider_id"] == provider_id), None)
    if row is None:
        await answer(update, refusal_text(t, NotFound("provider")))
        return
    text = t._(
        "{name}\nState: {state}\nDistricts of its Lot: {districts}\nStaff: {staff}",
        name=row["name"],
        state=t._("on") if row["active"] else t._("off"),
        districts=", ".join(row["districts"]) or "-",
        staff=row["staff"],
    )
    switch = (
        (t._("⏸ Switch off"), build(Prefix.ADMIN, AdminAction.DEACTIVATE, provider_id))
        if row["active"]
        else (t._("▶️ Switch on"), build(Prefix.ADMIN, AdminAction.ACTIVATE, provider_id))
    )
    buttons: Keyboard = [
        [(t._("🗺 Give it a district"), build(Prefix.ADMIN, AdminAction.GIVE, provider_id))],
        [(t._("✏️ Rename"), build(Prefix.ADMIN, AdminAction.RENAME, provider_id)), switch],
        [(t._("◀️ All providers"), build(Prefix.ADMIN, AdminAction.PROVIDERS))],
    ]
    await edit_or_send(update, text, keyboard(buttons))


async def add_provider_button(update: Update, context: SanadContext) -> None:
    """Asks for the new provider's name."""
    await _ask(update, context, TypedStep.PROVIDER_NAME, {})


async def rename_button(update: Update, context: SanadContext) -> None:
    """Asks for a provider's new name."""
    query = update.callback_query
    assert query is not None
    found = ids(query.data, Prefix.ADMIN, AdminAction.RENAME)
    await _ask(
        update, context, TypedStep.RENAME_PROVIDER, {"provider_id": found[0] if found else 0}
    )


def ask_text(t: Texts, step: TypedStep) -> str:
    """What to type for a step."""
    if step == TypedStep.PROVIDER_NAME:
        return t._("Type the new provider's name. /cancel stops.")
    if step == TypedStep.RENAME_PROVIDER:
        return t._("Type the provider's new name. /cancel stops.")
    return t._("Type the new district's name. /cancel stops.")


async def _ask(
    update: Update, context: SanadContext, step: TypedStep, data: dict[str, int]
) -> None:
    """Starts a typed step after checking what it is about exists."""
    if not await coordinator_only(update, context):
        return
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        if "provider_id" in data:
            await context.db.run(reference_data.get_provider, data["provider_id"])
        await context.db.run(reference_data.expect_typing, person=person, step=step, **data)
    except DomainError as exc:
        await _refused(update, context, exc)
        return
    if update.callback_query is not None:
        await ack(update.callback_query)
    await answer(update, ask_text(t, step))


async def switch_button(update: Update, context: SanadContext) -> None:
    """Switches a provider on or off (off refused while it holds districts or rules)."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    on = ids(query.data, Prefix.ADMIN, AdminAction.ACTIVATE)
    off = ids(query.data, Prefix.ADMIN, AdminAction.DEACTIVATE)
    found = on or off
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        source = source_of(update)
        if found is None or source is None:
            raise NotFound("provider")
        done = await context.db.run(
            reference_data.set_provider_active_once,
            person=person,
            provider_id=found[0],
            active=on is not None,
            source=source,
            press=query.id,
        )
    except DomainError as exc:
        await _refused(update, context, exc)
        return
    await ack(query)
    if on is not None:
        text = t._("{name} is switched on.", name=done.provider.name)
    else:
        text = t.n_(
            "{name} is switched off. Its {n} active member of staff keeps their account: "
            "switch them off in /staff if they have left.",
            "{name} is switched off. Its {n} active members of staff keep their accounts: "
            "switch them off in /staff if they have left.",
            done.staff,
            name=done.provider.name,
        )
    await answer(update, text)
    await _provider_page(update, context, found[0])


def _district_buttons(
    rows: list[tuple[int, str]], action: AdminAction, *prefix_args: int
) -> Keyboard:
    """Districts as buttons, three a row."""
    buttons = [(name, build(Prefix.ADMIN, action, *prefix_args, did)) for did, name in rows]
    return [buttons[i : i + 3] for i in range(0, len(buttons), 3)]


async def give_button(update: Update, context: SanadContext) -> None:
    """Pick a district to put in this provider's Lot."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    found = ids(query.data, Prefix.ADMIN, AdminAction.GIVE)
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        if found is None:
            raise NotFound("provider")
        provider = await context.db.run(reference_data.get_provider, found[0])
    except DomainError as exc:
        await _refused(update, context, exc)
        return
    options = await context.db.run(reference_data.choices, person)
    await ack(query)
    await edit_or_send(
        update,
        t._("Which district goes into the Lot of {name}?", name=provider.name),
        keyboard(_district_buttons(options["districts"], AdminAction.GIVE_DISTRICT, found[0])),
    )


def moved_text(t: Texts, moved: LotMove) -> str:
    """Told after a district changed Lot, naming who lost it."""
    if moved.from_provider is None:
        return t._(
            "{district} is now in the Lot of {provider}.",
            district=moved.district,
            provider=moved.to_provider,
        )
    return t._(
        "{district} is now in the Lot of {provider}; {old} no longer holds it.",
        district=moved.district,
        provider=moved.to_provider,
        old=moved.from_provider,
    )


def confirm_move_text(t: Texts, exc: LotTaken, new_provider: str) -> str:
    """Asked before a district is taken from the provider holding it."""
    return t._(
        "{district} is in the Lot of {old}. Move it to {provider}? {old} will lose it.",
        district=str(exc.details.get("district")),
        old=str(exc.details.get("from_provider")),
        provider=new_provider,
    )


async def give_district_button(update: Update, context: SanadContext) -> None:
    """A district picked for a provider's Lot; taking it from another provider asks first."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    # The confirm carries the message the district was picked on: both key the move.
    confirmed = ids(query.data, Prefix.ADMIN, AdminAction.GIVE_MOVE, 3)
    found = confirmed or ids(query.data, Prefix.ADMIN, AdminAction.GIVE_DISTRICT, 2)
    here = source_of(update)
    source = (here[0], confirmed[2]) if confirmed and here else here
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        if found is None or source is None:
            raise NotFound("district")
        moved = await context.db.run(
            reference_data.move_district_once,
            person=person,
            provider_id=found[0],
            district_id=found[1],
            move=confirmed is not None,
            source=source,
        )
    except LotTaken as exc:
        provider = await context.db.run(reference_data.get_provider, found[0] if found else 0)
        await ack(query)
        assert found is not None and source is not None
        yes = build(Prefix.ADMIN, AdminAction.GIVE_MOVE, found[0], found[1], source[1])
        no = build(Prefix.ADMIN, AdminAction.PROVIDER, found[0])
        await answer(
            update,
            confirm_move_text(t, exc, provider.name),
            keyboard([[(t._("✅ Move it"), yes), (t._("✖️ Keep as it is"), no)]]),
        )
        return
    except DomainError as exc:
        await _refused(update, context, exc)
        return
    await ack(query)
    await answer(update, moved_text(t, moved))


async def new_provider_district_button(update: Update, context: SanadContext) -> None:
    """The first district of a provider being added (its name was typed)."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    # The buttons carry the message the name was typed in: it keys the provider added.
    confirmed = ids(query.data, Prefix.ADMIN, AdminAction.NEW_PROVIDER_MOVE, 2)
    found = confirmed or ids(query.data, Prefix.ADMIN, AdminAction.NEW_PROVIDER_DISTRICT, 2)
    here = source_of(update)
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        if found is None or here is None:
            raise NotFound("district")
        _, moved = await context.db.run(
            reference_data.add_provider_from_flow,
            person=person,
            district_id=found[1],
            move=confirmed is not None,
            source=(here[0], found[0]),
        )
    except LotTaken as exc:
        assert found is not None
        name = await context.db.run(reference_data.new_provider_name, person, found[0])
        await ack(query)
        yes = build(Prefix.ADMIN, AdminAction.NEW_PROVIDER_MOVE, found[0], found[1])
        no = build(Prefix.ADMIN, AdminAction.PROVIDERS)
        await answer(
            update,
            confirm_move_text(t, exc, name),
            keyboard([[(t._("✅ Move it"), yes), (t._("✖️ Keep as it is"), no)]]),
        )
        return
    except DomainError as exc:
        await _refused(update, context, exc)
        return
    await ack(query)
    await answer(update, added_text(t, moved))


def added_text(t: Texts, moved: LotMove) -> str:
    """Told when a new provider is added with its first district."""
    return t._("{provider} is added.", provider=moved.to_provider) + "\n" + moved_text(t, moved)


# ---------------------------------------------------------------- districts


async def districts_command(update: Update, context: SanadContext) -> None:
    """/districts (and its button): every district and the provider holding it."""
    if not await coordinator_only(update, context):
        return
    if update.callback_query is not None:
        await ack(update.callback_query)
    person = person_of(update, context)
    t = texts_for(update, context)
    rows = await context.db.run(reference_data.routing_rows, person)
    lines = [t._("Districts and the provider whose Lot holds each:")]
    for row in rows:
        lines.append(f"• {row['district']}: {row['lot_provider'] or t._('no provider')}")
    add = build(Prefix.ADMIN, AdminAction.ADD_DISTRICT)
    await edit_or_send(update, "\n".join(lines), keyboard([[(t._("➕ Add a district"), add)]]))


async def add_district_button(update: Update, context: SanadContext) -> None:
    """Asks for the new district's name."""
    await _ask(update, context, TypedStep.DISTRICT_NAME, {})


# ---------------------------------------------------------------- typed steps


async def on_coordinator_text(update: Update, context: SanadContext) -> bool:
    """A coordinator's typed message in one of these flows; False when not in one."""
    message = update.message
    person = person_of(update, context)
    if message is None or not message.text or not person.is_coordinator:
        return False
    t = texts_for(update, context)
    try:
        done = await context.db.run(
            reference_data.handle_typed,
            person=person,
            text=message.text,
            ttl_days=context.settings.invite_ttl_days,
            source=(message.chat.id, message.message_id),
        )
    except DomainError as exc:
        await answer(update, refusal_text(t, exc))
        return True
    if done is None:
        return False
    if done.step in (TypedStep.FAMILY_SEARCH, TypedStep.MEMBER_NAME, TypedStep.STAFF_NAME):
        await invite_flow.typed_done(update, context, done)
    elif done.step == TypedStep.PROVIDER_NAME and done.added is not None:
        await answer(update, added_text(t, done.added))  # its name handled again, once added
    elif done.step == TypedStep.PROVIDER_NAME:
        options = await context.db.run(reference_data.choices, person)
        await answer(
            update,
            t._("Which district does {name} hold first? More can be given after.", name=done.name),
            keyboard(
                _district_buttons(
                    options["districts"], AdminAction.NEW_PROVIDER_DISTRICT, message.message_id
                )
            ),
        )
    elif done.step == TypedStep.RENAME_PROVIDER:
        await answer(update, t._("Renamed: {name}.", name=done.name))
    else:
        await answer(
            update,
            t._("{name} is added. Give it to a provider's Lot from /providers.", name=done.name),
        )
    return True


BUTTONS = [
    (home, AdminAction.HOME, 0),
    (providers_command, AdminAction.PROVIDERS, 0),
    (provider_button, AdminAction.PROVIDER, 1),
    (add_provider_button, AdminAction.ADD_PROVIDER, 0),
    (new_provider_district_button, AdminAction.NEW_PROVIDER_DISTRICT, 2),
    (new_provider_district_button, AdminAction.NEW_PROVIDER_MOVE, 2),
    (rename_button, AdminAction.RENAME, 1),
    (switch_button, AdminAction.ACTIVATE, 1),
    (switch_button, AdminAction.DEACTIVATE, 1),
    (give_button, AdminAction.GIVE, 1),
    (give_district_button, AdminAction.GIVE_DISTRICT, 2),
    (give_district_button, AdminAction.GIVE_MOVE, 3),
    (districts_command, AdminAction.DISTRICTS, 0),
    (add_district_button, AdminAction.ADD_DISTRICT, 0),
]
