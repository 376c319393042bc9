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

from bot.services import audit, classes, directory, invites, reference_data, registry
from bot.services.argos_models import (
    ModelError,
    ModelInfo,
    argos_available,
    install_models,
    installed_models,
)
from bot.services.errors import (
    AlreadyInLot,
    Conflict,
    DistrictExists,
    DomainError,
    InvalidInput,
    LotTaken,
    ProviderExists,
    ProviderInactive,
    RuleExists,
    StillInUse,
    Unchanged,
)
from bot.services.triage_report import format_table, json_rows, read_lines, triage_rows
from bot.settings import Settings
from storage.db import Database, DatabaseConfigError, describe_error
from storage.models import ErasureState, Provider
from storage.types import utcnow

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
    try:
        rule = reference_data.add_rule(
            session,
            person=None,
            district_id=district.id or 0,
            provider_id=provider.id or 0,
            category_id=category.id if category else None,
        )
    except RuleExists as exc:
        # Two rules for the same district and category: only the newest would ever apply.
        what = f"{category.code} requests" if category else "every request"
        existing = exc.details["rule_id"]
        raise Abort(
            f"rule {existing} already routes {what} from {district.name}; remove it first "
            f"(remove-routing-rule {existing}) to route them elsewhere",
            rule_id=existing,
        ) from None
    except Conflict as exc:
        raise _refused(exc) from None
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
    try:
        rule = reference_data.remove_rule(session, person=None, rule_id=args.rule_id)
    except DomainError:
        raise Abort(f"no active routing rule {args.rule_id}") from None
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


def cmd_inbox(args: argparse.Namespace, session: Session, settings: Settings) -> dict[str, Any]:
    """Incoming updates by state; with --failed, those whose handlers failed every attempt
    (ids, attempts and the error's class, never their content)."""
    from bot.services import inbox

    result: dict[str, Any] = {"states": inbox.counts(session)}
    if args.failed:
        result["failed"] = [
            {"update_id": row.update_id, "chat": row.chat_id, "attempts": row.attempts,
             "error": row.last_error, "received": row.received_at, "at": row.handled_at}
            for row in inbox.failed(session, limit=args.limit)
        ]  # fmt: skip
    return result


class BadValue(Abort):
    """A value the command cannot use (a date, a weekday, an unknown class): status 2."""

    status = 2


# --- Privacy rights and the audit chain (issue 11) -------------------------------------------


def cmd_export(args: argparse.Namespace, session: Session, settings: Settings) -> dict[str, Any]:
    """Everything held about a household: with --out to a file (600), else printed."""
    from bot.services import privacy

    household = privacy.household_by_ref(session, args.family)
    data = privacy.export_for_staff(
        session, household_id=household.id or 0, actor="admin", now=utcnow()
    )
    counts = {k: len(v) for k, v in data.items() if isinstance(v, list)}
    if args.out:
        path = Path(args.out)
        path.touch(mode=0o600)
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        return {"family": args.family, "out": str(path), "rows": counts}
    if args.json:
        return {"family": args.family, "export": data}
    return {"family": args.family, "rows": counts, "hint": "add --out FILE or --json for the data"}


def cmd_erase(args: argparse.Namespace, session: Session, settings: Settings) -> dict[str, Any]:
    """Erases a household's names, Telegram ids and words; anonymous counts stay."""
    from bot.services import privacy

    household = privacy.household_by_ref(session, args.family)
    if not args.yes:
        raise Abort("erasure cannot be undone: run again with --yes; nothing was changed")
    now = utcnow()
    requests = privacy.open_requests(session)
    counts = privacy.erase(session, household_id=household.id or 0, actor="admin", now=now)
    for request in requests:
        if request.household_id == household.id:
            request.state, request.decided_at = ErasureState.ERASED, now
            session.add(request)
    return {"family": args.family, "household_id": household.id, "erased": counts}


def cmd_audit(args: argparse.Namespace, session: Session, settings: Settings) -> dict[str, Any]:
    """``verify``: checks the hash chain; ``show --family REF``: the household's trail."""
    from bot.services import privacy

    if args.what == "verify":
        verdict = audit.verify(session)
        if not verdict.ok:
            raise Abort(
                f"audit chain broken at event {verdict.broken_id}: {verdict.reason}",
                checked=verdict.checked, broken_id=verdict.broken_id,
            )  # fmt: skip
        return {"checked": verdict.checked, "chain": "intact"}
    if not args.family:
        raise BadValue("audit show needs --family REF")
    household = privacy.household_by_ref(session, args.family)
    events = privacy.trail(session, household_id=household.id or 0, actor="admin")
    return {"family": args.family, "events": events}


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


