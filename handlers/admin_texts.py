"""Answers shared by the coordinator's invite and reference-data buttons: refusals and guards."""

from __future__ import annotations

from telegram import Update

from bot.context import SanadContext
from bot.i18n import Texts
from bot.services.errors import (
    AlreadyInLot,
    Conflict,
    DistrictExists,
    DomainError,
    Forbidden,
    InvalidInput,
    LotTaken,
    MemberExists,
    NotFound,
    ProviderExists,
    ProviderInactive,
    RuleExists,
    StaffInactive,
    StillInUse,
)
from bot.services.invites import AccountLinked
from bot.services.reference_data import MAX_NAME
from handlers.common import answer, person_of, texts_for


def not_coordinator_text(t: Texts) -> str:
    """Told to staff who press (or forge) a coordinator's button."""
    return t._("Only coordinators can do this. Nothing was changed.")


async def coordinator_only(update: Update, context: SanadContext) -> bool:
    """True for a coordinator; anyone else is told so (as an alert on a button)."""
    person = person_of(update, context)
    if person.is_staff and person.is_coordinator:
        return True
    t = texts_for(update, context)
    query = update.callback_query
    if query is not None:
        await query.answer(not_coordinator_text(t), show_alert=True)
    else:
        await answer(update, not_coordinator_text(t))
    return False


def refusal_text(t: Texts, exc: DomainError) -> str:
    """Why a change was refused, in the coordinator's language; nothing was changed."""
    details = exc.details
    reason = str(details.get("reason", ""))
    if isinstance(exc, Forbidden) and reason == "self":
        return t._("You cannot switch off or change your own account. Nothing was changed.")
    if isinstance(exc, Forbidden):
        return not_coordinator_text(t)
    if isinstance(exc, LotTaken):
        return t._(
            "{district} is in the Lot of {provider}. Nothing was changed.",
            district=str(details.get("district")),
            provider=str(details.get("from_provider")),
        )
    if isinstance(exc, StillInUse):
        held = [str(d) for d in details.get("districts", []) or []]  # type: ignore[attr-defined]
        rules = [f"#{r}" for r in details.get("rules", []) or []]  # type: ignore[attr-defined]
        return t._(
            "This provider still holds districts ({districts}) or routing rules ({rules}). "
            "Give its districts to another provider and remove its rules first. Nothing was "
            "changed.",
            districts=", ".join(held) or "-",
            rules=", ".join(rules) or "-",
        )
    if isinstance(exc, InvalidInput) and reason == "name":
        return t._(
            "A name is one line of at most {limit} characters. Nothing was changed. Type it "
            "again, or send /cancel.",
            limit=MAX_NAME,
        )
    if isinstance(exc, InvalidInput) and reason == "provider":
        return t._("A caseworker or lead belongs to a provider: pick one. Nothing was changed.")
    if isinstance(exc, AccountLinked):
        return t._(
            "{name} is already connected to Sanad on a Telegram account, so no invite was "
            "created.",
            name=str(details.get("name")),
        )
    if isinstance(exc, NotFound) and reason == "search":
        return t._(
            "No family reference starts with {search}. Type it again, or send /cancel.",
            search=str(details.get("family")),
        )
    if isinstance(exc, NotFound):
        return t._("That is no longer there. Nothing was changed.")
    if isinstance(exc, Conflict):
        return _conflict_text(t, exc)
    return t._("That did not work. Nothing was changed.")


def _conflict_text(t: Texts, exc: Conflict) -> str:
    """A change refused because of how things stand now."""
    details = exc.details
    if isinstance(exc, ProviderExists):
        return t._(
            "There is already a provider called {name}. Nothing was changed. Type another "
            "name, or send /cancel.",
            name=str(details.get("name")),
        )
    if isinstance(exc, DistrictExists):
        return t._(
            "There is already a district called {name}. Nothing was changed.",
            name=str(details.get("name")),
        )
    if isinstance(exc, MemberExists):
        return t._(
            "This family already has a member called {name}. Nothing was changed. Type a "
            "distinct name (for example with the family name), or send /cancel.",
            name=str(details.get("member")),
        )
    if isinstance(exc, RuleExists):
        return t._(
            "Rule #{rule} already routes these requests. Remove it first. Nothing was changed.",
            rule=str(details.get("rule_id")),
        )
    if isinstance(exc, ProviderInactive):
        return t._(
            "{provider} is switched off. Switch it on first. Nothing was changed.",
            provider=str(details.get("provider")),
        )
    if isinstance(exc, AlreadyInLot):
        return t._(
            "{district} is already in the Lot of {provider}. Nothing was changed.",
            district=str(details.get("district")),
            provider=str(details.get("provider")),
        )
    if isinstance(exc, StaffInactive):
        return t._("This person is switched off: switch them on first. Nothing was changed.")
    # Unchanged (the role or state asked for is the one held), or any other conflict.
    return t._("Nothing needed changing.")
