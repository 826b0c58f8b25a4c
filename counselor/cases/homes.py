"""Partner homes: the standing home link, mail sign-in links, mail opt-out. Routes commit.

A home is one partner of one case. Its standing link is shown once to the counselor (only
its SHA-256 is kept, like every personal link); mails never carry it, each mail carries a
fresh sign-in link instead, short-lived and good for starting one session.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from counselor.cases.models import Partner, PartnerHome, SignInLink
from counselor.core import audit
from counselor.core.models import aware, utcnow
from counselor.core.tokens import new_token, token_hash
from counselor.extensions import db

#: 32 random bytes = 256 bits in every home and sign-in link
TOKEN_BYTES = 32
#: a session's home_generation starts with this when the home link opened it ...
FROM_HOME = "h"
#: ... and with this when a mail's sign-in link did
FROM_MAIL = "m"


def home_of(partner: Partner) -> PartnerHome:
    """The partner's home row, made on first use (flushed)."""
    home = db.session.get(PartnerHome, partner.id)
    if home is None:
        home = PartnerHome(partner_id=partner.id, case_id=partner.case_id, pin_failures=0)
        db.session.add(home)
        db.session.flush()
    return home


def generation(home: PartnerHome, source: str) -> str:
    """What a session remembers of the home link that stood when it started (16 chars)."""
    return (source + (home.token_hash or "-"))[:16]


def home_link_state(home: PartnerHome | None, now: datetime | None = None) -> str:
    """none, active, expired or revoked (for the counselor's card)."""
    if home is None or home.token_hash is None:
        return "none"
    if home.revoked_at is not None:
        return "revoked"
    if aware(home.expires_at) <= (now or utcnow()):
        return "expired"
    return "active"


def issue_home_link(partner: Partner) -> str:
    """A new standing home link for the partner; returns the raw token (shown once).

    Any older home link stops working at once, and so do the sessions it opened. Like a
    reissued personal link, the home starts without a PIN (a forgotten PIN is the usual
    reason to ask for a new link).
    """
    home = home_of(partner)
    reissue = home.token_hash is not None
    token, digest = new_token(TOKEN_BYTES)
    now = utcnow()
    home.token_hash = digest
    home.issued_at = now
    home.expires_at = now + timedelta(days=current_app.config["COUNSELOR_HOME_LINK_TTL_DAYS"])
    home.revoked_at = None
    if reissue:
        home.pin_hash = None
        home.pin_failures = 0
        home.pin_blocked_until = None
    db.session.flush()
    audit.record("home.reissue" if reissue else "home.issue", "partner", partner.id)
    return token


def revoke_home_link(partner: Partner) -> bool:
    """Stop the partner's home link and unused sign-in links working; False if none worked."""
    home = home_of(partner)
    if home_link_state(home) != "active":
        return False
    now = utcnow()
    home.revoked_at = now
    db.session.execute(
        update(SignInLink)
        .where(SignInLink.partner_id == partner.id, SignInLink.used_at.is_(None))
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    audit.record("home.revoke", "partner", partner.id)
    return True


def home_for_token(token: str) -> PartnerHome | None:
    """The home of a working home link token; None for unknown, expired and revoked alike."""
    if not token or len(token) > 128:
        return None
    home = db.session.scalar(select(PartnerHome).where(PartnerHome.token_hash == token_hash(token)))
    return home if home_link_state(home) == "active" else None


def mint_sign_in(partner_id: uuid.UUID, now: datetime | None = None) -> str:
    """A fresh sign-in link token for one mail (flushed; only its hash is kept)."""
    token, digest = new_token(TOKEN_BYTES)
    now = now or utcnow()
    db.session.add(
        SignInLink(
            partner_id=partner_id,
            token_hash=digest,
            created_at=now,
            expires_at=now + timedelta(days=current_app.config["COUNSELOR_SIGN_IN_TTL_DAYS"]),
        )
    )
    db.session.flush()
    return token


def sign_in_for_token(token: str) -> SignInLink | None:
    """A sign-in link that may still start a session; None when unknown, used or expired."""
    if not token or len(token) > 128:
        return None
    link = db.session.scalar(select(SignInLink).where(SignInLink.token_hash == token_hash(token)))
    if link is None or link.used_at is not None or aware(link.expires_at) <= utcnow():
        return None
    return link


def use_sign_in(link: SignInLink) -> bool:
    """Spend a sign-in link with one conditional UPDATE: of two clicks at once, one wins."""
    now = utcnow()
    result = db.session.execute(
        update(SignInLink)
        .where(SignInLink.id == link.id, SignInLink.used_at.is_(None), SignInLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


# ---- mail opt-out -----------------------------------------------------------------------


def _opt_out_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="counselor.mail-opt-out")


def opt_out_token(partner_id: uuid.UUID) -> str:
    """The signed token of a partner's opt-out link (no expiry: it must always work)."""
    return _opt_out_serializer().dumps(str(partner_id))


def partner_for_opt_out(token: str) -> Partner | None:
    """The partner an opt-out token names, or None for anything forged or unknown."""
    if not token or len(token) > 200:
        return None
    try:
        value = _opt_out_serializer().loads(token)
        partner_id = uuid.UUID(value)
    except (BadSignature, ValueError, TypeError, AttributeError):
        return None
    return db.session.get(Partner, partner_id)


def opt_out(partner: Partner) -> None:
    """No more mail to this partner, from now on (mails still waiting are dropped at send)."""
    home = home_of(partner)
    if home.mail_opted_out_at is None:
        home.mail_opted_out_at = utcnow()
    audit.by_partner(partner.id, "mail.opt_out")


def mail_allowed(partner: Partner | None) -> bool:
    """The partner has an address and has not opted out."""
    if partner is None or not partner.email:
        return False
    home = db.session.get(PartnerHome, partner.id)
    return home is None or home.mail_opted_out_at is None
