"""The outbox and counselor notifications. No row holds clinical content."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from counselor.core.crypto import encrypted, sealed_column
from counselor.core.models import UUIDPrimaryKey, cascade_key, one_of, stamped
from counselor.extensions import db

MESSAGE_STATUSES = ("queued", "sending", "sent", "failed", "cancelled")
NOTICE_KINDS = ("submitted", "alert", "undeliverable", "paused", "review")


class Message(UUIDPrimaryKey, db.Model):
    """One mail: queued → sending → sent (or failed, or cancelled); the source of truth.

    References are nullable and cascade: a message about a case or to a partner disappears
    with them, so a mail for an erased case or a removed partner is never sent.
    """

    __tablename__ = "message"
    __table_args__ = (one_of("status", MESSAGE_STATUSES),)

    #: what the mail is, e.g. ``notify.submitted`` (never its content)
    kind: Mapped[str] = mapped_column(String(32))
    recipient = encrypted()
    recipient_sealed: Mapped[bytes] = sealed_column()
    subject: Mapped[str] = mapped_column(String(200))
    #: sealed because partner mails will carry sign-in links, which are credentials
    body = encrypted()
    body_sealed: Mapped[bytes] = sealed_column()
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: not to be tried before then (backoff after a temporary failure)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: last time the task was handed to the broker (None: it never reached it)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: random value of the current claim, so only the claim holder can finish the message
    claim: Mapped[str | None] = mapped_column(String(32))
    #: a send holds the message until then; after it, beat hands it to another worker
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: one sentence for the counselor: why the last try failed (never the server's words)
    error: Mapped[str | None] = mapped_column(String(300))
    case_id: Mapped[uuid.UUID | None] = cascade_key("case.id")
    partner_id: Mapped[uuid.UUID | None] = cascade_key("partner.id")
    #: the counselor the mail is to, or responsible for it (told when it cannot be delivered)
    counselor_id: Mapped[uuid.UUID | None] = cascade_key("counselor.id")
    created_at: Mapped[datetime] = stamped()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NotificationSetting(db.Model):
    """Which mails a counselor wants, and whether as one daily digest."""

    __tablename__ = "notification_setting"

    counselor_id: Mapped[uuid.UUID] = cascade_key("counselor.id", index=False, primary_key=True)
    submitted: Mapped[bool] = mapped_column(Boolean, default=True)
    alert: Mapped[bool] = mapped_column(Boolean, default=True)
    undeliverable: Mapped[bool] = mapped_column(Boolean, default=True)
    #: True: one mail a day with everything; False: one mail per event
    digest: Mapped[bool] = mapped_column(Boolean, default=False)


class Digest(UUIDPrimaryKey, db.Model):
    """One daily digest of one counselor; unique per day, so a job run twice sends one."""

    __tablename__ = "digest"
    __table_args__ = (UniqueConstraint("counselor_id", "day", name="uq_digest_counselor_day"),)

    counselor_id: Mapped[uuid.UUID] = cascade_key("counselor.id", index=False)
    #: the practice-local day the digest was made for
    day: Mapped[date] = mapped_column(Date)
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = stamped()


class Notice(UUIDPrimaryKey, db.Model):
    """An event a counselor chose to hear of, waiting for their daily digest."""

    __tablename__ = "notice"
    __table_args__ = (one_of("kind", NOTICE_KINDS),)

    counselor_id: Mapped[uuid.UUID] = cascade_key("counselor.id")
    case_id: Mapped[uuid.UUID | None] = cascade_key("case.id")
    kind: Mapped[str] = mapped_column(String(16))
    #: the alert's severity where the item defines one (no answer, no item text)
    severity: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = stamped()
    #: the digest that carried it (None: still waiting)
    digest_id: Mapped[uuid.UUID | None] = cascade_key("digest.id")


PARTNER_MAIL_KINDS = ("homework", "reminder", "due", "released")


class PartnerMail(UUIDPrimaryKey, db.Model):
    """That one mail of a kind about one assignment was made for one partner.

    Unique per (partner, assignment, kind): a reminder job run twice, or at once in two
    processes, finds the row taken and queues nothing the second time.
    """

    __tablename__ = "partner_mail"
    __table_args__ = (
        UniqueConstraint("partner_id", "assignment_id", "kind", name="uq_partner_mail_once"),
        one_of("kind", PARTNER_MAIL_KINDS),
    )

    partner_id: Mapped[uuid.UUID] = cascade_key("partner.id")
    assignment_id: Mapped[uuid.UUID] = cascade_key("assignment.id")
    kind: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = stamped()


class MailDrain(db.Model):
    """That a drain of the outbox is on its way to a worker (counselor.mail.drain).

    One row at most, the embedded broker's flag (with Redis the flag is a Redis key): a
    request that commits mail sends a drain task only when it writes this row.
    """

    __tablename__ = "mail_drain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: when the pending drain was sent; one older than the republish wait counts as lost
    kicked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
