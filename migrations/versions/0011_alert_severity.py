"""alert severity stored on the row (urgent first everywhere)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 06:10:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    # Alerts raised before this revision get the default ("review"), not their rule's severity
    # (that would mean parsing every definition here); open ones are few and get closed by hand.
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("severity", sa.String(length=8), server_default="review", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_alert_severity"), "severity IN ('urgent', 'review', 'info')"
        )


def downgrade():
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_severity"), type_="check")
        batch_op.drop_column("severity")