# --- Contract figures and the support window (issue 10) -------------------------------------

STATS_SUMMARY = ("level", "provider", "lot", "tickets_opened", "urgent",
                 "first_response_median_wh", "first_response_p90_wh", "resolution_median_wh",
                 "resolution_p90_wh", "overdue_now", "breached", "appointments_kept",
                 "appointments_missed", "esol_attendance_rate", "families_unreachable")  # fmt: skip


def cmd_stats(args: argparse.Namespace, session: Session, settings: Settings) -> dict[str, Any]:
    """Contract figures for a period (default: this month so far), the same as /stats."""
    from bot.services import stats
    from storage.types import utcnow as clock

    now = clock()
    try:
        end = stats.parse_date(args.end) if args.end else stats.local_today(now)
        start = stats.parse_date(args.start) if args.start else end.replace(day=1)
        period = stats.make_period(start, end)
    except DomainError as exc:
        raise BadValue(f"bad period: {exc}", **exc.details) from None
    figures = stats.compute(session, period=period, now=now, provider_id=args.provider)
    if args.provider is not None and not figures.rows[0].provider:
        raise BadValue(f"no provider with id {args.provider}")
    result = stats.to_json(figures)
    if args.csv:
        path = Path(args.csv)
        if not path.parent.is_dir():
            raise Abort(f"the folder of {args.csv} does not exist")
        path.write_bytes(stats.to_csv(figures))
        result["csv"] = str(path)
    if not args.json:
        result["rows"] = [{k: row[k] for k in STATS_SUMMARY} for row in result["rows"]]
    return result


