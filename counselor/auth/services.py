"""Account and login-session rules: hashing, authentication, session lifetime."""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_login import UserMixin
from sqlalchemy import bindparam, select, update

from counselor.auth.models import Counselor, LoginSession
from counselor.core import audit
from counselor.core.models import aware, utcnow
from counselor.core.precompiled import Precompiled
from counselor.core.tokens import new_token, token_hash
from counselor.extensions import core_execute, db

_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown email the same as for a
# known one, so the login form does not reveal which addresses have accounts.
_DUMMY_HASH = _hasher.hash("counselor-timing-equaliser")

MIN_PASSWORD_LENGTH = 12


class AccountError(ValueError):
    """A rule about accounts was broken; the message is shown to the user."""


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively: store and look them up lower-cased."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    """Raise AccountError when a new password is too weak to accept."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Use at least {MIN_PASSWORD_LENGTH} characters.")


def get_by_email(email: str) -> Counselor | None:
    """The account with this email, in any letter case."""
    return db.session.scalar(select(Counselor).where(Counselor.email == normalise_email(email)))


def check_account_details(email: str, name: str) -> None:
    """Raise AccountError for an email or name the account table cannot hold.

    The admin form checks these itself; ``flask counselors create`` relies on this, and on
    PostgreSQL a too-long name would otherwise end in a database error and a trace.
    """
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise AccountError(f"{email!r} is not a valid email address.") from None
    if len(email) > 254:
        raise AccountError("An email address has at most 254 characters.")
    if not name.strip() or len(name.strip()) > 120:
        raise AccountError("Give a name of 1 to 120 characters.")


def create_counselor(email: str, name: str, password: str, *, admin: bool = False) -> Counselor:
    """Create an account; raises AccountError for a taken or invalid email, a bad name or a
    weak password."""
    email = normalise_email(email)
    check_account_details(email, name)
    if get_by_email(email) is not None:
        raise AccountError("An account with this email already exists.")
    check_password_rules(password)
    counselor = Counselor(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        role="admin" if admin else "counselor",
        active=True,
    )
    db.session.add(counselor)
    db.session.flush()
    audit.record("account.create", "counselor", counselor.id)
    return counselor


