"""Words of /stats and /support in both languages: periods, captions, refusals, the support
window list (also rendered by the monthly notice, so no dispatcher import here)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.i18n import Texts
from bot.services import support_window
from bot.services.errors import (
    BadPeriod,
    DomainError,
    Forbidden,
    NotFound,
    StatsNoProvider,
    StatsOtherProvider,
    SupportWindowStaffOnly,
)
from bot.services.people import Person
from bot.services.stats import Figures, Period, PeriodChoice, Row, local_today
from bot.services.support_window import LIST_LIMIT, Ending
from handlers.render import split_text


def choice_label(t: Texts, choice: PeriodChoice) -> str:
    """A period button."""
    labels = {
        PeriodChoice.THIS_MONTH: t._("This month"),
        PeriodChoice.LAST_MONTH: t._("Last month"),
        PeriodChoice.LAST_QUARTER: t._("Last quarter"),
        PeriodChoice.THIS_YEAR: t._("This year"),
    }
    return labels[choice]


def period_text(t: Texts, period: Period) -> str:
    """``1 January 2026 to 31 March 2026``."""
    # TRANSLATORS: the period the figures cover; both ends included.
    return t._("{start} to {end}", start=t.date(period.start), end=t.date(period.end))


def data_date(t: Texts, at: datetime) -> str:
    """When the figures were read from the database."""
    return t._("Data as of {day}, {time}", day=t.date(local_today(at)), time=t.time(at))


def provider_name(t: Texts, row: Row) -> str:
    """A provider's name, or what a row without one stands for."""
    if row.provider:
        return row.provider
    if row.provider_id is None:
        # TRANSLATORS: tickets routed to no provider (the council's coordinators took them).
        return t._("No provider (council)")
    return t._("Provider {id}", id=row.provider_id)


def choose_text(t: Texts) -> str:
    """Above the period buttons."""
    return t._(
        "📊 Contract figures. Choose a period, or type dates: /stats 2026-01-01 2026-03-31. "
        "Coordinators can add a provider number: /stats 2026-01-01 2026-03-31 3."
    )


def caption(t: Texts, figures: Figures) -> str:
    """The photo's caption: the period, the data date and the headline numbers."""
    total = figures.total
    lines = [t._("📊 Figures for {period}", period=period_text(t, figures.period))]
    if figures.provider_id is not None:
        lines.append(provider_name(t, total))
    lines.append(data_date(t, figures.generated_at))
    if figures.empty:
        lines.append(t._("Nothing was recorded in this period."))
    else:
        lines.append(
            t.n_(
                "{n} ticket opened, {urgent} urgent; {overdue} overdue now.",
                "{n} tickets opened, {urgent} urgent; {overdue} overdue now.",
                total.opened,
                urgent=total.urgent,
                overdue=total.overdue_now,
            )
        )
    lines.append(t._("Times are in working hours: weekdays 9:00–17:00, bank holidays excluded."))
    return "\n".join(lines)


def csv_caption(t: Texts) -> str:
    """Under the CSV document."""
    return t._("The same figures as a CSV file, one row per provider and per Lot.")


def error_text(t: Texts, exc: DomainError) -> str:
    """Why no figures (or list) were given."""
    reason = str(exc.details.get("reason", ""))
    if isinstance(exc, BadPeriod) and reason == "end_before_start":
        return t._("The end of the period is before its start. Nothing was worked out.")
    if isinstance(exc, BadPeriod) and reason == "too_long":
        return t._("That period is too long: choose at most three years.")
    if isinstance(exc, BadPeriod):
        return t._("Please type dates as YYYY-MM-DD, for example /stats 2026-01-01 2026-03-31.")
    if isinstance(exc, StatsOtherProvider):
        return t._("You can see only your own provider's figures.")
    if isinstance(exc, StatsNoProvider):
        return t._("Your account is not linked to a provider, so there are no figures to show.")
    if isinstance(exc, NotFound):
        return t._("There is no provider with that number.")
    if isinstance(exc, SupportWindowStaffOnly):
        return t._("Only staff can see when support ends.")
    if isinstance(exc, Forbidden):
        return t._("Only coordinators and provider leads can see the figures.")
    return t._("Those figures could not be worked out. Please check what you typed.")


# ---------------------------------------------------------------- support window


def support_button(t: Texts) -> str:
    """The button that lists households whose support ends soon."""
    return t._("📅 Support ending in 6 months")


def support_text(t: Texts, endings: list[Ending], *, months: int, coordinator: bool) -> str:
    """The support window list: each household, its date and its caseworker."""
    if not endings:
        return t.n_(
            "No household you support reaches the end of its support in the next {n} month.",
            "No household you support reaches the end of its support in the next {n} months.",
            months,
        )
    if coordinator:
        head = t.n_(
            "📅 {n} household's support ends in the next {months} months:",
            "📅 {n} households' support ends in the next {months} months:",
            len(endings),
            months=months,
        )
    else:
        head = t.n_(
            "📅 {n} of your households reaches the end of support in the next {months} months:",
            "📅 {n} of your households reach the end of support in the next {months} months:",
            len(endings),
            months=months,
        )
    lines = [head, ""]
    for ending in endings:
        who = ending.caseworker or t._("no caseworker assigned")
        lines.append(
            t._(
                "{ref} ({district}): support ends {day}; caseworker: {caseworker}",
                ref=ending.reference,
                district=ending.district,
                day=t.date(ending.support_ends_on),
                caseworker=who,
            )
        )
    if len(endings) >= LIST_LIMIT:
        lines.append(
            t._("The list is cut at {n}; the admin command line lists all.", n=LIST_LIMIT)
        )
    lines.append("")
    lines.append(
        t._("Sanad does not tell families this date; plan with them how their support ends.")
    )
    return "\n".join(lines)


def monthly_intro(t: Texts) -> str:
    """The first line of the monthly notice."""
    return t._("Your monthly reminder of the households whose resettlement support ends soon.")


def support_notice(
    session: Session, months: int, person: Person, t: Texts, now: datetime
) -> list[str] | None:
    """The monthly notice's pieces, read when it is sent (None: nothing ends any more, or the
    recipient no longer sees any household here)."""
    try:
        endings = support_window.ending_soon(
            session, person=person, today=local_today(now), months=months
        )
    except DomainError:
        return None
    if not endings:
        return None
    body = support_text(t, endings, months=months, coordinator=person.is_coordinator)
    return split_text(monthly_intro(t) + "\n\n" + body)
