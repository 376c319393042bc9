"""/invite for coordinators: a one-time invite link for a registered family member or staff."""

from __future__ import annotations

import functools

from telegram import Update

from bot.context import SanadContext
from bot.delivery import dispatcher
from bot.i18n import Texts
from bot.services import accounts, invites
from bot.services.errors import DomainError, InvalidInput, NotFound
from bot.services.invites import AccountLinked
from handlers import invite_flow
from handlers.common import answer, person_of, texts_for
from handlers.invite_flow import earlier_text, invite_text
from handlers.redelivery import source_of

STAFF_KINDS = {"staff", "caseworker", "lead", "coordinator"}
# Typed after the name or id to move a connected person to a new Telegram account; phones
# often turn "--" into a dash, so any leading dashes are ignored.
RELINK_WORD = "relink"


def usage_text(t: Texts) -> str:
    """How to call /invite."""
    return t._(
        "To create an invite link, send one of:\n"
        "/invite family FAMILY-REF [member name]\n"
        "/invite caseworker STAFF-ID (also: lead, coordinator)"
    )


def _wants_relink(args: list[str]) -> tuple[list[str], bool]:
    """Splits a trailing ``relink`` (or ``--relink``) off the arguments."""
    if len(args) > 2 and args[-1].lstrip("-—–").lower() == RELINK_WORD:
        return args[:-1], True
    return args, False


def relink_refused_text(t: Texts, name: str, command: str) -> str:
    """The person is already connected: say so and how to move them to a new account."""
    return t._(
        "{name} is already connected to Sanad on a Telegram account, so no invite was "
        "created. If they now use a different phone or account, send:\n{command}\n"
        "Their old account will be disconnected and told.",
        name=name,
        command=command,
    )


def member_missing_text(t: Texts, error: NotFound) -> str:
    """A family reference that exists, but without the member named (or without members)."""
    ref = str(error.details["family"])
    raw = error.details.get("members")
    members = [str(m) for m in raw] if isinstance(raw, list) else []
    if not members:
        return t._(
            "Family {ref} has no members registered yet. Ask your administrator to add them "
            "(admin add-member --family {ref} --name NAME), then invite them.",
            ref=ref,
        )
    return t.n_(
        "Family {ref} has no member called {name}. Its member is: {members}.",
        "Family {ref} has no member called {name}. Its members are: {members}.",
        len(members),
        ref=ref,
        name=str(error.details.get("member", "")),
        members=", ".join(members),
    )


def choose_member_text(t: Texts, ref: str, members: list[str]) -> str:
    """A household with several members: which one?"""
    return t.n_(
        "Family {ref} has {n} member: {members}. Send /invite family {ref} NAME.",
        "Family {ref} has {n} members: {members}. Send /invite family {ref} NAME.",
        len(members),
        ref=ref,
        members=", ".join(members),
    )


async def invite_command(update: Update, context: SanadContext) -> None:
    """Creates an invite and shows the link and code; only coordinators may."""
    person = person_of(update, context)
    t = texts_for(update, context)
    if not person.is_coordinator:
        await answer(update, t._("Only coordinators can create invite links."))
        return
    args, relink = _wants_relink(list(context.args or []))
    if not args:
        await invite_flow.show_start(update, context)
        return
    if len(args) < 2 or args[0].lower() not in STAFF_KINDS | {"family"}:
        await answer(update, usage_text(t))
        return
    kind = args[0].lower()
    actor = f"staff:{person.staff_id}"
    ttl = context.settings.invite_ttl_days
    try:
        made = await context.db.run(
            invites.once,
            source_of(update),
            functools.partial(
                accounts.issue_invite,
                kind=kind,
                target=args[1],
                member_name=" ".join(args[2:]) or None,
                ttl_days=ttl,
                relink=relink,
                actor=actor,
            ),
        )
    except AccountLinked as exc:
        command = " ".join(["/invite", *args, RELINK_WORD])
        await answer(update, relink_refused_text(t, str(exc.details["name"]), command))
        return
    except NotFound as exc:
        if "members" in exc.details:
            await answer(update, member_missing_text(t, exc))
        else:
            await answer(update, t._("Nobody registered matches that. Check the reference or id."))
        return
    except InvalidInput as exc:
        members = exc.details.get("members")
        if isinstance(members, list) and members:
            ref = str(exc.details["family"])
            await answer(update, choose_member_text(t, ref, [str(m) for m in members]))
        else:
            await answer(update, usage_text(t))
        return
    except DomainError:
        await answer(update, usage_text(t))
        return
    if isinstance(made, invites.Earlier):
        await answer(update, earlier_text(t, made))
        return
    issued = made.invite
    if made.family_ref is not None:
        who = t._("{name} of family {ref}", name=made.name, ref=made.family_ref)
    else:
        who = made.name
    if issued.relinked:
        dispatcher.kick(context.application)
    await answer(update, invite_text(t, context, issued, who))


async def invite_button(update: Update, context: SanadContext) -> None:
    """The coordinator's Invite button: the buttons of /invite."""
    query = update.callback_query
    assert query is not None
    if not person_of(update, context).is_coordinator:
        await query.answer(t_only(update, context), show_alert=True)
        return
    await query.answer()
    await invite_flow.show_start(update, context)


def t_only(update: Update, context: SanadContext) -> str:
    """The refusal for someone who is not a coordinator."""
    return texts_for(update, context)._("Only coordinators can create invite links.")
