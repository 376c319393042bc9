"""Reference data changed by coordinators (Telegram) or operators (admin CLI): providers and
their Lots, districts, routing rules, staff roles and activation; and the invite pickers.

Every change is audited without names; ``person=None`` means the admin command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from bot.services import accounts, audit, directory, flows, invites, outbox, registry, routing
from bot.services.errors import (
    AlreadyInLot,
    DistrictExists,
    Forbidden,
    InvalidInput,
    LotTaken,
    NotFound,
    ProviderExists,
    ProviderInactive,
    RuleExists,
    StaffInactive,
    StillInUse,
    Unchanged,
)
from bot.services.people import Person
from storage.models import (
    Appointment,
    AppointmentStatus,
    Category,
    District,
    Household,
    Invite,
    Lot,
    Member,
    NoticeKind,
    Provider,
    ReferenceChange,
    RoutingRule,
    Staff,
    StaffRole,
    Ticket,
    TicketStatus,
)
from storage.types import utcnow

MAX_NAME = 80  # a provider, district or person's name; longer is a paste gone wrong
PAGE = 8  # households or staff per page of buttons
FLOW = flows.FlowName.ADMIN  # the typed step of a coordinator's reference-data or invite flow
OPEN = (TicketStatus.RECEIVED, TicketStatus.WITH_CASEWORKER, TicketStatus.WAITING_FAMILY)


class TypedStep(StrEnum):
    """What a coordinator's next typed message is."""

    PROVIDER_NAME = "provider_name"  # a new provider's name; then a district is picked
    RENAME_PROVIDER = "rename_provider"  # data: provider_id
    DISTRICT_NAME = "district_name"  # a new district
    FAMILY_SEARCH = "family_search"  # a household reference (or its start) to invite from
    MEMBER_NAME = "member_name"  # data: household_id; a new member, then invited
    STAFF_NAME = "staff_name"  # data: role, provider_id; new staff, then invited


class ChangeKind(StrEnum):
    """What a coordinator's message or button changed, kept against that message."""

    DISTRICT_ADD = "district.add"  # typed: a new district's name
    PROVIDER_ADD = "provider.add"  # keyed by the typed name; made when a district is picked
    RENAME = "provider.rename"  # typed: detail is the new name
    LOT_MOVE = "lot.move"  # a district picked; detail: the provider that lost it
    SWITCH = "provider.switch"  # one press of on or off; detail: "on" or "off"


TYPED = (ChangeKind.DISTRICT_ADD, ChangeKind.PROVIDER_ADD, ChangeKind.RENAME)


def actor_of(person: Person | None) -> str:
    """The audit actor: a coordinator on Telegram, or the admin command line."""
    return "admin" if person is None else f"staff:{person.staff_id}"


def require_coordinator(person: Person | None) -> None:
    """Only coordinators (or the operator's command line) change reference data."""
    if person is not None and not (person.is_staff and person.is_coordinator):
        raise Forbidden("coordinators only")


def clean_name(name: str) -> str:
    """A name with its spaces tidied; refused when empty, too long or with a line break."""
    tidy = " ".join(name.split())
    if not tidy or len(tidy) > MAX_NAME or "\n" in name.strip():
        raise InvalidInput("name", reason="name", limit=MAX_NAME)
    return tidy


# ---------------------------------------------------------------- providers and Lots


def providers(session: Session, person: Person | None) -> list[dict[str, Any]]:
    """Every provider with its Lot's districts, staff count and whether it is active."""
    require_coordinator(person)
    return directory.providers(session)


def get_provider(session: Session, provider_id: int) -> Provider:
    """A provider by id; NotFound for an unknown (or forged) id."""
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("provider", provider=provider_id)
    return provider


def get_district(session: Session, district_id: int) -> District:
    """A district by id; NotFound for an unknown (or forged) id."""
    district = session.get(District, district_id)
    if district is None:
        raise NotFound("district", district=district_id)
    return district


def holder_of(session: Session, district: District) -> Provider | None:
    """The provider whose Lot holds a district, if any."""
    lot = session.get(Lot, district.lot_id) if district.lot_id else None
    return session.get(Provider, lot.provider_id) if lot and lot.provider_id else None


def _lot_name(session: Session, lot: Lot, provider: Provider) -> str:
    """A Lot is named after its provider and the districts it holds."""
    held = session.exec(
        select(District.name).where(District.lot_id == lot.id).order_by(col(District.name))
    ).all()
    return f"{provider.name}: {', '.join(held) or 'no districts'}"


