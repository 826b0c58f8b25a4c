"""case: maybe_flagged, the cases that may have an open flag; partial indexes of it and of
the open alerts and pauses

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 14:00:00.000000

The caseload's page asked the open alerts and pauses of every case of the counselor, two
index probes a case; it now asks them of the cases marked as maybe flagged only, a range of
the partial index (counselor.cases.flags). The mark is set for every case with an open alert
or a pause not lifted: the invariant the code keeps from here on. The open alerts and pauses
get partial indexes of their own: PostgreSQL read every alert of the practice for the few
open ones.
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "case",
        sa.Column("maybe_flagged", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    case = sa.table("case", sa.column("id"), sa.column("maybe_flagged", sa.Boolean()))
    alert = sa.table("alert", sa.column("case_id"), sa.column("acknowledged_at"))
    agreement = sa.table("agreement", sa.column("id"), sa.column("case_id"))
    pause = sa.table("clause_pause", sa.column("agreement_id"), sa.column("lifted_at"))
    open_alerts = sa.select(alert.c.case_id).where(alert.c.acknowledged_at.is_(None))
    pauses = (
        sa.select(agreement.c.case_id)
        .join(pause, pause.c.agreement_id == agreement.c.id)
        .where(pause.c.lifted_at.is_(None))
    )
    op.execute(
        case.update()
        .where(sa.or_(case.c.id.in_(open_alerts), case.c.id.in_(pauses)))
        .values(maybe_flagged=True)
    )
    # the marked cases of a counselor (each dialect's condition as its queries write it), and
    # the open alerts and pauses of a case: what the caseload's flags and a close's check ask
    for name, table, column, sqlite_where, postgresql_where in _PARTIAL:
        op.create_index(
            name,
            table,
            [column],
            sqlite_where=sa.text(sqlite_where),
            postgresql_where=sa.text(postgresql_where),
        )


#: (name, table, column, its condition on SQLite, on PostgreSQL)
_PARTIAL = (
    ("ix_case_maybe_flagged", "case", "counselor_id", "maybe_flagged = 1", "maybe_flagged"),
    ("ix_alert_open", "alert", "case_id", *["acknowledged_at IS NULL"] * 2),
    ("ix_clause_pause_open", "clause_pause", "agreement_id", *["lifted_at IS NULL"] * 2),
)


def downgrade():
    for name, table, *_ in reversed(_PARTIAL):
        op.drop_index(name, table_name=table)
    # SQLite drops an unindexed column in place (3.35 and later); a batch copy of the table
    # would drop the old one, and its foreign keys' cascades with it
    op.drop_column("case", "maybe_flagged")
