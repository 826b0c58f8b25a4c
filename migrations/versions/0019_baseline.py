"""baseline: the whole schema at once, replacing migrations 0001-0019

Revision ID: 0019
Revises:
Create Date: 2026-11-29 14:30:00.000000

The history 0001-0019 was squashed into this one file on 2026-11-29, at commit 6a93683
(the last commit that has the old files). It builds exactly the schema those nineteen
migrations built, on PostgreSQL and on SQLite: the same tables, columns in the same order,
types, server defaults, constraints, foreign keys and indexes (the partial index on shared
questionnaires included). The old migrations inserted no rows of their own; their data steps
(0007, 0009, 0012, 0013) only rewrote rows already there, so a fresh database needs none.

It keeps the id of the old head, 0019, and revises nothing:

- a database already at 0019 is up to date and `flask db upgrade` does nothing;
- an empty database gets everything from this file;
- a database at 0001-0018 must first be brought to 0019 with the old history:
  `git checkout 6a93683 && flask db upgrade`, then back to the current commit
  (migrations/env.py stops with this sentence instead of "Can't locate revision").

New migrations continue from here: 0020 revises 0019.

downgrade() drops every table (for the migration tests); it refuses while any table holds a
row, since one step down from here is down to nothing.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = None
branch_labels = None
depends_on = None


def _id():
    """The UUID primary key column of most tables."""
    return sa.Column("id", sa.Uuid(), nullable=False)


def _at(name, nullable=False):
    """A timezone-aware timestamp column."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _uuid(name, nullable=False):
    return sa.Column(name, sa.Uuid(), nullable=nullable)


def _fk(table, column, target, ondelete="CASCADE"):
    """A foreign key named by the naming convention of counselor.extensions."""
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def _pk(table, *columns):
    return sa.PrimaryKeyConstraint(*columns, name=op.f(f"pk_{table}"))


def _ck(table, name, condition):
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def _indexes(table, *columns):
    """One plain index per column, named ix_<table>_<column>."""
    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


# Tables in the order they are created (parents before children); downgrade drops them in
# reverse.
TABLES = (
    "audit_event",
    "counselor",
    "case",
    "login_session",
    "counseling_session",
    "partner",
    "questionnaire",
    "questionnaire_version",
    "assignment",
    "link",
    "response",
    "alert",
    "portal_session",
    "submitted_form",
    "notification_setting",
    "message",
    "digest",
    "notice",
    "partner_relationship",
    "practice_settings",
    "partner_home",
    "sign_in_link",
    "partner_mail",
    "agreement",
    "agreement_partner",
    "agreement_version",
    "agreement_ack",
    "clause_pause",
    "export",
    "consent_text",
    "learning_resource",
    "learning_shelf",
    "learning_attachment",
    "consent_ack",
    "step_ladder",
    "step",
    "step_debrief",
    "schedule",
    "schedule_partner",
    "schedule_occurrence",
)


def upgrade():
    _accounts_and_cases()
    _questionnaires()
    _portal()
    _mail()
    _practice()
    _agreements()
    _consent_and_resources()
    _steps_and_schedules()


def downgrade():
    # Before the squash one step down dropped one migration's tables; now it drops them all.
    # Refuse while any table holds a row, so that a rollback cannot empty a database by mistake.
    if not op.get_context().as_sql:
        bind = op.get_bind()
        kept = [
            table
            for table in TABLES
            if bind.execute(sa.select(sa.literal(1)).select_from(sa.table(table)).limit(1)).first()
        ]
        if kept:
            raise RuntimeError(
                "Downgrading the baseline 0019 would drop every table, and some of them hold "
                f"rows ({', '.join(kept[:3])}{', ...' if len(kept) > 3 else ''}): refusing. "
                "There is no earlier migration to step back to since the history was squashed; "
                "restore a backup taken before the upgrade instead."
            )
    for table in reversed(TABLES):
        op.drop_table(table)


