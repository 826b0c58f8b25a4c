"""portal sessions on the server: "Forget this device" ends them at once

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 05:20:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "portal_session",
        sa.Column("sid_hash", sa.String(length=64), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["link.id"],
            name=op.f("fk_portal_session_link_id_link"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sid_hash", name=op.f("pk_portal_session")),
    )
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_session_link_id"), ["link_id"], unique=False)


def downgrade():
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_session_link_id"))
    op.drop_table("portal_session")
