"""The services the suite runs against, and what each pytest-xdist worker gets of its own.

SQLite and in-process services by default. ``COUNSELOR_TEST_DATABASE_URL`` names a PostgreSQL
database and ``COUNSELOR_TEST_REDIS_URL`` a Redis database (``.ci/run`` sets both);
``COUNSELOR_REQUIRE_SERVICES=1`` turns a missing service into a failure instead of a skip.

Under pytest-xdist (``-n 2``) every worker runs whole tests at the same time as the others, so
nothing one test writes may be seen by a test of another worker: worker ``gwN`` gets the
PostgreSQL database ``<db>_gwN`` (created by the ``database_url`` fixture), the Redis database
``<n> + N`` (modulo 16), Celery queues of its own, and TCP ports from a range of its own.
Without xdist (``-n 0``) everything is as configured.
"""

from __future__ import annotations

import os
import random
import socket

import pytest
from sqlalchemy.engine import make_url

#: "gw0", "gw1", ... in an xdist worker; "" when pytest runs alone
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_NUMBER = int(WORKER[2:]) if WORKER.startswith("gw") else 0

#: the PostgreSQL database as configured; the workers' own databases are created from it
CONFIGURED_PG_URL = os.environ.get("COUNSELOR_TEST_DATABASE_URL", "").strip()
CONFIGURED_REDIS_URL = os.environ.get("COUNSELOR_TEST_REDIS_URL", "").strip()
REQUIRE_SERVICES = os.environ.get("COUNSELOR_REQUIRE_SERVICES") == "1"
#: how many databases a Redis server has unless configured otherwise
REDIS_DATABASES = 16


def worker_pg_url(url: str, worker: str = WORKER) -> str:
    """This worker's PostgreSQL database: ``<db>_gwN``, or ``url`` itself without xdist."""
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


def worker_redis_url(url: str, number: int = WORKER_NUMBER) -> str:
    """This worker's Redis database: the configured number plus the worker's (modulo 16)."""
    if not url or not WORKER:
        return url
    head, _, tail = url.rpartition("/")
    base = int(tail) if tail.isdigit() else 0
    if not tail.isdigit():
        head = url.rstrip("/")
    return f"{head}/{(base + number) % REDIS_DATABASES}"


#: what the tests use: the worker's own database (libpq form: pg_dump reads it too)
PG_URL = worker_pg_url(CONFIGURED_PG_URL)
REDIS_URL = worker_redis_url(CONFIGURED_REDIS_URL)
#: the Celery queue this worker's processes publish to and consume
CELERY_QUEUE = f"counselor-test-{WORKER or 'main'}"


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


def libpq_url(url: str) -> str:
    """The URL as libpq tools (pg_dump) read it: without SQLAlchemy's driver name."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def ensure_pg_database(url: str, configured: str = CONFIGURED_PG_URL) -> None:
    """Create the database of ``url`` unless it exists, connecting to the configured one."""
    from sqlalchemy import create_engine, text

    name = make_url(url).database
    if name == make_url(configured).database:
        return
    admin = create_engine(sqlalchemy_url(configured), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


#: ports handed out by free_port come from this worker's own block, so that a port one
#: worker found free (and left closed on purpose, "the SMTP server is down") is never the
#: port another worker's server binds
_PORT_BLOCK = 2000
_PORT_BASE = 20000 + WORKER_NUMBER * _PORT_BLOCK


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, from this worker's block."""
    candidates = list(range(_PORT_BASE, _PORT_BASE + _PORT_BLOCK))
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_PORT_BASE}..{_PORT_BASE + _PORT_BLOCK}")
