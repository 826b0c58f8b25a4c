"""The app's own signed cookies (the portal session's, the device's) are opened once per exact
text and remembered (``core.cookies._opened``): what is remembered never lets through a value
that would be refused without it: a tampered or foreign value, one signed with another key or
salt, one past its age."""

from __future__ import annotations

import secrets
import time

import pytest

from counselor.auth import device
from counselor.core import cookies
from counselor.portal import session as portal_session

PORTAL = portal_session.SIGNED


def _read(app, cookie: cookies.SignedCookie, value: str) -> dict | None:
    with app.test_request_context(headers={"Cookie": f"{cookie.name}={value}"}):
        return cookie.read("s")


def _signed(app, cookie: cookies.SignedCookie, payload: dict) -> str:
    with app.test_request_context():
        return cookie.serializer().dumps(payload)


@pytest.fixture(autouse=True)
def _forget():
    cookies._opened.cache_clear()
    yield
    cookies._opened.cache_clear()


def test_a_tampered_copy_of_a_remembered_cookie_is_refused(app):
    genuine = _signed(app, PORTAL, {"s": "session-id"})
    assert _read(app, PORTAL, genuine) == {"s": "session-id"}
    assert cookies._opened.cache_info().currsize == 1  # remembered
    for i in (5, len(genuine) // 2, len(genuine) - 3):
        tampered = genuine[:i] + ("A" if genuine[i] != "A" else "B") + genuine[i + 1 :]
        assert _read(app, PORTAL, tampered) is None
    assert _read(app, PORTAL, genuine + "x") is None
    assert cookies._opened.cache_info().currsize == 1  # nothing refused is remembered
    assert _read(app, PORTAL, genuine) == {"s": "session-id"}


def test_a_remembered_cookie_is_refused_under_another_key_or_salt(app):
    genuine = _signed(app, PORTAL, {"s": "session-id"})
    assert _read(app, PORTAL, genuine) == {"s": "session-id"}
    # the device cookie's salt: the same text is not a device cookie
    assert _read(app, device.SIGNED, genuine) is None
    app.config["SECRET_KEY"] = "another key entirely"
    assert _read(app, PORTAL, genuine) is None


def test_a_remembered_cookie_past_its_age_or_from_the_future_is_refused(app, monkeypatch):
    genuine = _signed(app, PORTAL, {"s": "session-id"})
    assert _read(app, PORTAL, genuine) == {"s": "session-id"}
    now = time.time()
    monkeypatch.setattr(cookies.time, "time", lambda: now + PORTAL.max_age_seconds - 5)
    assert _read(app, PORTAL, genuine) == {"s": "session-id"}
    monkeypatch.setattr(cookies.time, "time", lambda: now + PORTAL.max_age_seconds + 2)
    assert _read(app, PORTAL, genuine) is None
    monkeypatch.setattr(cookies.time, "time", lambda: now - 120)  # a clock set back
    assert _read(app, PORTAL, genuine) is None


def test_what_is_remembered_is_bounded_and_a_long_value_is_not_opened(app):
    assert cookies._opened.cache_info().maxsize == 1024
    long = _signed(app, PORTAL, {"s": secrets.token_urlsafe(PORTAL.max_length)})  # incompressible
    assert _read(app, PORTAL, long) is None
    assert cookies._opened.cache_info().currsize == 0
    value = _signed(app, PORTAL, {"s": "session-id", "other": 1})
    opened = _read(app, PORTAL, value)
    opened["s"] = "changed by a request"  # each request gets its own copy
    assert _read(app, PORTAL, value) == {"s": "session-id", "other": 1}


def test_the_short_check_opens_what_the_serializer_opens_and_nothing_else(app):
    # ``_checked`` (a value first seen) gives the serializer's own data and signing time for
    # its values, and declines anything else, leaving the serializer's ``loads`` to refuse it
    key, salt = app.config["SECRET_KEY"], PORTAL.salt
    value = _signed(app, PORTAL, {"s": secrets.token_urlsafe(32)})
    data, signed_at = cookies._serializer(key, salt).loads(value, return_timestamp=True)
    assert cookies._checked(key, salt, value) == (data, int(signed_at.timestamp()))
    body, _, signature = value.rpartition(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in (f"{body}.{flipped}", f"{body}x.{signature}", body, "", "."):
        assert cookies._checked(key, salt, bad) is None
    assert cookies._checked(key, "another.salt", value) is None
    assert cookies._checked(key + "x", salt, value) is None
