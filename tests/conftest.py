"""Fixtures: app, client, runner, counselors, logged-in clients; a clean database per test.

The suite runs on SQLite by default. With COUNSELOR_TEST_DATABASE_URL set (``.ci/run`` does)
it runs on that PostgreSQL; with COUNSELOR_REQUIRE_SERVICES=1 an unreachable service fails
the run instead of skipping the tests that need it.
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
from dataclasses import dataclass

import pytest
from flask import current_app, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from counselor import create_app
from counselor.config import new_encryption_key
from counselor.extensions import db, limiter

PG_URL = os.environ.get("COUNSELOR_TEST_DATABASE_URL", "").strip()
REDIS_URL = os.environ.get("COUNSELOR_TEST_REDIS_URL", "").strip()
REQUIRE_SERVICES = os.environ.get("COUNSELOR_REQUIRE_SERVICES") == "1"
PASSWORD = "correct horse battery staple"


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(dbapi_connection, connection_record) -> None:
    """Test databases need no durability: without an fsync per commit SQLite runs the suite
    several times faster. Written data still reaches the file (the canary test reads it)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


def service_unavailable(what: str) -> None:
    """Skip a test that needs a missing service, or fail when CI requires services."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (COUNSELOR_REQUIRE_SERVICES=1) but not reachable")
    pytest.skip(f"{what} not available")


def sqlalchemy_url(url: str) -> str:
    """The driver-qualified URL create_app would use."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """The test database: PostgreSQL when configured, else a SQLite file for this run."""
    if PG_URL:
        try:
            engine = create_engine(sqlalchemy_url(PG_URL))
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
        except Exception as exc:  # noqa: BLE001
            if REQUIRE_SERVICES:
                pytest.exit(f"PostgreSQL at COUNSELOR_TEST_DATABASE_URL unreachable: {exc}", 3)
            return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return sqlalchemy_url(PG_URL)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def base_config(database_url, tmp_path_factory) -> dict:
    """Settings shared by every test app."""
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "COUNSELOR_ENCRYPTION_KEYS": new_encryption_key(),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": "counselor.test",
        "COUNSELOR_BASE_URL": "http://counselor.test",
    }


@pytest.fixture(scope="session")
def _schema(base_config):
    """Create the schema once per run (dropping leftovers of an earlier run)."""
    app = create_app(dict(base_config))
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
        db.engine.dispose()
    yield


def _wipe() -> None:
    """Delete every row, children first: a fresh database for the next test."""
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


class IsolatedClient(FlaskClient):
    """A test browser whose every request runs in its own app context, as in production.

    The ``app`` fixture keeps an app context pushed for the whole test, and Flask reuses an
    active app context for a request of the same app. Without this class ``g`` (Flask-Login's
    cached user, the CSP nonce) and the database session would carry over from one request to
    the next, even from one browser to another: an anonymous browser would be "signed in" as
    whoever signed in last. Before each request the test's own session is committed, so what
    the test set up is visible to the request and what the request changed is re-read after.
    """

    def run_wsgi_app(self, environ, buffered=False):
        if self.preserve_context:  # ``with client:`` keeps Flask's documented behaviour
            return super().run_wsgi_app(environ, buffered)
        if has_app_context() and current_app._get_current_object() is self.application:
            if db.session.is_active:
                db.session.commit()
            else:
                db.session.rollback()
            # The app keeps objects loaded across a commit; the test wants to see what the
            # request changed, so its objects are read again on their next use.
            db.session.expire_all()
        with self.application.app_context():
            return super().run_wsgi_app(environ, buffered)


@pytest.fixture
def make_app(base_config, _schema):
    """Factory for apps with extra config; every app made is cleaned up after the test.

    Only apps on the suite's database are wiped; a test that points an app at a scratch
    database of its own removes that database itself.
    """
    made = []

    def factory(**overrides):
        app = create_app({**base_config, **overrides})
        app.test_client_class = IsolatedClient
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            try:
                if app.config["SQLALCHEMY_DATABASE_URI"] == base_config["SQLALCHEMY_DATABASE_URI"]:
                    _wipe()
            finally:
                db.engine.dispose()
    limiter.reset()


@pytest.fixture
def app(make_app):
    """The application with a clean database."""
    application = make_app()
    with application.app_context():
        yield application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


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
    0.1 s); signing in still verifies it for real.
    """
    from counselor.auth import services

    hashed = _hash_once(PASSWORD)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(services, "hash_password", lambda password: hashed)
        c = services.create_counselor(email, name, PASSWORD, admin=admin)
    db.session.commit()
    return Account(c.id, c.email, PASSWORD, c.name)


@pytest.fixture
def counselor_a(app) -> Account:
    return make_account("a@example.org", "Counselor A")


@pytest.fixture
def counselor_b(app) -> Account:
    return make_account("b@example.org", "Counselor B")


@pytest.fixture
def admin(app) -> Account:
    return make_account("admin@example.org", "Practice Admin", admin=True)


def login(client, account: Account):
    """Sign in through the login form; asserts it worked."""
    response = client.post("/login", data={"email": account.email, "password": account.password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def client_a(app, counselor_a):
    """A browser signed in as counselor A."""
    c = app.test_client()
    login(c, counselor_a)
    return c


@pytest.fixture
def client_b(app, counselor_b):
    """A browser signed in as counselor B."""
    c = app.test_client()
    login(c, counselor_b)
    return c


@pytest.fixture
def client_admin(app, admin):
    """A browser signed in as the practice admin."""
    c = app.test_client()
    login(c, admin)
    return c


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert m, "no CSRF token on page"
    return m.group(1)


def new_case(account: Account, label: str = "Sam & Alex", names=("Sam Rivera", "Alex Novak")):
    """A case owned by ``account`` with the given partner names, committed."""
    from counselor.auth.models import Counselor
    from counselor.cases.services import create_case

    owner = db.session.get(Counselor, account.id)
    case = create_case(owner, label, [{"display_name": n} for n in names])
    db.session.commit()
    return case
