"""What /mydata and the erasure requests say, in the reader's language.

Used by handlers/mydata.py, handlers/privacy_admin.py and the STAFF_ERASURE_REQUEST renderer
(handlers/notices.py); it imports no dispatcher, so renderers may use it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup

from bot.i18n import Texts
from handlers.callbacks import Prefix, PrivacyAction, build
from handlers.common import keyboard
from storage.models import Direction, TicketStatus

# Telegram takes 4,096 characters a message; trails are split below that.
PIECE = 3800


def _when(t: Texts, value: Any) -> str:
    """An exported ISO timestamp as a local date and time, or a dash."""
    if not value:
        return "-"
    return t.datetime(datetime.fromisoformat(str(value)))


def mydata_text(t: Texts) -> str:
    """What /mydata offers."""
    return t._(
        "🔒 Your data\n\n"
        "Sanad keeps what you and your caseworker write, your requests, appointments and "
        "classes, so that your caseworker can help you.\n\n"
        "📄 Get a copy: Sanad sends you a file you can read and a file for computers (JSON).\n"
        "🗑 Delete my data: your request goes to the council's resettlement team, who confirm "
        "it. After that, Sanad will no longer know you or your family's messages."
    )


def mydata_buttons(t: Texts) -> InlineKeyboardMarkup:
    """Copy, delete."""
    return keyboard(
        [
            [(t._("📄 Get a copy"), build(Prefix.PRIVACY, PrivacyAction.COPY))],
            [(t._("🗑 Delete my data"), build(Prefix.PRIVACY, PrivacyAction.DELETE))],
        ]
    )


def copy_sent_text(t: Texts, withheld: int) -> str:
    """Said with the two files."""
    text = t._(
        "Here is everything Sanad holds about your household: a file you can read, and the "
        "same data for computers (JSON)."
    )
    if withheld:
        text += "\n\n" + t.n_(
            "{n} item written only for staff (such as a safety assessment) is not in this "
            "copy. You can ask the council's resettlement team for a full copy.",
            "{n} items written only for staff (such as safety assessments) are not in this "
            "copy. You can ask the council's resettlement team for a full copy.",
            withheld,
        )
    return text


def delete_question(t: Texts) -> str:
    """Asked before an erasure request is sent."""
    return t._(
        "Do you want to delete your household's data from Sanad?\n\n"
        "The council's resettlement team will confirm it. Then your names, your messages and "
        "your Telegram accounts are deleted for the whole household, and you can no longer "
        "use Sanad unless you are invited again. Your open requests will be closed."
    )


def delete_buttons(t: Texts) -> InlineKeyboardMarkup:
    """Yes, ask to delete / no, keep it."""
    return keyboard(
        [
            [(t._("🗑 Yes, delete our data"), build(Prefix.PRIVACY, PrivacyAction.DELETE_OK))],
            [(t._("↩️ No, keep it"), build(Prefix.PRIVACY, PrivacyAction.KEEP))],
        ]
    )


def requested_text(t: Texts, new: bool) -> str:
    """The request reached the coordinators (or was already with them)."""
    if not new:
        return t._(
            "Your household already asked for its data to be deleted. The council's "
            "resettlement team will confirm it soon."
        )
    return t._(
        "Your request has been sent to the council's resettlement team. When they confirm "
        "it, your household's data will be deleted. Until then you can use Sanad as usual."
    )


def kept_text(t: Texts) -> str:
    """Nothing was asked."""
    return t._("Nothing was deleted. Your data stays with Sanad.")


def status_label(t: Texts, status: str) -> str:
    """A request's status as the family reads it."""
    labels = {
        TicketStatus.RECEIVED: t._("received"),
        TicketStatus.WITH_CASEWORKER: t._("with your caseworker"),
        TicketStatus.WAITING_FAMILY: t._("waiting for your answer"),
        TicketStatus.RESOLVED: t._("resolved"),
    }
    return labels.get(TicketStatus(status), status) if status in set(TicketStatus) else status


def _author(t: Texts, direction: str) -> str:
    """Who wrote a message, as the family reads it."""
    if direction == Direction.IN:
        return t._("Your family wrote")
    if direction == Direction.OUT:
        return t._("Your caseworker wrote")
    return t._("Note by staff")


