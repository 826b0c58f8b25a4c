"""partner home: one standing link per partner, sign-in links for mails, partner mails once,
portal sessions of a partner (not of one link), the PIN on the home, practice mail settings

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 08:45:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "partner_home",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pin_hash", sa.String(length=255), nullable=True),
        sa.Column("pin_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pin_blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mail_opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_partner_home_case_id_case"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_home_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_partner_home")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_partner_home_token_hash")),
    )
    with op.batch_alter_table("partner_home", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_home_case_id"), ["case_id"], unique=False)

    op.create_table(
        "sign_in_link",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_sign_in_link_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sign_in_link_token_hash")),
    )
    with op.batch_alter_table("sign_in_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_link_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "partner_mail",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('homework', 'reminder', 'due', 'released')", name=op.f("ck_partner_mail_kind")
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignment.id"],
            name=op.f("fk_partner_mail_assignment_id_assignment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_partner_mail_message_id_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_mail_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_mail")),
        sa.UniqueConstraint("partner_id", "assignment_id", "kind", name="uq_partner_mail_once"),
    )
    with op.batch_alter_table("partner_mail", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_mail_assignment_id"), ["assignment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_partner_mail_partner_id"), ["partner_id"], unique=False
        )

    with op.batch_alter_table("practice_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_subject", sa.String(length=150), nullable=True))
        batch_op.add_column(sa.Column("reminder_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quiet_from_hour", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quiet_until_hour", sa.Integer(), nullable=True))

    # Every partner gets their home row; a PIN set on a per-assignment link moves to it
    # (the newest one: the PIN now guards the partner's whole portal).
    op.execute(
        "INSERT INTO partner_home (partner_id, case_id, pin_failures) "
        "SELECT id, case_id, 0 FROM partner"
    )
    op.execute(
        "UPDATE partner_home SET pin_hash = ("
        " SELECT link.pin_hash FROM link WHERE link.partner_id = partner_home.partner_id"
        " AND link.pin_hash IS NOT NULL ORDER BY link.created_at DESC LIMIT 1)"
    )

    # A portal session belongs to a partner now; one opened by a per-assignment link keeps
    # that link (its revocation still ends the session) and that assignment as its focus.
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("home_generation", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("focus_assignment_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE portal_session SET"
        " partner_id = (SELECT link.partner_id FROM link WHERE link.id = portal_session.link_id),"
        " focus_assignment_id ="
        " (SELECT link.assignment_id FROM link WHERE link.id = portal_session.link_id)"
    )
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.alter_column("partner_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column("link_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_portal_session_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_portal_session_partner_id_partner"),
            "partner",
            ["partner_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_portal_session_focus_assignment_id_assignment"),
            "assignment",
            ["focus_assignment_id"],
            ["id"],
            ondelete="SET NULL",
        )

    if op.get_bind().dialect.name == "sqlite":
        # SQLite's own DROP COLUMN (3.35+): a batch rebuild of `link` would drop the old table,
        # and with foreign keys on that deletes every portal session made from a link
        for column in ("pin_blocked_until", "pin_failures", "pin_hash"):
            op.execute(f"ALTER TABLE link DROP COLUMN {column}")
    else:
        for column in ("pin_blocked_until", "pin_failures", "pin_hash"):
            op.drop_column("link", column)


def downgrade():
    with op.batch_alter_table("link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pin_hash", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("pin_failures", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("pin_blocked_until", sa.DateTime(timezone=True), nullable=True)
        )
    # sessions opened by a home or a mail's link have no per-assignment link to fall back to
    op.execute("DELETE FROM portal_session WHERE link_id IS NULL")
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_portal_session_focus_assignment_id_assignment"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_portal_session_partner_id_partner"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_portal_session_partner_id"))
        batch_op.alter_column("link_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("focus_assignment_id")
        batch_op.drop_column("home_generation")
        batch_op.drop_column("partner_id")
    with op.batch_alter_table("practice_settings", schema=None) as batch_op:
        batch_op.drop_column("quiet_until_hour")
        batch_op.drop_column("quiet_from_hour")
        batch_op.drop_column("reminder_days")
        batch_op.drop_column("partner_subject")
    op.drop_table("partner_mail")
    op.drop_table("sign_in_link")
    op.drop_table("partner_home")
