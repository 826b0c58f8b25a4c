"""case: ix_case_maybe_flagged keyed on the mark too, so that SQLite always takes it

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 16:45:00.000000

SQLite without statistics takes, of two indexes that serve the same equality on their first
column, the one made first: on a database whose ix_case_counselor_status came after the
partial index, the caseload's flags walked every case of the counselor instead of the few
marked ones. With the mark as the index's second column the partial index serves two of the
query's equalities (counselor_id = ? AND maybe_flagged = 1), and SQLite's planner prefers it
whatever the order. PostgreSQL's plan is the same either way.
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_WHERE = {
    "sqlite_where": sa.text("maybe_flagged = 1"),
    "postgresql_where": sa.text("maybe_flagged"),
}


def upgrade():
    op.drop_index("ix_case_maybe_flagged", table_name="case")
    op.create_index("ix_case_maybe_flagged", "case", ["counselor_id", "maybe_flagged"], **_WHERE)


def downgrade():
    op.drop_index("ix_case_maybe_flagged", table_name="case")
    op.create_index("ix_case_maybe_flagged", "case", ["counselor_id"], **_WHERE)