def _rename_lots(session: Session, provider_ids: set[int]) -> None:
    """Names each Lot of these providers after what it now holds."""
    session.flush()
    for lot in session.exec(select(Lot).where(col(Lot.provider_id).in_(provider_ids))):
        provider = session.get(Provider, lot.provider_id)
        if provider is not None:
            lot.name = _lot_name(session, lot, provider)
            session.add(lot)
    session.flush()


def add_provider(
    session: Session, *, person: Person | None, name: str, district_id: int, move: bool = False
) -> Provider:
    """A new provider holding one district to start with (more are moved to it after)."""
    require_coordinator(person)
    tidy = clean_name(name)
    district = get_district(session, district_id)
    holder = holder_of(session, district)
    if holder is not None and not move:
        raise LotTaken("lot", district=district.name, from_provider=holder.name)
    provider, _ = registry.add_provider(
        session, name=tidy, districts=[district.name], move=move, actor=actor_of(person)
    )
    return provider


def check_new_provider_name(session: Session, *, person: Person | None, name: str) -> str:
    """The tidied name of a provider about to be added; refused when taken."""
    require_coordinator(person)
    tidy = clean_name(name)
    clash = session.exec(select(Provider).where(func.lower(Provider.name) == tidy.lower())).first()
    if clash is not None:
        raise ProviderExists("provider exists", name=clash.name)
    return tidy


def rename_provider(
    session: Session, *, person: Person | None, provider_id: int, name: str
) -> Provider:
    """Renames a provider (and its Lot's name); refused when another has that name."""
    require_coordinator(person)
    provider = get_provider(session, provider_id)
    tidy = clean_name(name)
    clash = session.exec(
        select(Provider).where(
            func.lower(Provider.name) == tidy.lower(), Provider.id != provider_id
        )
    ).first()
    if clash is not None:
        raise ProviderExists("provider exists", name=clash.name)
    provider.name = tidy
    session.add(provider)
    _rename_lots(session, {provider_id})
    audit.record(
        session,
        actor=actor_of(person),
        action="provider.rename",
        subject=f"provider:{provider_id}",
    )
    return provider


@dataclass(frozen=True)
class ProviderChange:
    """A provider switched on or off, and how many staff it still has (they stay as they are)."""

    provider: Provider
    staff: int


def set_provider_active(
    session: Session, *, person: Person | None, provider_id: int, active: bool
) -> ProviderChange:
    """Switches a provider on or off. Off is refused while it holds districts or routing
    rules send requests to it: new requests would go to a provider that is off."""
    require_coordinator(person)
    provider = get_provider(session, provider_id)
    if not active:
        held = session.exec(
            select(District.name)
            .join(Lot, col(District.lot_id) == col(Lot.id))
            .where(Lot.provider_id == provider_id)
            .order_by(col(District.name))
        ).all()
        rules = session.exec(
            select(RoutingRule.id).where(
                RoutingRule.provider_id == provider_id, col(RoutingRule.active).is_(True)
            )
        ).all()
        if held or rules:
            raise StillInUse("in use", districts=list(held), rules=[int(r or 0) for r in rules])
    staff = _active_staff(session, provider_id)
    if provider.active != active:
        provider.active = active
        session.add(provider)
        audit.record(
            session,
            actor=actor_of(person),
            action="provider.activate" if active else "provider.deactivate",
            subject=f"provider:{provider_id}",
        )
    return ProviderChange(provider, staff)


def _active_staff(session: Session, provider_id: int) -> int:
    """How many active staff a provider has."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Staff)
            .where(Staff.provider_id == provider_id, col(Staff.active).is_(True))
        ).one()
    )


@dataclass(frozen=True)
class LotMove:
    """A district given to a provider's Lot; ``from_provider`` lost it (None: it was free)."""

    district: str
    to_provider: str
    from_provider: str | None