def document(t: Texts, data: dict[str, Any]) -> str:
    """The readable copy of a household's export, in the reader's language."""
    household = data["household"]
    lines = [
        t._("Your data held by Sanad"),
        t._("Made on {when}", when=_when(t, data["generated_at"])),
        "",
        t._("Household {reference}", reference=household["reference"]),
        t._("Arrived: {day}", day=household["arrived_on"]),
        t._("Support until: {day}", day=household["support_ends_on"]),
        "",
        t._("People"),
    ]
    for member in data["members"]:
        lines.append(
            t._(
                "- {name}: joined Sanad {linked}; privacy notice accepted {consent}",
                name=member["name"],
                linked=_when(t, member["linked_at"]),
                consent=_when(t, member["consent_at"]),
            )
        )
    messages: dict[int, list[dict[str, Any]]] = {}
    for message in data["messages"]:
        messages.setdefault(message["ticket_id"], []).append(message)
    lines += ["", t._("Requests")]
    if not data["tickets"]:
        lines.append(t._("No requests."))
    for ticket in data["tickets"]:
        lines += [
            "",
            t._(
                "Request {reference}, opened {when}: {status}",
                reference=f"K-{ticket['id']:04d}",
                when=_when(t, ticket["created_at"]),
                status=status_label(t, ticket["status"]),
            ),
        ]
        for message in messages.get(ticket["id"], []):
            lines.append(
                f"  {_when(t, message['created_at'])} · {_author(t, message['direction'])}:"
            )
            if message.get("withheld"):
                lines.append("    " + t._("(written for staff only; not in this copy)"))
            elif message["purged_at"]:
                lines.append("    " + t._("(deleted after the request was closed)"))
            else:
                if message["text"]:
                    lines.append(f"    {message['text']}")
                if message["file_id"]:
                    lines.append("    " + t._("(a {kind} was attached)", kind=message["kind"]))
                if message["translation"]:
                    lines.append("    " + t._("Translation: {text}", text=message["translation"]))
    lines += ["", t._("Appointments")]
    if not data["appointments"]:
        lines.append(t._("No appointments."))
    for appointment in data["appointments"]:
        what = appointment["what"] or t._("meeting with your caseworker")
        lines.append(
            t._(
                "- {when}: {what} ({status})",
                when=_when(t, appointment["starts_at"]),
                what=what,
                status=appointment["status"],
            )
        )
    lines += [
        "",
        t._("Other records"),
        t.n_(
            "{n} English class enrolment",
            "{n} English class enrolments",
            len(data["enrolments"]),
        ),
        t.n_(
            "{n} attendance record",
            "{n} attendance records",
            len(data["attendance"]),
        ),
        t.n_("{n} reminder", "{n} reminders", len(data["reminders"])),
        t.n_(
            "{n} message from Sanad waiting or kept",
            "{n} messages from Sanad waiting or kept",
            len(data["notices"]),
        ),
        t.n_(
            "{n} entry in the record of who did what",
            "{n} entries in the record of who did what",
            len(data["audit_events"]),
        ),
        "",
        t._("Every detail is in the JSON file sent with this one."),
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- coordinators


def staff_request_text(t: Texts, reference: str, members: int, requested_at: datetime) -> str:
    """A coordinator is asked to decide on an erasure request."""
    return t.n_(
        "🗑 Household {reference} ({n} person) asked on {when} for its data to be deleted "
        "from Sanad. Erasing removes names, Telegram accounts and messages for good; anonymous "
        "counts stay for the figures.",
        "🗑 Household {reference} ({n} people) asked on {when} for its data to be deleted "
        "from Sanad. Erasing removes names, Telegram accounts and messages for good; anonymous "
        "counts stay for the figures.",
        members,
        reference=reference,
        when=t.datetime(requested_at),
    )


def staff_request_buttons(t: Texts, request_id: int, household_id: int) -> InlineKeyboardMarkup:
    """Erase, decline, see the trail."""
    return keyboard(
        [
            [
                (t._("🗑 Erase"), build(Prefix.PRIVACY, PrivacyAction.ERASE, request_id)),
                (t._("✖️ Decline"), build(Prefix.PRIVACY, PrivacyAction.DECLINE, request_id)),
            ],
            [(t._("🧾 Audit trail"), build(Prefix.PRIVACY, PrivacyAction.TRAIL, household_id))],
        ]
    )


def erase_question(t: Texts, reference: str) -> str:
    """Asked before erasing."""
    return t._("Erase household {reference} now? This cannot be undone.", reference=reference)


def erase_buttons(t: Texts, request_id: int) -> InlineKeyboardMarkup:
    """Confirm the erasure, or decline the request."""
    return keyboard(
        [
            [(t._("🗑 Yes, erase"), build(Prefix.PRIVACY, PrivacyAction.ERASE_OK, request_id))],
            [(t._("✖️ Decline"), build(Prefix.PRIVACY, PrivacyAction.DECLINE, request_id))],
        ]
    )


def erased_text(t: Texts, household_id: int) -> str:
    """The household was erased."""
    return t._(
        "✅ Household #{id} has been erased. Only anonymous counts remain.", id=household_id
    )


def declined_text(t: Texts, reference: str) -> str:
    """The request was declined."""
    return t._(
        "The request of household {reference} was declined; nothing was deleted. Please "
        "tell the family why.",
        reference=reference,
    )


def decided_text(t: Texts) -> str:
    """The request was already decided (a second tap, or another coordinator)."""
    return t._("This request has already been decided.")


def trail_pieces(t: Texts, reference: str, rows: list[dict[str, Any]]) -> list[str]:
    """A household's audit trail, as messages under Telegram's length limit."""
    head = t.n_(
        "🧾 Audit trail of household {reference}: {n} entry (newest last).",
        "🧾 Audit trail of household {reference}: {n} entries (newest last).",
        len(rows),
        reference=reference,
    )
    pieces, current = [], head
    for row in rows:
        line = f"{_when(t, row['at'])} · {row['actor']} · {row['action']} · {row['subject']}"
        if len(current) + len(line) + 1 > PIECE:
            pieces.append(current)
            current = line
        else:
            current += "\n" + line
    pieces.append(current)
    return pieces