def authenticate(email: str, password: str) -> Counselor | None:
    """The active account matching email and password, or None (same cost either way)."""
    counselor = get_by_email(email)
    if counselor is None or not counselor.active:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(counselor.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(counselor.password_hash):
        counselor.password_hash = hash_password(password)
    return counselor


def start_login_session(counselor: Counselor) -> LoginSession:
    """Open a new server-side login session with a fresh random token."""
    token, digest = new_token(32)
    ls = LoginSession(token_hash=digest, counselor_id=counselor.id)
    ls.token = token
    db.session.add(ls)
    counselor.last_login_at = utcnow()
    counselor.current_login_session = ls
    audit.record(
        "auth.login", "counselor", counselor.id, actor_kind="counselor", actor_id=counselor.id
    )
    return ls


@dataclass(frozen=True)
class LoginToken:
    """The login session a request runs under, as the cookie named it (no ORM object: every
    counselor page resolves one, and only sign-out and a password change act on it)."""

    token: str
    token_hash: str


@dataclass(eq=False)
class SignedIn(UserMixin):
    """Who a counselor page runs as: the account's plain columns, read with the login
    session in one statement on every request.

    Not an ORM object: building one, and the session tracking it, cost every page more than
    the statement itself; pages read no more than these columns. A route that changes the
    account loads it with :meth:`account`.
    """

    id: uuid.UUID
    email: str
    name: str
    role: str
    active: bool
    current_login_session: LoginToken

    @property
    def is_admin(self) -> bool:
        """Whether this account manages other accounts (and sees no clinical data)."""
        return self.role == "admin"

    @property
    def is_active(self) -> bool:  # Flask-Login: a disabled account cannot log in
        return self.active

    def get_id(self) -> str:
        return self.current_login_session.token

    def account(self) -> Counselor:
        """The account as an ORM object of this request's session, under this login session."""
        counselor = db.session.get(Counselor, self.id)
        counselor.current_login_session = self.current_login_session
        return counselor


def load_login_session(token: str) -> SignedIn | None:
    """Resolve a cookie token to its counselor, enforcing idle and absolute timeouts."""
    if not token or len(token) > 128:
        return None
    digest = token_hash(token)
    # The login session and its counselor in one Core statement on the session's connection
    # (every counselor page runs this).
    row = _SESSION_AND_COUNSELOR.first({"token_hash": digest})
    if row is None or row["ended_at"] is not None:
        return None
    now = utcnow()
    idle: timedelta = current_app.config["COUNSELOR_IDLE_TIMEOUT"]
    absolute: timedelta = current_app.config["COUNSELOR_ABSOLUTE_TIMEOUT"]
    last_seen = aware(row["last_seen_at"])
    if now - last_seen > idle or now - aware(row["created_at"]) > absolute:
        _set_login_session(digest, ended_at=now)
        return None
    if not row["active"]:
        return None
    # Touch at most once a minute: enough for a 30-minute idle limit, and it keeps reads cheap.
    if now - last_seen > timedelta(minutes=1):
        _set_login_session(digest, last_seen_at=now)
    account = (row["id"], row["email"], row["name"], row["role"], row["active"])
    return SignedIn(*account, LoginToken(token, digest))


def _set_login_session(digest: str, **values) -> None:
    """Write ``values`` to a login session and commit at once (a timeout or a touch)."""
    core_execute(
        _LOGIN_SESSION.update().where(_LOGIN_SESSION.c.token_hash == digest).values(**values)
    )
    db.session.commit()


_LOGIN_SESSION = LoginSession.__table__
_ACCOUNT = Counselor.__table__
#: compiled once: every counselor page reads it
_SESSION_AND_COUNSELOR = Precompiled(
    select(
        _LOGIN_SESSION.c.created_at,
        _LOGIN_SESSION.c.last_seen_at,
        _LOGIN_SESSION.c.ended_at,
        *(_ACCOUNT.c[name] for name in ("id", "email", "name", "role", "active")),
    )
    .join_from(_LOGIN_SESSION, _ACCOUNT)
    .where(_LOGIN_SESSION.c.token_hash == bindparam("token_hash"))
)


def end_login_session(counselor: Counselor | SignedIn) -> None:
    """Log out: the token in the cookie stops working even if replayed."""
    ls = counselor.current_login_session
    if ls is not None:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.token_hash == ls.token_hash, LoginSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
    audit.record("auth.logout", "counselor", counselor.id)


def end_all_login_sessions(
    counselor: Counselor, *, keep: LoginSession | LoginToken | None = None
) -> int:
    """End every open login session of an account except ``keep``; returns how many."""
    stmt = (
        update(LoginSession)
        .where(LoginSession.counselor_id == counselor.id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    if keep is not None:
        stmt = stmt.where(LoginSession.token_hash != keep.token_hash)
    return db.session.execute(stmt).rowcount


def change_password(counselor: Counselor, current: str, new: str) -> None:
    """Change a password after checking the current one; ends the account's other sessions."""
    try:
        _hasher.verify(counselor.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise AccountError("The current password is not right.") from None
    check_password_rules(new)
    counselor.password_hash = hash_password(new)
    end_all_login_sessions(counselor, keep=counselor.current_login_session)
    audit.record("account.password_change", "counselor", counselor.id)


def set_password(counselor: Counselor, password: str) -> None:
    """Set a password without the old one (CLI, demo); ends every session of the account."""
    check_password_rules(password)
    counselor.password_hash = hash_password(password)
    end_all_login_sessions(counselor)
    audit.record("account.password_set", "counselor", counselor.id)


def set_active(counselor: Counselor, active: bool) -> None:
    """Enable or disable an account; disabling ends its sessions at their next request."""
    counselor.active = active
    if not active:
        end_all_login_sessions(counselor)
    audit.record("account.enable" if active else "account.disable", "counselor", counselor.id)


# --- TOTP (RFC 6238) -----------------------------------------------------------------------

TOTP_ISSUER = "Counselor"
TOTP_STEP_SECONDS = 30
#: codes of one step before or after the current one are accepted (clock drift)
TOTP_DRIFT_STEPS = 1
#: how long the second login step waits for the code after the password was right
TOTP_PENDING_SECONDS = 300

WRONG_CODE = "That code is not right. Check your authenticator app and try again."
REPLAYED_CODE = (
    "That code was already used. Wait for the next code in your authenticator app and enter it."
)


class TotpError(AccountError):
    """A TOTP code was refused; ``replay`` tells a reused code from a wrong one."""

    def __init__(self, message: str, *, replay: bool = False):
        super().__init__(message)
        self.replay = replay


def _step_of(now: float | None) -> int:
    return int((time.time() if now is None else now) // TOTP_STEP_SECONDS)


def _matching_step(secret: str, code: str, now: float | None) -> int | None:
    """The time step within the drift window whose code equals ``code``, or None."""
    code = (code or "").replace(" ", "").strip()
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS)
    current = _step_of(now)
    found = None
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        # Compare every candidate (no early exit), in constant time.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def verify_totp(counselor: Counselor, code: str, *, now: float | None = None) -> None:
    """Accept a code of the account's secret once; raises TotpError for a wrong or reused one.

    ``now`` (Unix seconds) defaults to the current time; tests pass chosen times.
    """
    secret = counselor.totp_secret
    if not secret:
        raise TotpError(WRONG_CODE)
    step = _matching_step(secret, code, now)
    if step is None:
        raise TotpError(WRONG_CODE)
    if counselor.totp_last_step is not None and step <= counselor.totp_last_step:
        raise TotpError(REPLAYED_CODE, replay=True)
    counselor.totp_last_step = step


def totp_failed(counselor: Counselor) -> None:
    """Record a refused code (the event names the account, never the code)."""
    audit.record("auth.totp_failed", "counselor", counselor.id)


def begin_totp_enrolment(counselor: Counselor) -> str:
    """The secret being enrolled: a new one the first time, the same one until confirmed."""
    if counselor.totp_on:
        raise AccountError("Two-step sign-in is already on.")
    if not counselor.totp_secret_sealed:
        counselor.totp_secret = pyotp.random_base32()
        counselor.totp_last_step = None
    return counselor.totp_secret


def totp_uri(counselor: Counselor) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(counselor.totp_secret, interval=TOTP_STEP_SECONDS).provisioning_uri(
        name=counselor.email, issuer_name=TOTP_ISSUER
    )


def confirm_totp(counselor: Counselor, code: str, *, now: float | None = None) -> None:
    """Switch TOTP on once the counselor typed a current code of the enrolled secret."""
    if counselor.totp_on:
        raise AccountError("Two-step sign-in is already on.")
    if not counselor.totp_secret_sealed:
        raise TotpError("Start again: scan the QR code, then enter the code it shows.")
    verify_totp(counselor, code, now=now)
    counselor.totp_enabled_at = utcnow()
    audit.record("auth.totp_enabled", "counselor", counselor.id)


def disable_totp(
    counselor: Counselor, password: str, code: str, *, now: float | None = None
) -> None:
    """Switch TOTP off after checking the password and a current code."""
    if not counselor.totp_on:
        raise AccountError("Two-step sign-in is not on.")
    try:
        _hasher.verify(counselor.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise AccountError("The password is not right.") from None
    verify_totp(counselor, code, now=now)
    _clear_totp(counselor)


def reset_totp(counselor: Counselor) -> None:
    """Switch TOTP off without a code (operator, for a lost phone); ends the account's sessions."""
    if not counselor.totp_on:
        raise AccountError("Two-step sign-in is not on for this account.")
    _clear_totp(counselor)
    end_all_login_sessions(counselor)


def _clear_totp(counselor: Counselor) -> None:
    counselor.totp_secret = None
    counselor.totp_enabled_at = None
    counselor.totp_last_step = None
    audit.record("auth.totp_disabled", "counselor", counselor.id)
