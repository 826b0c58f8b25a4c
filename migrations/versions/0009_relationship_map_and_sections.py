"""relationship map and the sections of an assignment

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 06:00:00

Existing cases keep today's behaviour: every partner is in a relationship with every other
partner of the case. Existing assignments keep every section (``sections`` NULL means all).
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "partner_relationship",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("partner_a_id", sa.Uuid(), nullable=False),
        sa.Column("partner_b_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "partner_a_id <> partner_b_id", name=op.f("ck_partner_relationship_two_partners")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
            name=op.f("fk_partner_relationship_case_id_case"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_a_id"],
            ["partner.id"],
            name=op.f("fk_partner_relationship_partner_a_id_partner"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_b_id"],
            ["partner.id"],
            name=op.f("fk_partner_relationship_partner_b_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_relationship")),
        sa.UniqueConstraint("partner_a_id", "partner_b_id", name="uq_partner_relationship_pair"),
    )
    with op.batch_alter_table("partner_relationship", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_relationship_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_partner_relationship_partner_a_id"), ["partner_a_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_partner_relationship_partner_b_id"), ["partner_b_id"], unique=False
        )
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sections", sa.JSON(), nullable=True))

    # everyone with everyone, as every case was compared until now
    partner = sa.table(
        "partner",
        sa.column("id", sa.Uuid()),
        sa.column("case_id", sa.Uuid()),
        sa.column("position", sa.Integer()),
    )
    rows = (
        op.get_bind()
        .execute(
            sa.select(partner.c.case_id, partner.c.id, partner.c.position).order_by(
                partner.c.case_id, partner.c.position
            )
        )
        .all()
    )
    by_case: dict = {}
    for case_id, partner_id, _ in rows:
        by_case.setdefault(case_id, []).append(partner_id)
    pairs = [
        {"id": uuid.uuid4(), "case_id": case_id, "partner_a_id": a, "partner_b_id": b}
        for case_id, ids in by_case.items()
        for i, a in enumerate(ids)
        for b in ids[i + 1 :]
    ]
    if pairs:
        op.bulk_insert(table, pairs)


def downgrade():
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_column("sections")
    with op.batch_alter_table("partner_relationship", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_relationship_partner_b_id"))
        batch_op.drop_index(batch_op.f("ix_partner_relationship_partner_a_id"))
        batch_op.drop_index(batch_op.f("ix_partner_relationship_case_id"))
    op.drop_table("partner_relationship")
