"""The counselor's session cookie, opened once per text (core.cookies.SessionCookieInterface):
every cookie opens to what Flask's own interface opens it to, on every request."""

from __future__ import annotations

import secrets
import time

import pytest
from flask.sessions import SecureCookieSessionInterface

from counselor.core import cookies

FLASK = SecureCookieSessionInterface()


def _signed(app, data: dict) -> str:
    return app.session_interface.get_signing_serializer(app).dumps(data)


def _opened(app, raw: str | None):
    headers = {"Cookie": f"counselor_session={raw}"} if raw is not None else {}
    with app.test_request_context("/", headers=headers) as ctx:
        mine = app.session_interface.open_session(app, ctx.request)
        flask = FLASK.open_session(app, ctx.request)
    return mine, flask


@pytest.mark.parametrize(
    "data",
    [
        {"_user_id": "abc", "_fresh": True, "_id": "x" * 128, "csrf_token": "t", "n": 1.5},
        {"_flashes": [("info", "Saved.")], "_user_id": "abc"},
        {"when": b"bytes", "nested": {"a": [1, 2]}},
        {},
    ],
)
def test_a_cookie_opens_to_what_flask_opens_it_to_every_time(app, data):
    raw = _signed(app, data)
    for _ in range(3):
        mine, flask = _opened(app, raw)
        assert dict(mine) == dict(flask) == data
        assert type(mine) is type(flask)
        assert not mine.modified and not mine.accessed


def test_a_change_to_an_opened_session_never_reaches_the_next_request(app):
    raw = _signed(app, {"_flashes": [("info", "Saved.")], "_user_id": "abc"})
    first, _ = _opened(app, raw)
    first["_flashes"].append(("info", "Again."))
    first["_user_id"] = "other"
    again, _ = _opened(app, raw)
    assert dict(again) == {"_flashes": [("info", "Saved.")], "_user_id": "abc"}
    plain = _signed(app, {"_user_id": "abc", "_fresh": True})
    first, _ = _opened(app, plain)
    first["_user_id"] = "other"
    del first["_fresh"]
    again, _ = _opened(app, plain)
    assert dict(again) == {"_user_id": "abc", "_fresh": True}


def test_no_cookie_a_forged_one_or_one_of_another_key_opens_empty(app):
    raw = _signed(app, {"_user_id": "abc"})
    forged = raw[:-2] + ("AA" if not raw.endswith("AA") else "BB")
    for value in (None, "", forged, "garbage", raw.replace(".", "", 1)):
        mine, flask = _opened(app, value)
        assert dict(mine) == dict(flask) == {}
    _opened(app, raw)  # remembered under the old key
    app.secret_key = app.config["SECRET_KEY"] = "another key entirely, long enough" * 2
    mine, flask = _opened(app, raw)
    assert dict(mine) == dict(flask) == {}


def test_a_fallback_key_still_opens_a_cookie_it_signed(app):
    old = app.secret_key
    raw = _signed(app, {"_user_id": "abc"})
    app.secret_key = app.config["SECRET_KEY"] = "the new key of the practice, long enough" * 2
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    mine, flask = _opened(app, raw)
    assert dict(mine) == dict(flask) == {"_user_id": "abc"}


def test_a_remembered_cookie_past_the_lifetime_opens_empty(app, monkeypatch):
    raw = _signed(app, {"_user_id": "abc"})
    assert dict(_opened(app, raw)[0]) == {"_user_id": "abc"}  # now remembered
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    now = time.time()
    later = now + lifetime + 2
    monkeypatch.setattr(cookies.time, "time", lambda: later)
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    mine, flask = _opened(app, raw)
    assert dict(mine) == dict(flask) == {}
    earlier = now - 120  # signed "in the future": a clock set back
    monkeypatch.setattr(cookies.time, "time", lambda: earlier)
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: earlier)
    mine, flask = _opened(app, raw)
    assert dict(mine) == dict(flask) == {}


def test_a_long_cookie_is_opened_as_flask_opens_it(app):
    raw = _signed(app, {"_user_id": "abc", "pad": secrets.token_hex(3000)})
    assert len(raw) > cookies._SESSION_REMEMBERED_LENGTH
    before = cookies._session_opened.cache_info().currsize
    mine, flask = _opened(app, raw)
    assert dict(mine) == dict(flask)
    assert cookies._session_opened.cache_info().currsize == before
