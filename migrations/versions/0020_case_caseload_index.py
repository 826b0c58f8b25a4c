"""case: the caseload's index (counselor, last session, created, id, status)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 00:10:00.000000

A caseload page walks this index in the caseload's order and stops after a page's cases,
instead of reading and sorting every case of the counselor; the count of a counselor's cases
reads only the index. It leads with counselor_id, so it replaces ix_case_counselor_id.
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_case_caseload",
        "case",
        ["counselor_id", "last_session_at", "created_at", "id", "status"],
    )
    op.drop_index("ix_case_counselor_id", table_name="case")


def downgrade():
    op.create_index("ix_case_counselor_id", "case", ["counselor_id"])
    op.drop_index("ix_case_caseload", table_name="case")
