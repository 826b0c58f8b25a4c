"""The migrations build exactly the schema the models describe (on SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from counselor.cases.models import Case
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


@pytest.fixture
def migrated(scratch_database_url, make_app, keep_logging):
    """A CLI runner on a scratch database upgraded to the head, inside its app's context."""
    scratch = make_app(SQLALCHEMY_DATABASE_URI=scratch_database_url)
    with scratch.app_context():
        try:
            runner = scratch.test_cli_runner()
            result = runner.invoke(args=["db", "upgrade"])
            assert result.exit_code == 0, result.output + repr(result.exception)
            yield runner
        finally:
            db.engine.dispose()


def _sql(statement: str):
    """Run one statement on the app's database; a query's single value."""
    with db.engine.begin() as conn:
        result = conn.execute(text(statement))
        return result.scalar() if result.returns_rows else None


def test_a_database_from_before_the_squash_is_told_how_to_upgrade(migrated):
    """Migrations 0001-0018 were squashed into 0019: a database still at one of them is
    refused with the commit that upgrades it, not alembic's "Can't locate revision"."""
    _sql("UPDATE alembic_version SET version_num = '0012'")
    result = migrated.invoke(args=["db", "upgrade"])
    assert result.exit_code != 0
    assert (
        "The database is at migration 0012, from before the migration history was squashed "
        "into 0019 on 2026-11-29: upgrade it first with the last commit that has the old "
        "migrations (`git checkout 6a93683 && flask db upgrade`)" in result.output
    ), result.output
    assert "Traceback" not in result.output and "Can't locate" not in result.output
    assert _sql("SELECT version_num FROM alembic_version") == "0012"


def test_the_baseline_will_not_drop_a_database_that_holds_data(migrated):
    """Since the squash, one step down from 0019 is down to nothing: a rollback by habit
    (`flask db downgrade`) is refused while any table holds a row, and the data stays."""
    _sql("INSERT INTO practice_settings (id) VALUES (1)")
    # the migrations after the baseline step down to it first, keeping the data
    stepped = migrated.invoke(args=["db", "downgrade", "0019"])
    assert stepped.exit_code == 0, stepped.output + repr(stepped.exception)
    result = migrated.invoke(args=["db", "downgrade"])
    assert result.exit_code != 0
    assert (
        "Downgrading the baseline 0019 would drop every table, and some of them hold rows "
        "(practice_settings): refusing." in result.output
    ), result.output
    assert "Traceback" not in result.output
    assert _sql("SELECT count(*) FROM practice_settings") == 1
    assert _sql("SELECT version_num FROM alembic_version") == "0019"


def test_answers_are_resealed_by_part_and_back_bound_to_their_rows(migrated):
    """0023 re-seals every response's answers by part and its downgrade as one object again:
    the answers read the same each way, each ciphertext still opens only on its own row, and
    a key rotation afterwards keeps them readable."""
    from counselor.core.crypto import DecryptionError, rotate_all
    from counselor.questionnaires.models import Response
    from counselor.questionnaires.services import assign
    from tests.support import make_account, new_case, questionnaire, sync

    sync()
    case = new_case(make_account("migrate@example.org", "Counselor M"))
    assignment, _ = assign(
        case, questionnaire("debrief").latest, [], due_on=None, instructions=None, ttl_days=30
    )
    sam, alex = assignment.responses
    sam.answers = {"excited.what": "caf\u00e9 \u201cslow\u201d", "feel.now": 3}
    alex.answers = {"excited.what": "other"}
    db.session.commit()
    expected = {r.id: r.answers for r in (sam, alex)}

    def stored() -> dict:
        rows = db.session.execute(select(Response.id, Response.answers_json_sealed)).all()
        opened = {
            row.id: Response.answers_json.open(row.answers_json_sealed, row.id) for row in rows
        }
        db.session.rollback()
        return opened

    # up to the head, not 0023: the models (rotate_all below) are the head's
    for target, first in (("0022", "{"), ("head", "[")):
        result = migrated.invoke(
            args=["db", "downgrade" if target == "0022" else "upgrade", target]
        )
        assert result.exit_code == 0, result.output + repr(result.exception)
        texts = stored()
        assert {t[:1] for t in texts.values()} == {first}
        assert {i: Response.load_answers(t) for i, t in texts.items()} == expected
    blob = db.session.get(Response, sam.id).answers_json_sealed
    with pytest.raises(DecryptionError):
        Response.answers_json.open(blob, alex.id)
    db.session.rollback()
    rotate_all(db.session)
    db.session.commit()
    assert {i: Response.load_answers(t) for i, t in stored().items()} == expected


def test_the_flags_mark_is_backfilled_from_the_open_alerts_and_pauses(migrated):
    """0024 marks every case with an open alert or a pause not lifted as maybe flagged (the
    caseload asks the flags of marked cases only: an unmarked one would not lead it), and no
    other case."""
    from counselor.agreements import services as agreements
    from counselor.agreements.queries import in_force
    from counselor.alerts import services as alerts
    from counselor.auth.services import create_counselor
    from tests.support import assign, new_case, sync
    from tests.support.agreements import agree_all, published_agreement

    sync()
    owner = create_counselor("backfill@example.org", "Backfill", "a long enough passphrase")
    db.session.commit()
    cases = {name: new_case(owner, name) for name in ("alert", "acked", "paused", "lifted", "none")}
    for name in ("alert", "acked"):
        assignment, _ = assign(cases[name], "intake")
        alert = alerts.raise_rule_alert(assignment, assignment.responses[0], "steps.pace")
        if name == "acked":
            alerts.acknowledge(alert, "Seen.")
    for name in ("paused", "lifted"):
        agreement = published_agreement(cases[name])
        agree_all(agreement)
        sam = cases[name].partners[0]
        pause = agreements.pause(agreement, sam, in_force(agreement).clauses[0]["key"])
        if name == "lifted":
            agreements.lift(agreement, sam, pause.id)
    ids = {case.id: name for name, case in cases.items()}
    db.session.commit()
    db.session.remove()
    for args in (["db", "downgrade", "0023"], ["db", "upgrade"]):
        result = migrated.invoke(args=args)
        assert result.exit_code == 0, f"{args}: {result.output}{result.exception!r}"
    db.session.remove()
    marked = db.session.scalars(select(Case.id).where(Case.maybe_flagged)).all()
    assert {ids[case_id] for case_id in marked} == {"alert", "paused"}


def test_on_postgresql_0026_stores_sealed_answers_uncompressed(migrated):
    """0026 sets what the models' ``RESPONSE_STORAGE`` sets on a new database (schema
    comparison does not look at storage), and its downgrade puts the default back."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's storage settings")
    storage = (
        "SELECT attstorage FROM pg_attribute WHERE attrelid = 'response'::regclass "
        "AND attname = 'answers_json_sealed'"
    )
    assert _sql(storage) == "e"
    result = migrated.invoke(args=["db", "downgrade", "0025"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert _sql(storage) == "x"
