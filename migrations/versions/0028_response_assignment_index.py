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
the table. On PostgreSQL (bench/pg_server_cost.py --variants base,no-response-assignment-index,
before this revision) a submit wrote 166 bytes of WAL fewer without it, 0.4 to 1.0 KB fewer
in runs that start after a checkpoint (the full-page images of its leaf pages); the server's
CPU a submit moved by -0.016, -0.011 and +0.008 ms in three runs on a busy machine (about
0.01 ms, within the noise).
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
