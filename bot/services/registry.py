"""Registering the programme: reference data, providers and Lots, staff, households, members."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, func, select

from bot.languages import LANGUAGES
from bot.services import audit
from bot.services.errors import Conflict, InvalidInput, MemberExists, NotFound
from storage.models import (
    Category,
    District,
    Household,
    Lot,
    Member,
    Provider,
    Scheme,
    Staff,
    StaffRole,
)

REFERENCE_FILE = Path(__file__).resolve().parent.parent / "data" / "reference.json"
# An arrival may be registered ahead of the family's flight, but not further ahead than this.
ARRIVAL_HORIZON_DAYS = 90


def _valid(values: list[str]) -> str:
    """The list of valid values an error shows."""
    return ", ".join(values) if values else "none registered yet (run admin seed)"


def same_name(a: str, b: str) -> bool:
    """Whether two names are the same ignoring case and spacing."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def load_reference(path: Path = REFERENCE_FILE) -> dict[str, Any]:
    """The seed data: districts, schemes (and, later, categories)."""
    return json.loads(path.read_text(encoding="utf-8"))


def seed(session: Session, *, actor: str = "admin") -> dict[str, int]:
    """Inserts missing reference data; running it twice changes nothing."""
    data = load_reference()
    added = {"districts": 0, "schemes": 0}
    for entry in data["districts"]:
        if session.exec(select(District).where(District.name == entry["name"])).first() is None:
            session.add(
                District(
                    name=entry["name"],
                    local_authority=data["local_authority"],
                    self_coordinated=entry["self_coordinated"],
                )
            )
            added["districts"] += 1
    for entry in data["schemes"]:
        if session.exec(select(Scheme).where(Scheme.code == entry["code"])).first() is None:
            session.add(Scheme(**entry))
            added["schemes"] += 1
    from bot.services.categories import seed_categories

    added.update(seed_categories(session, data))
    session.flush()
    audit.record(session, actor=actor, action="seed", subject="reference", **added)
    return added


def find_district(session: Session, name: str) -> District:
    """A district by name, ignoring case and surrounding spaces."""
    districts = session.exec(select(District).order_by(col(District.name))).all()
    for district in districts:
        if same_name(district.name, name):
            return district
    valid = _valid([d.name for d in districts])
    raise NotFound(f"unknown district: {name!r} (valid: {valid})", district=name)


def find_scheme(session: Session, code: str) -> Scheme:
    """A scheme by its code (VPRS, VCRS, UKRS…)."""
    scheme = session.exec(select(Scheme).where(Scheme.code == code.strip().upper())).first()
    if scheme is None:
        valid = _valid([s.code for s in session.exec(select(Scheme).order_by(col(Scheme.code)))])
        raise NotFound(f"unknown scheme: {code!r} (valid: {valid})", scheme=code)
    return scheme


def find_category(session: Session, code: str) -> Category:
    """An active category by its code (health, housing…)."""
    active = session.exec(
        select(Category).where(col(Category.active).is_(True)).order_by(col(Category.position))
    ).all()
    for category in active:
        if category.code == code.strip().lower():
            return category
    valid = _valid([c.code for c in active])
    raise NotFound(f"unknown category: {code!r} (valid: {valid})", category=code)


def find_provider(session: Session, name: str) -> Provider:
    """A provider by exact name (case-insensitive)."""
    providers = session.exec(select(Provider).order_by(col(Provider.name))).all()
    for provider in providers:
        if same_name(provider.name, name):
            return provider
    valid = _valid([p.name for p in providers])
    raise NotFound(f"unknown provider: {name!r} (valid: {valid})", provider=name)


def find_household(session: Session, reference: str) -> Household:
    """A household by its family reference."""
    household = session.exec(
        select(Household).where(Household.reference == reference.strip().upper())
    ).first()
    if household is None:
        raise NotFound(f"unknown family reference: {reference!r}", family=reference)
    return household


def get_staff(session: Session, staff_id: int) -> Staff:
    """A member of staff by id."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(f"unknown staff id: {staff_id}", staff=staff_id)
    return staff


@dataclass(frozen=True)
class Moved:
    """A district whose Lot changed hands when a provider was added."""

    district: str
    from_provider: str


def _unique_districts(session: Session, names: list[str]) -> list[District]:
    """The districts named, each once, in the order given."""
    found: list[District] = []
    for wanted in filter(None, (n.strip() for n in names)):
        district = find_district(session, wanted)
        if district not in found:
            found.append(district)
    return found


def held_by_others(session: Session, districts: list[str]) -> list[Moved]:
    """Which of these districts are already in a provider's Lot, and whose."""
    held = []
    for district in _unique_districts(session, districts):
        lot = session.get(Lot, district.lot_id) if district.lot_id else None
        holder = session.get(Provider, lot.provider_id) if lot and lot.provider_id else None
        if holder is not None:
            held.append(Moved(district=district.name, from_provider=holder.name))
    return held


