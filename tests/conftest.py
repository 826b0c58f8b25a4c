"""Fixtures: app, client, runner, counselors, signed-in clients; a clean database per test.

Only fixtures live here; the helpers tests call are in ``tests.support``.

The suite runs on SQLite by default. With COUNSELOR_TEST_DATABASE_URL set (``.ci/run`` does)
it runs on that PostgreSQL (each pytest-xdist worker on a database of its own, see
``tests.support.services``); with COUNSELOR_REQUIRE_SERVICES=1 an unreachable service fails
the run instead of skipping the tests that need it.
"""

from __future__ import annotations

import sqlite3

import jinja2
import pytest
from flask import current_app, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from counselor import create_app
from counselor.config import new_encryption_key
from counselor.extensions import db, limiter
from tests.support.accounts import Account, make_account, signed_in_client
from tests.support.services import (
    CELERY_QUEUE,
    PG_URL,
    REQUIRE_SERVICES,
    ensure_pg_database,
    sqlalchemy_url,
)
from tests.support.workers import Celery, broker_for_test


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(dbapi_connection, connection_record) -> None:
    """Test databases need no durability: without an fsync per commit SQLite runs the suite
    several times faster. Written data still reaches the file (the canary test reads it)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """The test database: PostgreSQL when configured, else a SQLite file for this run.

    Under pytest-xdist each worker's PostgreSQL database (``<db>_gwN``) is created here.
    """
    if PG_URL:
        try:
            ensure_pg_database(PG_URL)
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
        # tasks published by the tests go to this xdist worker's queue (see tests.support.workers)
        "CELERY": {"task_default_queue": CELERY_QUEUE},
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


class UncommittedChanges(AssertionError):
    """A test made a request while its own session held changes it had not committed."""


@event.listens_for(Session, "after_flush")
def _remember_flush(session, flush_context) -> None:
    session.info["flushed"] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_flush(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("flushed", None)


class IsolatedClient(FlaskClient):
    """A test browser whose every request runs in its own app context, as in production.

    The ``app`` fixture keeps an app context pushed for the whole test, and Flask reuses an
    active app context for a request of the same app. Without this class ``g`` (Flask-Login's
    cached user, the CSP nonce) and the database session would carry over from one request to
    the next, even from one browser to another: an anonymous browser would be "signed in" as
    whoever signed in last.

    The test's own session is never committed here: a test commits what it set up itself
    (the helpers of ``tests.support`` do), and a request made while the test's session holds
    uncommitted changes fails with ``UncommittedChanges`` instead of silently seeing or not
    seeing them. Before each request the test's (read-only) transaction ends, so that it holds
    no lock the request waits for and the test re-reads what the request changed.
    """

    def run_wsgi_app(self, environ, buffered=False):
        if self.preserve_context:  # ``with client:`` keeps Flask's documented behaviour
            return super().run_wsgi_app(environ, buffered)
        if has_app_context() and current_app._get_current_object() is self.application:
            session = db.session()
            if session.new or session.dirty or session.deleted or session.info.get("flushed"):
                raise UncommittedChanges(
                    "the test's session has uncommitted changes; commit them "
                    "(db.session.commit()) before the request"
                )
            # ends the read transaction and expires the test's objects: their next use
            # reads what the request changed
            session.rollback()
        with self.application.app_context():
            return super().run_wsgi_app(environ, buffered)


class _TemplateCodeCache(jinja2.BytecodeCache):
    """Compiled templates kept in memory for the whole run: every test makes an app of its
    own, and without this each would compile every template it renders anew."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATE_CODE = _TemplateCodeCache()


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
        app.jinja_env.bytecode_cache = _TEMPLATE_CODE
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


@pytest.fixture
def counselor_a(app) -> Account:
    return make_account("a@example.org", "Counselor A")


@pytest.fixture
def counselor_b(app) -> Account:
    return make_account("b@example.org", "Counselor B")


@pytest.fixture
def admin(app) -> Account:
    return make_account("admin@example.org", "Practice Admin", admin=True)


@pytest.fixture
def client_a(app, counselor_a):
    """A browser signed in as counselor A."""
    return signed_in_client(app, counselor_a)


@pytest.fixture
def client_b(app, counselor_b):
    """A browser signed in as counselor B."""
    return signed_in_client(app, counselor_b)


@pytest.fixture
def client_admin(app, admin):
    """A browser signed in as the practice admin."""
    return signed_in_client(app, admin)


@pytest.fixture
def celery_env(base_config, tmp_path):
    """Real Celery worker and beat processes for one test (started by the test with
    ``celery_env.start``), on a broker of the test's own; always stopped afterwards."""
    harness = Celery(base_config, broker_for_test(tmp_path), tmp_path)
    try:
        yield harness
    finally:
        harness.stop()
