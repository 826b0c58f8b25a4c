"""partner safety: practice settings (safety text, quick exit), portal PIN, idle portal sessions

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 06:15:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "practice_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("safety_text", sa.Text(), nullable=True),
        sa.Column("quick_exit_url", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_settings")),
    )
    with op.batch_alter_table("link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pin_hash", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("pin_failures", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("pin_blocked_until", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pin_ok", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("pin_ok")
    with op.batch_alter_table("link", schema=None) as batch_op:
        batch_op.drop_column("pin_blocked_until")
        batch_op.drop_column("pin_failures")
        batch_op.drop_column("pin_hash")
    op.drop_table("practice_settings")
