"""mail_drain: the flag that a drain of the outbox is on its way to a worker

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 07:00:00.000000

A request that commits mail hands the worker one "drain the outbox" task only when no drain
is pending (counselor.mail.drain); with the embedded broker the flag is this table's one row.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_drain",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_drain")),
    )


def downgrade():
    op.drop_table("mail_drain")
