"""case: the caseload's count index (counselor, status)

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 13:00:00.000000

The count of a counselor's cases of a status, on every full caseload page, walked every entry
of ix_case_caseload (id and times in each) and read the status from each; this index holds
nothing else, its entries of one status side by side, and the count reads only them.
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_case_counselor_status", "case", ["counselor_id", "status"])


def downgrade():
    op.drop_index("ix_case_counselor_status", table_name="case")
