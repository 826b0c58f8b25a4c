"""Signed cookies of the app's own (the device cookie, the portal session): HttpOnly,
SameSite=Lax, Secure as configured, holding a small dict signed with the app's key and a salt
of their own, so that one cookie's value is never accepted as another's."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from functools import lru_cache

from flask import current_app, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode, bytes_to_int


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
        # through the proxies' _get_current_object, as core.crypto.keyring does (read on every
        # portal request)
        raw = request._get_current_object().cookies.get(self.name)
        if not raw or len(raw) > self.max_length:
            return None
        secret_key = current_app._get_current_object().config["SECRET_KEY"]
        try:
            data, signed_at = _opened(secret_key, self.salt, raw)
        except BadSignature:
            return None
        # the age is checked on every request, as the serializer's max_age checks it
        age = int(time.time()) - signed_at
        if age < 0 or age > self.max_age_seconds:
            return None
        if not isinstance(data, dict) or not isinstance(data.get(key), str):
            return None
        return dict(data)  # a copy: the opened value serves the next requests too


# A serializer holds nothing of a request: one per key and salt serves every request (making
# one encodes a probe document to learn its kind, on every portal request before).
@lru_cache(maxsize=16)
def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


# A browser sends the same cookie with every request (an autosave every few seconds):
# checking its signature and decoding it again each time cost more than the portal session's
# read. A value opened once is remembered by its exact text, under the key and salt that
# opened it, so only a value that was genuine once is ever found here (a wrong signature
# raises and is not remembered), and a changed key opens nothing remembered under the old
# one. Whether the session the value names still exists is the caller's check, on every
# request. Sizes are bounded: at most 1,024 values of at most ``max_length`` characters.
@lru_cache(maxsize=1024)
def _opened(secret_key: str, salt: str, raw: str) -> tuple[object, int]:
    opened = _checked(secret_key, salt, raw)
    if opened is not None:
        return opened
    data, signed_at = _serializer(secret_key, salt).loads(raw, return_timestamp=True)
    return data, int(signed_at.timestamp())


# A value first seen (a submit is often a partner's first request of this worker) was opened
# by the serializer's ``loads``: a new signer, its key derived again, the signature and the
# timestamp each through several layers, some 20 functions, about a tenth of a submit's
# portal session. ``_checked`` does the same check in a few calls, with the signer's own
# derived key (made once per key and salt) and the serializer's own ``load_payload``. It only
# ever accepts: a value whose signature is not exactly the one itsdangerous makes (HMAC-SHA1
# of the rest, base64url without padding), or with anything else unusual, goes to ``loads``,
# which accepts or refuses it as it always did. The age is the caller's check, as before.
def _checked(secret_key: str, salt: str, raw: str) -> tuple[object, int] | None:
    key = _signing_key(secret_key, salt)
    if key is None:
        return None
    signed = raw.encode()
    value, _, signature = signed.rpartition(b".")
    if not hmac.compare_digest(base64_encode(hmac.digest(key, value, "sha1")), signature):
        return None
    payload, _, stamp = value.rpartition(b".")
    try:
        signed_at = bytes_to_int(base64_decode(stamp))
        return _serializer(secret_key, salt).load_payload(payload), signed_at
    except Exception:  # noqa: BLE001 - ``loads`` decides (and raises) as it did
        return None


@lru_cache(maxsize=16)
def _signing_key(secret_key: str, salt: str) -> bytes | None:
    """The key the serializer's signer derives for ``salt``, if it signs with HMAC-SHA1 of
    that key as ``_checked`` does (itsdangerous' defaults; else None: ``loads`` does it all)."""
    signer = _serializer(secret_key, salt).make_signer(salt)
    key = signer.derive_key()
    probe = b"counselor.probe"
    if signer.get_signature(probe) != base64_encode(hmac.digest(key, probe, "sha1")):
        return None
    return key


#: a longer session cookie is opened as Flask opens it, without being remembered (browsers
#: keep at most about 4,096 characters a cookie; the counselor's holds a few hundred)
_SESSION_REMEMBERED_LENGTH = 4096


# The counselor's session cookie, opened once per exact text: checking its signature and
# decoding it (itsdangerous derives the key, checks the HMAC, decodes base64 and the tagged
# JSON) cost about 75 µs on every counselor page. As ``_opened``: only a text whose signature
# held once, under the serializer (the keys) that checked it, is remembered; the age is checked
# on every request. A session whose values are all plain strings, numbers, booleans or None
# (a signed-in counselor's: Flask-Login's ids and Flask-WTF's token) is remembered as they
# are, each request getting its own dict of them; any other (a flash message's list, which a
# request may append to) as its text in Flask's tagged JSON, decoded again on every request:
# a request changing its session never changes what the next request opens. At most 1,024
# texts of at most 4,096 characters.
_PLAIN = (str, int, float, bool, type(None))


@lru_cache(maxsize=1024)
def _session_opened(serializer: URLSafeTimedSerializer, raw: str) -> tuple[dict | None, str, int]:
    data, signed_at = serializer.loads(raw, return_timestamp=True)
    plain = isinstance(data, dict) and all(type(v) in _PLAIN for v in data.values())
    text = "" if plain else serializer.serializer.dumps(data)
    return (data if plain else None), text, int(signed_at.timestamp())


class SessionCookieInterface(SecureCookieSessionInterface):
    """Flask's signed session cookie, unchanged, with its serializer made once per key rather
    than twice per request (opening and saving the session), and a cookie's text opened once
    (``_session_opened``)."""

    #: (the keys it was made with, the serializer): one value, so a thread sees both or neither
    _made: tuple = ((), None)

    def get_signing_serializer(self, app) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        made_for, serializer = self._made
        if made_for != keys:
            serializer = super().get_signing_serializer(app)
            self._made = (keys, serializer)
        return serializer

    def open_session(self, app, request):
        """Flask's, the same session for the same cookie: a text whose signature does not
        hold, or older than the session's lifetime (or from the future), opens an empty one."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        raw = request.cookies.get(self.get_cookie_name(app))
        if not raw:
            return self.session_class()
        if len(raw) > _SESSION_REMEMBERED_LENGTH:
            return super().open_session(app, request)
        try:
            plain, text, signed_at = _session_opened(serializer, raw)
        except BadSignature:
            return self.session_class()
        # itsdangerous' check of ``max_age`` (TimestampSigner.unsign), on every request
        age = int(time.time()) - signed_at
        if age < 0 or age > int(app.permanent_session_lifetime.total_seconds()):
            return self.session_class()
        return self.session_class(plain if plain is not None else serializer.serializer.loads(text))
