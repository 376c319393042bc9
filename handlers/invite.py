"""/invite for coordinators: a one-time invite link for a registered family member or staff."""

from __future__ import annotations

from telegram import Update

from bot.context import SanadContext
from bot.i18n import Texts
from bot.services import invites, registry
from bot.services.errors import DomainError, InvalidInput, NotFound
from handlers.common import answer, person_of, texts_for
from storage.models import StaffRole

STAFF_KINDS = {"staff", "caseworker", "lead", "coordinator"}


def usage_text(t: Texts) -> str:
    """How to call /invite."""
    return t._(
        "To create an invite link, send one of:\n"
        "/invite family FAMILY-REF [member name]\n"
        "/invite caseworker STAFF-ID (also: lead, coordinator)"
    )


async def invite_command(update: Update, context: SanadContext) -> None:
    """Creates an invite and shows the link and code; only coordinators may."""
    person = person_of(update, context)
    t = texts_for(update, context)
    if not person.is_coordinator:
        await answer(update, t._("Only coordinators can create invite links."))
        return
    args = context.args or []
    if len(args) < 2 or args[0].lower() not in STAFF_KINDS | {"family"}:
        await answer(update, usage_text(t))
        return
    kind = args[0].lower()
    actor = f"staff:{person.staff_id}"
    try:
        with context.db.session() as session:
            if kind == "family":
                member = registry.find_member(
                    session, family=args[1], name=" ".join(args[2:]) or None
                )
                issued = invites.create_invite(
                    session,
                    member_id=member.id,
                    ttl_days=context.settings.invite_ttl_days,
                    actor=actor,
                )
                who = t._("{name} of family {ref}", name=member.name, ref=args[1].upper())
            else:
                if not args[1].isdigit():
                    raise InvalidInput("staff id")
                staff = registry.get_staff(session, int(args[1]))
                if kind != "staff" and staff.role != StaffRole(kind):
                    raise InvalidInput("role")
                issued = invites.create_invite(
                    session,
                    staff_id=staff.id,
                    ttl_days=context.settings.invite_ttl_days,
                    actor=actor,
                )
                who = staff.name
    except NotFound:
        await answer(update, t._("Nobody registered matches that. Check the reference or id."))
        return
    except DomainError:
        await answer(update, usage_text(t))
        return
    link = invites.deep_link(context.settings.bot_username, issued.code)
    await answer(
        update,
        t._(
            "Invite for {who}. It works once and expires on {date}.\n\n{link}\n\n"
            "If the link does not open, they can send /start {code}",
            who=who,
            date=t.datetime(issued.expires_at),
            link=link,
            code=invites.display_code(issued.code),
        ),
    )


async def invite_button(update: Update, context: SanadContext) -> None:
    """The coordinator's Invite button: explains the command."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await answer(update, usage_text(texts_for(update, context)))
