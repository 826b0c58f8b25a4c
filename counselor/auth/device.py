"""The device cookie: a browser that signed in to an account before keeps its own login limit.

Anyone who knows an email could otherwise lock its owner out by failing five times every ten
minutes. Following OWASP's device-cookie scheme, a browser that completed a sign-in gets a
signed, HttpOnly, long-lived cookie bound to that account; its attempts at that account count
against the device, not the account, so a stranger's failures do not stop the owner. The
per-address limit still applies to everyone.
"""

from __future__ import annotations

import hashlib
import secrets

from counselor.core.cookies import SignedCookie

COOKIE = "counselor_device"
#: a device stays known this long after its last sign-in
MAX_AGE_SECONDS = 180 * 24 * 3600
SIGNED = SignedCookie(COOKIE, "counselor.device", MAX_AGE_SECONDS, max_length=512)


def _account(email: str) -> str:
    # The cookie names the account without carrying the address in readable form.
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def remember(response, email: str) -> None:
    """Mark this browser as known for the account with ``email`` (normalised)."""
    SIGNED.set(response, {"a": _account(email), "d": secrets.token_urlsafe(16)})


def known_device(email: str) -> str | None:
    """The id of this browser's device cookie if it is genuine and bound to ``email``."""
    data = SIGNED.read("d") if email else None
    if data is None:
        return None
    return data["d"] if data.get("a") == _account(email) else None
