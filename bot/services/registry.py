"""Registering the programme: reference data, providers and Lots, staff, households, members."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, func, select

from bot.services import audit
from bot.services.errors import Conflict, InvalidInput, NotFound
from storage.models import District, Household, Lot, Member, Provider, Scheme, Staff, StaffRole

REFERENCE_FILE = Path(__file__).resolve().parent.parent / "data" / "reference.json"
LANGUAGES = ("ar", "en")


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
    wanted = " ".join(name.split()).casefold()
    for district in session.exec(select(District)).all():
        if district.name.casefold() == wanted:
            return district
    raise NotFound(f"unknown district: {name!r}", district=name)


def find_scheme(session: Session, code: str) -> Scheme:
    """A scheme by its code (VPRS, VCRS, UKRS…)."""
    scheme = session.exec(select(Scheme).where(Scheme.code == code.strip().upper())).first()
    if scheme is None:
        raise NotFound(f"unknown scheme: {code!r}", scheme=code)
    return scheme


def find_provider(session: Session, name: str) -> Provider:
    """A provider by exact name (case-insensitive)."""
    wanted = name.strip().casefold()
    for provider in session.exec(select(Provider)).all():
        if provider.name.casefold() == wanted:
            return provider
    raise NotFound(f"unknown provider: {name!r}", provider=name)


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


def add_provider(
    session: Session, *, name: str, districts: list[str], actor: str = "admin"
) -> tuple[Provider, Lot]:
    """Registers a provider and the Lot of districts it holds."""
    name = name.strip()
    if not name:
        raise InvalidInput("a provider needs a name")
    if session.exec(select(Provider).where(func.lower(Provider.name) == name.lower())).first():
        raise Conflict(f"provider already exists: {name!r}")
    found = [find_district(session, d) for d in districts if d.strip()]
    if not found:
        raise InvalidInput("a provider needs at least one district (--districts)")
    provider = Provider(name=name)
    session.add(provider)
    session.flush()
    lot = Lot(name=f"{name}: {', '.join(d.name for d in found)}", provider_id=provider.id)
    session.add(lot)
    session.flush()
    for district in found:
        district.lot_id = lot.id
        session.add(district)
    audit.record(
        session,
        actor=actor,
        action="provider.add",
        subject=f"provider:{provider.id}",
        lot=lot.id,
        districts=[d.id for d in found],
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
        provider_id = find_provider(session, provider).id
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
    actor: str = "admin",
) -> Household:
    """Registers a household with its district, scheme and support window."""
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
    if not name.strip():
        raise InvalidInput("a member needs a name")
    member = Member(household_id=household.id or 0, name=name.strip())
    session.add(member)
    session.flush()
    audit.record(session, actor=actor, action="member.add", subject=f"member:{member.id}")
    return member


def find_member(session: Session, *, family: str, name: str | None) -> Member:
    """The household member an invite is for: by name, or the only one."""
    household = find_household(session, family)
    members = session.exec(select(Member).where(Member.household_id == household.id)).all()
    if name:
        wanted = name.strip().casefold()
        for member in members:
            if member.name.casefold() == wanted:
                return member
        raise NotFound(f"no member named {name!r} in {household.reference}")
    if len(members) == 1:
        return members[0]
    if not members:
        raise NotFound(f"{household.reference} has no members yet (add-member first)")
    raise InvalidInput(f"{household.reference} has {len(members)} members: name one (--member)")


@dataclass
class ImportReport:
    """The outcome of a CSV import: what was added, or every bad row with its line."""

    households: list[str] = field(default_factory=list)
    members: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


IMPORT_COLUMNS = ("ref", "district", "scheme", "arrived")


def import_families(session: Session, text: str, *, actor: str = "admin") -> ImportReport:
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