def _rename_lots(session: Session, lot_ids: set[int]) -> None:
    """Names each Lot after the districts it still holds, once some moved away."""
    for lot_id in lot_ids:
        lot = session.get(Lot, lot_id)
        holder = session.get(Provider, lot.provider_id) if lot and lot.provider_id else None
        if lot is None or holder is None:
            continue
        left = session.exec(
            select(District.name).where(District.lot_id == lot_id).order_by(col(District.name))
        ).all()
        lot.name = f"{holder.name}: {', '.join(left) or 'no districts'}"
        session.add(lot)


def add_provider(
    session: Session,
    *,
    name: str,
    districts: list[str],
    move: bool = False,
    actor: str = "admin",
) -> tuple[Provider, Lot]:
    """Registers a provider and the Lot of districts it holds.

    A district already in another provider's Lot is only taken with ``move=True``
    (:func:`held_by_others` tells beforehand which districts change hands).
    """
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("a provider needs a name")
    if session.exec(select(Provider).where(func.lower(Provider.name) == name.lower())).first():
        raise Conflict(f"provider already exists: {name!r}")
    found = _unique_districts(session, districts)
    if not found:
        raise InvalidInput("a provider needs at least one district (--districts)")
    moved = held_by_others(session, districts)
    if moved and not move:
        taken = "; ".join(f"{m.district} is in the Lot of {m.from_provider!r}" for m in moved)
        raise Conflict(
            f"{taken}. Add --move to give {'them' if len(moved) > 1 else 'it'} to {name!r} "
            f"(the current provider loses {'them' if len(moved) > 1 else 'it'})",
            moving=[{"district": m.district, "from_provider": m.from_provider} for m in moved],
        )
    old_lots = {d.lot_id for d in found if d.lot_id is not None}
    provider = Provider(name=name)
    session.add(provider)
    session.flush()
    lot = Lot(name=f"{name}: {', '.join(d.name for d in found)}", provider_id=provider.id)
    session.add(lot)
    session.flush()
    for district in found:
        district.lot_id = lot.id
        session.add(district)
    session.flush()
    _rename_lots(session, old_lots)
    audit.record(
        session,
        actor=actor,
        action="provider.add",
        subject=f"provider:{provider.id}",
        lot=lot.id,
        districts=[d.id for d in found],
        moved=[m.district for m in moved],
    )
    return provider, lot


def add_staff(
    session: Session,
    *,
    role: str,
    name: str,
    provider: str | None = None,
    language: str | None = None,
    actor: str = "admin",
) -> Staff:
    """Registers a caseworker, provider lead or coordinator."""
    try:
        staff_role = StaffRole(role.strip().lower())
    except ValueError as exc:
        raise InvalidInput(f"unknown role: {role!r} (caseworker, lead or coordinator)") from exc
    if not name.strip():
        raise InvalidInput("staff need a name")
    provider_id = None
    if staff_role in (StaffRole.CASEWORKER, StaffRole.LEAD):
        if not provider:
            raise InvalidInput(f"a {staff_role.value} belongs to a provider (--provider)")
        provider_id = find_provider(session, provider).id
    elif provider:
        raise InvalidInput(
            "a coordinator works for the council, not for a provider: leave out --provider"
        )
    staff = Staff(
        name=name.strip(),
        role=staff_role,
        provider_id=provider_id,
        language=_language(language),
    )
    session.add(staff)
    session.flush()
    audit.record(
        session, actor=actor, action="staff.add", subject=f"staff:{staff.id}", role=staff_role
    )
    return staff


def _language(language: str | None) -> str | None:
    """Validates an optional language code."""
    if language is None or language == "":
        return None
    language = language.strip().lower()
    if language not in LANGUAGES:
        raise InvalidInput(f"unknown language: {language!r} (ar or en)")
    return language


def support_end(arrived_on: date, years: int) -> date:
    """The last day of support: arrival plus the scheme's years (29 February → 28th)."""
    try:
        return arrived_on.replace(year=arrived_on.year + years)
    except ValueError:
        return arrived_on.replace(year=arrived_on.year + years, day=28)