def move_district(
    session: Session, *, person: Person | None, district_id: int, provider_id: int, move: bool
) -> LotMove:
    """Puts a district in a provider's Lot. Taking it from another provider needs ``move``
    (like the CLI's ``--move``); the answer names who loses it."""
    require_coordinator(person)
    district = get_district(session, district_id)
    provider = get_provider(session, provider_id)
    if not provider.active:
        raise ProviderInactive("provider inactive", provider=provider.name)
    holder = holder_of(session, district)
    if holder is not None and holder.id == provider_id:
        raise AlreadyInLot("already held", district=district.name, provider=provider.name)
    if holder is not None and not move:
        raise LotTaken("lot", district=district.name, from_provider=holder.name)
    lot = session.exec(
        select(Lot).where(Lot.provider_id == provider_id).order_by(col(Lot.id))
    ).first()
    if lot is None:
        lot = Lot(name=f"{provider.name}: {district.name}", provider_id=provider_id)
        session.add(lot)
        session.flush()
    district.lot_id = lot.id
    session.add(district)
    _rename_lots(session, {provider_id, *([holder.id or 0] if holder else [])})
    audit.record(
        session,
        actor=actor_of(person),
        action="lot.move",
        subject=f"district:{district_id}",
        to_provider=provider_id,
        from_provider=holder.id if holder else None,
    )
    return LotMove(district.name, provider.name, holder.name if holder else None)


# ---------------------------------------------------------------- once per Telegram message


def _earlier(
    session: Session, source: tuple[int, int], kinds: tuple[ChangeKind, ...], key: str = ""
) -> ReferenceChange | None:
    """The change a Telegram message (chat id, message id) already made, if any."""
    query = select(ReferenceChange).where(
        ReferenceChange.source_chat_id == source[0],
        ReferenceChange.source_message_id == source[1],
        col(ReferenceChange.kind).in_([str(k) for k in kinds]),
    )
    if key:
        query = query.where(ReferenceChange.key == key)
    return session.exec(query.order_by(col(ReferenceChange.id))).first()


def _keep(
    session: Session,
    source: tuple[int, int],
    kind: ChangeKind,
    *,
    key: str = "",
    provider_id: int | None = None,
    district_id: int | None = None,
    detail: str = "",
) -> None:
    """Records what a Telegram message changed, so that handling it again does not."""
    session.add(
        ReferenceChange(
            source_chat_id=source[0],
            source_message_id=source[1],
            kind=str(kind),
            key=key or str(kind),
            provider_id=provider_id,
            district_id=district_id,
            detail=detail,
        )
    )
    session.flush()


def _moved(session: Session, change: ReferenceChange) -> LotMove:
    """What a recorded Lot change (or new provider) said, told again."""
    district = get_district(session, change.district_id or 0)
    provider = get_provider(session, change.provider_id or 0)
    return LotMove(district.name, provider.name, change.detail or None)


def move_district_once(
    session: Session,
    *,
    person: Person | None,
    district_id: int,
    provider_id: int,
    move: bool,
    source: tuple[int, int],
) -> LotMove:
    """:func:`move_district` once per message the district was picked on (``source``):
    a second tap or a redelivered press answers the same and moves nothing."""
    require_coordinator(person)
    key = f"{ChangeKind.LOT_MOVE}:{provider_id}:{district_id}"
    earlier = _earlier(session, source, (ChangeKind.LOT_MOVE,), key)
    if earlier is not None:
        return _moved(session, earlier)
    moved = move_district(
        session, person=person, district_id=district_id, provider_id=provider_id, move=move
    )
    _keep(
        session,
        source,
        ChangeKind.LOT_MOVE,
        key=key,
        provider_id=provider_id,
        district_id=district_id,
        detail=moved.from_provider or "",
    )
    return moved


def set_provider_active_once(
    session: Session,
    *,
    person: Person | None,
    provider_id: int,
    active: bool,
    source: tuple[int, int],
    press: str,
) -> ProviderChange:
    """:func:`set_provider_active` once per button press (``press``: the callback query id).

    The provider's page turns its button into the opposite one, so a later press on the
    same message is a new change; the same press handled again (a redelivery) changes
    nothing, even when the provider was switched back in between."""
    require_coordinator(person)
    key = f"{ChangeKind.SWITCH}:{press}"[:80]  # the column's width; query ids are ~20
    if _earlier(session, source, (ChangeKind.SWITCH,), key) is not None:
        provider = get_provider(session, provider_id)
        return ProviderChange(provider, _active_staff(session, provider_id))
    done = set_provider_active(session, person=person, provider_id=provider_id, active=active)
    _keep(
        session,
        source,
        ChangeKind.SWITCH,
        key=key,
        provider_id=provider_id,
        detail="on" if active else "off",
    )
    return done


# ---------------------------------------------------------------- districts


