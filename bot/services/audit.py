"""The audit trail: every staff and admin action, without message text or names."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from storage.models import AuditEvent


def record(session: Session, *, actor: str, action: str, subject: str, **detail: Any) -> None:
    """Adds one audit event in the caller's transaction."""
    session.add(AuditEvent(actor=actor, action=action, subject=subject, detail=detail))