def cmd_support_window(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Households whose support ends within --months (default 6), with their caseworker."""
    from bot.services import stats, support_window
    from storage.types import utcnow as clock

    today = stats.local_today(clock())
    try:
        endings = support_window.ending_all(session, today=today, months=args.months)
    except DomainError:
        raise BadValue(f"--months must be 1 to {support_window.MAX_MONTHS}") from None
    rows = [
        {"ref": e.reference, "district": e.district,
         "support_ends_on": e.support_ends_on.isoformat(), "caseworker_id": e.caseworker_id,
         "caseworker": e.caseworker or None}
        for e in endings
    ]  # fmt: skip
    return {"from": today.isoformat(), "months": args.months, "households": rows,
            "count": len(rows)}  # fmt: skip


# --- Reference data: providers, Lots, districts, staff (issue 10) --------------------------
# Thin wrappers over bot.services.reference_data: the same rules and audit rows as the
# coordinators' Telegram buttons (actor "admin"); its terse refusals are reworded here.

NAME_RULES = {
    "name": f"a name is one line of 1 to {reference_data.MAX_NAME} characters",
    "provider": "a caseworker or lead belongs to a provider: add --provider NAME",
    "coordinator_provider": "a coordinator belongs to no provider: leave out --provider",
}


def _refused(exc: DomainError, *, provider: str = "the provider") -> Abort:
    """An operator's one-line reason for a refused change (status 2 for a bad value)."""
    details, message = exc.details, str(exc)
    if isinstance(exc, LotTaken):
        return Abort(
            f"{details['district']} is in the Lot of {details['from_provider']!r}. Add --move "
            "to give it to the new provider (the current one loses it); nothing was changed",
            district=details["district"], from_provider=details["from_provider"],
        )  # fmt: skip
    if isinstance(exc, StillInUse):
        held = [str(d) for d in details.get("districts") or []]  # type: ignore[attr-defined]
        rules = [int(r) for r in details.get("rules") or []]  # type: ignore[attr-defined]
        return Abort(
            f"{provider} still holds districts ({', '.join(held) or 'none'}) and routing rules "
            f"({', '.join(f'#{r}' for r in rules) or 'none'}): give its districts to another "
            "provider (move-district DISTRICT --to PROVIDER --move) and remove its rules "
            "(remove-routing-rule ID) first; nothing was changed",
            districts=held, rules=rules,
        )  # fmt: skip
    if isinstance(exc, InvalidInput):
        reason = str(details.get("reason", ""))
        return BadValue(f"{NAME_RULES.get(reason, message)}; nothing was changed")
    if isinstance(exc, ProviderExists):
        line = f"provider already exists: {details.get('name')!r}"
    elif isinstance(exc, DistrictExists):
        line = f"district already exists: {details.get('name')!r}"
    elif isinstance(exc, ProviderInactive):
        line = f"provider {details.get('provider')!r} is switched off: run activate-provider first"
    elif isinstance(exc, AlreadyInLot):
        line = f"{details.get('district')} is already in the Lot of {details.get('provider')!r}"
    else:
        line = message
    return Abort(f"{line}; nothing was changed")


def cmd_rename_provider(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Renames a provider (and its Lot's name)."""
    provider = registry.find_provider(session, args.old)
    old = provider.name
    try:
        if reference_data.clean_name(args.new) == old:
            raise Abort(f"the provider is already called {old!r}; nothing was changed")
        reference_data.rename_provider(
            session, person=None, provider_id=provider.id or 0, name=args.new
        )
    except DomainError as exc:
        raise _refused(exc) from None
    return {"provider_id": provider.id, "old_name": old, "name": provider.name}


def cmd_provider_active(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Switches a provider on, or off once it holds no district and no routing rule."""
    provider = registry.find_provider(session, args.name)
    on = args.command == "activate-provider"
    if provider.active == on:
        state = "on" if on else "off"
        raise Abort(f"{provider.name!r} is already switched {state}; nothing was changed")
    try:
        change = reference_data.set_provider_active(
            session, person=None, provider_id=provider.id or 0, active=on
        )
    except DomainError as exc:
        raise _refused(exc, provider=repr(provider.name)) from None
    # Its staff stay as they are: the operator decides about each (deactivate-staff).
    return {"provider_id": provider.id, "name": provider.name, "active": on,
            "active_staff": change.staff}  # fmt: skip


def cmd_move_district(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Gives a district to a provider's Lot; taking it from another provider needs --move."""
    district = registry.find_district(session, args.district)
    provider = registry.find_provider(session, args.to)
    try:
        moved = reference_data.move_district(
            session,
            person=None,
            district_id=district.id or 0,
            provider_id=provider.id or 0,
            move=args.move,
        )
    except DomainError as exc:
        raise _refused(exc) from None
    return {"district": moved.district, "to_provider": moved.to_provider,
            "from_provider": moved.from_provider, "lot_id": district.lot_id}  # fmt: skip


def cmd_add_district(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Registers a district, in no Lot until move-district gives it to a provider."""
    try:
        district = reference_data.add_district(
            session, person=None, name=args.name, self_coordinated=args.self_coordinated
        )
    except DomainError as exc:
        raise _refused(exc) from None
    return {"district_id": district.id, "name": district.name,
            "self_coordinated": district.self_coordinated, "lot_id": None}  # fmt: skip


def _staff_change(session: Session, change: reference_data.StaffChange) -> dict[str, Any]:
    """What a role or activation change did, as plain JSON values (never a name)."""
    staff = change.staff
    provider = session.get(Provider, staff.provider_id) if staff.provider_id else None
    return {
        "staff_id": staff.id, "role": staff.role.value,
        "provider": provider.name if provider else None, "active": staff.active,
        # Their families keep them as caseworker; their open requests went back to the
        # provider's queue, whose staff are told; appointments to come are not moved.
        "households": change.households, "requests_returned": change.returned,
        "appointments_to_come": change.appointments,
        "invites_withdrawn": change.invites_withdrawn,
    }  # fmt: skip


def cmd_set_role(args: argparse.Namespace, session: Session, settings: Settings) -> dict[str, Any]:
    """Changes a member of staff's role (and provider); a caseworker hands back open requests."""
    staff = registry.get_staff(session, args.staff)
    provider = registry.find_provider(session, args.provider) if args.provider else None
    try:
        change = reference_data.change_role(
            session,
            person=None,
            staff_id=staff.id or 0,
            role=args.role,
            provider_id=provider.id if provider else None,
        )
    except Unchanged:
        holder = session.get(Provider, staff.provider_id) if staff.provider_id else None
        where = f" of {holder.name!r}" if holder else ""
        raise Abort(
            f"staff {args.staff} is already a {staff.role.value}{where}; nothing was changed"
        ) from None
    except DomainError as exc:
        raise _refused(exc) from None
    return _staff_change(session, change)


def cmd_staff_active(
    args: argparse.Namespace, session: Session, settings: Settings
) -> dict[str, Any]:
    """Switches a member of staff on or off; off ends their invites and hands back requests."""
    staff = registry.get_staff(session, args.staff)
    on = args.command == "activate-staff"
    if staff.active == on:
        state = "on" if on else "off"
        raise Abort(f"staff {args.staff} is already switched {state}; nothing was changed")
    try:
        change = reference_data.set_staff_active(
            session, person=None, staff_id=staff.id or 0, active=on, now=utcnow()
        )
    except DomainError as exc:
        raise _refused(exc) from None
    return _staff_change(session, change)


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
    sub = add("rename-provider", cmd_rename_provider, "rename a provider (and its Lot)")
    sub.add_argument("old", metavar="NAME")
    sub.add_argument("new", metavar="NEW_NAME")
    sub = add("activate-provider", cmd_provider_active, "switch a provider back on")
    sub.add_argument("name", metavar="NAME")
    sub = add(
        "deactivate-provider",
        cmd_provider_active,
        "switch a provider off (once it holds no district and no routing rule)",
    )
    sub.add_argument("name", metavar="NAME")
    sub = add("move-district", cmd_move_district, "give a district to a provider's Lot")
    sub.add_argument("district", metavar="DISTRICT")
    sub.add_argument("--to", required=True, metavar="PROVIDER", help="the provider receiving it")
    sub.add_argument(
        "--move", action="store_true", help="take it from the provider whose Lot holds it now"
    )
    sub = add("add-district", cmd_add_district, "register a district (in no Lot yet)")
    sub.add_argument("name", metavar="NAME")
    sub.add_argument(
        "--self-coordinated", action="store_true", help="the district coordinates its own support"
    )
    sub = add("set-role", cmd_set_role, "change a member of staff's role (and provider)")
    sub.add_argument("--staff", type=int, required=True, help="staff id")
    sub.add_argument("--role", required=True, choices=["caseworker", "lead", "coordinator"])
    sub.add_argument("--provider", help="caseworkers and leads: default, the one they have")
    for name, what in (
        ("activate", "switch a member of staff back on"),
        ("deactivate", "switch a member of staff off (requests go back)"),
    ):
        sub = add(f"{name}-staff", cmd_staff_active, what)
        sub.add_argument("--staff", type=int, required=True, help="staff id")
    sub = add("outbox", cmd_outbox, "count notices by state; --failed lists undelivered ones")
    sub.add_argument("--failed", action="store_true", help="list notices that finally failed")
    sub.add_argument("--limit", type=int, default=100, help="at most this many (newest first)")
    sub = add("inbox", cmd_inbox, "count incoming updates by state; --failed lists failed ones")
    sub.add_argument("--failed", action="store_true", help="list updates whose handlers failed")
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
    sub = add("export", cmd_export, "everything held about a household (audited)")
    sub.add_argument("--family", required=True)
    sub.add_argument("--out", help="write the JSON export to FILE (readable by you only)")
    sub = add("erase", cmd_erase, "erase a household's names, Telegram ids and words")
    sub.add_argument("--family", required=True)
    sub.add_argument("--yes", action="store_true", help="confirm: erasure cannot be undone")
    sub = add("audit", cmd_audit, "verify the audit hash chain, or show a household's trail")
    sub.add_argument("what", choices=["verify", "show"])
    sub.add_argument("--family", help="with show: the household reference")
    sub = add("stats", cmd_stats, "contract figures for a period (as /stats)")
    sub.add_argument(
        "--from", dest="start", help="first day, YYYY-MM-DD (default: 1st of --to's month)"
    )
    sub.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (default: today)")
    sub.add_argument("--provider", type=int, help="one provider's figures (default: all)")
    sub.add_argument("--csv", metavar="FILE", help="also write the figures as CSV to FILE")
    sub = add("support-window", cmd_support_window, "households whose 5-year support ends soon")
    sub.add_argument("--months", type=int, default=6, help="how far ahead (1-24, default 6)")
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
