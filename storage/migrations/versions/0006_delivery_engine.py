"""delivery engine: the outbox gets kinds, lanes, states, parts sent, retry times and expiry

Existing rows are carried over: a sent row stays sent, a failed one failed, and a pending one
is queued again (due now, expiring 7 days after it was queued).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 19:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Applies this revision."""
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("lane", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("state", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("parts_sent", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("expires_at", UTC, nullable=True))
        batch_op.add_column(
            sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(sa.Column("closed_at", UTC, nullable=True))
        batch_op.add_column(
            sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    _carry_rows_over()
    with op.batch_alter_table("notification", schema=None) as batch_op:
        for name in ("kind", "lane", "payload", "state", "parts_sent"):
            batch_op.alter_column(name, nullable=False)
        batch_op.alter_column("next_attempt_at", nullable=False)
        batch_op.alter_column("expires_at", nullable=False)
        batch_op.drop_index("ix_notification_chat_id")
        batch_op.drop_index("ix_notification_sent_at")
        batch_op.drop_column("template")
        batch_op.drop_column("data")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("error")
        batch_op.create_index("ix_notification_closed_at", ["closed_at"], unique=False)
        batch_op.create_index("ix_notification_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(
            "ix_notification_chat_order", ["chat_id", "state", "id"], unique=False
        )


def _carry_rows_over() -> None:
    """Fills the new columns from the old ones, row by row (outboxes are small)."""
    from datetime import timedelta

    from storage.types import utcnow

    table = sa.table(
        "notification",
        sa.column("id", sa.Integer()),
        sa.column("key", sa.String()),
        sa.column("template", sa.String()),
        sa.column("data", sa.JSON()),
        sa.column("created_at", UTC),
        sa.column("claimed_at", UTC),
        sa.column("sent_at", UTC),
        sa.column("failed_at", UTC),
        sa.column("error", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("lane", sa.String()),
        sa.column("payload", sa.JSON()),
        sa.column("state", sa.String()),
        sa.column("parts_sent", sa.Integer()),
        sa.column("next_attempt_at", UTC),
        sa.column("expires_at", UTC),
        sa.column("closed_at", UTC),
        sa.column("last_error", sa.String()),
    )
    bind = op.get_bind()
    now = utcnow()
    for row in bind.execute(sa.select(table)).mappings().all():
        kind = row["template"]
        if kind == "staff.new_ticket" and str(row["key"]).startswith("reassign:"):
            kind = "staff.reassigned"
        if row["sent_at"] is not None:
            state, closed = "sent", row["sent_at"]
        elif row["failed_at"] is not None:
            state, closed = "failed", row["failed_at"]
        else:
            state, closed = "queued", None
        created = row["created_at"] or now
        bind.execute(
            table.update()
            .where(table.c.id == row["id"])
            .values(
                kind=kind,
                lane="interactive",
                payload=row["data"] or {},
                state=state,
                parts_sent=0,
                next_attempt_at=now,
                expires_at=max(created + timedelta(days=7), now + timedelta(days=1)),
                closed_at=closed,
                last_error=row["error"],
            )
        )


def downgrade() -> None:
    """Reverts this revision (pending rows stay pending; retry times and parts are lost)."""
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("data", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("failed_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("error", sa.String(), nullable=True))
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE notification SET template = CASE WHEN kind = 'staff.reassigned' "
            "THEN 'staff.new_ticket' ELSE kind END, data = payload, error = last_error, "
            "failed_at = CASE WHEN state IN ('failed', 'cancelled') THEN closed_at END"
        )
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.alter_column("template", nullable=False)
        batch_op.alter_column("data", nullable=False)
        batch_op.drop_index("ix_notification_chat_order")
        batch_op.drop_index("ix_notification_due")
        batch_op.drop_index("ix_notification_closed_at")
        for name in (
            "kind", "lane", "payload", "state", "parts_sent", "next_attempt_at", "expires_at",
            "claimed_by", "closed_at", "last_error",
        ):  # fmt: skip
            batch_op.drop_column(name)
        batch_op.create_index("ix_notification_chat_id", ["chat_id"], unique=False)
        batch_op.create_index("ix_notification_sent_at", ["sent_at"], unique=False)
