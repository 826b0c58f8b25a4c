"""The counselor pages' CSRF token (``core.forms.csrf_token``, the template's ``csrf_token()``):
Flask-WTF's token byte for byte, its payload made once per raw token."""

from __future__ import annotations

import zlib

import pytest
from flask import g, session
from flask_wtf.csrf import generate_csrf
from itsdangerous.timed import TimestampSigner

from counselor.core.forms import csrf_token
from tests.support import make_account
from tests.test_auth import csrf_login, csrf_token_from


@pytest.fixture
def compressions(monkeypatch) -> list[bytes]:
    """What itsdangerous compresses from here on (it tries every payload it signs)."""
    seen: list[bytes] = []
    compress = zlib.compress

    def counted(data, *args, **kwargs):
        seen.append(data)
        return compress(data, *args, **kwargs)

    monkeypatch.setattr(zlib, "compress", counted)
    return seen


def test_the_token_is_flask_wtfs_byte_for_byte(app, monkeypatch):
    stamp = TimestampSigner.get_timestamp(None)  # one second for both signings
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: stamp)
    for raw in ("0" * 40, "f3" * 20, "a raw token of another shape"):
        with app.test_request_context():
            session["csrf_token"] = raw
            ours = csrf_token()
            assert csrf_token() == ours  # kept for the request, as Flask-WTF keeps it
            del g.csrf_token
            assert generate_csrf() == ours
            del g.csrf_token  # ``app``'s context, and its ``g``, outlive the request's


def test_a_session_without_a_raw_token_gets_one_from_flask_wtf(app):
    with app.test_request_context():
        token = csrf_token()
        assert isinstance(session["csrf_token"], str) and token == g.csrf_token


def test_a_page_signs_the_raw_token_without_compressing_it_again(make_app, compressions):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        account = make_account("a@example.org", "Counselor A")
        client = app.test_client()
        csrf_login(client, account)
        # the first page after signing in makes the new session's raw token (Flask-WTF), the
        # second signs it, making its payload once
        for _ in range(2):
            client.get("/cases")
        compressions.clear()
        page = client.get("/cases").get_data(as_text=True)
        token = csrf_token_from(page)
        assert not any(b'"' in data for data in compressions), compressions
        # the page's token signs the sign-out form
        assert client.post("/logout", data={"csrf_token": token}).status_code == 302
