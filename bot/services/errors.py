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
