"""Pooled PostgreSQL connections: a page works after the server ended its connection, and a
connection in steady use is not pinged before every request (counselor.core.pool).

PostgreSQL only (SQLite has no server to hang up); with COUNSELOR_REQUIRE_SERVICES=1 these
tests fail instead of skipping when PostgreSQL is not configured.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text

from counselor.core import pool
from counselor.core.models import utcnow
from counselor.extensions import db
from tests.support import PG_URL, assign, new_case, service_unavailable, sqlalchemy_url, sync
from tests.support.records import round_trips
from tests.test_statement_counts import CASE_PAGE_STATEMENTS, CASELOAD_STATEMENTS


@pytest.fixture
def pg(app):
    if not PG_URL or app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        service_unavailable("PostgreSQL (COUNSELOR_TEST_DATABASE_URL)")
    return app


def _end_every_other_connection() -> int:
    """End, as an administrator would, every connection to the test database but the one
    doing it, and wait until each is gone; returns how many were ended."""
    admin = create_engine(sqlalchemy_url(PG_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        admin.dispose()


def test_pages_work_after_the_server_ended_the_pooled_connections(pg, client_a, counselor_a):
    new_case(counselor_a, "Rivera")
    assert client_a.get("/cases").status_code == 200  # its connection waits in the pool
    db.session.remove()
    assert _end_every_other_connection() >= 1
    # at once, well within the idle time after which a quiet connection is pinged anyway
    page = client_a.get("/cases")
    assert page.status_code == 200
    assert "Rivera" in page.get_data(as_text=True)
    assert client_a.get("/cases").status_code == 200


def _caseload_round_trips(client, url: str = "/cases") -> list[str]:
    with round_trips() as counter:
        # warm-up: psycopg prepares a statement once it has run five times on a connection
        # (a round trip of its own, once); a page in steady use runs them prepared. Its
        # connection goes back to the pool traced.
        for _ in range(8):
            client.get(url)
        counter.start()
        assert client.get(url).status_code == 200
        return counter.trips()


def test_a_connection_in_steady_use_is_not_pinged(pg, client_a, counselor_a):
    """The caseload's round trips: BEGIN, its statements, COMMIT; no ping before them, and
    no ROLLBACK when the connection goes back to the pool after the commit."""
    new_case(counselor_a, "Rivera")
    trips = _caseload_round_trips(client_a)
    assert trips[0] == "BEGIN" and trips[-1] == "COMMIT", trips
    assert len(trips) == CASELOAD_STATEMENTS["postgresql"] + 2, "\n".join(trips)


def test_a_connection_idle_for_a_while_is_pinged_first(pg, client_a, counselor_a, monkeypatch):
    new_case(counselor_a, "Rivera")
    monkeypatch.setattr(pool, "PING_AFTER_IDLE_SECONDS", 0.0)
    trips = _caseload_round_trips(client_a)
    assert trips[:2] == [";", "BEGIN"], trips  # the ping is an empty query, outside it
    assert len(trips) == CASELOAD_STATEMENTS["postgresql"] + 3, "\n".join(trips)


def test_the_case_page_with_sessions_and_homework_is_four_round_trips(pg, client_a, counselor_a):
    """BEGIN, the login session, the case (its sessions and homework with it, and the read's
    audit row), COMMIT."""
    from counselor.cases.services import save_session
    from counselor.core.models import utcnow

    sync()
    case = new_case(counselor_a, "Rivera")
    now = utcnow()
    save_session(case, {"date": now.date(), "time": now.time(), "duration_minutes": 50})
    assign(case, "intake")
    trips = _caseload_round_trips(client_a, f"/cases/{case.id}")
    assert trips[0] == "BEGIN" and trips[-1] == "COMMIT", trips
    assert len(trips) == CASE_PAGE_STATEMENTS["postgresql"] + 2 == 4, "\n".join(trips)


def _submit_round_trips(app, counselor_a, quiet: bool, answers: dict) -> list[str]:
    """The round trips of the last of a few partners' submits of ``answers`` to the small
    alert definition (each a fresh partner's: a submit is once), after a review page; with
    ``quiet`` the portal session was last seen two minutes ago (its touch is due)."""
    from sqlalchemy import update

    from counselor.portal.models import PortalSessionRecord
    from tests.support import load_own, open_link, portal_csrf, revision_of, small_alert_definition

    load_own(counselor_a, small_alert_definition())
    with round_trips() as counter:
        # warm-up as _caseload_round_trips
        for n in range(8):
            case = new_case(counselor_a, f"Rivera {n}")
            _, tokens = assign(case, "alert-check", owner_id=counselor_a.id)
            browser = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
            browser.autosave(answers)
            page = browser.get("/p/review")
            if quiet:
                db.session.execute(
                    update(PortalSessionRecord).values(last_seen_at=utcnow() - timedelta(minutes=2))
                )
                db.session.commit()
            counter.start()
            sent = browser.client.post(
                "/p/submit", data={"csrf_token": portal_csrf(page), "revision": revision_of(page)}
            )
            assert sent.status_code == 302, sent.get_data(as_text=True)
        return counter.trips()


@pytest.mark.parametrize("quiet", [False, True])
def test_a_submit_is_two_round_trips(pg, app, counselor_a, quiet):
    """A partner's submit whose answers meet no alert rule: the portal session with the
    homework, read without the lock and without a transaction, then one statement, its own
    transaction committed as it ends, that takes the assignment's lock, checks it is still
    open, marks the response sent with its audit event and (``quiet``) touches the session
    (counselor.portal.submitting._submit_alone): no BEGIN, no COMMIT."""
    trips = _submit_round_trips(
        app, counselor_a, quiet, {"check.feel": "fine", "check.tired": 3, "check.pushed": "no"}
    )
    assert len(trips) == 2, "\n".join(trips)
    assert "BEGIN" not in trips and "COMMIT" not in trips, trips
    # the statements run prepared by now (the review page's read-only transaction kept them,
    # counselor.core.prepared), so the trace may name no SQL
    assert all(
        t.startswith(("SELECT", "WITH changed AS")) or t == "a prepared statement" for t in trips
    ), "\n".join(trips)


def test_a_submit_that_raises_an_alert_is_one_transaction(pg, app, counselor_a):
    """A submit whose answers meet an alert rule writes the alert after the response: it is
    read under the lock and written in one transaction (BEGIN … COMMIT), as before."""
    trips = _submit_round_trips(
        app, counselor_a, False, {"check.feel": "fine", "check.tired": 9, "check.pushed": "no"}
    )
    assert "BEGIN" in trips and "COMMIT" in trips, trips
    written = trips[trips.index("BEGIN") : trips.index("COMMIT") + 1]
    assert len(written) >= 4, written


def _prepared_on_the_pooled_connection() -> int:
    """How many statements the server holds prepared for the connection the next request
    gets (the pool hands the one used last back first)."""
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()


def test_a_page_that_only_read_leaves_the_statements_prepared(pg, client_a, counselor_a):
    """A form page reads without committing: its transaction, which wrote nothing, ends with
    COMMIT, not with the ROLLBACK after which psycopg deallocates every prepared statement
    (counselor.core.prepared)."""
    new_case(counselor_a, "Rivera")
    for _ in range(8):
        assert client_a.get("/cases").status_code == 200
    db.session.remove()
    prepared = _prepared_on_the_pooled_connection()
    # the login session, the page (which writes its audit row)
    assert prepared >= CASELOAD_STATEMENTS["postgresql"] == 2
    assert client_a.get("/cases/new").status_code == 200  # a form: nothing committed
    db.session.remove()
    assert _prepared_on_the_pooled_connection() >= prepared


def _many_cases(account, count: int) -> None:
    """``count`` cases of the counselor, written as rows (no partners, labels never read):
    a large caseload beside the test's own, for the server's statistics."""
    from counselor.cases.models import Case
    from counselor.core.models import utcnow

    now = utcnow()
    rows = [
        {"id": uuid.uuid4(), "counselor_id": account.id, "label_sealed": b"\0", "created_at": now}
        for _ in range(count)
    ]
    db.session.execute(Case.__table__.insert(), rows)
    db.session.commit()


def test_the_caseload_is_planned_once_per_connection_not_at_every_request(
    pg, client_a, counselor_a, counselor_b
):
    """A counselor of few cases in a practice where another has many: the server's
    estimates for this counselor (1 case) and for any counselor (half the cases) differ,
    and PostgreSQL planned the page's statement anew at every request, which cost more than
    running it. Its parameters out of the planner's sight (cases.caseload._parameter), it
    plans the prepared statement five times, then keeps its generic plan."""
    new_case(counselor_a, "Rivera")
    _many_cases(counselor_b, 2000)  # fewer (200) and the server's choice was right by chance
    with db.engine.begin() as conn:
        conn.exec_driver_sql('ANALYZE "case"')  # the estimates a server with statistics makes
    for _ in range(16):
        page = client_a.get("/cases")
        assert page.status_code == 200 and "Rivera" in page.get_data(as_text=True)
    db.session.remove()
    with db.engine.connect() as conn:
        generic, custom = conn.exec_driver_sql(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE strpos(statement, 'read_event_0') > 0"
        ).one()
    assert custom <= 5 and generic >= 5, (generic, custom)


def test_a_transaction_that_wrote_is_still_rolled_back(pg, counselor_a):
    from counselor.cases.models import Case

    case = new_case(counselor_a, "Rivera")
    table = Case.__table__
    db.session.execute(table.update().where(table.c.id == case.id).values(status="archived"))
    db.session.remove()  # closes the session: its transaction ends, uncommitted
    with db.engine.connect() as conn:
        status = conn.execute(select(table.c.status).where(table.c.id == case.id)).scalar()
    assert status == "active"


def test_a_cursor_describes_its_columns_as_psycopg_does(pg):
    """The app's cursors make ``description`` when it is read (core.prepared): the same
    columns as psycopg's own cursor, and None for a statement that returns no rows."""
    import psycopg

    from counselor.core.prepared import DescribedOnDemand

    query = "SELECT 1 AS n, now() AS at, gen_random_uuid() AS id, 'x'::varchar(8) AS v"
    with db.engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        assert isinstance(cursor, DescribedOnDemand)
        cursor.execute(query)
        described = cursor.description
        cursor.execute("SET LOCAL work_mem = '4MB'")
        assert cursor.description is None
        with psycopg.connect(PG_URL) as plain:
            expected = plain.execute(query).description
        assert len(described) == len(expected) == 4
        assert [tuple(c) for c in described] == [tuple(c) for c in expected]
        assert [c.name for c in described] == ["n", "at", "id", "v"]


def test_the_caseload_page_reads_a_page_of_cases_without_a_session_not_all(pg, counselor_b):
    """The cases without a session are a walk of the caseload's index that stops at a page
    (cases.caseload._unflagged_page). Ordered by their creation alone, PostgreSQL, which
    keeps no order of the next columns under ``IS NULL``, read every case of the counselor
    without a session and sorted them, in the plan it keeps for the page."""
    from counselor.cases.caseload import _caseload_statement
    from counselor.pages.read_models import CASELOAD_FLAGS

    _many_cases(counselor_b, 2000)  # none has a session
    with db.engine.begin() as conn:
        conn.exec_driver_sql('ANALYZE "case"')
    statement = _caseload_statement("active", CASELOAD_FLAGS, page=True)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        compiled = statement.compile(dialect=conn.dialect)
        plan = "\n".join(
            row[0]
            for row in conn.exec_driver_sql(
                f"EXPLAIN (ANALYZE, COSTS off, TIMING off) {compiled}",
                {**compiled.params, "owner": counselor_b.id, "offset": 0, "upto": 50},
            )
        )
    walks = [line for line in plan.splitlines() if "ix_case_caseload" in line]
    assert len(walks) == 2 and all("Index Scan Backward" in walk for walk in walks), plan
    read = [int(re.search(r"actual rows=(\d+)", walk)[1]) for walk in walks]
    assert read == [0, 50], plan  # none with a session, a page of those without


def test_connections_share_one_event_dispatch_that_sees_listeners_added_later(app):
    """The engine's connections share one joined event dispatch (pool.share_connection_dispatch,
    on SQLite and PostgreSQL alike): a listener added to the engine afterwards still fires, and
    a listener put on one connection, which would fire for all of them, is refused."""
    from sqlalchemy import event, exc

    seen = []

    def committed(conn):
        seen.append(conn)

    with app.app_context():
        engine = db.engine
        with engine.connect() as first:
            first.execute(text("SELECT 1"))
            first.commit()
        event.listen(engine, "commit", committed)
        try:
            with engine.connect() as second:
                assert second.dispatch is first.dispatch
                second.execute(text("SELECT 1"))
                second.commit()
                with pytest.raises(exc.InvalidRequestError):
                    event.listen(second, "rollback", committed)
        finally:
            event.remove(engine, "commit", committed)
    assert seen == [second]


def test_a_connection_returned_mid_transaction_is_rolled_back(app, counselor_a):
    """The pool's reset on return rolls back a raw connection's uncommitted write, on SQLite
    and PostgreSQL alike (what any change to that reset must keep)."""
    from counselor.cases.models import Case

    case = new_case(counselor_a, "Rivera")
    db.session.commit()
    table = Case.__table__
    raw = db.engine.raw_connection()
    cursor = raw.cursor()
    marker = "archived"
    if db.engine.dialect.name == "postgresql":
        cursor.execute('UPDATE "case" SET status = %s WHERE id = %s', (marker, case.id))
    else:
        cursor.execute('UPDATE "case" SET status = ? WHERE id = ?', (marker, case.id.hex))
    assert cursor.rowcount == 1
    raw.close()  # back to the pool, uncommitted
    db.session.remove()
    with db.engine.connect() as conn:
        status = conn.execute(select(table.c.status).where(table.c.id == case.id)).scalar()
    assert status == "active"
