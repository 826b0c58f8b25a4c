"""Signed cookies of the app's own (the device cookie, the portal session): HttpOnly,
SameSite=Lax, Secure as configured, holding a small dict signed with the app's key and a salt
of their own, so that one cookie's value is never accepted as another's."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask import current_app, request
from flask.sessions import SecureCookieSessionInterface
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
        return _serializer(current_app.config["SECRET_KEY"], self.salt)

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


# A serializer holds nothing of a request: one per key and salt serves every request (making
# one encodes a probe document to learn its kind, on every portal request before).
@lru_cache(maxsize=16)
def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


class SessionCookieInterface(SecureCookieSessionInterface):
    """Flask's signed session cookie, unchanged, with its serializer made once per key rather
    than twice per request (opening and saving the session)."""

    #: (the keys it was made with, the serializer): one value, so a thread sees both or neither
    _made: tuple = ((), None)

    def get_signing_serializer(self, app) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        made_for, serializer = self._made
        if made_for != keys:
            serializer = super().get_signing_serializer(app)
            self._made = (keys, serializer)
        return serializer
