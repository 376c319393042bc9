"""What broadcasts say: the coordinator's screens, the progress and report, the family's copy
and the caseworker's notice. Text only (no dispatcher import: notices.py renders from here)."""

from __future__ import annotations

from datetime import date, datetime

from bot.i18n import Texts, isolate
from bot.services import broadcasts
from bot.services.audiences import Dimension
from bot.services.broadcasts import Copy, Progress, Source, Summary
from bot.services.errors import (
    BadPeriod,
    BroadcastClosed,
    BroadcastFileTooLarge,
    BroadcastTooLong,
    DomainError,
    EmptyAudience,
    EmptyMessage,
    Forbidden,
    ScheduledInPast,
)
from handlers.render import split_text
from storage.models import BroadcastState

CAPTION_LIMIT = broadcasts.MAX_CAPTION


def language_name(t: Texts, code: str) -> str:
    """A language's name in the reader's language."""
    names = {
        # TRANSLATORS: a language name, in a list of the languages an audience reads.
        "ar": t._("Arabic"),
        # TRANSLATORS: a language name, in a list of the languages an audience reads.
        "en": t._("English"),
    }
    return names.get(code, code)


def dimension_name(t: Texts, dimension: Dimension) -> str:
    """A dimension's button label."""
    return {
        Dimension.DISTRICT: t._("District"),
        # TRANSLATORS: a Lot is a group of districts a provider is contracted for.
        Dimension.LOT: t._("Lot"),
        Dimension.PROVIDER: t._("Provider"),
        Dimension.SCHEME: t._("Scheme"),
        Dimension.LANGUAGE: t._("Language"),
        Dimension.ARRIVED: t._("Arrival dates"),
    }[dimension]


def write_prompt(t: Texts) -> str:
    """The first step of /broadcast."""
    return t._(
        "📣 New notice to families. Send the text of the notice now, in Arabic or English. "
        "You may instead send one photo or document with a caption of up to 1,024 characters. "
        "Send /cancel to stop."
    )


def audience_text(t: Texts, seen: Summary) -> str:
    """The audience chosen so far and how many people it reaches."""
    if seen.labels:
        lines = []
        for dimension, values in seen.labels.items():
            if dimension == Dimension.LANGUAGE:
                values = [language_name(t, v) for v in values]
            if dimension == Dimension.ARRIVED:
                shown = t._(
                    "arrived between {start} and {end}",
                    start=t.date(_day(values[0])), end=t.date(_day(values[1])),
                )  # fmt: skip
            else:
                shown = ", ".join(isolate(v) for v in values)
            lines.append(f"• {dimension_name(t, dimension)}: {shown}")
        chosen = t._("Audience:") + "\n" + "\n".join(lines)
    else:
        chosen = t._("Audience: all families.")
    reach = t.n_(
        "It reaches {count} person (linked to Sanad and consented).",
        "It reaches {count} people (linked to Sanad and consented).",
        seen.reach,
        count=seen.reach,
    )
    hint = t._(
        "Choose with the buttons: within one kind any value matches; different kinds must all "
        "match. Then tap Preview."
    )
    return f"{chosen}\n{reach}\n\n{hint}"


def _day(value: str) -> date:
    """An ISO date from the audience data."""
    return date.fromisoformat(value)


def options_text(t: Texts, dimension: Dimension) -> str:
    """Above the toggle buttons of one dimension."""
    return t._(
        "{kind}: tap to include or leave out (✅ = included). Tap Back when done.",
        kind=dimension_name(t, dimension),
    )


def arrival_prompt(t: Texts) -> str:
    """Asked for the arrival cohort."""
    return t._(
        "Type two dates: families who arrived between them (both included), like this:\n"
        "2024-01-01 2024-06-30"
    )


def preview_header(t: Texts, language: str, entry: dict[str, object] | None) -> str:
    """The line above one language's preview."""
    name = language_name(t, language)
    source = (entry or {}).get("source")
    if source == Source.MACHINE:
        return t._("Preview in {language} (machine translation):", language=name)
    if source == Source.STAFF:
        return t._("Preview in {language} (reviewed by staff):", language=name)
    return t._(
        "No translation into {language} is available: families who read {language} will "
        "get the original.",
        language=name,
    )


def original_header(t: Texts, language: str, count: int) -> str:
    """The line above the original's preview."""
    return t.n_(
        "The original ({language}), for {count} person:",
        "The original ({language}), for {count} people:",
        count,
        language=language_name(t, language),
        count=count,
    )


def edit_prompt(t: Texts, language: str) -> str:
    """Asked when the coordinator chose to rewrite a translation."""
    return t._(
        "Type the {language} text to send instead. It will be labelled as reviewed by staff.",
        language=language_name(t, language),
    )


def confirm_text(t: Texts, seen: Summary) -> str:
    """Last step before sending."""
    return t.n_(
        "Ready to send to {count} person. Send now, or schedule it for later?",
        "Ready to send to {count} people. Send now, or schedule it for later?",
        seen.reach,
        count=seen.reach,
    )


def schedule_prompt(t: Texts) -> str:
    """Asked for the time of a scheduled broadcast."""
    return t._("Type the date and time to send it, UK time, like this:\n2027-01-12 09:30")


def scheduled_text(t: Texts, when: datetime, count: int) -> str:
    """A broadcast was scheduled."""
    return t.n_(
        "Scheduled: it will be sent on {when} to {count} person. You can cancel it until then.",
        "Scheduled: it will be sent on {when} to {count} people. You can cancel it until then.",
        count,
        when=t.datetime(when),
        count=count,
    )


def already_text(t: Texts) -> str:
    """A second tap on Send."""
    return t._("This notice was already confirmed; it is sent only once.")


