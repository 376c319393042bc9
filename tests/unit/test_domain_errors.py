"""Handlers and the CLI tell domain errors apart by class (``isinstance``), never by comparing
an exception's message (``str(exc) == "resolved"``): a reworded message must not change what a
person is told."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.i18n import Texts, texts
from bot.services import errors
from bot.services.appointments import InputReason
from bot.services.errors import (
    AlreadyInLot,
    AppointmentCancelled,
    AppointmentInFuture,
    BadAppointmentInput,
    BadPeriod,
    DistrictExists,
    DomainError,
    EmptyMessage,
    InvalidInput,
    MemberExists,
    NotFound,
    OutcomeRecorded,
    ProviderExists,
    ProviderInactive,
    RuleExists,
    StaffInactive,
    StatsNoProvider,
    StatsNotAllowed,
    StatsOtherProvider,
    SupportWindowStaffOnly,
    TicketClaimed,
    TicketResolved,
    Unchanged,
)
from handlers import admin_texts, broadcast_text, diary, diary_add, staff_tickets, stats_text

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers")
# Names that hold an exception by convention, even when not bound by ``except … as``.
CONVENTIONAL = frozenset({"exc", "error", "err"})
ERROR_CLASSES = frozenset(
    name
    for name, value in vars(errors).items()
    if inspect.isclass(value) and issubclass(value, BaseException)
)
STRING_TESTS = frozenset({"startswith", "endswith"})
COMPARISONS = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)
# A table keyed by the message (``texts.get(str(exc), …)``) tells errors apart just the same.
LOOKUPS = frozenset({"get", "pop", "setdefault"})


@dataclass(frozen=True)
class Finding:
    """One message comparison: where, in which function, against which literal."""

    path: str
    line: int
    function: str
    literal: str


def _is_error_annotation(annotation: ast.expr | None) -> bool:
    """An annotation naming an exception (``DomainError``, ``Conflict | None``, ``ValueError``)."""
    if annotation is None:
        return False
    for node in ast.walk(annotation):
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        if isinstance(name, str) and (
            name in ERROR_CLASSES or name.endswith(("Error", "Exception"))
        ):
            return True
    return False


def _error_names(function: ast.AST) -> set[str]:
    """Names holding an exception in a function: ``except … as``, annotated parameters and
    the conventional exc/error/err."""
    names = set(CONVENTIONAL)
    for node in ast.walk(function):
        if isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        if isinstance(node, ast.arg) and _is_error_annotation(node.annotation):
            names.add(node.arg)
    return names


def _str_of(node: ast.AST, errors_: set[str]) -> bool:
    """``str(<exception>)``."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "str"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id in errors_
    )


def _literal(node: ast.AST) -> str:
    """The string a message is compared with (or ``?`` when it is not a literal)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return ",".join(_literal(e) for e in node.elts)
    return "?"


def _scan_function(path: str, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Finding]:
    """Message comparisons in one function, including through a local (``m = str(exc)``)."""
    errors_ = _error_names(function)
    aliases = {
        target.id
        for node in ast.walk(function)
        if isinstance(node, ast.Assign)
        for target, value in _pairs(node)
        if isinstance(target, ast.Name) and _str_of(value, errors_)
    }

    def message(node: ast.AST) -> bool:
        return _str_of(node, errors_) or (isinstance(node, ast.Name) and node.id in aliases)

    found: list[Finding] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for index, op in enumerate(node.ops):
                left, right = operands[index], operands[index + 1]
                if not isinstance(op, COMPARISONS):
                    continue
                if message(left) or message(right):
                    other = right if message(left) else left
                    found.append(Finding(path, node.lineno, function.name, _literal(other)))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in STRING_TESTS
            and message(node.func.value)
        ):
            literal = _literal(node.args[0]) if node.args else "?"
            found.append(Finding(path, node.lineno, function.name, literal))
        elif _looks_up(node, message):
            found.append(Finding(path, node.lineno, function.name, "?"))
    return found


def _looks_up(node: ast.AST, message: Callable[[ast.AST], bool]) -> bool:
    """A table keyed by a message (``texts[m]``, ``texts.get(m, m)``) or a ``match m:``."""
    if isinstance(node, ast.Subscript):
        return message(node.slice)
    if isinstance(node, ast.Match):
        return message(node.subject)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in LOOKUPS
        and bool(node.args)
        and message(node.args[0])
    )


def _pairs(node: ast.Assign) -> list[tuple[ast.expr, ast.expr]]:
    """Target and value pairs of an assignment, unpacking ``a, b = x, y``."""
    pairs: list[tuple[ast.expr, ast.expr]] = []
    for target in node.targets:
        if (
            isinstance(target, ast.Tuple)
            and isinstance(node.value, ast.Tuple)
            and len(target.elts) == len(node.value.elts)
        ):
            pairs.extend(zip(target.elts, node.value.elts, strict=True))
        else:
            pairs.append((target, node.value))
    return pairs


def scan(path: str, source: str) -> list[Finding]:
    """Every comparison of an exception's message in a module (each reported once)."""
    found: set[Finding] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.update(_scan_function(path, node))
    return sorted(found, key=lambda f: (f.path, f.line, f.literal))


