"""The migrations build exactly the schema the models describe (on SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from counselor.extensions import db
from tests.support import PG_URL, service_unavailable, sqlalchemy_url


@pytest.fixture
def scratch_database_url(database_url, tmp_path):
    """An empty database for this test only: a new SQLite file, or on PostgreSQL a
    database created here and dropped afterwards."""
    if make_url(database_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    name = f"counselor_migrations_test_{os.getpid()}"
    try:
        admin = create_engine(sqlalchemy_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        service_unavailable(f"a scratch PostgreSQL database ({exc})")
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def keep_logging():
    """Alembic's env.py reconfigures logging from alembic.ini; put it back afterwards."""
    manager = logging.root.manager
    disabled = {
        name: lg.disabled
        for name, lg in manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }
    root = (logging.root.level, list(logging.root.handlers))
    yield
    for name, lg in manager.loggerDict.items():
        if isinstance(lg, logging.Logger):
            lg.disabled = disabled.get(name, False)
    logging.root.setLevel(root[0])
    logging.root.handlers[:] = root[1]


def test_migrated_schema_equals_the_models(scratch_database_url, make_app, keep_logging):
    scratch = make_app(SQLALCHEMY_DATABASE_URI=scratch_database_url)
    with scratch.app_context():
        try:
            result = scratch.test_cli_runner().invoke(args=["db", "upgrade"])
            assert result.exit_code == 0, result.output + repr(result.exception)
            with db.engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
                assert {t.name for t in db.metadata.sorted_tables} <= tables
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                differences = compare_metadata(context, db.metadata)
        finally:
            db.engine.dispose()
    assert differences == [], "migrations and models differ; run `flask db migrate`:\n" + "\n".join(
        map(repr, differences)
    )


def test_migrations_go_down_and_up_again(scratch_database_url, make_app, keep_logging):
    """A release can be rolled back: downgrade to nothing, then upgrade again."""
    scratch = make_app(SQLALCHEMY_DATABASE_URI=scratch_database_url)
    with scratch.app_context():
        try:
            runner = scratch.test_cli_runner()
            for args in (["db", "upgrade"], ["db", "downgrade", "base"], ["db", "upgrade"]):
                result = runner.invoke(args=args)
                assert result.exit_code == 0, f"{args}: {result.output}{result.exception!r}"
            with db.engine.connect() as conn:
                assert {t.name for t in db.metadata.sorted_tables} <= set(
                    inspect(conn).get_table_names()
                )
        finally:
            db.engine.dispose()


def test_0013_moves_pins_to_homes_and_sessions_to_partners(
    scratch_database_url, make_app, keep_logging
):
    """Data made before homes: a PIN set on a per-assignment link guards the partner's home,
    and a portal session opened by that link becomes a session of its partner, on it."""
    from datetime import UTC, datetime

    scratch = make_app(SQLALCHEMY_DATABASE_URI=scratch_database_url)
    with scratch.app_context():
        try:
            runner = scratch.test_cli_runner()
            result = runner.invoke(args=["db", "upgrade", "0011"])
            assert result.exit_code == 0, result.output + repr(result.exception)
            ids = {k: uuid.uuid4() for k in ("counselor", "case", "partner", "q", "v", "a", "l")}
            now = datetime(2026, 11, 1, tzinfo=UTC)
            with db.engine.begin() as conn:
                rows = [
                    ("counselor", {"id": ids["counselor"]}),
                    ("case", {"id": ids["case"], "counselor_id": ids["counselor"]}),
                    ("partner", {"id": ids["partner"], "case_id": ids["case"], "position": 1}),
                    ("questionnaire", {"id": ids["q"], "slug": "old"}),
                    ("questionnaire_version", {"id": ids["v"], "questionnaire_id": ids["q"]}),
                    (
                        "assignment",
                        {"id": ids["a"], "case_id": ids["case"], "version_id": ids["v"]},
                    ),
                    (
                        "link",
                        {
                            "id": ids["l"],
                            "assignment_id": ids["a"],
                            "partner_id": ids["partner"],
                            "pin_hash": "$argon2id$old-pin",
                            "expires_at": now,
                        },
                    ),
                    ("portal_session", {"sid_hash": "s" * 64, "link_id": ids["l"]}),
                ]
                for table, values in rows:
                    _insert_filled(conn, table, values, now)
            result = runner.invoke(args=["db", "upgrade"])
            assert result.exit_code == 0, result.output + repr(result.exception)
            with db.engine.connect() as conn:
                pin = conn.execute(text("SELECT pin_hash, case_id FROM partner_home")).one()
                session = conn.execute(
                    text("SELECT partner_id, link_id, focus_assignment_id FROM portal_session")
                ).one()
            assert pin[0] == "$argon2id$old-pin" and str(pin[1]).replace("-", "") == ids["case"].hex
            assert [str(v).replace("-", "") for v in session] == [
                ids["partner"].hex,
                ids["l"].hex,
                ids["a"].hex,
            ]
        finally:
            db.engine.dispose()


def _insert_filled(conn, table: str, values: dict, now) -> None:
    """Insert a row, filling every other NOT NULL column without a default with a dummy."""
    from sqlalchemy import Boolean, Date, DateTime, Integer, LargeBinary, String, Text, Uuid

    row = dict(values)
    for column in inspect(conn).get_columns(table):
        name, kind = column["name"], column["type"]
        if name in row or column["nullable"] or column.get("default") is not None:
            continue
        if isinstance(kind, Boolean):
            row[name] = False
        elif isinstance(kind, Integer):
            row[name] = 1
        elif isinstance(kind, DateTime):
            row[name] = now
        elif isinstance(kind, Date):
            row[name] = now.date()
        elif isinstance(kind, LargeBinary):
            row[name] = b"x"
        elif isinstance(kind, Uuid):
            row[name] = None
        elif isinstance(kind, String | Text):
            row[name] = "active" if name == "status" else ("counselor" if name == "role" else "x")
        else:
            row[name] = "x"
    for name, value in row.items():  # SQLAlchemy's Uuid type: 32 hex characters on SQLite
        if isinstance(value, uuid.UUID):
            row[name] = value.hex if conn.dialect.name == "sqlite" else str(value)
    names = ", ".join(f'"{n}"' for n in row)
    marks = ", ".join(f":{n}" for n in row)
    statement = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608 - inspector names
    conn.execute(text(statement), row)
