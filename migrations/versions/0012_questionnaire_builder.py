"""questionnaire builder: draft versions and practice-shared questionnaires

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 08:50:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("questionnaire", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shared", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("questionnaire_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    # every version stored before the builder was assignable: published when it was made
    op.execute("UPDATE questionnaire_version SET published_at = created_at")


def downgrade():
    with op.batch_alter_table("questionnaire_version", schema=None) as batch_op:
        batch_op.drop_column("published_at")
    with op.batch_alter_table("questionnaire", schema=None) as batch_op:
        batch_op.drop_column("shared")
