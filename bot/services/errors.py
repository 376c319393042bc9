"""Domain errors: each names what went wrong so a handler can explain it in any language."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a service raises on purpose; ``code`` is stable for handlers."""

    code = "domain_error"

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.code)
        self.details = details


class NotFound(DomainError):
    """A referenced record does not exist (or is not visible to the caller)."""

    code = "not_found"


class InvalidInput(DomainError):
    """Input that fails validation; nothing was changed."""

    code = "invalid_input"


class Conflict(DomainError):
    """The record already exists or is in a state that forbids the change."""

    code = "conflict"


class InviteInvalid(DomainError):
    """An invite code that is unknown, used or expired (deliberately indistinguishable)."""

    code = "invite_invalid"


class TooManyAttempts(DomainError):
    """Too many failed invite attempts in the window; try again later."""

    code = "too_many_attempts"


class AlreadyLinked(DomainError):
    """This Telegram account already belongs to someone registered."""

    code = "already_linked"


class Forbidden(DomainError):
    """The caller's role may not do this."""

    code = "forbidden"


class EmptyMessage(InvalidInput):
    """A message, reply, note or notice with no text (and no attachment); nothing was kept."""

    code = "empty_message"


# --- Tickets -------------------------------------------------------------------------------


class TicketResolved(Conflict):
    """The ticket is resolved, so it takes no reply or change (the family can reopen it)."""

    code = "ticket_resolved"


class TicketClaimed(Conflict):
    """Someone else claimed the ticket first; ``details["holder"]``: their name."""

    code = "ticket_claimed"


class ReopenTooLate(Conflict):
    """The ticket was resolved longer ago than a family may reopen it."""

    code = "reopen_too_late"


# --- Appointments (issue 9) ----------------------------------------------------------------


class BadAppointmentInput(InvalidInput):
    """An ``/appointments add`` line refused; ``details["reason"]`` (appointments.InputReason)."""

    code = "bad_appointment_input"


class OutcomeRecorded(Conflict):
    """The appointment's outcome (kept or missed) is already recorded (``details["status"]``)."""

    code = "outcome_recorded"


class AppointmentCancelled(Conflict):
    """The appointment was cancelled, so it has no outcome to record."""

    code = "appointment_cancelled"


class AppointmentInFuture(Conflict):
    """An outcome can be recorded only from the day of the appointment."""

    code = "appointment_in_future"


# --- Slots and booking (issue 9) ----------------------------------------------------------


class BadSlotInput(InvalidInput):
    """``/slots add`` (or its buttons) with a bad time; ``details["reason"]`` says which."""

    code = "bad_slot_input"


class SlotClash(Conflict):
    """New availability overlaps time already published (``details``: starts_at, ends_at)."""

    code = "slot_clash"


class SlotUnavailable(Conflict):
    """A slot that cannot be booked now; ``details["reason"]`` says why."""

    code = "slot_unavailable"


class SlotTaken(Conflict):
    """Another family holds the slot (a lost race); ``details["alternatives"]``: free slots."""

    code = "slot_taken"


class NoBookableStaff(NotFound):
    """Nobody the household may book with; ``details["provider"]``: whom to contact, if any."""

    code = "no_bookable_staff"


# --- Reminders (issue 9) ------------------------------------------------------------------


class ReminderGone(NotFound):
    """A reminder button that is not this member's (forged, or another member's reminder)."""

    code = "reminder_gone"


class ReminderClosed(Conflict):
    """The reminded event was cancelled or is over; ``details["reason"]``: cancelled or past."""

    code = "reminder_closed"


# --- Reference data and invites from Telegram (issue 10) --------------------------------


class LotTaken(Conflict):
    """The district is in another provider's Lot: moving it needs an explicit confirm
    (``details``: district, from_provider)."""

    code = "lot_taken"


class RuleExists(Conflict):
    """A routing rule for that district and category exists (``details["rule_id"]``)."""

    code = "rule_exists"


class StillInUse(Conflict):
    """A provider still holds districts or routing rules; ``details``: districts, rules."""

    code = "still_in_use"


class MemberExists(Conflict):
    """The household already has a member of that name (``details``: family, member)."""

    code = "member_exists"


class ProviderExists(Conflict):
    """Another provider already has that name (``details["name"]``: its name)."""

    code = "provider_exists"


class DistrictExists(Conflict):
    """A district with that name is already registered (``details["name"]``: its name)."""

    code = "district_exists"


class ProviderInactive(Conflict):
    """The provider is switched off, so it takes no district, rule or staff (``provider``)."""

    code = "provider_inactive"


class AlreadyInLot(Conflict):
    """The district is already in that provider's Lot (``details``: district, provider)."""

    code = "already_in_lot"


class StaffInactive(Conflict):
    """The member of staff is switched off, so gets no invite until switched on again."""

    code = "staff_inactive"


class Unchanged(Conflict):
    """The staff member already has that role, provider or on/off state; nothing to do."""

    code = "unchanged"


# --- Broadcasts (issue 10) ----------------------------------------------------------------


class NotCoordinator(Forbidden):
    """Only council coordinators may write, send or cancel broadcasts."""

    code = "not_coordinator"


class EmptyAudience(InvalidInput):
    """The chosen audience reaches nobody; nothing is sent."""

    code = "empty_audience"


class BroadcastTooLong(InvalidInput):
    """A notice (``details``: count, limit) or a caption (``details["caption"]``) too long."""

    code = "broadcast_too_long"


class BroadcastFileTooLarge(InvalidInput):
    """The photo or document is larger than a broadcast may carry (``details``: size, limit)."""

    code = "broadcast_file_too_large"


class ScheduledInPast(InvalidInput):
    """A scheduled time that has already passed (or could not be read: ``details["unread"]``)."""

    code = "scheduled_in_past"


class BroadcastClosed(Conflict):
    """The broadcast was already confirmed, finished or cancelled (``details["state"]``)."""

    code = "broadcast_closed"


# --- Statistics and the support window (issue 10) -----------------------------------------


class BadPeriod(InvalidInput):
    """A period (of figures, or of arrival dates for an audience) that cannot be used;
    ``details["reason"]``: bad_date, end_before_start or too_long."""

    code = "bad_period"


class StatsNotAllowed(Forbidden):
    """Only coordinators and provider leads may see the figures."""

    code = "stats_not_allowed"


class StatsNoProvider(Forbidden):
    """A provider lead whose account is linked to no provider has no figures to see."""

    code = "stats_no_provider"


class StatsOtherProvider(Forbidden):
    """A provider lead asked for another provider's figures (``details["provider"]``)."""

    code = "stats_other_provider"


class SupportWindowStaffOnly(Forbidden):
    """Only staff may see whose support ends soon."""

    code = "support_window_staff_only"


# --- Privacy rights (issue 11) -------------------------------------------------------------


class ErasureGone(Conflict):
    """An erasure request already decided (``details["state"]``: erased or declined)."""

    code = "erasure_gone"