def _findings() -> list[Finding]:
    """Findings over every module of bot/ and handlers/."""
    found: list[Finding] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found.extend(scan(path.relative_to(ROOT).as_posix(), path.read_text()))
    return found


def test_no_handler_tells_errors_apart_by_their_message() -> None:
    offending = _findings()
    assert offending == [], (
        "compare domain errors with isinstance (a class in bot/services/errors.py), not by "
        f"message: {offending}"
    )


@pytest.mark.parametrize(
    ("source", "literal"),
    [
        ('def f(t, exc):\n    return str(exc) == "resolved"\n', "resolved"),
        ('def f(t, err):\n    return "claimed" != str(err)\n', "claimed"),
        ('def f(t, error):\n    return str(error).startswith("support")\n', "support"),
        ('def f(t, error):\n    return str(error).endswith("x")\n', "x"),
        ('def f(t):\n    try:\n        g()\n    except KeyError as oops:\n'
         '        return str(oops) in ("a", "b")\n', "a,b"),
        ('def f(t, problem: DomainError):\n    return str(problem) == "late"\n', "late"),
        ('def f(t, why: Conflict | None):\n    return str(why) == "late"\n', "late"),
        ('def f(t, exc):\n    message = str(exc)\n    return message == "past"\n', "past"),
        ('def f(t, exc):\n    d, m = exc.details, str(exc)\n    return m != "past"\n', "past"),
        ('async def f(t, exc):\n    return "sup" in str(exc)\n', "sup"),
        ('def f(t, exc):\n    return TEXTS.get(str(exc), "x")\n', "?"),
        ('def f(t, exc):\n    m = str(exc)\n    return TEXTS[m]\n', "?"),
        ('def f(t, exc):\n    match str(exc):\n        case "late":\n            return 1\n', "?"),
    ],
)  # fmt: skip
def test_the_guard_finds_a_message_comparison(source: str, literal: str) -> None:
    assert [f.literal for f in scan("x.py", source)] == [literal]


@pytest.mark.parametrize(
    "source",
    [
        'def f(exc):\n    return isinstance(exc, Conflict) and exc.details.get("reason") == "x"\n',
        'def f(exc):\n    logger.warning("failed: %s", str(exc))\n',
        'def f(exc):\n    return {"error": str(exc)}\n',
        'def f(text):\n    return str(text).startswith("/")\n',
        'def f(exc, name):\n    return str(name) == "x"\n',
        'def f(exc):\n    m = str(exc)\n    return RULES.get(exc.details["reason"], m)\n',
    ],
)
def test_the_guard_lets_other_uses_of_str_pass(source: str) -> None:
    assert scan("x.py", source) == []


