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
    # Plain ADD COLUMN on every database: on SQLite a batch rebuild of `questionnaire` would
    # drop the table its versions point at, which fails (or, with foreign keys off, loses rows)
    # as soon as a practice has questionnaires.
    op.add_column(
        "questionnaire",
        sa.Column("shared", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "questionnaire_version", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True)
    )
    # every version stored before the builder was assignable: published when it was made
    op.execute("UPDATE questionnaire_version SET published_at = created_at")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's own DROP COLUMN (3.35+), for the same reason as above
        op.execute("ALTER TABLE questionnaire_version DROP COLUMN published_at")
        op.execute("ALTER TABLE questionnaire DROP COLUMN shared")
    else:
        op.drop_column("questionnaire_version", "published_at")
        op.drop_column("questionnaire", "shared")