def add_district(
    session: Session, *, person: Person | None, name: str, self_coordinated: bool = False
) -> District:
    """Registers a district (in no Lot until one is given to a provider)."""
    require_coordinator(person)
    tidy = clean_name(name)
    for district in session.exec(select(District)):
        if registry.same_name(district.name, tidy):
            raise DistrictExists("district exists", name=district.name)
    local_authority = session.exec(select(District.local_authority)).first()
    district = District(
        name=tidy,
        self_coordinated=self_coordinated,
        local_authority=local_authority or "Kent County Council",
    )
    session.add(district)
    session.flush()
    audit.record(
        session, actor=actor_of(person), action="district.add", subject=f"district:{district.id}"
    )
    return district


def districts(session: Session, person: Person | None) -> list[District]:
    """Every district, by name."""
    require_coordinator(person)
    return list(session.exec(select(District).order_by(col(District.name))))


# ---------------------------------------------------------------- routing rules


def add_rule(
    session: Session,
    *,
    person: Person | None,
    district_id: int,
    provider_id: int,
    category_id: int | None,
) -> RoutingRule:
    """Routes a district's requests (of one category, or all) to a provider; a second rule
    for the same district and category is refused (the old one must be removed first)."""
    require_coordinator(person)
    get_district(session, district_id)
    provider = get_provider(session, provider_id)
    if not provider.active:
        raise ProviderInactive("provider inactive", provider=provider.name)
    if category_id is not None:
        category = session.get(Category, category_id)
        if category is None or not category.active:
            raise NotFound("category", category=category_id)
    existing = directory.same_rule(session, district_id=district_id, category_id=category_id)
    if existing is not None:
        raise RuleExists("rule exists", rule_id=existing.id)
    rule = routing.add_routing_rule(
        session, district_id=district_id, provider_id=provider_id, category_id=category_id
    )
    audit.record(
        session, actor=actor_of(person), action="routing.rule.add", subject=f"rule:{rule.id}"
    )
    return rule


def remove_rule(session: Session, *, person: Person | None, rule_id: int) -> RoutingRule:
    """Switches a rule off (kept for the record of past routing decisions)."""
    require_coordinator(person)
    rule = session.get(RoutingRule, rule_id)
    if rule is None or not rule.active:
        raise NotFound("rule", rule=rule_id)
    rule.active = False
    session.add(rule)
    audit.record(
        session, actor=actor_of(person), action="routing.rule.remove", subject=f"rule:{rule_id}"
    )
    return rule


def routing_rows(session: Session, person: Person | None) -> list[dict[str, Any]]:
    """Each district with its Lot's provider and active rules."""
    require_coordinator(person)
    return directory.routing(session)


def choices(session: Session, person: Person | None) -> dict[str, list[tuple[int, str]]]:
    """Ids and names to build buttons from: districts, active providers, active categories."""
    require_coordinator(person)
    return {
        "districts": [
            (d.id or 0, d.name)
            for d in session.exec(select(District).order_by(col(District.name)))
        ],
        "providers": [
            (p.id or 0, p.name)
            for p in session.exec(
                select(Provider).where(col(Provider.active).is_(True)).order_by(col(Provider.name))
            )
        ],
        "categories": [
            (c.id or 0, c.code)
            for c in session.exec(
                select(Category)
                .where(col(Category.active).is_(True))
                .order_by(col(Category.position))
            )
        ],
    }


# ---------------------------------------------------------------- staff


def staff_page(
    session: Session, person: Person | None, *, page: int = 0
) -> tuple[list[Staff], int]:
    """One page of staff (by id) and how many there are."""
    require_coordinator(person)
    total = int(session.exec(select(func.count()).select_from(Staff)).one())
    rows = session.exec(select(Staff).order_by(col(Staff.id)).offset(page * PAGE).limit(PAGE))
    return list(rows), total


def get_staff(session: Session, person: Person | None, staff_id: int) -> Staff:
    """A member of staff by id (NotFound for a forged id)."""
    require_coordinator(person)
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("staff", staff=staff_id)
    return staff


@dataclass(frozen=True)
class StaffChange:
    """What changing a member of staff did, so the coordinator is told, not left guessing.

    ``households``: families whose caseworker they were (kept, so switching back restores
    them; meanwhile those families' new requests go by routing rule or Lot). ``returned``:
    open requests taken from them and put back in their provider's queue (whose staff were
    told). ``appointments``: booked appointments with them still to come (not moved).
    """

    staff: Staff
    households: int = 0
    returned: int = 0
    appointments: int = 0
    invites_withdrawn: int = 0
    telegram_user_id: int | None = None


