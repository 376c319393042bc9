"""The command-line admin (``python -m bot admin ...``); every command also speaks ``--json``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.services import audit, classes, directory, invites, registry, routing
from bot.services.argos_models import (
    ModelError,
    ModelInfo,
    argos_available,
    install_models,
    installed_models,
)
from bot.services.errors import DomainError
from bot.services.triage_report import format_table, json_rows, read_lines, triage_rows
from bot.settings import Settings
from storage.db import Database, DatabaseConfigError, describe_error
from storage.models import RoutingRule

logger = logging.getLogger(__name__)


class UsageError(Exception):
    """Bad arguments: reported in one line (or one JSON object), never as a usage dump."""


class Parser(argparse.ArgumentParser):
    """An argument parser that raises :class:`UsageError` instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        """Turns argparse's complaint into one line naming the command."""
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


class Abort(Exception):
    """Stops a command with a message and no changes."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


Command = Callable[[argparse.Namespace, Session, Settings], dict[str, Any]]
NoDbCommand = Callable[[argparse.Namespace, Settings], dict[str, Any]]


def cmd_seed(args: argparse.Namespace, session: Session, settings: Settings) -> dict[str, Any]:
    """Inserts the reference data; running it again adds nothing."""
    added = registry.seed(session)
    totals = {
        "districts": len(directory.districts(session)),
        "schemes": len(directory.schemes(session)),
        "categories": len(directory.categories(session)),
    }
    return {"added": added, "now_registered": totals}


def cmd_add_provider(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Registers a provider and its Lot; taking a district from another provider needs --move."""
    districts = args.districts.split(",")
    moved = registry.held_by_others(session, districts)
    provider, lot = registry.add_provider(
        session, name=args.name, districts=districts, move=args.move
    )
    return {
        "provider_id": provider.id,
        "lot_id": lot.id,
        "name": provider.name,
        "moved": [{"district": m.district, "from_provider": m.from_provider} for m in moved],
    }


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
        horizon_days=settings.arrival_horizon_days,
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
    days = settings.invite_ttl_days if args.days is None else args.days
    try:
        if args.family:
            member = registry.find_member(session, family=args.family, name=args.member)
            issued = invites.create_invite(
                session, member_id=member.id, ttl_days=days, relink=args.relink
            )
            who: dict[str, Any] = {"member_id": member.id, "family": args.family.upper()}
        else:
            staff = registry.get_staff(session, args.staff)
            issued = invites.create_invite(
                session, staff_id=staff.id, ttl_days=days, relink=args.relink
            )
            who = {"staff_id": staff.id, "role": staff.role.value}
    except invites.AccountLinked as exc:
        raise Abort(
            f"{exc.details['name']} is already connected on a Telegram account, so no invite "
            "was created; if they now use another phone or account, run the same command with "
            "--relink (their old account is disconnected and told)"
        ) from None
    return {
        **who,
        "invite_id": issued.invite_id,
        "code": issued.code,
        "link": invites.deep_link(settings.bot_username, issued.code),
        "expires_at": issued.expires_at.isoformat(),
        "relinked": issued.relinked,
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
    report = registry.import_families(session, text, horizon_days=settings.arrival_horizon_days)
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


def cmd_triage(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Safeguarding triage of each TEXT and each non-empty line of --file, in order."""
    texts = [*args.texts, *(read_lines(args.file) if args.file else [])]
    if not texts:
        raise Abort("give at least one TEXT or --file FILE")
    rows = triage_rows(texts)
    return {"results": json_rows(rows)} if args.json else {"triage": rows}


def cmd_add_routing_rule(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Sends a district's requests (optionally one category's) to a provider's queue."""
    district = registry.find_district(session, args.district)
    provider = registry.find_provider(session, args.provider)
    category = registry.find_category(session, args.category) if args.category else None
    existing = directory.same_rule(
        session, district_id=district.id or 0, category_id=category.id if category else None
    )
    if existing is not None:
        # Two rules for the same district and category: only the newest would ever apply.
        what = f"{category.code} requests" if category else "every request"
        raise Abort(
            f"rule {existing.id} already routes {what} from {district.name}; remove it first "
            f"(remove-routing-rule {existing.id}) to route them elsewhere",
            rule_id=existing.id,
        )
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
    return {"routing": directory.routing(session)}


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


def cmd_outbox(args: argparse.Namespace, session: Session, settings: Settings) -> dict[str, Any]:
    """Notices by state; with --failed, those that finally failed (never their text)."""
    from bot.services import outbox

    result: dict[str, Any] = {"states": outbox.counts(session)}
    if args.failed:
        result["failed"] = [
            {"id": n.id, "kind": n.kind, "chat": n.chat_id,
             "ticket": f"K-{n.ticket_id:04d}" if n.ticket_id else None,
             "attempts": n.attempts, "at": n.closed_at, "error": n.last_error}
            for n in outbox.failed(session, limit=args.limit)
        ]  # fmt: skip
    return result


class BadValue(Abort):
    """A value the command cannot use (a date, a weekday, an unknown class): status 2."""

    status = 2


def _class_row(row: classes.ClassRow) -> dict[str, Any]:
    """One ESOL class as plain JSON values."""
    esol, upcoming = row.esol, row.next_session
    return {
        "id": esol.id,
        "name": esol.name,
        "venue": esol.venue,
        "weekday": classes.WEEKDAYS[esol.weekday],
        "time": esol.start_time,
        "minutes": esol.minutes,
        "term": f"{esol.term_from.isoformat()} to {esol.term_to.isoformat()}",
        "breaks": [f"{a}:{b}" for a, b in esol.breaks],
        "enrolled": row.enrolled,
        "next_session": upcoming.on.isoformat() if upcoming else None,
    }


def cmd_add_class(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Registers a weekly ESOL class; a bad value stores nothing and exits with status 2."""
    try:
        esol = classes.add_class(
            session, name=args.name, venue=args.venue, weekday=args.weekday, time=args.time,
            minutes=args.minutes, term_from=args.term_from, term_to=args.term_to,
            breaks=args.breaks, provider=args.provider,
        )  # fmt: skip
    except DomainError as exc:
        raise BadValue(str(exc)) from None
    return {"class": _class_row(classes.ClassRow(esol, 0, None))}


def cmd_classes(args: argparse.Namespace, session: Session, settings: Settings) -> dict[str, Any]:
    """Lists the ESOL classes with their enrolled count and next session."""
    rows = [_class_row(row) for row in classes.list_classes(session)]
    return {"classes": rows, "count": len(rows)}


def cmd_enrol(args: argparse.Namespace, session: Session, settings: Settings) -> dict[str, Any]:
    """Enrols a family member in a class (reopening an ended enrolment); or unenrols."""
    try:
        member = registry.find_member(session, family=args.family, name=args.member)
        classes.get_class(session, args.class_id)
    except DomainError as exc:
        raise BadValue(str(exc), **exc.details) from None
    who = {"family": args.family.upper(), "member_id": member.id, "class_id": args.class_id}
    if args.command == "unenrol":
        try:
            cancelled = classes.unenrol(session, class_id=args.class_id, member_id=member.id or 0)
        except DomainError as exc:
            raise Abort(f"{member.name} is not enrolled in class {args.class_id}") from exc
        return {**who, "enrolled": False, "reminders_cancelled": cancelled}
    done = classes.enrol(
        session,
        class_id=args.class_id,
        member_id=member.id or 0,
        policy=settings.reminder_policy,
    )
    return {**who, "enrolled": True, "reopened": done.reopened, "reminders": done.reminders,
            "told": done.told}  # fmt: skip


def cmd_list(args: argparse.Namespace, session: Session, settings: Settings) -> dict[str, Any]:
    """Lists one kind of registered data (districts, schemes, categories, providers…)."""
    rows = LISTINGS[args.command](session)
    return {args.command: rows, "count": len(rows)}


LISTINGS: dict[str, Callable[[Session], list[dict[str, Any]]]] = {
    "districts": directory.districts,
    "schemes": directory.schemes,
    "categories": directory.categories,
    "providers": directory.providers,
    "staff": directory.staff,
    "families": directory.families,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every admin command."""
    parser = Parser(prog="python -m bot admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    sub.add_argument(
        "--move", action="store_true", help="take districts already in another provider's Lot"
    )
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
    sub.add_argument("--days", type=int, help="days until the invite expires (1-90)")
    sub.add_argument(
        "--relink",
        action="store_true",
        help="the person is already connected: cut the old Telegram account off and tell it",
    )
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
    sub = add("triage", cmd_triage, "check wording with the safeguarding triage", needs_db=False)
    sub.add_argument("texts", nargs="*", metavar="TEXT", help="a message to check")
    sub.add_argument("--file", help="check each non-empty line of FILE (- for stdin)")
    sub = add(
        "add-routing-rule", cmd_add_routing_rule, "route a district (and category) to a provider"
    )
    sub.add_argument("--district", required=True)
    sub.add_argument("--provider", required=True)
    sub.add_argument("--category", help="a category code, e.g. health; default: every category")
    add("routing-rules", cmd_routing_rules, "show how every district is routed")
    sub = add("remove-routing-rule", cmd_remove_routing_rule, "switch a routing rule off")
    sub.add_argument("rule_id", type=int)
    sub = add("outbox", cmd_outbox, "count notices by state; --failed lists undelivered ones")
    sub.add_argument("--failed", action="store_true", help="list notices that finally failed")
    sub.add_argument("--limit", type=int, default=100, help="at most this many (newest first)")
    sub = add("add-class", cmd_add_class, "register a weekly ESOL class")
    sub.add_argument("--name", required=True)
    sub.add_argument("--venue", required=True)
    sub.add_argument("--weekday", required=True, help="mon, tue, wed, thu, fri, sat or sun")
    sub.add_argument("--time", required=True, help="start, HH:MM (Europe/London)")
    sub.add_argument("--minutes", required=True, type=int, help="length of a session")
    sub.add_argument("--from", dest="term_from", required=True, help="first day, YYYY-MM-DD")
    sub.add_argument("--to", dest="term_to", required=True, help="last day, YYYY-MM-DD")
    sub.add_argument(
        "--break", dest="breaks", action="append", metavar="FROM:TO", help="no classes, inclusive"
    )
    sub.add_argument("--provider", help="the provider running it; default: open to all")
    add("classes", cmd_classes, "list ESOL classes, enrolled counts and next sessions")
    for name, what in (("enrol", "put a family member in"), ("unenrol", "take one out of")):
        sub = add(name, cmd_enrol, f"{what} an ESOL class")
        sub.add_argument("--family", required=True)
        sub.add_argument("--member", required=True)
        sub.add_argument("--class", dest="class_id", required=True, type=int)
    for name in LISTINGS:
        add(name, cmd_list, f"list the registered {name}")
    return parser


def run(argv: Sequence[str], *, settings: Settings | None = None) -> int:
    """Runs one admin command; returns the exit code (0 done, 1 refused or failed, 2 usage)."""
    # --json anywhere in argv, even where argparse would not accept it, makes every answer
    # (usage errors included) one JSON object.
    as_json = "--json" in argv
    try:
        args = build_parser().parse_args([a for a in argv if a != "--json"])
    except UsageError as exc:
        return _fail(as_json, str(exc), status=2)
    args.json = as_json
    if settings is None:
        try:
            settings = Settings.from_env()
        except ValueError as exc:
            return _fail(as_json, f"a setting in the environment is not a number: {exc}")
    if not args.needs_db:
        return _run_without_db(args, settings)
    return _run_with_db(args, settings)


def _run_with_db(args: argparse.Namespace, settings: Settings) -> int:
    """Runs a command in one transaction: everything it did, or nothing."""
    try:
        db = Database(settings.database_url)
    except DatabaseConfigError as exc:
        return _fail(args.json, str(exc))
    try:
        db.upgrade()
        with db.session() as session:
            result = args.func(args, session, settings)
    except (DomainError, Abort) as exc:
        status = 2 if isinstance(exc, BadValue) else 1
        return _fail(args.json, str(exc), status=status, **(getattr(exc, "details", {}) or {}))
    except SQLAlchemyError as exc:
        logger.info("admin %s: database error %s", args.command, type(exc).__name__)
        return _fail(args.json, describe_error(exc, settings.database_url))
    except Exception as exc:  # an operator gets one line, never a traceback
        logger.info("admin %s failed: %s", args.command, type(exc).__name__)
        return _fail(args.json, f"unexpected error ({type(exc).__name__}); nothing was changed")
    finally:
        db.dispose()
    _print(args.json, {"ok": True, **result})
    return 0


def _run_without_db(args: argparse.Namespace, settings: Settings) -> int:
    """Runs a command that needs no database (the model commands)."""
    try:
        result = args.func(args, settings)
    except (Abort, ModelError, OSError) as exc:
        return _fail(args.json, str(exc), **(getattr(exc, "details", {}) or {}))
    except Exception as exc:  # an operator gets one line, never a traceback
        logger.info("admin %s failed: %s", args.command, type(exc).__name__)
        return _fail(args.json, f"unexpected error ({type(exc).__name__}); nothing changed")
    _print(args.json, {"ok": True, **result})
    return 0


def _fail(as_json: bool, message: str, *, status: int = 1, **details: Any) -> int:
    """Reports a refusal or failure in one line (or one JSON object); returns the status."""
    if as_json:
        _print(True, {"ok": False, "error": message, **details})
        return status
    print(f"error: {message}", file=sys.stderr)
    for item in details.get("errors", []):
        print(f"  line {item['line']}: {item['error']}", file=sys.stderr)
    return status


def _print(as_json: bool, payload: dict[str, Any]) -> None:
    """One JSON object, or readable lines and tables."""
    if as_json:
        print(json.dumps(payload, ensure_ascii=False, default=str))
        return
    for key, value in payload.items():
        if key == "ok":
            continue
        if key in ("installed", "models"):
            print(f"{key}: {len(value)}")
            for row in value:
                sha = row["sha256"] or "unverified"
                print(f"  {row['direction']} {row['version']} {row['name']} {sha}")
        elif key == "triage":
            print(format_table(value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            print(f"{key}:")
            _table(value)
        elif isinstance(value, dict) and value:
            print(f"{key}:")
            _table([{"what": k, "count": v} for k, v in value.items()])
        else:
            print(f"{key}: {_cell(value)}")


def _cell(value: Any) -> str:
    """One value as table text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value) or "-"
    if isinstance(value, dict) and "rule_id" in value:
        return f"#{value['rule_id']} {value.get('category') or 'all'}→{value.get('provider')}"
    if isinstance(value, dict):
        return " ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return str(value)


def _table(rows: list[dict[str, Any]]) -> None:
    """Rows of dicts as aligned columns under their headers."""
    headers = list(rows[0])
    cells = [[_cell(row.get(h)) for h in headers] for row in rows]
    widths = [max(len(h), *(len(line[i]) for line in cells)) for i, h in enumerate(headers)]
    print("  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for line in cells:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
