"""Counselor accounts and signed-in test browsers."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pytest

from counselor.extensions import db

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    """A created account and the password to sign in with."""

    id: object
    email: str
    password: str
    name: str


@functools.cache
def _hash_once(password: str) -> str:
    from counselor.auth.services import hash_password

    return hash_password(password)


def make_account(email: str, name: str, *, admin: bool = False) -> Account:
    """Create an account through the service, committed.

    The argon2 hash of the shared test password is computed once per run (it costs about
    0.1 s); signing in through the form still verifies it for real.
    """
    from counselor.auth import services

    hashed = _hash_once(PASSWORD)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(services, "hash_password", lambda password: hashed)
        c = services.create_counselor(email, name, PASSWORD, admin=admin)
    db.session.commit()
    return Account(c.id, c.email, PASSWORD, c.name)


def sign_in(client, account: Account, *, form: bool = True):
    """Sign ``client`` in as ``account``.

    ``form=True`` (the default) posts the login form and asserts it worked; returns the
    response. ``form=False`` starts the login session through the service, as the form does
    after the password check, and puts it in the browser's cookie: for tests that check what a
    signed-in browser reaches, not the form (one Argon2 check per request would cost more than
    the test's own requests).
    """
    if form:
        response = client.post(
            "/login", data={"email": account.email, "password": account.password}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response
    from counselor.auth.models import Counselor
    from counselor.auth.services import start_login_session

    login_session = start_login_session(db.session.get(Counselor, account.id))
    db.session.commit()
    with client.session_transaction() as cookie_session:
        cookie_session.clear()
        cookie_session["_user_id"] = login_session.token
        cookie_session["_fresh"] = True
    return None


def signed_in_client(app, account: Account, *, form: bool = True):
    """A new browser of ``app`` signed in as ``account`` (see ``sign_in``)."""
    client = app.test_client()
    sign_in(client, account, form=form)
    return client


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert m, "no CSRF token on page"
    return m.group(1)