def _handover(session: Session, staff: Staff, actor: str, now: datetime) -> tuple[int, int, int]:
    """Someone who can no longer hold families' requests: their open requests go back to
    the provider's queue (and its staff hear), the rest is counted for the coordinator."""
    households = int(
        session.exec(
            select(func.count()).select_from(Household).where(Household.caseworker_id == staff.id)
        ).one()
    )
    tickets = list(
        session.exec(
            select(Ticket).where(Ticket.assignee_id == staff.id, col(Ticket.status).in_(OPEN))
        )
    )
    for ticket in tickets:
        ticket.assignee_id = None
        ticket.status = TicketStatus.RECEIVED
        session.add(ticket)
    session.flush()
    for ticket in tickets:
        for recipient in routing.staff_recipients(session, ticket):
            if recipient.id == staff.id or recipient.telegram_user_id is None:
                continue
            outbox.enqueue(
                session,
                key=f"handover:{staff.id}:{ticket.id}:{now.isoformat()}:staff:{recipient.id}",
                chat_id=recipient.telegram_user_id,
                kind=NoticeKind.STAFF_REASSIGNED,
                ticket_id=ticket.id,
            )
        audit.record(
            session,
            actor=actor,
            action="ticket.reassign",
            subject=f"ticket:{ticket.id}",
            to=None,
            reason="staff.handover",
        )
    appointments = int(
        session.exec(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.staff_id == staff.id,
                Appointment.status == AppointmentStatus.BOOKED,
                col(Appointment.starts_at) > now,
            )
        ).one()
    )
    return households, len(tickets), appointments


def set_staff_active(
    session: Session,
    *,
    person: Person | None,
    staff_id: int,
    active: bool,
    now: datetime | None = None,
) -> StaffChange:
    """Switches a member of staff on or off. Off: Sanad stops answering them as staff, their
    unused invites stop working, and their open requests return to the provider's queue."""
    require_coordinator(person)
    now = now or utcnow()
    staff = get_staff(session, person, staff_id)
    if person is not None and staff.id == person.staff_id and not active:
        raise Forbidden("self", reason="self")
    if staff.active == active:
        raise Unchanged("unchanged", active=active)
    staff.active = active
    session.add(staff)
    households = returned = appointments = withdrawn = 0
    actor = actor_of(person)
    if not active:
        households, returned, appointments = _handover(session, staff, actor, now)
        withdrawn = _withdraw_invites(session, staff_id, now)
    audit.record(
        session,
        actor=actor,
        action="staff.activate" if active else "staff.deactivate",
        subject=f"staff:{staff_id}",
        returned=returned,
        invites_withdrawn=withdrawn,
    )
    return StaffChange(
        staff, households, returned, appointments, withdrawn, staff.telegram_user_id
    )


