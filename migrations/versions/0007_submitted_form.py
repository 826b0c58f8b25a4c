"""submitted_form: assign forms' idempotency keys in a table of their own

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 05:30:00.000000

The key was stored on each assignment with a ":n" suffix and looked up by LIKE prefix; a
form's key is now one row, looked up by primary key.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    submitted_form = op.create_table(
        "submitted_form",
        sa.Column("request_key", sa.String(length=32), nullable=False),
        sa.Column("counselor_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["counselor_id"],
            ["counselor.id"],
            name=op.f("fk_submitted_form_counselor_id_counselor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_key", name=op.f("pk_submitted_form")),
    )
    with op.batch_alter_table("submitted_form", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submitted_form_counselor_id"), ["counselor_id"], unique=False
        )

    # Forms already acted on stay acted on: one row per key, without its ":n" suffix.
    rows = op.get_bind().execute(
        sa.text(
            "SELECT a.request_key, c.counselor_id, a.created_at FROM assignment a "
            'JOIN "case" c ON c.id = a.case_id WHERE a.request_key IS NOT NULL'
        ).columns(counselor_id=sa.Uuid(), created_at=sa.DateTime(timezone=True))
    )
    forms = {}
    for key, counselor_id, created_at in rows:
        forms.setdefault(
            key[:32],
            {"request_key": key[:32], "counselor_id": counselor_id, "created_at": created_at},
        )
    if forms:
        op.bulk_insert(submitted_form, list(forms.values()))

    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_assignment_request_key"), type_="unique")
        batch_op.drop_column("request_key")


def downgrade():
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_assignment_request_key"), ["request_key"])

    with op.batch_alter_table("submitted_form", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submitted_form_counselor_id"))

    op.drop_table("submitted_form")