def parse_date(value: str) -> date:
    """A YYYY-MM-DD date, or a clear error."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(f"not a date (YYYY-MM-DD): {value!r}") from exc


def add_family(
    session: Session,
    *,
    ref: str,
    district: str,
    scheme: str,
    arrived: str | date,
    caseworker_id: int | None = None,
    language: str | None = None,
    horizon_days: int = ARRIVAL_HORIZON_DAYS,
    today: date | None = None,
    actor: str = "admin",
) -> Household:
    """Registers a household with its district, scheme and support window.

    An arrival later than ``horizon_days`` from today is refused as a likely typo.
    """
    reference = ref.strip().upper()
    if (
        not reference
        or len(reference) > 32
        or not all(c.isalnum() or c in "-_" for c in reference)
    ):
        raise InvalidInput(f"a family reference is 1-32 letters, digits, - or _: {ref!r}")
    if session.exec(select(Household).where(Household.reference == reference)).first():
        raise Conflict(f"family reference already exists: {reference}")
    found_district = find_district(session, district)
    found_scheme = find_scheme(session, scheme)
    arrived_on = arrived if isinstance(arrived, date) else parse_date(arrived)
    latest = (today or date.today()) + timedelta(days=horizon_days)
    if arrived_on > latest:
        raise InvalidInput(
            f"arrival date {arrived_on.isoformat()} is more than {horizon_days} days ahead "
            f"(latest accepted: {latest.isoformat()}; ARRIVAL_HORIZON_DAYS sets the limit)"
        )
    if caseworker_id is not None:
        caseworker = get_staff(session, caseworker_id)
        if caseworker.role != StaffRole.CASEWORKER:
            raise InvalidInput(f"staff {caseworker_id} is not a caseworker")
    household = Household(
        reference=reference,
        district_id=found_district.id or 0,
        scheme_id=found_scheme.id or 0,
        arrived_on=arrived_on,
        support_ends_on=support_end(arrived_on, found_scheme.support_years),
        caseworker_id=caseworker_id,
        language=_language(language),
    )
    session.add(household)
    session.flush()
    audit.record(session, actor=actor, action="family.add", subject=f"household:{household.id}")
    return household


def add_member(session: Session, *, family: str, name: str, actor: str = "admin") -> Member:
    """Adds an adult member to a household."""
    household = find_household(session, family)
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("a member needs a name")
    for existing in session.exec(select(Member).where(Member.household_id == household.id)):
        if same_name(existing.name, name):
            raise MemberExists(
                f"{household.reference} already has a member called {existing.name!r}; "
                "give each member a distinct name (e.g. add a family name)",
                family=household.reference,
                member=existing.name,
            )
    member = Member(household_id=household.id or 0, name=name)
    session.add(member)
    session.flush()
    audit.record(session, actor=actor, action="member.add", subject=f"member:{member.id}")
    return member


def find_member(session: Session, *, family: str, name: str | None) -> Member:
    """The household member an invite is for: by name, or the only one."""
    household = find_household(session, family)
    members = session.exec(
        select(Member).where(Member.household_id == household.id).order_by(col(Member.id))
    ).all()
    names = [m.name for m in members]
    where = {"family": household.reference, "members": names}
    if name:
        for member in members:
            if same_name(member.name, name):
                return member
        known = f"its members: {', '.join(names)}" if names else "it has no members yet"
        raise NotFound(
            f"{household.reference} has no member called {name!r} ({known}; "
            "add one with admin add-member)",
            member=name,
            **where,
        )
    if len(members) == 1:
        return members[0]
    if not members:
        raise NotFound(
            f"{household.reference} has no members yet (add one with admin add-member)", **where
        )
    raise InvalidInput(
        f"{household.reference} has {len(members)} members ({', '.join(names)}): "
        "name one (--member)",
        **where,
    )


@dataclass
class ImportReport:
    """The outcome of a CSV import: what was added, or every bad row with its line."""

    households: list[str] = field(default_factory=list)
    members: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


IMPORT_COLUMNS = ("ref", "district", "scheme", "arrived")


def import_families(
    session: Session,
    text: str,
    *,
    horizon_days: int = ARRIVAL_HORIZON_DAYS,
    actor: str = "admin",
) -> ImportReport:
    """Imports households (and members) from CSV; any bad row means nothing is imported.

    Columns: ref, district, scheme, arrived, and optionally caseworker_id, language and
    members (names separated by ``;``). The caller rolls back when ``errors`` is not empty.
    """
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in IMPORT_COLUMNS if c not in headers]
    if missing:
        report.errors.append({"line": 1, "error": f"missing columns: {', '.join(missing)}"})
        return report
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        values = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if not any(values.values()):
            continue
        try:
            if values["ref"].upper() in seen:
                raise Conflict(f"family reference repeated in the file: {values['ref']}")
            seen.add(values["ref"].upper())
            caseworker = values.get("caseworker_id") or None
            if caseworker is not None and not caseworker.isdigit():
                raise InvalidInput(f"caseworker_id is not a number: {caseworker!r}")
            with session.begin_nested():
                household = add_family(
                    session,
                    ref=values["ref"],
                    district=values["district"],
                    scheme=values["scheme"],
                    arrived=values["arrived"],
                    caseworker_id=int(caseworker) if caseworker else None,
                    language=values.get("language") or None,
                    horizon_days=horizon_days,
                    actor=actor,
                )
                for name in filter(
                    None, (n.strip() for n in values.get("members", "").split(";"))
                ):
                    add_member(session, family=household.reference, name=name, actor=actor)
                    report.members += 1
            report.households.append(household.reference)
        except (InvalidInput, NotFound, Conflict) as exc:
            report.errors.append({"line": line, "error": str(exc)})
    return report


def count(session: Session, model: type[Any]) -> int:
    """How many rows a table holds."""
    return int(session.exec(select(func.count()).select_from(model)).one())
