"""query indexes and menu fingerprints: listings that do not grow with the database

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Applies this revision."""
    for table in ("member", "staff"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("menu_fingerprint", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
            )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_assignee_queue", ["assignee_id", "status", "urgent", "due_at"]
        )
        batch_op.create_index(
            "ix_ticket_provider_queue", ["provider_id", "assignee_id", "status", "due_at"]
        )
        batch_op.create_index("ix_ticket_overdue", ["status", "first_response_at", "due_at"])
    with op.batch_alter_table("ticketmessage", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticketmessage_ticket_direction", ["ticket_id", "direction", "id"]
        )


def downgrade() -> None:
    """Reverts this revision."""
    with op.batch_alter_table("ticketmessage", schema=None) as batch_op:
        batch_op.drop_index("ix_ticketmessage_ticket_direction")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_overdue")
        batch_op.drop_index("ix_ticket_provider_queue")
        batch_op.drop_index("ix_ticket_assignee_queue")
    for table in ("staff", "member"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("menu_fingerprint")