# Each handler's answer, picked by class: every error carries the same unrelated message, so
# the answer cannot come from the message.
REWORDED = "reworded"
ANSWERS: list[tuple[Callable[[Texts, DomainError], str], DomainError, str]] = [
    (
        lambda t, e: staff_tickets.error_text(t, e, "K-0001"),
        TicketResolved(REWORDED),
        "Ticket K-0001 is resolved, so nothing was sent.",
    ),
    (
        lambda t, e: staff_tickets.error_text(t, e, "K-0001"),
        TicketClaimed(REWORDED, holder="Sam"),
        "Ticket K-0001 was already claimed by Sam.",
    ),
    (
        lambda t, e: staff_tickets.error_text(t, e, "K-0001"),
        EmptyMessage(REWORDED),
        "Please write some text.",
    ),
    (diary.outcome_error, OutcomeRecorded(REWORDED), "is already recorded"),
    (diary.outcome_error, AppointmentCancelled(REWORDED), "This appointment was cancelled."),
    (diary.outcome_error, AppointmentInFuture(REWORDED), "only on the day of the appointment"),
    (diary.outcome_error, NotFound(REWORDED), "There is no such appointment"),
    (
        lambda t, e: diary_add.error_text(t, e, "KH-1"),
        BadAppointmentInput(REWORDED, reason=InputReason.PAST),
        "That time has already passed. Nothing was saved.",
    ),
    (
        lambda t, e: diary_add.error_text(t, e, "KH-1"),
        BadAppointmentInput(REWORDED, reason=InputReason.TOO_LONG),
        "That is too long",
    ),
    (
        lambda t, e: diary_add.error_text(t, e, "KH-1"),
        BadAppointmentInput(REWORDED, reason=InputReason.DATE),
        "That date or time does not exist.",
    ),
    (
        lambda t, e: diary_add.error_text(t, e, "KH-1"),
        BadAppointmentInput(REWORDED, reason=InputReason.FORMAT),
        "I could not read that. Nothing was saved.",
    ),
    (
        broadcast_text.error_text,
        BadPeriod(REWORDED, reason="end_before_start"),
        "The end date is before the start date.",
    ),
    (
        broadcast_text.error_text,
        BadPeriod(REWORDED, reason="bad_date"),
        "I could not read those dates.",
    ),
    (broadcast_text.error_text, EmptyMessage(REWORDED), "The notice is empty."),
    (broadcast_text.error_text, InvalidInput(REWORDED), "That did not work."),
    (stats_text.error_text, StatsOtherProvider(REWORDED), "only your own provider's figures"),
    (stats_text.error_text, StatsNoProvider(REWORDED), "not linked to a provider"),
    (stats_text.error_text, SupportWindowStaffOnly(REWORDED), "Only staff can see"),
    (stats_text.error_text, StatsNotAllowed(REWORDED), "Only coordinators and provider leads"),
    (
        admin_texts.refusal_text,
        RuleExists(REWORDED, rule_id=3),
        "Rule #3 already routes these requests.",
    ),
    (
        admin_texts.refusal_text,
        MemberExists(REWORDED, family="KH-0001", member="Amina"),
        "This family already has a member called Amina.",
    ),
    (
        admin_texts.refusal_text,
        ProviderExists(REWORDED, name="KRA"),
        "There is already a provider called KRA.",
    ),
    (
        admin_texts.refusal_text,
        DistrictExists(REWORDED, name="Dover"),
        "There is already a district called Dover.",
    ),
    (
        admin_texts.refusal_text,
        ProviderInactive(REWORDED, provider="KRA"),
        "KRA is switched off. Switch it on first.",
    ),
    (
        admin_texts.refusal_text,
        AlreadyInLot(REWORDED, district="Dover", provider="KRA"),
        "Dover is already in the Lot of KRA.",
    ),
    (
        admin_texts.refusal_text,
        StaffInactive(REWORDED, reason="inactive"),
        "This person is switched off: switch them on first.",
    ),
    (admin_texts.refusal_text, Unchanged(REWORDED), "Nothing needed changing."),
]


@pytest.mark.parametrize(("render", "error", "expected"), ANSWERS)
def test_each_error_class_gets_its_own_answer(
    render: Callable[[Texts, DomainError], str], error: DomainError, expected: str
) -> None:
    assert expected in render(texts("en"), error)


def test_the_answers_differ_in_arabic_too() -> None:
    arabic = [render(texts("ar"), error) for render, error, _ in ANSWERS]
    assert len(set(arabic)) == len(ANSWERS)
    assert all(any("\u0600" <= c <= "\u06ff" for c in text) for text in arabic)


def test_every_error_class_has_its_own_code_and_a_docstring() -> None:
    classes = [
        c for c in vars(errors).values() if inspect.isclass(c) and issubclass(c, DomainError)
    ]
    assert len({c.code for c in classes}) == len(classes)
    assert all(c.__doc__ and c.__doc__.strip() for c in classes)
