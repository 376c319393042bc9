"""slots, external appointments and invites keyed by the Telegram message they came from

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Applies this revision."""
    with op.batch_alter_table("slot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("source_message_id", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(
            "uq_slot_source", ["source_chat_id", "source_message_id", "starts_at"]
        )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("source_message_id", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(
            "uq_appointment_source", ["source_chat_id", "source_message_id"]
        )
    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("source_message_id", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_invite_source_chat_id"), ["source_chat_id"], unique=False
        )


def downgrade() -> None:
    """Reverts this revision."""
    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invite_source_chat_id"))
        batch_op.drop_column("source_message_id")
        batch_op.drop_column("source_chat_id")
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_constraint("uq_appointment_source", type_="unique")
        batch_op.drop_column("source_message_id")
        batch_op.drop_column("source_chat_id")
    with op.batch_alter_table("slot", schema=None) as batch_op:
        batch_op.drop_constraint("uq_slot_source", type_="unique")
        batch_op.drop_column("source_message_id")
        batch_op.drop_column("source_chat_id")