def cancelled_text(t: Texts, was: BroadcastState) -> str:
    """The coordinator cancelled."""
    if was == BroadcastState.DRAFT:
        return t._("Cancelled. Nothing was sent.")
    if was == BroadcastState.SCHEDULED:
        return t._("Cancelled. The scheduled notice will not be sent.")
    return t._("Stopped. Copies not yet sent will not be sent; the report follows.")


def progress_text(t: Texts, seen: Progress) -> str:
    """The one progress message, edited as the broadcast goes."""
    done = seen.delivered + seen.failed + seen.blocked + seen.cancelled
    if seen.state == BroadcastState.SCHEDULED and seen.scheduled_for is not None:
        return scheduled_text(t, seen.scheduled_for, seen.recipients)
    return t._(
        "📣 Sending the notice: {done} of {total} handled so far ({delivered} delivered).",
        done=done,
        total=max(seen.recipients, seen.queued),
        delivered=seen.delivered,
    )


def report_text(t: Texts, seen: Progress) -> str:
    """The final report, in the progress message."""
    head = (
        t._("📣 The notice was stopped.")
        if seen.state == BroadcastState.CANCELLED
        else t._("📣 The notice has been sent.")
    )
    lines = [
        head,
        t.n_("Delivered: {count} person.", "Delivered: {count} people.", seen.delivered,
             count=seen.delivered),
        t.n_("Failed: {count} person.", "Failed: {count} people.", seen.failed,
             count=seen.failed),
        t.n_(
            "Blocked the bot: {count} person (marked unreachable; their caseworkers were told).",
            "Blocked the bot: {count} people (marked unreachable; their caseworkers were told).",
            seen.blocked,
            count=seen.blocked,
        ),
    ]  # fmt: skip
    if seen.cancelled:
        lines.append(
            t.n_("Not sent: {count} person.", "Not sent: {count} people.", seen.cancelled,
                 count=seen.cancelled)
        )  # fmt: skip
    return "\n".join(lines)


def error_text(t: Texts, exc: DomainError) -> str:
    """Why nothing changed."""
    details = exc.details
    if isinstance(exc, Forbidden):
        return t._("Only council coordinators can send notices to families.")
    if isinstance(exc, EmptyAudience):
        return t._(
            "Nobody is in this audience (no linked, consented family member matches), so "
            "nothing was sent. Choose a wider audience."
        )
    if isinstance(exc, BroadcastTooLong) and details.get("caption"):
        return t._(
            "The caption has {count} characters; Telegram allows at most {limit} with a photo "
            "or document. Nothing was saved: send it shorter.",
            count=details.get("count"), limit=details.get("limit"),
        )  # fmt: skip
    if isinstance(exc, BroadcastTooLong):
        return t._(
            "The notice has {count} characters; at most {limit} can be sent. Nothing was "
            "saved: send it shorter.",
            count=details.get("count"), limit=details.get("limit"),
        )  # fmt: skip
    if isinstance(exc, BroadcastFileTooLarge):
        return t._(
            "That file is {size} MB; at most {limit} MB can be sent. Nothing was saved.",
            size=round(int(str(details.get("size") or 0)) / 1_048_576, 1),
            limit=int(str(details.get("limit") or 0)) // 1_048_576,
        )
    if isinstance(exc, ScheduledInPast) and details.get("unread"):
        return (
            t._("I could not read that time. Nothing was scheduled.") + "\n" + (schedule_prompt(t))
        )
    if isinstance(exc, ScheduledInPast):
        return t._("That time has already passed. Nothing was scheduled.")
    if isinstance(exc, BroadcastClosed):
        return t._("This notice was already sent, scheduled or cancelled; nothing was changed.")
    if isinstance(exc, BadPeriod) and details.get("reason") == "end_before_start":
        return t._("The end date is before the start date. Nothing was changed.")
    if isinstance(exc, BadPeriod):
        return (
            t._("I could not read those dates. Nothing was changed.") + "\n" + (arrival_prompt(t))
        )
    if isinstance(exc, EmptyMessage):
        return t._("The notice is empty. Send its text, or a photo or document with a caption.")
    return t._("That did not work. Nothing was changed.")


# ---------------------------------------------------------------- notices (handlers/notices.py)


def family_text(t: Texts, copy: Copy) -> str:
    """A family member's copy: in their language, labelled, with the original beneath."""
    head = t._("📣 A notice from the council's resettlement team:")
    if copy.original is None:
        return f"{head}\n\n{copy.text}"
    label = (
        t._("(Translated by machine. The original is below.)")
        if copy.source == Source.MACHINE
        else t._("(Translation reviewed by staff. The original is below.)")
    )
    original = t._("Original:")
    return f"{head}\n\n{copy.text}\n\n{label}\n\n{original}\n{copy.original}"


def family_parts(t: Texts, copy: Copy) -> tuple[list[str], str | None]:
    """(text pieces, caption of the attachment): a short notice travels as the caption."""
    text = family_text(t, copy)
    if copy.file_id is None:
        return split_text(text), None
    if len(text) <= CAPTION_LIMIT:
        return [], text
    return split_text(text), ""


def unreachable_text(t: Texts, refs: list[str]) -> str:
    """Told to a caseworker: families of theirs who blocked the bot during a broadcast."""
    return t.n_(
        "⚠️ A notice to families could not reach {count} of your families: they have blocked "
        "Sanad. Please contact them another way: {refs}",
        "⚠️ A notice to families could not reach {count} of your families: they have blocked "
        "Sanad. Please contact them another way: {refs}",
        len(refs),
        count=len(refs),
        refs=", ".join(isolate(ref) for ref in refs),
    )