def _withdraw_invites(session: Session, staff_id: int, now: datetime) -> int:
    """Unused invites of someone switched off stop working now."""
    result = session.execute(
        update(Invite)
        .where(
            col(Invite.staff_id) == staff_id,
            col(Invite.used_at).is_(None),
            col(Invite.expires_at) > now,
        )
        .values(expires_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def change_role(
    session: Session,
    *,
    person: Person | None,
    staff_id: int,
    role: str,
    provider_id: int | None = None,
    now: datetime | None = None,
) -> StaffChange:
    """Changes a member of staff's role. Caseworkers and leads belong to a provider (kept
    when none is given); coordinators to none. A caseworker who stops being one hands back
    their open requests as when switched off."""
    require_coordinator(person)
    now = now or utcnow()
    staff = get_staff(session, person, staff_id)
    try:
        new_role = StaffRole(role.strip().lower())
    except ValueError as exc:
        raise InvalidInput("role", reason="role") from exc
    if person is not None and staff.id == person.staff_id:
        raise Forbidden("self", reason="self")
    if new_role == StaffRole.COORDINATOR:
        if provider_id is not None:
            raise InvalidInput("coordinator provider", reason="coordinator_provider")
        new_provider = None
    else:
        new_provider = provider_id if provider_id is not None else staff.provider_id
        if new_provider is None:
            raise InvalidInput("provider needed", reason="provider")
        holder = get_provider(session, new_provider)
        if not holder.active:
            raise ProviderInactive("provider inactive", provider=holder.name)
    if new_role == staff.role and new_provider == staff.provider_id:
        raise Unchanged("unchanged", role=new_role)
    households = returned = appointments = 0
    actor = actor_of(person)
    if staff.role == StaffRole.CASEWORKER and (
        new_role != StaffRole.CASEWORKER or new_provider != staff.provider_id
    ):
        households, returned, appointments = _handover(session, staff, actor, now)
    old_role = staff.role
    staff.role, staff.provider_id = new_role, new_provider
    session.add(staff)
    audit.record(
        session,
        actor=actor,
        action="staff.role",
        subject=f"staff:{staff_id}",
        from_role=old_role,
        to_role=new_role,
        provider=new_provider,
        returned=returned,
    )
    return StaffChange(staff, households, returned, appointments, 0, staff.telegram_user_id)


# ---------------------------------------------------------------- invite pickers


def households_page(
    session: Session, person: Person | None, *, page: int = 0, search: str | None = None
) -> tuple[list[tuple[int, str]], int]:
    """One page of household references (optionally those starting with ``search``) and how
    many match; erased households are left out."""
    require_coordinator(person)
    where: list[Any] = [col(Household.erased_at).is_(None)]
    if search:
        where.append(col(Household.reference).startswith(search.strip().upper()))
    total = int(session.exec(select(func.count()).select_from(Household).where(*where)).one())
    rows = session.exec(
        select(Household.id, Household.reference)
        .where(*where)
        .order_by(col(Household.reference))
        .offset(page * PAGE)
        .limit(PAGE)
    ).all()
    return [(int(i or 0), str(r)) for i, r in rows], total


@dataclass(frozen=True)
class MemberChoice:
    """A member of a household offered on a button."""

    member_id: int
    name: str
    linked: bool


def household_members(
    session: Session, person: Person | None, household_id: int
) -> tuple[str, list[MemberChoice]]:
    """A household's reference and its members, for the invite buttons."""
    require_coordinator(person)
    household = session.get(Household, household_id)
    if household is None or household.erased_at is not None:
        raise NotFound("family", family=household_id)
    members = session.exec(
        select(Member).where(Member.household_id == household_id).order_by(col(Member.id))
    )
    return household.reference, [
        MemberChoice(m.id or 0, m.name, m.telegram_user_id is not None) for m in members
    ]


def invite_member(
    session: Session,
    *,
    person: Person | None,
    member_id: int,
    ttl_days: int,
    relink: bool = False,
) -> accounts.Issued:
    """An invite for a household member picked with a button."""
    require_coordinator(person)
    member = session.get(Member, member_id)
    household = session.get(Household, member.household_id) if member else None
    if member is None or household is None or household.erased_at is not None:
        raise NotFound("member", member=member_id)
    issued = invites.create_invite(
        session, member_id=member_id, ttl_days=ttl_days, relink=relink, actor=actor_of(person)
    )
    return accounts.Issued(issued, member.name, household.reference)


def add_member_and_invite(
    session: Session, *, person: Person | None, household_id: int, name: str, ttl_days: int
) -> accounts.Issued:
    """A new member typed by name, added to the household and invited at once."""
    reference, _ = household_members(session, person, household_id)
    member = registry.add_member(
        session, family=reference, name=clean_name(name), actor=actor_of(person)
    )
    return invite_member(session, person=person, member_id=member.id or 0, ttl_days=ttl_days)


def unlinked_staff(session: Session, person: Person | None, role: StaffRole) -> list[Staff]:
    """Active staff of a role whose Telegram account is not linked yet (at most 40)."""
    require_coordinator(person)
    return list(
        session.exec(
            select(Staff)
            .where(
                Staff.role == role,
                col(Staff.telegram_user_id).is_(None),
                col(Staff.active).is_(True),
            )
            .order_by(col(Staff.name))
            .limit(40)
        )
    )


def invite_staff(
    session: Session, *, person: Person | None, staff_id: int, ttl_days: int, relink: bool = False
) -> accounts.Issued:
    """An invite for a member of staff picked with a button (not someone switched off)."""
    staff = get_staff(session, person, staff_id)
    if not staff.active:
        raise StaffInactive("inactive", reason="inactive")
    issued = invites.create_invite(
        session, staff_id=staff_id, ttl_days=ttl_days, relink=relink, actor=actor_of(person)
    )
    return accounts.Issued(issued, staff.name)


def add_staff_and_invite(
    session: Session,
    *,
    person: Person | None,
    role: StaffRole,
    provider_id: int | None,
    name: str,
    ttl_days: int,
) -> accounts.Issued:
    """New staff typed by name (provider picked first for caseworkers and leads), invited."""
    require_coordinator(person)
    provider = get_provider(session, provider_id).name if provider_id else None
    staff = registry.add_staff(
        session, role=role, name=clean_name(name), provider=provider, actor=actor_of(person)
    )
    return invite_staff(session, person=person, staff_id=staff.id or 0, ttl_days=ttl_days)


# ---------------------------------------------------------------- typed steps


def expect_typing(session: Session, *, person: Person, step: TypedStep, **data: Any) -> None:
    """Remembers that the coordinator's next message is typed input for ``step``."""
    require_coordinator(person)
    draft = AdminDraft(step=str(step), **data)  # an unknown key is a TypeError here
    flows.start(session, person.telegram_user_id, FLOW, **draft.to_data())


@dataclass(frozen=True)
class AdminDraft:
    """The admin flow's data as stored in ``Flow.data`` (keys unchanged, so a step begun
    before an upgrade carries on); each field is set only by the steps that use it."""

    step: str  # a TypedStep's value, or NEW_PROVIDER_DISTRICT (a district is being picked)
    provider_id: int | None = None  # RENAME_PROVIDER, STAFF_NAME
    household_id: int = 0  # MEMBER_NAME
    role: str | None = None  # STAFF_NAME
    provider_name: str = ""  # NEW_PROVIDER_DISTRICT: the name typed
    name_message: int | None = None  # NEW_PROVIDER_DISTRICT: the message the name came in

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> AdminDraft:
        """Reads the stored data."""
        provider_id, name_message = data.get("provider_id"), data.get("name_message")
        return cls(
            step=str(data.get("step")),
            provider_id=int(provider_id) if provider_id else None,
            household_id=int(data.get("household_id") or 0),
            role=str(data["role"]) if data.get("role") is not None else None,
            provider_name=str(data.get("provider_name") or ""),
            name_message=int(name_message) if name_message is not None else None,
        )

    def to_data(self) -> dict[str, Any]:
        """The stored data: the step and only the fields its steps set (the keys as always)."""
        data: dict[str, Any] = {"step": self.step}
        if self.provider_id is not None:
            data["provider_id"] = self.provider_id
        if self.household_id:
            data["household_id"] = self.household_id
        if self.role is not None:
            data["role"] = self.role
        if self.provider_name:
            data["provider_name"] = self.provider_name
        if self.name_message is not None:
            data["name_message"] = self.name_message
        return data

    @property
    def typed(self) -> TypedStep | None:
        """The typed step, when the step is one (not a district being picked)."""
        try:
            return TypedStep(self.step)
        except ValueError:
            return None


def typing_step(session: Session, telegram_user_id: int) -> AdminDraft | None:
    """The typed step the person is at, with its data; None outside the flow."""
    flow = flows.active(session, telegram_user_id, FLOW)
    return AdminDraft.from_data(flow.data) if flow is not None else None


def stop_typing(session: Session, telegram_user_id: int) -> None:
    """Leaves the typed step (done, or a new one started with a button)."""
    if flows.active(session, telegram_user_id, FLOW) is not None:
        flows.clear(session, telegram_user_id)


@dataclass(frozen=True)
class Typed:
    """What a typed step did; the handler answers according to ``step``."""

    step: TypedStep
    issued: accounts.Issued | None = None
    earlier: invites.Earlier | None = None  # the same message handled again: no second code
    name: str = ""
    households: list[tuple[int, str]] | None = None
    total: int = 0
    search: str = ""
    added: LotMove | None = None  # a new provider's name handled again once it was added


NEW_PROVIDER_DISTRICT = "provider_district"  # a new provider's name is kept; pick a district


def handle_typed(
    session: Session,
    *,
    person: Person,
    text: str,
    ttl_days: int,
    source: tuple[int, int] | None = None,
) -> Typed | None:
    """The coordinator's typed message for their current step; None outside any step.

    Done: the step ends. Refused (a DomainError): the transaction rolls back, so the step
    stays and the coordinator can type again, or /cancel. A typed name that already made an
    invite (``source``: the same message handled again) makes no second member, staff or code.
    """
    if source is not None and (earlier := invites.made_from(session, source)) is not None:
        step = TypedStep.MEMBER_NAME if earlier.family_ref is not None else TypedStep.STAFF_NAME
        return Typed(step, earlier=earlier)
    if source is not None and (change := _earlier(session, source, TYPED)) is not None:
        return _typed_again(session, change)
    draft = typing_step(session, person.telegram_user_id)
    if draft is None:
        return None
    if (
        source is not None
        and draft.step == NEW_PROVIDER_DISTRICT
        and draft.name_message == source[1]
    ):  # the name handled again while its first district is being picked: ask again
        return Typed(TypedStep.PROVIDER_NAME, name=draft.provider_name)
    typed = draft.typed
    if typed is None:
        return None
    step = typed
    require_coordinator(person)
    done: Typed
    if step == TypedStep.PROVIDER_NAME:
        name = check_new_provider_name(session, person=person, name=text)
        picking = AdminDraft(
            step=NEW_PROVIDER_DISTRICT,
            provider_name=name,
            name_message=source[1] if source is not None else 0,
        )
        flows.start(session, person.telegram_user_id, FLOW, **picking.to_data())
        return Typed(step, name=name)
    if step == TypedStep.RENAME_PROVIDER:
        provider = rename_provider(
            session, person=person, provider_id=draft.provider_id or 0, name=text
        )
        done = Typed(step, name=provider.name)
        if source is not None:
            _keep(
                session,
                source,
                ChangeKind.RENAME,
                provider_id=provider.id,
                detail=provider.name,
            )
    elif step == TypedStep.DISTRICT_NAME:
        district = add_district(session, person=person, name=text)
        done = Typed(step, name=district.name)
        if source is not None:
            _keep(session, source, ChangeKind.DISTRICT_ADD, district_id=district.id)
    elif step == TypedStep.FAMILY_SEARCH:
        search = text.strip().upper()
        found, total = households_page(session, person, search=search)
        if not found:
            raise NotFound("family", family=search, reason="search")
        done = Typed(step, households=found, total=total, search=search)
    elif step == TypedStep.MEMBER_NAME:
        issued = add_member_and_invite(
            session,
            person=person,
            household_id=draft.household_id,
            name=text,
            ttl_days=ttl_days,
        )
        done = Typed(step, issued=issued)
        if source is not None:
            invites.mark_source(session, issued.invite.invite_id, source)
    else:
        issued = add_staff_and_invite(
            session,
            person=person,
            role=StaffRole(str(draft.role)),
            provider_id=draft.provider_id,
            name=text,
            ttl_days=ttl_days,
        )
        done = Typed(step, issued=issued)
        if source is not None:
            invites.mark_source(session, issued.invite.invite_id, source)
    flows.clear(session, person.telegram_user_id)
    session.flush()
    return done


def _typed_again(session: Session, change: ReferenceChange) -> Typed:
    """What a typed message that already changed something did, to be told again."""
    if change.kind == ChangeKind.DISTRICT_ADD:
        return Typed(
            TypedStep.DISTRICT_NAME, name=get_district(session, change.district_id or 0).name
        )
    if change.kind == ChangeKind.RENAME:
        return Typed(TypedStep.RENAME_PROVIDER, name=change.detail)
    moved = _moved(session, change)
    return Typed(TypedStep.PROVIDER_NAME, name=moved.to_provider, added=moved)


def new_provider_name(session: Session, person: Person, name_message: int | None = None) -> str:
    """The name typed for a provider being added (in message ``name_message``, when given);
    NotFound when that step is not under way."""
    require_coordinator(person)
    draft = typing_step(session, person.telegram_user_id)
    if draft is None or draft.step != NEW_PROVIDER_DISTRICT:
        raise NotFound("provider flow", reason="flow")
    if name_message is not None and draft.name_message != name_message:
        raise NotFound("provider flow", reason="flow")  # a button of an earlier, left flow
    return draft.provider_name


def add_provider_from_flow(
    session: Session,
    *,
    person: Person,
    district_id: int,
    move: bool,
    source: tuple[int, int] | None = None,
) -> tuple[Provider, LotMove]:
    """Adds the provider whose name was typed, holding the district picked with a button.

    ``source`` is the typed name's message (the buttons carry its id): a second tap, or a
    press or the name handled again, adds nothing and answers what was added.
    """
    if source is not None and (earlier := _earlier(session, source, (ChangeKind.PROVIDER_ADD,))):
        return get_provider(session, earlier.provider_id or 0), _moved(session, earlier)
    name = new_provider_name(session, person, source[1] if source is not None else None)
    district = get_district(session, district_id)
    holder = holder_of(session, district)
    provider = add_provider(session, person=person, name=name, district_id=district_id, move=move)
    if source is not None:
        _keep(
            session,
            source,
            ChangeKind.PROVIDER_ADD,
            provider_id=provider.id,
            district_id=district_id,
            detail=holder.name if holder else "",
        )
    flows.clear(session, person.telegram_user_id)
    session.flush()
    return provider, LotMove(district.name, provider.name, holder.name if holder else None)
