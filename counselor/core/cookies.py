"""Signed cookies of the app's own (the device cookie, the portal session): HttpOnly,
SameSite=Lax, Secure as configured, holding a small dict signed with the app's key and a salt
of their own, so that one cookie's value is never accepted as another's."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer


@dataclass(frozen=True)
class SignedCookie:
    """One signed cookie: its name, its salt, how long it is honoured and where it is sent."""

    name: str
    salt: str
    max_age_seconds: int
    path: str = "/"
    #: a longer value is refused unread (no cookie of ours comes near it)
    max_length: int = 1024

    def serializer(self) -> URLSafeTimedSerializer:
        """What signs and checks the cookie's value."""
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=self.salt)

    def set(self, response, payload: dict) -> None:
        """Set the cookie, signed, on ``response``."""
        response.set_cookie(
            self.name,
            self.serializer().dumps(payload),
            max_age=self.max_age_seconds,
            path=self.path,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )

    def read(self, key: str) -> dict | None:
        """The request's cookie as a dict whose ``key`` is a string, or None unless it is
        there, not too long, signed by us with this cookie's salt and not past its age."""
        raw = request.cookies.get(self.name)
        if not raw or len(raw) > self.max_length:
            return None
        try:
            data = self.serializer().loads(raw, max_age=self.max_age_seconds)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get(key), str):
            return None
        return data
