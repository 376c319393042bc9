"""The command-line admin (``python -m bot admin ...``); every command also speaks ``--json``."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from bot.services import audit, categories, invites, registry, routing
from bot.services.argos_models import (
    ModelError,
    ModelInfo,
    argos_available,
    install_models,
    installed_models,
)
from bot.services.errors import DomainError
from bot.settings import Settings
from storage.db import Database
from storage.models import Category, District, Lot, Provider, RoutingRule


class Abort(Exception):
    """Stops a command with a message and no changes."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


Command = Callable[[argparse.Namespace, Session, Settings], dict[str, Any]]
NoDbCommand = Callable[[argparse.Namespace, Settings], dict[str, Any]]


def cmd_seed(args: argparse.Namespace, session: Session, settings: Settings) -> dict[str, Any]:
    """Inserts the reference data."""
    return {"added": registry.seed(session)}


def cmd_add_provider(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Registers a provider and its Lot."""
    provider, lot = registry.add_provider(
        session, name=args.name, districts=args.districts.split(",")
    )
    return {"provider_id": provider.id, "lot_id": lot.id, "name": provider.name}


def cmd_add_staff(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Registers a member of staff."""
    staff = registry.add_staff(
        session, role=args.role, name=args.name, provider=args.provider, language=args.language
    )
    return {"staff_id": staff.id, "role": staff.role.value, "provider_id": staff.provider_id}


def cmd_add_family(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Registers a household."""
    household = registry.add_family(
        session,
        ref=args.ref,
        district=args.district,
        scheme=args.scheme,
        arrived=args.arrived,
        caseworker_id=args.caseworker,
        language=args.language,
    )
    return {
        "household_id": household.id,
        "ref": household.reference,
        "support_ends_on": household.support_ends_on.isoformat(),
    }


def cmd_add_member(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Adds a member to a household."""
    member = registry.add_member(session, family=args.family, name=args.name)
    return {"member_id": member.id, "family": args.family.upper()}


def cmd_invite(args: argparse.Namespace, session: Session, settings: Settings) -> dict[str, Any]:
    """Creates a one-time invite and prints its code and deep link."""
    if args.family:
        member = registry.find_member(session, family=args.family, name=args.member)
        issued = invites.create_invite(
            session, member_id=member.id, ttl_days=args.days or settings.invite_ttl_days
        )
        who: dict[str, Any] = {"member_id": member.id, "family": args.family.upper()}
    else:
        staff = registry.get_staff(session, args.staff)
        issued = invites.create_invite(
            session, staff_id=staff.id, ttl_days=args.days or settings.invite_ttl_days
        )
        who = {"staff_id": staff.id, "role": staff.role.value}
    return {
        **who,
        "invite_id": issued.invite_id,
        "code": issued.code,
        "link": invites.deep_link(settings.bot_username, issued.code),
        "expires_at": issued.expires_at.isoformat(),
    }


def cmd_import_families(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Imports a CSV file of households; one bad row and nothing is imported."""
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Abort(f"cannot read {path}: {exc}") from exc
    report = registry.import_families(session, text)
    if report.errors:
        raise Abort(f"{len(report.errors)} bad row(s); nothing was imported", errors=report.errors)
    return {"imported": report.households, "members": report.members}


def _model_row(info: ModelInfo) -> dict[str, Any]:
    """One installed package as plain JSON values."""
    return {
        "direction": f"{info.from_code}→{info.to_code}",
        "from_code": info.from_code,
        "to_code": info.to_code,
        "version": info.version,
        "name": info.name,
        "sha256": info.sha256,
    }


def _checksums(paths: list[Path], given: list[str] | None) -> list[str | None]:
    """Pairs each file with its --sha256 (in order), or None to accept only known packages."""
    if not given:
        return [None] * len(paths)
    if len(given) != len(paths):
        raise Abort(
            f"{len(given)} --sha256 value(s) for {len(paths)} file(s); give one --sha256 per "
            "file, in the same order as the files, or none to accept only known packages; "
            "nothing was installed"
        )
    return list(given)


def cmd_install_models(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Installs .argosmodel files after checking every one of them; one refusal installs none."""
    paths = [Path(p) for p in args.paths]
    pairs = list(zip(paths, _checksums(paths, args.sha256), strict=True))
    # Check everything first (checksum, zip, metadata, model files) by installing into a
    # scratch folder: a bad file anywhere in the list leaves models_dir untouched.
    with tempfile.TemporaryDirectory(prefix="sanad-models-check-") as scratch:
        for path, sha in pairs:
            install_models([path], models_dir=Path(scratch), sha256=sha)
    installed: list[ModelInfo] = []
    for path, sha in pairs:
        installed.extend(install_models([path], models_dir=settings.models_dir, sha256=sha))
    return {
        "installed": [_model_row(info) for info in installed],
        "models_dir": str(settings.models_dir),
    }


def cmd_models(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Lists the installed translation packages (empty when argostranslate is missing)."""
    return {
        "models": [_model_row(info) for info in installed_models(settings.models_dir)],
        "models_dir": str(settings.models_dir),
        "argostranslate": argos_available(),
    }


def cmd_add_routing_rule(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Sends a district's requests (optionally one category's) to a provider's queue."""
    district = registry.find_district(session, args.district)
    provider = registry.find_provider(session, args.provider)
    category = categories.by_code(session, args.category) if args.category else None
    rule = routing.add_routing_rule(
        session,
        district_id=district.id or 0,
        provider_id=provider.id or 0,
        category_id=category.id if category else None,
    )
    audit.record(session, actor="admin", action="routing.rule.add", subject=f"rule:{rule.id}")
    return {"rule_id": rule.id, "district": district.name, "provider": provider.name,
            "category": category.code if category else None}  # fmt: skip


def cmd_routing_rules(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Lists how each district is routed: its Lot's provider and any rules."""
    return {"routing": routing_table(session)}


def cmd_remove_routing_rule(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Switches a routing rule off (kept for the record of past decisions)."""
    rule = session.get(RoutingRule, args.rule_id)
    if rule is None or not rule.active:
        raise Abort(f"no active routing rule {args.rule_id}")
    rule.active = False
    session.add(rule)
    audit.record(session, actor="admin", action="routing.rule.remove", subject=f"rule:{rule.id}")
    return {"rule_id": rule.id, "active": False}


def routing_table(session: Session) -> list[dict[str, Any]]:
    """Every district with its Lot's provider and its active rules."""
    providers = {p.id: p.name for p in session.exec(select(Provider))}
    lots = {lot.id: lot for lot in session.exec(select(Lot))}
    names = {c.id: c.code for c in session.exec(select(Category))}
    rules = session.exec(select(RoutingRule).where(col(RoutingRule.active).is_(True))).all()
    table = []
    for district in session.exec(select(District).order_by(District.name)):
        lot = lots.get(district.lot_id)
        table.append(
            {
                "district": district.name,
                "self_coordinated": district.self_coordinated,
                "lot_provider": providers.get(lot.provider_id) if lot else None,
                "rules": [
                    {"rule_id": r.id, "provider": providers.get(r.provider_id),
                     "category": names.get(r.category_id) if r.category_id else None}
                    for r in rules if r.district_id == district.id
                ],
            }
        )  # fmt: skip
    return table


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every admin command."""
    parser = argparse.ArgumentParser(prog="python -m bot admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, func: Command | NoDbCommand, help_text: str, *, needs_db: bool = True
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--json", action="store_true", help="print one JSON object")
        sub.set_defaults(func=func, needs_db=needs_db)
        return sub

    add("seed", cmd_seed, "insert districts, schemes and categories")
    sub = add("add-provider", cmd_add_provider, "register a provider and its Lot")
    sub.add_argument("name")
    sub.add_argument("--districts", required=True, help='comma-separated, e.g. "Dover,Thanet"')
    sub = add("add-staff", cmd_add_staff, "register a caseworker, lead or coordinator")
    sub.add_argument("--role", required=True, choices=["caseworker", "lead", "coordinator"])
    sub.add_argument("--name", required=True)
    sub.add_argument("--provider")
    sub.add_argument("--language", choices=["ar", "en"])
    sub = add("add-family", cmd_add_family, "register a household")
    sub.add_argument("--ref", required=True)
    sub.add_argument("--district", required=True)
    sub.add_argument("--scheme", required=True)
    sub.add_argument("--arrived", required=True, help="YYYY-MM-DD")
    sub.add_argument("--caseworker", type=int, help="staff id of the assigned caseworker")
    sub.add_argument("--language", choices=["ar", "en"])
    sub = add("add-member", cmd_add_member, "add a member to a household")
    sub.add_argument("--family", required=True)
    sub.add_argument("--name", required=True)
    sub = add("invite", cmd_invite, "create a one-time invite link")
    who = sub.add_mutually_exclusive_group(required=True)
    who.add_argument("--family")
    who.add_argument("--staff", type=int)
    sub.add_argument("--member", help="member name (when the household has several)")
    sub.add_argument("--days", type=int, help="days until the invite expires")
    sub = add("import-families", cmd_import_families, "import households from CSV")
    sub.add_argument("file")
    sub = add(
        "install-models",
        cmd_install_models,
        "install .argosmodel files (checksum-verified) into the models folder",
        needs_db=False,
    )
    sub.add_argument("paths", nargs="+", metavar="PATH", help=".argosmodel file")
    sub.add_argument(
        "--sha256",
        action="append",
        metavar="HEX",
        help="expected checksum; repeat once per PATH, in order (needed unless a known package)",
    )
    add("models", cmd_models, "list installed translation models", needs_db=False)
    sub = add(
        "add-routing-rule", cmd_add_routing_rule, "route a district (and category) to a provider"
    )
    sub.add_argument("--district", required=True)
    sub.add_argument("--provider", required=True)
    sub.add_argument("--category", help="a category code, e.g. health; default: every category")
    add("routing-rules", cmd_routing_rules, "show how every district is routed")
    sub = add("remove-routing-rule", cmd_remove_routing_rule, "switch a routing rule off")
    sub.add_argument("rule_id", type=int)
    return parser


def run(argv: Sequence[str], *, settings: Settings | None = None) -> int:
    """Runs one admin command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    settings = settings or Settings.from_env()
    if not args.needs_db:
        return _run_without_db(args, settings)
    db = Database(settings.database_url)
    try:
        db.upgrade()
        with db.session() as session:
            try:
                result = args.func(args, session, settings)
            except (DomainError, Abort) as exc:
                session.rollback()
                details = getattr(exc, "details", {}) or {}
                _print(args.json, {"ok": False, "error": str(exc), **details}, error=True)
                return 1
        _print(args.json, {"ok": True, **result})
        return 0
    finally:
        db.dispose()


def _run_without_db(args: argparse.Namespace, settings: Settings) -> int:
    """Runs a command that needs no database (the model commands)."""
    try:
        result = args.func(args, settings)
    except (Abort, ModelError, OSError) as exc:
        details = getattr(exc, "details", {}) or {}
        _print(args.json, {"ok": False, "error": str(exc), **details}, error=True)
        return 1
    _print(args.json, {"ok": True, **result})
    return 0


def _print(as_json: bool, payload: dict[str, Any], *, error: bool = False) -> None:
    """One JSON object, or readable lines."""
    stream = sys.stderr if error and not as_json else sys.stdout
    if as_json:
        print(json.dumps(payload, ensure_ascii=False, default=str), file=stream)
        return
    for key, value in payload.items():
        if key == "ok":
            continue
        if key == "errors":
            for item in value:
                print(f"  line {item['line']}: {item['error']}", file=stream)
            continue
        if key in ("installed", "models"):
            print(f"{key}: {len(value)}", file=stream)
            for row in value:
                sha = row["sha256"] or "unverified"
                print(f"  {row['direction']} {row['version']} {row['name']} {sha}", file=stream)
            continue
        print(f"{key}: {value}", file=stream)