def _accounts_and_cases():
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _at("at"),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_kind", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=False),
        _ck(
            "audit_event",
            "actor_kind",
            "actor_kind IN ('counselor', 'partner', 'system', 'anonymous')",
        ),
        _pk("audit_event", "id"),
    )
    _indexes("audit_event", "action", "at")
    op.create_index(
        "ix_audit_event_object", "audit_event", ["object_kind", "object_id"], unique=False
    )

    op.create_table(
        "counselor",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _at("last_login_at", nullable=True),
        _id(),
        _at("created_at"),
        _at("updated_at"),
        sa.Column("totp_secret_sealed", sa.LargeBinary(), nullable=True),
        _at("totp_enabled_at", nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        _ck("counselor", "role", "role IN ('counselor', 'admin')"),
        _ck("counselor", "email_lower", "email = lower(email)"),
        _pk("counselor", "id"),
        sa.UniqueConstraint("email", name=op.f("uq_counselor_email")),
    )

    op.create_table(
        "case",
        _uuid("counselor_id"),
        sa.Column("label_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _at("last_session_at", nullable=True),
        _id(),
        _at("created_at"),
        _at("updated_at"),
        _ck("case", "status", "status IN ('active', 'archived')"),
        _fk("case", "counselor_id", "counselor", ondelete="RESTRICT"),
        _pk("case", "id"),
    )
    _indexes("case", "counselor_id")

    op.create_table(
        "login_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _uuid("counselor_id"),
        _at("created_at"),
        _at("last_seen_at"),
        _at("ended_at", nullable=True),
        _fk("login_session", "counselor_id", "counselor"),
        _pk("login_session", "token_hash"),
    )
    _indexes("login_session", "counselor_id")

    op.create_table(
        "counseling_session",
        _uuid("case_id"),
        _at("starts_at"),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("agenda_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("notes_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("next_steps_sealed", sa.LargeBinary(), nullable=True),
        _id(),
        _at("created_at"),
        _at("updated_at"),
        _ck("counseling_session", "duration_range", "duration_minutes BETWEEN 5 AND 600"),
        _fk("counseling_session", "case_id", "case"),
        _pk("counseling_session", "id"),
    )
    _indexes("counseling_session", "case_id", "starts_at")

    op.create_table(
        "partner",
        _uuid("case_id"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("display_name_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("pronouns_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("email_sealed", sa.LargeBinary(), nullable=True),
        _id(),
        _ck("partner", "position_range", "position BETWEEN 1 AND 6"),
        _fk("partner", "case_id", "case"),
        _pk("partner", "id"),
        sa.UniqueConstraint("case_id", "position", name="uq_partner_case_position"),
    )
    _indexes("partner", "case_id")


def _questionnaires():
    op.create_table(
        "questionnaire",
        sa.Column("slug", sa.String(length=64), nullable=False),
        _uuid("owner_id", nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        _id(),
        _at("created_at"),
        _at("updated_at"),
        sa.Column("shared", sa.Boolean(), server_default=sa.false(), nullable=False),
        _fk("questionnaire", "owner_id", "counselor"),
        _pk("questionnaire", "id"),
        sa.UniqueConstraint("owner_id", "slug", name="uq_questionnaire_owner_slug"),
    )
    _indexes("questionnaire", "owner_id", "slug")
    # The library's read of shared questionnaires is an index scan (README, Practice scale).
    op.create_index(
        "ix_questionnaire_shared",
        "questionnaire",
        ["shared"],
        unique=False,
        postgresql_where=sa.text("shared IS TRUE"),
        sqlite_where=sa.text("shared IS 1"),
    )

    op.create_table(
        "questionnaire_version",
        _uuid("questionnaire_id"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("definition_json", sa.Text(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        _at("created_at"),
        _id(),
        _at("published_at", nullable=True),
        _ck("questionnaire_version", "number_positive", "number >= 1"),
        _fk("questionnaire_version", "questionnaire_id", "questionnaire"),
        _pk("questionnaire_version", "id"),
        sa.UniqueConstraint("questionnaire_id", "number", name="uq_questionnaire_version_number"),
    )
    _indexes("questionnaire_version", "questionnaire_id")

    op.create_table(
        "assignment",
        _uuid("case_id"),
        _uuid("version_id"),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("instructions_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("link_ttl_days", sa.Integer(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        _id(),
        _at("created_at"),
        _at("updated_at"),
        _at("released_at", nullable=True),
        sa.Column("sections", sa.JSON(), nullable=True),
        _ck("assignment", "ttl_range", "link_ttl_days BETWEEN 1 AND 365"),
        _fk("assignment", "case_id", "case"),
        _fk("assignment", "version_id", "questionnaire_version", ondelete="RESTRICT"),
        _pk("assignment", "id"),
    )
    _indexes("assignment", "case_id", "version_id")

    op.create_table(
        "link",
        _uuid("assignment_id"),
        _uuid("partner_id"),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _at("created_at"),
        _at("expires_at"),
        _at("revoked_at", nullable=True),
        _at("last_used_at", nullable=True),
        _id(),
        _fk("link", "assignment_id", "assignment"),
        _fk("link", "partner_id", "partner"),
        _pk("link", "id"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_link_token_hash")),
    )
    _indexes("link", "assignment_id", "partner_id")

    op.create_table(
        "response",
        _uuid("assignment_id"),
        _uuid("partner_id"),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answers_json_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        _at("opened_at", nullable=True),
        _at("saved_at", nullable=True),
        _at("submitted_at", nullable=True),
        _id(),
        _ck("response", "status", "status IN ('not_opened', 'opened', 'draft', 'submitted')"),
        _fk("response", "assignment_id", "assignment"),
        _fk("response", "partner_id", "partner"),
        _pk("response", "id"),
        sa.UniqueConstraint("assignment_id", "partner_id", name="uq_response_assignment_partner"),
    )
    _indexes("response", "assignment_id", "partner_id")

    op.create_table(
        "alert",
        _uuid("case_id"),
        _uuid("assignment_id"),
        _uuid("response_id"),
        _uuid("partner_id"),
        sa.Column("link_id", sa.String(length=80), nullable=False),
        _at("triggered_at"),
        _at("acknowledged_at", nullable=True),
        sa.Column("ack_note_sealed", sa.LargeBinary(), nullable=True),
        _id(),
        sa.Column("severity", sa.String(length=8), server_default="review", nullable=False),
        _fk("alert", "assignment_id", "assignment"),
        _fk("alert", "case_id", "case"),
        _fk("alert", "partner_id", "partner"),
        _fk("alert", "response_id", "response"),
        _pk("alert", "id"),
        sa.UniqueConstraint("response_id", "link_id", name="uq_alert_response_item"),
        _ck("alert", "severity", "severity IN ('urgent', 'review', 'info')"),
    )
    _indexes("alert", "assignment_id", "case_id", "response_id")


def _portal():
    # A portal session belongs to a partner; one opened by a per-assignment link keeps that
    # link (its revocation ends the session) and its assignment as the focus.
    op.create_table(
        "portal_session",
        sa.Column("sid_hash", sa.String(length=64), nullable=False),
        _uuid("link_id", nullable=True),
        _at("created_at"),
        sa.Column("pin_ok", sa.Boolean(), server_default=sa.false(), nullable=False),
        _at("last_seen_at", nullable=True),
        _uuid("partner_id"),
        sa.Column("home_generation", sa.String(length=16), nullable=True),
        _uuid("focus_assignment_id", nullable=True),
        _fk("portal_session", "link_id", "link"),
        _pk("portal_session", "sid_hash"),
        _fk("portal_session", "partner_id", "partner"),
        _fk("portal_session", "focus_assignment_id", "assignment", ondelete="SET NULL"),
    )
    _indexes("portal_session", "link_id", "partner_id")

    op.create_table(
        "submitted_form",
        sa.Column("request_key", sa.String(length=32), nullable=False),
        _uuid("counselor_id"),
        _at("created_at"),
        _fk("submitted_form", "counselor_id", "counselor"),
        _pk("submitted_form", "request_key"),
    )
    _indexes("submitted_form", "counselor_id")


def _mail():
    op.create_table(
        "notification_setting",
        _uuid("counselor_id"),
        sa.Column("submitted", sa.Boolean(), nullable=False),
        sa.Column("alert", sa.Boolean(), nullable=False),
        sa.Column("undeliverable", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        _fk("notification_setting", "counselor_id", "counselor"),
        _pk("notification_setting", "counselor_id"),
    )

    op.create_table(
        "message",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("next_attempt_at", nullable=True),
        _at("published_at", nullable=True),
        sa.Column("claim", sa.String(length=32), nullable=True),
        _at("lease_expires_at", nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        _uuid("case_id", nullable=True),
        _uuid("partner_id", nullable=True),
        _uuid("counselor_id", nullable=True),
        _at("created_at"),
        _at("sent_at", nullable=True),
        _id(),
        _ck("message", "status", "status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')"),
        _fk("message", "case_id", "case"),
        _fk("message", "counselor_id", "counselor"),
        _fk("message", "partner_id", "partner"),
        _pk("message", "id"),
    )
    _indexes("message", "case_id", "counselor_id", "partner_id", "status")

    op.create_table(
        "digest",
        _uuid("counselor_id"),
        sa.Column("day", sa.Date(), nullable=False),
        _uuid("message_id", nullable=True),
        _at("created_at"),
        _id(),
        _fk("digest", "counselor_id", "counselor"),
        _fk("digest", "message_id", "message", ondelete="SET NULL"),
        _pk("digest", "id"),
        sa.UniqueConstraint("counselor_id", "day", name="uq_digest_counselor_day"),
    )

    op.create_table(
        "notice",
        _uuid("counselor_id"),
        _uuid("case_id", nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=True),
        _at("created_at"),
        _uuid("digest_id", nullable=True),
        _id(),
        _ck(
            "notice",
            "kind",
            "kind IN ('submitted', 'alert', 'undeliverable', 'paused', 'review')",
        ),
        _fk("notice", "case_id", "case"),
        _fk("notice", "counselor_id", "counselor"),
        _fk("notice", "digest_id", "digest"),
        _pk("notice", "id"),
    )
    _indexes("notice", "case_id", "counselor_id", "digest_id")


def _practice():
    op.create_table(
        "partner_relationship",
        _uuid("case_id"),
        _uuid("partner_a_id"),
        _uuid("partner_b_id"),
        _id(),
        _ck("partner_relationship", "two_partners", "partner_a_id <> partner_b_id"),
        _fk("partner_relationship", "case_id", "case"),
        _fk("partner_relationship", "partner_a_id", "partner"),
        _fk("partner_relationship", "partner_b_id", "partner"),
        _pk("partner_relationship", "id"),
        sa.UniqueConstraint("partner_a_id", "partner_b_id", name="uq_partner_relationship_pair"),
    )
    _indexes("partner_relationship", "case_id", "partner_a_id", "partner_b_id")

    op.create_table(
        "practice_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("safety_text", sa.Text(), nullable=True),
        sa.Column("quick_exit_url", sa.String(length=500), nullable=True),
        _at("updated_at", nullable=True),
        sa.Column("partner_subject", sa.String(length=150), nullable=True),
        sa.Column("reminder_days", sa.Integer(), nullable=True),
        sa.Column("quiet_from_hour", sa.Integer(), nullable=True),
        sa.Column("quiet_until_hour", sa.Integer(), nullable=True),
        _pk("practice_settings", "id"),
    )

    op.create_table(
        "partner_home",
        _uuid("partner_id"),
        _uuid("case_id"),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        _at("issued_at", nullable=True),
        _at("expires_at", nullable=True),
        _at("revoked_at", nullable=True),
        _at("last_opened_at", nullable=True),
        sa.Column("pin_hash", sa.String(length=255), nullable=True),
        sa.Column("pin_failures", sa.Integer(), server_default="0", nullable=False),
        _at("pin_blocked_until", nullable=True),
        _at("mail_opted_out_at", nullable=True),
        _fk("partner_home", "case_id", "case"),
        _fk("partner_home", "partner_id", "partner"),
        _pk("partner_home", "partner_id"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_partner_home_token_hash")),
    )
    _indexes("partner_home", "case_id")

    op.create_table(
        "sign_in_link",
        _id(),
        _uuid("partner_id"),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _at("created_at"),
        _at("expires_at"),
        _at("used_at", nullable=True),
        _fk("sign_in_link", "partner_id", "partner"),
        _pk("sign_in_link", "id"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sign_in_link_token_hash")),
    )
    _indexes("sign_in_link", "partner_id")

    op.create_table(
        "partner_mail",
        _id(),
        _uuid("partner_id"),
        _uuid("assignment_id"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        _uuid("message_id", nullable=True),
        _at("created_at"),
        _ck("partner_mail", "kind", "kind IN ('homework', 'reminder', 'due', 'released')"),
        _fk("partner_mail", "assignment_id", "assignment"),
        _fk("partner_mail", "message_id", "message", ondelete="SET NULL"),
        _fk("partner_mail", "partner_id", "partner"),
        _pk("partner_mail", "id"),
        sa.UniqueConstraint("partner_id", "assignment_id", "kind", name="uq_partner_mail_once"),
    )
    _indexes("partner_mail", "assignment_id", "partner_id")


def _agreements():
    op.create_table(
        "agreement",
        _uuid("case_id"),
        sa.Column("title_sealed", sa.LargeBinary(), nullable=False),
        _at("created_at"),
        _uuid("in_force_id", nullable=True),
        _uuid("reminded_id", nullable=True),
        _id(),
        _fk("agreement", "case_id", "case"),
        _pk("agreement", "id"),
    )
    _indexes("agreement", "case_id")

    op.create_table(
        "agreement_partner",
        _uuid("agreement_id"),
        _uuid("partner_id"),
        _fk("agreement_partner", "agreement_id", "agreement"),
        _fk("agreement_partner", "partner_id", "partner"),
        _pk("agreement_partner", "agreement_id", "partner_id"),
    )
    _indexes("agreement_partner", "partner_id")

    op.create_table(
        "agreement_version",
        _uuid("agreement_id"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content_json_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("review_on", sa.Date(), nullable=True),
        _at("created_at"),
        _at("published_at", nullable=True),
        _id(),
        _ck("agreement_version", "number_positive", "number >= 1"),
        _fk("agreement_version", "agreement_id", "agreement"),
        _pk("agreement_version", "id"),
        sa.UniqueConstraint("agreement_id", "number", name="uq_agreement_version_number"),
    )
    _indexes("agreement_version", "agreement_id")

    op.create_table(
        "agreement_ack",
        _uuid("agreement_id"),
        _uuid("version_id"),
        _uuid("partner_id"),
        sa.Column("answer", sa.String(length=8), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("note_sealed", sa.LargeBinary(), nullable=True),
        _at("at"),
        _id(),
        _ck("agreement_ack", "answer", "answer IN ('agree', 'talk')"),
        _fk("agreement_ack", "agreement_id", "agreement"),
        _fk("agreement_ack", "partner_id", "partner"),
        _fk("agreement_ack", "version_id", "agreement_version"),
        _pk("agreement_ack", "id"),
    )
    _indexes("agreement_ack", "agreement_id")
    op.create_index(
        "ix_agreement_ack_version_partner",
        "agreement_ack",
        ["version_id", "partner_id"],
        unique=False,
    )

    op.create_table(
        "clause_pause",
        _uuid("agreement_id"),
        _uuid("version_id"),
        sa.Column("clause_key", sa.String(length=16), nullable=False),
        _uuid("partner_id"),
        _at("paused_at"),
        sa.Column("note_sealed", sa.LargeBinary(), nullable=True),
        _at("lifted_at", nullable=True),
        _id(),
        _fk("clause_pause", "agreement_id", "agreement"),
        _fk("clause_pause", "partner_id", "partner"),
        _fk("clause_pause", "version_id", "agreement_version"),
        _pk("clause_pause", "id"),
    )
    _indexes("clause_pause", "agreement_id")

    # PDFs: a session's clinical record or handout, a case record, a partner's agreement.
    op.create_table(
        "export",
        _uuid("case_id"),
        _uuid("session_id", nullable=True),
        _uuid("partner_id", nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _at("requested_at"),
        _at("published_at", nullable=True),
        _at("started_at", nullable=True),
        _at("lease_expires_at", nullable=True),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("finished_at", nullable=True),
        sa.Column("error", sa.String(length=400), nullable=True),
        sa.Column("pdf_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        _at("expires_at", nullable=True),
        _id(),
        _uuid("agreement_id", nullable=True),
        _ck("export", "handout_partner", "kind != 'handout' OR partner_id IS NOT NULL"),
        _ck(
            "export",
            "session_needed",
            "kind IN ('case_record', 'agreement') OR session_id IS NOT NULL",
        ),
        _ck("export", "kind", "kind IN ('clinical', 'handout', 'case_record', 'agreement')"),
        _ck("export", "status", "status IN ('queued', 'rendering', 'ready', 'failed')"),
        _ck(
            "export",
            "agreement_partner",
            "kind != 'agreement' OR (agreement_id IS NOT NULL AND partner_id IS NOT NULL)",
        ),
        _fk("export", "case_id", "case"),
        _fk("export", "partner_id", "partner"),
        _fk("export", "session_id", "counseling_session"),
        _fk("export", "agreement_id", "agreement"),
        _pk("export", "id"),
    )
    _indexes("export", "case_id", "expires_at", "session_id", "status", "agreement_id")


def _consent_and_resources():
    op.create_table(
        "consent_text",
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        _at("created_at"),
        _uuid("created_by_id", nullable=True),
        _id(),
        _ck("consent_text", "number_positive", "number >= 1"),
        _fk("consent_text", "created_by_id", "counselor", ondelete="SET NULL"),
        _pk("consent_text", "id"),
        sa.UniqueConstraint("number", name="uq_consent_text_number"),
    )

    op.create_table(
        "learning_resource",
        _uuid("owner_id"),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("shared", sa.Boolean(), server_default=sa.false(), nullable=False),
        _id(),
        _at("created_at"),
        _at("updated_at"),
        _fk("learning_resource", "owner_id", "counselor"),
        _pk("learning_resource", "id"),
    )
    _indexes("learning_resource", "owner_id")

    op.create_table(
        "learning_shelf",
        _uuid("counselor_id"),
        _at("seeded_at"),
        _fk("learning_shelf", "counselor_id", "counselor"),
        _pk("learning_shelf", "counselor_id"),
    )

    op.create_table(
        "learning_attachment",
        _uuid("case_id"),
        _uuid("resource_id"),
        sa.Column("target_kind", sa.String(length=20), nullable=False),
        _uuid("target_id"),
        _at("created_at"),
        _id(),
        _ck("learning_attachment", "target_kind", "target_kind IN ('assignment', 'step')"),
        _fk("learning_attachment", "case_id", "case"),
        _fk("learning_attachment", "resource_id", "learning_resource"),
        _pk("learning_attachment", "id"),
        sa.UniqueConstraint(
            "resource_id", "target_kind", "target_id", name="uq_learning_attachment"
        ),
    )
    _indexes("learning_attachment", "case_id", "resource_id", "target_id")

    op.create_table(
        "consent_ack",
        _uuid("case_id"),
        _uuid("partner_id"),
        _uuid("text_id"),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("typed_name_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        _at("acknowledged_at"),
        _id(),
        _fk("consent_ack", "case_id", "case"),
        _fk("consent_ack", "partner_id", "partner"),
        # no ON DELETE: a consent text that was acknowledged cannot be deleted
        _fk("consent_ack", "text_id", "consent_text", ondelete=None),
        _pk("consent_ack", "id"),
        sa.UniqueConstraint("partner_id", "text_id", name="uq_consent_ack_partner_text"),
    )
    _indexes("consent_ack", "case_id", "partner_id", "text_id")


def _steps_and_schedules():
    op.create_table(
        "step_ladder",
        _uuid("case_id"),
        _uuid("agreement_id", nullable=True),
        sa.Column("clause_key", sa.String(length=16), nullable=False),
        _at("created_at"),
        _id(),
        _fk("step_ladder", "agreement_id", "agreement"),
        _fk("step_ladder", "case_id", "case"),
        _pk("step_ladder", "id"),
        sa.UniqueConstraint("case_id", "agreement_id", "clause_key", name="uq_step_ladder_place"),
    )
    _indexes("step_ladder", "agreement_id", "case_id")

    op.create_table(
        "step",
        _uuid("ladder_id"),
        _uuid("case_id"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_json_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        _uuid("debrief_questionnaire_id", nullable=True),
        _uuid("proposed_by", nullable=True),
        _uuid("marked_by", nullable=True),
        _at("marked_at", nullable=True),
        sa.Column("paused_because", sa.String(length=10), nullable=True),
        _at("created_at"),
        _id(),
        _ck(
            "step",
            "status",
            "status IN ('proposed', 'declined', 'open', 'paused', 'done', 'skipped')",
        ),
        _fk("step", "case_id", "case"),
        _fk("step", "debrief_questionnaire_id", "questionnaire", ondelete="SET NULL"),
        _fk("step", "ladder_id", "step_ladder"),
        _fk("step", "proposed_by", "partner", ondelete="SET NULL"),
        _pk("step", "id"),
    )
    _indexes("step", "case_id", "ladder_id")

    op.create_table(
        "step_debrief",
        _uuid("step_id"),
        _uuid("partner_id"),
        _uuid("assignment_id"),
        sa.Column("shared_json_sealed", sa.LargeBinary(), nullable=True),
        _at("sent_at", nullable=True),
        _id(),
        _fk("step_debrief", "assignment_id", "assignment"),
        _fk("step_debrief", "partner_id", "partner"),
        _fk("step_debrief", "step_id", "step"),
        _pk("step_debrief", "id"),
        sa.UniqueConstraint("step_id", "partner_id", name="uq_step_debrief_partner"),
    )
    _indexes("step_debrief", "assignment_id", "partner_id", "step_id")

    op.create_table(
        "schedule",
        _uuid("case_id"),
        _uuid("questionnaire_id"),
        sa.Column("every", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("times", sa.Integer(), nullable=True),
        sa.Column("next_on", sa.Date(), nullable=True),
        sa.Column("made", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=8), server_default="active", nullable=False),
        _at("created_at"),
        _at("changed_at", nullable=True),
        _id(),
        _ck("schedule", "status", "status IN ('active', 'paused', 'ended')"),
        _ck("schedule", "unit", "unit IN ('days', 'weeks')"),
        _ck("schedule", "every_positive", "every >= 1"),
        _ck("schedule", "made_not_negative", "made >= 0"),
        _ck("schedule", "times_positive", "times IS NULL OR times >= 1"),
        _fk("schedule", "case_id", "case"),
        _fk("schedule", "questionnaire_id", "questionnaire"),
        _pk("schedule", "id"),
    )
    _indexes("schedule", "case_id", "questionnaire_id")

    op.create_table(
        "schedule_partner",
        _uuid("schedule_id"),
        _uuid("partner_id"),
        _fk("schedule_partner", "partner_id", "partner"),
        _fk("schedule_partner", "schedule_id", "schedule"),
        _pk("schedule_partner", "schedule_id", "partner_id"),
    )
    _indexes("schedule_partner", "partner_id")

    op.create_table(
        "schedule_occurrence",
        _uuid("schedule_id"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("falls_on", sa.Date(), nullable=False),
        _uuid("assignment_id", nullable=True),
        _at("created_at"),
        _id(),
        _ck("schedule_occurrence", "number_positive", "number >= 1"),
        _fk("schedule_occurrence", "assignment_id", "assignment", ondelete="SET NULL"),
        _fk("schedule_occurrence", "schedule_id", "schedule"),
        _pk("schedule_occurrence", "id"),
        sa.UniqueConstraint("schedule_id", "number", name="uq_schedule_occurrence_number"),
    )
    _indexes("schedule_occurrence", "assignment_id")
