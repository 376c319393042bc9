"""What a notice that finally failed sets in motion: a family that cannot be reached is noted
on their requests and their staff are told, so nothing is silently lost."""

from __future__ import annotations

from sqlmodel import Session

from bot.services import outbox, people, routing, tickets
from storage.models import NoticeKind, Notification, Ticket

FAMILY_KINDS = frozenset({NoticeKind.FAMILY_REPLY, NoticeKind.FAMILY_RESOLVED})


def follow_up(session: Session, notice: Notification, *, blocked: bool) -> int:
    """After a family notice about a ticket finally failed (``blocked``: Telegram refused the
    chat for good; otherwise it expired unsent): mark the family unreachable and, once per
    failure episode of the ticket (until the family is reachable again), queue a notice for
    the ticket's staff. Returns how many staff notices were queued."""
    if NoticeKind(notice.kind) not in FAMILY_KINDS or notice.ticket_id is None:
        return 0
    if blocked:
        people.mark_unreachable(session, telegram_user_id=notice.chat_id)
    ticket = session.get(Ticket, notice.ticket_id)
    assert ticket is not None
    if ticket.family_unreachable:
        return 0  # staff were told when this episode began
    tickets.mark_family_unreachable(session, ticket_id=notice.ticket_id)
    # Each episode begins with one audit event: its count names the episode in the key.
    episode = len(tickets.audit_actions(session, notice.ticket_id, "ticket.unreachable"))
    queued = 0
    for staff in routing.staff_recipients(session, ticket):
        assert staff.telegram_user_id is not None
        queued += outbox.enqueue(
            session,
            key=f"unreachable:ticket:{ticket.id}:{episode}:staff:{staff.id}",
            chat_id=staff.telegram_user_id,
            kind=NoticeKind.STAFF_UNREACHABLE,
            ticket_id=ticket.id,
            reason="blocked" if blocked else "expired",
        )
    return queued


def expire(session: Session) -> int:
    """Fails every waiting notice past its expiry, with the follow-up of each; returns how many."""
    expired = outbox.expire_overdue(session)
    for notice in expired:
        follow_up(session, notice, blocked=False)
    return len(expired)
