"""digest notices of their own kind: a paused clause and an agreement due for review

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 12:00:00

"""

from alembic import op


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notice_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_notice_kind"),
            "kind IN ('submitted', 'alert', 'undeliverable', 'paused', 'review')",
        )


def downgrade():
    op.execute("UPDATE notice SET kind = 'alert' WHERE kind IN ('paused', 'review')")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notice_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_notice_kind"), "kind IN ('submitted', 'alert', 'undeliverable')"
        )
