"""response: ix_response_assignment_id dropped, the unique index of (assignment, partner)
serves its look-ups

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-01 04:20:00.000000

Every look-up of a response by its assignment (a homework page, a release's answers, the
cascade from an assignment erased) is served as well by uq_response_assignment_partner,
which leads with the assignment's id, on both databases. The second index only cost each
response written outside a HOT update one more index entry: a submit's UPDATE, whose mark
of the counselor's notice (migration 0027) is indexed, writes a new entry in every index of
the table. On PostgreSQL (bench/pg_server_cost.py --checkpoint --variants
base,no-response-assignment-index) that was 0.011 ms of the server's CPU and 1.0 KB of WAL a
submit, its leaf pages' full-page images after a checkpoint most of those bytes.
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_response_assignment_id", table_name="response")


def downgrade():
    op.create_index("ix_response_assignment_id", "response", ["assignment_id"])
