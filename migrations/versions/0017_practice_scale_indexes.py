"""practice scale: the library's read of shared questionnaires is an index scan

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 12:00:00.000000

The library page reads built-ins (owner IS NULL), the counselor's own (owner = me) and those
shared with the practice (shared IS TRUE). The first two had the owner index; without an index
for the third, PostgreSQL read every questionnaire of every counselor (6.3 ms at 20,000 private
questionnaires of other counselors, 0.06 ms with this partial index: see README, Practice
scale). A partial index holds only the few shared rows.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("questionnaire", schema=None) as batch_op:
        batch_op.create_index(
            "ix_questionnaire_shared",
            ["shared"],
            unique=False,
            postgresql_where=sa.text("shared IS TRUE"),
            sqlite_where=sa.text("shared IS 1"),
        )


def downgrade():
    with op.batch_alter_table("questionnaire", schema=None) as batch_op:
        batch_op.drop_index("ix_questionnaire_shared")
