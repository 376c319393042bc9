"""/routing for coordinators: each district's rules, add ``district [category] → provider``
with buttons, remove a rule."""

from __future__ import annotations

from telegram import Update

from bot.context import SanadContext
from bot.i18n import Texts
from bot.services import reference_data
from bot.services.errors import DomainError, NotFound
from handlers.admin_texts import coordinator_only, refusal_text
from handlers.callbacks import MAX_ID, AdminAction, Prefix, args, build, ids
from handlers.common import Keyboard, answer, edit_or_send, keyboard, person_of, texts_for


def numbers(data: str | None, action: AdminAction, count: int) -> list[int] | None:
    """``count`` ids from a button, where 0 means "every category"; None when forged."""
    found = args(data, Prefix.ADMIN, action)
    if found is None or len(found) != count:
        return None
    if not all(a.isdigit() and len(a) <= 10 and int(a) <= MAX_ID for a in found):
        return None
    return [int(a) for a in found]


def rule_line(t: Texts, district: str, rule: dict[str, object]) -> str:
    """One rule, as the coordinator reads it."""
    if rule["category"]:
        return t._(
            "#{rule} {district}, {category} requests → {provider}",
            rule=rule["rule_id"],
            district=district,
            category=rule["category"],
            provider=rule["provider"],
        )
    return t._(
        "#{rule} {district}, every request → {provider}",
        rule=rule["rule_id"],
        district=district,
        provider=rule["provider"],
    )


async def routing_command(update: Update, context: SanadContext) -> None:
    """/routing (and its button): the rules, a remove button each, and "add a rule"."""
    if not await coordinator_only(update, context):
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    await show_rules(update, context)


async def show_rules(update: Update, context: SanadContext) -> None:
    """The rules as one message with their buttons."""
    person = person_of(update, context)
    t = texts_for(update, context)
    rows = await context.db.run(reference_data.routing_rows, person)
    lines = [
        t._(
            "Routing: a request goes to the family's caseworker; else to the provider of a "
            "rule for its district (a category rule first); else to the provider holding the "
            "district's Lot; else to the coordinators."
        )
    ]
    buttons: Keyboard = []
    for row in rows:
        for rule in row["rules"]:
            lines.append(rule_line(t, row["district"], rule))
            remove = build(Prefix.ADMIN, AdminAction.RULE_REMOVE, rule["rule_id"])
            buttons.append([(t._("🗑 Remove #{rule}", rule=rule["rule_id"]), remove)])
    if len(lines) == 1:
        lines.append(t._("There are no routing rules."))
    buttons.append([(t._("➕ Add a rule"), build(Prefix.ADMIN, AdminAction.RULE_ADD))])
    await edit_or_send(update, "\n".join(lines), keyboard(buttons))


async def add_button(update: Update, context: SanadContext) -> None:
    """Adding a rule: pick the district."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    person = person_of(update, context)
    t = texts_for(update, context)
    options = await context.db.run(reference_data.choices, person)
    await query.answer()
    buttons = [
        (name, build(Prefix.ADMIN, AdminAction.RULE_DISTRICT, did))
        for did, name in options["districts"]
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    await edit_or_send(update, t._("Requests from which district?"), keyboard(rows))


async def district_button(update: Update, context: SanadContext) -> None:
    """A district picked: every category, or one."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    found = ids(query.data, Prefix.ADMIN, AdminAction.RULE_DISTRICT)
    person = person_of(update, context)
    t = texts_for(update, context)
    if found is None:
        await _refused(update, context, NotFound("district"))
        return
    options = await context.db.run(reference_data.choices, person)
    await query.answer()
    every = (t._("Every category"), build(Prefix.ADMIN, AdminAction.RULE_CATEGORY, found[0], 0))
    buttons = [
        (code, build(Prefix.ADMIN, AdminAction.RULE_CATEGORY, found[0], cid))
        for cid, code in options["categories"]
    ]
    rows: Keyboard = [[every], *(buttons[i : i + 3] for i in range(0, len(buttons), 3))]
    await edit_or_send(update, t._("Which requests?"), keyboard(rows))


async def category_button(update: Update, context: SanadContext) -> None:
    """A category picked: which provider."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    found = numbers(query.data, AdminAction.RULE_CATEGORY, 2)
    person = person_of(update, context)
    t = texts_for(update, context)
    if found is None or found[0] == 0:
        await _refused(update, context, NotFound("district"))
        return
    options = await context.db.run(reference_data.choices, person)
    await query.answer()
    rows: Keyboard = [
        [(name, build(Prefix.ADMIN, AdminAction.RULE_PROVIDER, found[0], found[1], pid))]
        for pid, name in options["providers"]
    ]
    if not rows:
        await answer(update, t._("No provider is registered yet: add one with /providers first."))
        return
    await edit_or_send(update, t._("Send them to which provider?"), keyboard(rows))


async def provider_button(update: Update, context: SanadContext) -> None:
    """The provider picked: the rule is added (or refused, changing nothing)."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    found = numbers(query.data, AdminAction.RULE_PROVIDER, 3)
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        if found is None:
            raise NotFound("rule")
        rule = await context.db.run(
            reference_data.add_rule,
            person=person,
            district_id=found[0],
            category_id=found[1] or None,
            provider_id=found[2],
        )
    except DomainError as exc:
        await _refused(update, context, exc)
        return
    await query.answer()
    await answer(update, t._("Rule #{rule} is added.", rule=rule.id))
    await show_rules(update, context)


async def remove_button(update: Update, context: SanadContext) -> None:
    """Removes a rule (kept switched off for the record)."""
    if not await coordinator_only(update, context):
        return
    query = update.callback_query
    assert query is not None
    found = ids(query.data, Prefix.ADMIN, AdminAction.RULE_REMOVE)
    person = person_of(update, context)
    t = texts_for(update, context)
    try:
        if found is None:
            raise NotFound("rule")
        await context.db.run(reference_data.remove_rule, person=person, rule_id=found[0])
    except DomainError as exc:
        await _refused(update, context, exc)
        return
    await query.answer()
    await answer(update, t._("Rule #{rule} is removed.", rule=found[0]))
    await show_rules(update, context)


async def _refused(update: Update, context: SanadContext, exc: DomainError) -> None:
    """A refusal in the coordinator's language; nothing was changed."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await answer(update, refusal_text(texts_for(update, context), exc))


BUTTONS = [
    (routing_command, AdminAction.ROUTING, 0),
    (add_button, AdminAction.RULE_ADD, 0),
    (district_button, AdminAction.RULE_DISTRICT, 1),
    (category_button, AdminAction.RULE_CATEGORY, 2),
    (provider_button, AdminAction.RULE_PROVIDER, 3),
    (remove_button, AdminAction.RULE_REMOVE, 1),
]
