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

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "counselor_device"
#: a device stays known this long after its last sign-in
MAX_AGE_SECONDS = 180 * 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="counselor.device")


def _account(email: str) -> str:
    # The cookie names the account without carrying the address in readable form.
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def remember(response, email: str) -> None:
    """Mark this browser as known for the account with ``email`` (normalised)."""
    value = _serializer().dumps({"a": _account(email), "d": secrets.token_urlsafe(16)})
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_SECONDS,
        path="/",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


def known_device(email: str) -> str | None:
    """The id of this browser's device cookie if it is genuine and bound to ``email``."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 512 or not email:
        return None
    try:
        data = _serializer().loads(raw, max_age=MAX_AGE_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), str):
        return None
    return data["d"] if data.get("a") == _account(email) else None
