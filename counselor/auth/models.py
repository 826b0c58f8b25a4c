"""Counselor accounts and their server-side login sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from counselor.core.crypto import encrypted, sealed_column
from counselor.core.models import Timestamps, UUIDPrimaryKey, cascade_key, children, one_of, stamped
from counselor.extensions import db

ROLES = ("counselor", "admin")


class Counselor(UUIDPrimaryKey, Timestamps, UserMixin, db.Model):
    """A person who logs in: a counselor (owns cases) or a practice admin (manages accounts)."""

    __tablename__ = "counselor"
    __table_args__ = (
        one_of("role", ROLES),
        # Unique case-insensitively: emails are stored lower-cased (checked here) under a
        # plain unique constraint, which every database enforces the same way.
        CheckConstraint("email = lower(email)", name="email_lower"),
    )

    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="counselor")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Optional TOTP (RFC 6238): the shared secret, sealed at rest; set while enrolling and
    # switched on only once a code from it was confirmed (totp_enabled_at).
    totp_secret = encrypted(nullable=True)
    totp_secret_sealed: Mapped[bytes | None] = sealed_column(nullable=True)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the last accepted 30-second time step: a code of this step or an older one is refused
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    login_sessions: Mapped[list[LoginSession]] = children(back_populates="counselor")

    #: set by the user loader to the login session this request runs under
    current_login_session = None

    @property
    def is_admin(self) -> bool:
        """Whether this account manages other accounts (and sees no clinical data)."""
        return self.role == "admin"

    @property
    def totp_on(self) -> bool:
        """Whether signing in needs a code from the authenticator app as well."""
        return self.totp_enabled_at is not None and self.totp_secret_sealed is not None

    @property
    def is_active(self) -> bool:  # Flask-Login: a disabled account cannot log in
        return bool(self.active)

    def get_id(self) -> str:
        # Flask-Login stores this in the cookie: the login session's token, never the
        # counselor id, so a new identifier is issued at every login and can be revoked.
        return self.current_login_session.token if self.current_login_session else ""


class LoginSession(db.Model):
    """One login of one counselor in one browser; the cookie holds only its token."""

    __tablename__ = "login_session"

    #: SHA-256 of the random token held in the session cookie
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    counselor_id: Mapped[uuid.UUID] = cascade_key("counselor.id")
    created_at: Mapped[datetime] = stamped()
    last_seen_at: Mapped[datetime] = stamped()
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    counselor: Mapped[Counselor] = relationship(back_populates="login_sessions")

    #: the raw token, only known in the request that created or presented it
    token = ""
