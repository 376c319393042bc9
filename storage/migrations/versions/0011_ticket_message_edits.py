"""a family's edited message: its words as first sent and when it was edited

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Applies this revision."""
    with op.batch_alter_table("ticketmessage", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("original_text", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("edited_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Reverts this revision."""
    with op.batch_alter_table("ticketmessage", schema=None) as batch_op:
        batch_op.drop_column("edited_at")
        batch_op.drop_column("original_text")
