"""response: notice_due, the submits whose counselor is still to be told, and a partial index
of them

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01 01:30:00.000000

A partner's submit composed and queued the counselor's "homework submitted" mail in its own
request (a third of its CPU with the outbox's drain flag). The submit now only marks the
response (the same UPDATE), and a worker's sweep claims the marked responses, clears the
mark and makes each mail (or digest notice) in one transaction (counselor.mail.submitted).
A boolean rather than a timestamp: the order the sweep needs is ``submitted_at``'s, which the
row holds already. Responses submitted before this revision were told at their submit: none
is marked. The partial index holds the marked rows only, a handful between two sweeps.
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "response",
        sa.Column("notice_due", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_response_notice_due",
        "response",
        ["submitted_at"],
        sqlite_where=sa.text("notice_due = 1"),
        postgresql_where=sa.text("notice_due"),
    )


def downgrade():
    op.drop_index("ix_response_notice_due", table_name="response")
    # SQLite drops an unindexed column in place (3.35 and later), as 0024 does
    op.drop_column("response", "notice_due")
