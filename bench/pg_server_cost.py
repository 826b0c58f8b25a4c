"""What a counselor page costs the PostgreSQL server, next to the bare reference page.

    python bench/pg_server_cost.py --pg-url postgresql://postgres@127.0.0.1:5432/perf_bench
    python bench/pg_server_cost.py --pg-url … --requests 200 --rounds 9 --variants base,sync-commit
    python bench/pg_server_cost.py --pg-url … --trips-only     # round trips, prepared statements
    python bench/pg_server_cost.py --pg-url … --split 500      # server CPU per statement
    python bench/pg_server_cost.py --pg-url … --cases 1000 --pool-cases 6000   # load.py's data
    python bench/pg_server_cost.py --pg-url … --pages "portal submit, 30 items;portal autosave, 30 items"
    python bench/pg_server_cost.py --pg-url … --pages "portal submit, 30 items" --checkpoint \
        --variants base,notice-table,no-notice-index

Seeds bench/cpu_split.py's data (the database is emptied; each autosave changes one answer,
as bench/load.py's do), then drives each page in process
through the Flask test client, ``--requests`` at a time, round after round, each variant in
turn within a round (a busy machine slows them alike), next to the reference page or, for the
portal's pages, the reference's 30-field save. The submit spends a partner with complete
unsent answers a request (bench/submit.py's pool, seeded for every request the run makes).
For each run it reads:

- the worker's CPU (``time.process_time``: the app, SQLAlchemy, psycopg),
- the server's CPU: the on-CPU time of every backend of the bench database, from
  ``/proc/<pid>/schedstat`` (nanoseconds, scheduler's own count; the server runs on this
  machine, as in bench/load.py),
- the WAL writer's CPU (the server's own process, shared with every database on it: what
  other work on the server does shows in it too),
- the WAL written per request, in bytes (the cluster's insert position: work on other
  databases of the server shows in it too; a full-page image, 8 KB, is written for each page
  first changed after a checkpoint, so a write that touches more pages costs more of them),
- the wall clock per request (what the worker waits for, the COMMIT's log flush included).

Once seeded, the database is vacuumed and analysed as bench/load.py does before its runs
(the seeding's dead row versions removed, the pages marked all-visible), so that a submit's
and a save's UPDATE meet the pages as under load: a HOT update where the row's page has room
and no indexed column changes, else a new version on another page with an entry in every
index of the table (``pg_stat_user_tables.n_tup_hot_upd`` counts them). With ``--checkpoint`` each run starts right after a
CHECKPOINT, so that every page a run changes first costs its full-page image, as under load,
where a checkpoint comes every few minutes and each pool partner's rows are on pages of their
own (an upper bound: under load some pages were changed since the checkpoint already).

Variants (experiments; none of them is how the app runs, ``base`` is):

- ``base``: the app as it is.
- ``no-audit``: the audit rows are not written (the commit then writes nothing): what the
  audit promise costs the server, its INSERT with the COMMIT's log flush.
- ``sync-commit``: every commit waits for the log flush, as before read pages committed
  asynchronously (``audit.READS`` emptied).
- ``no-audit-indexes``: the audit rows written into the table without its three secondary
  indexes (dropped for the run, made again after it): what they cost each insert.
- ``unprepared``: every statement sent as text, parsed and planned on each request (as on a
  connection whose prepared statements psycopg dropped: it does at every ROLLBACK).
- ``async-commit``: ``SET LOCAL synchronous_commit = off`` as a statement of its own before
  every page's commit (one round trip more than the app's way, ``audit._INSERT_READS``).
- ``no-notice-index``: the response table without the partial index of the submits still to
  tell (``ix_response_notice_due``, dropped for the run): a submit's UPDATE of the mark then
  changes no indexed column and may be a HOT update (no index entry written).
- ``notice-table``: the submit's mark of the counselor's notice as a row of a table of its
  own (``submitted_notice``: the response's id, a foreign key, and the submit's time), written
  by the submit's statement, instead of the indexed ``notice_due``: the response's UPDATE
  then changes no indexed column (a HOT update where the page has room), for an INSERT and
  its foreign key's check. A prototype of the submit's side only (the sweep is not changed).
- ``assignment-lock-only``: an answer save's and a submit's read locks the assignment's row
  only, not the response's too (``portal.context._RESOLVE_CHANGING``).
- ``in-transaction``: a submit read under the lock and written in a transaction (BEGIN, the
  locked read, the write, COMMIT: 4 round trips), as every submit was before its statements
  ran alone (``core.pool.statements_alone``, ``portal.submitting._submit_alone``: 2).

It prints the round trips of one request of each page (libpq's trace, as tests/test_pool.py
counts them) with the statements prepared on its connection and how often PostgreSQL planned
them, then a table of medians over the rounds, ms per request, and each variant's difference
from the first one's in the same round (the median of the rounds'). ``--split`` replays each
page's statements on a connection of its own instead, to split the server's CPU by statement
(a tight loop: the backend's caches stay warm, so its figures are lower than a page's; a
revision-checked UPDATE matches its row only the first time, so a write's figure is a
statement that writes nothing).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import cpu_split  # noqa: E402

PAGES = ("caseload, 10 cases", "case page", "comparison first, 2 partners")
SUBMIT = "portal submit, 30 items"
#: a page's warm-up before the rounds, and before each run
WARM, WARM_RUN = 50, 10


def submits_needed(args, variants: int) -> int:
    """The partners the submit spends: warm-up, the traced request, the rounds' runs, and
    the request ``--split`` captures."""
    if args.trips_only:
        return WARM + 2
    return WARM + 2 + args.rounds * variants * (WARM_RUN + args.requests)


def backend_cpu_ns(pids) -> int:
    """On-CPU nanoseconds of these server processes (0 for one that is gone)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/schedstat") as fh:
                total += int(fh.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


class Server:
    """The bench database's backends, listed through a connection of its own."""

    def __init__(self, url: str):
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.own = self.conn.info.backend_pid

    def pids(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> %s",
            (self.own,),
        ).fetchall()
        return [r[0] for r in rows]

    def wal_bytes(self) -> int:
        """The cluster's WAL insert position, in bytes."""
        return self.conn.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn").fetchone()[0]

    def vacuum(self) -> None:
        """VACUUM ANALYZE, as bench/load.py runs it once seeded."""
        self.conn.execute("VACUUM ANALYZE")

    def wal_writer(self) -> list[int]:
        """The WAL writer, which flushes what asynchronous commits left (the server's, shared
        with every database on it)."""
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'"
        ).fetchall()
        return [r[0] for r in rows]


def run(fn, requests: int, server: Server, checkpoint: bool = False) -> dict[str, float]:
    if checkpoint:
        server.conn.execute("CHECKPOINT")
    pids, writer = server.pids(), server.wal_writer()
    before, writer_before = backend_cpu_ns(pids), backend_cpu_ns(writer)
    wal_before = server.wal_bytes()
    t0, w0 = time.process_time(), time.perf_counter()
    for _ in range(requests):
        fn()
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    after = backend_cpu_ns(set(pids) | set(server.pids()))
    wal = server.wal_bytes() - wal_before
    return {
        "worker CPU": cpu * 1000 / requests,
        "server CPU": (after - before) / 1e6 / requests,
        "WAL writer CPU": (backend_cpu_ns(writer) - writer_before) / 1e6 / requests,
        "WAL bytes": float(wal / requests),
        "wall": wall * 1000 / requests,
    }


#: the audit table's secondary indexes (its primary key stays)
AUDIT_INDEXES = {
    "ix_audit_event_at": "(at)",
    "ix_audit_event_action": "(action)",
    "ix_audit_event_object": "(object_kind, object_id)",
}


def variant(name: str, server: Server):
    """Apply experiment ``name``; returns the function that undoes it."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from counselor.core import audit

    if name == "base":
        return lambda: None
    if name == "no-audit":
        original = audit.record
        audit.record = lambda *a, **kw: None
        return lambda: setattr(audit, "record", original)
    if name == "sync-commit":
        reads = audit.READS
        audit.READS = frozenset()
        return lambda: setattr(audit, "READS", reads)
    if name == "async-commit":

        def off(session):
            session.connection().exec_driver_sql("SET LOCAL synchronous_commit = off")

        event.listen(Session, "before_commit", off)
        return lambda: event.remove(Session, "before_commit", off)
    if name == "unprepared":
        _UNPREPARED[0] = True
        return lambda: _UNPREPARED.__setitem__(0, False)
    if name == "no-notice-index":
        server.conn.execute("DROP INDEX ix_response_notice_due")
        return lambda: server.conn.execute(
            "CREATE INDEX ix_response_notice_due ON response (submitted_at) WHERE notice_due"
        )
    if name == "notice-table":
        return notice_table(server)
    if name == "assignment-lock-only":
        from counselor.core.precompiled import Precompiled
        from counselor.portal import context

        original = context._RESOLVE_CHANGING
        read = context._resolve_changing().with_for_update(of=[context._A])
        context._RESOLVE_CHANGING = Precompiled(read, binary_results=True)
        return lambda: setattr(context, "_RESOLVE_CHANGING", original)
    if name == "in-transaction":
        from counselor.portal import context

        alone = context.statements_alone
        context.statements_alone = lambda connection: False
        return lambda: setattr(context, "statements_alone", alone)
    if name == "no-audit-indexes":
        for index in AUDIT_INDEXES:
            server.conn.execute(f"DROP INDEX {index}")

        def undo():
            for index, columns in AUDIT_INDEXES.items():
                server.conn.execute(f"CREATE INDEX {index} ON audit_event {columns}")

        return undo
    raise SystemExit(f"unknown variant {name!r}")


def notice_table(server: Server):
    """The ``notice-table`` variant: made, its submit's statement in place; returns its undo."""
    from sqlalchemy import Column, DateTime, MetaData, Table, Uuid, bindparam, insert, select

    from counselor.core import audit
    from counselor.core.precompiled import Precompiled
    from counselor.portal import services, submitting
    from counselor.portal import session as portal_session

    server.conn.execute("DROP INDEX ix_response_notice_due")
    server.conn.execute(
        "CREATE TABLE submitted_notice (response_id uuid PRIMARY KEY REFERENCES response (id) "
        "ON DELETE CASCADE, submitted_at timestamptz NOT NULL)"
    )
    marks = Table(
        "submitted_notice",
        MetaData(),
        Column("response_id", Uuid, primary_key=True),
        Column("submitted_at", DateTime(timezone=True)),
    )
    response = services._RESPONSE
    now = bindparam("now", type_=response.c.submitted_at.type)
    submit = services._revision_checked(status="submitted", submitted_at=now)

    def writing(touch: bool) -> Precompiled:
        changed = submit.statement.returning(response.c.id).cte("changed")
        mark = insert(marks).from_select(["response_id", "submitted_at"], select(changed.c.id, now))
        statement = select(changed.c.id).add_cte(audit.events_for(changed).cte("event"))
        statement = statement.add_cte(mark.cte("mark"))
        if touch:
            statement = statement.add_cte(portal_session.CARRIED_WRITE.cte("touch"))
        return Precompiled(statement)

    original = submitting._SUBMIT_WRITES
    submitting._SUBMIT_WRITES = {touch: writing(touch) for touch in (False, True)}

    def undo():
        submitting._SUBMIT_WRITES = original
        server.conn.execute("DROP TABLE submitted_notice")
        server.conn.execute(
            "CREATE INDEX ix_response_notice_due ON response (submitted_at) WHERE notice_due"
        )

    return undo


#: whether the ``unprepared`` variant runs (read at each checkout)
_UNPREPARED = [False]


def prepare_at_checkout(app) -> None:
    """Set each checked-out connection's ``prepare_threshold``: psycopg's default (5), or
    none while the ``unprepared`` variant runs."""
    from sqlalchemy import event

    from counselor.extensions import db

    def checkout(dbapi_connection, record, proxy):
        dbapi_connection.prepare_threshold = None if _UNPREPARED[0] else 5

    with app.app_context():
        event.listen(db.engine.pool, "checkout", checkout)


def trips_and_prepared(app, fn) -> tuple[list[str], list[str]]:
    """The round trips of one request (after warm-up) and what is prepared on the
    connection it used."""
    from sqlalchemy import event

    from counselor.extensions import db
    from tests.support.records import RoundTrips

    with app.app_context(), tempfile.TemporaryFile("a+") as log:
        counter = RoundTrips(log)
        used = []
        pool = db.engine.pool

        def checkout(dbapi_connection, record, proxy):
            counter.trace(dbapi_connection, record)
            used.append(dbapi_connection)

        event.listen(pool, "checkout", checkout)
        try:
            counter.start()
            fn()
            trips = counter.trips()
        finally:
            event.remove(pool, "checkout", checkout)
            for conn in counter.traced:
                conn.pgconn.untrace()
        conn = used[-1]
        # generic_plans/custom_plans: a statement PostgreSQL keeps planning anew (custom
        # plans) costs a plan per execution even though it is prepared
        prepared = conn.execute(
            "SELECT generic_plans, custom_plans, statement FROM pg_prepared_statements "
            "ORDER BY prepare_time"
        ).fetchall()
        conn.commit()  # a ROLLBACK would make psycopg drop the connection's prepared statements
        return trips, [f"generic {g}, custom {c}: {s[:80]!r}" for g, c, s in prepared]


def captured(app, fn) -> list[tuple[str, object]]:
    """The statements one request of ``fn`` runs, as sent (SQL text and parameters)."""
    from sqlalchemy import event

    from counselor.extensions import db

    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return seen


def split(url: str, app, pages: dict, times: int) -> None:
    """The server's CPU per round trip of each kind, each run ``times`` times on a connection
    of its own (prepared, as the pages run them in steady use): an empty query, BEGIN with a
    COMMIT that wrote nothing, each page's statements (inside one transaction, rolled back),
    and a transaction of one read audit row, committed waiting for the log flush and not."""
    import psycopg

    from counselor.core import audit
    from counselor.core.models import utcnow

    conn = psycopg.connect(url, autocommit=True)
    pid = [conn.info.backend_pid]

    def cost(work) -> float:
        for _ in range(20):
            work()
        before = backend_cpu_ns(pid)
        for _ in range(times):
            work()
        return (backend_cpu_ns(pid) - before) / 1e6 / times

    def transaction(*statements):
        def work():
            conn.execute("BEGIN")
            for statement, parameters in statements:
                conn.execute(statement, parameters, prepare=True)
            conn.execute("COMMIT")

        return work

    rows = [("an empty query (one round trip)", cost(lambda: conn.execute(";")))]
    rows.append(("BEGIN, COMMIT of nothing", cost(transaction())))
    for name, fn in pages.items():
        statements = captured(app, fn)
        conn.execute("BEGIN")
        for statement, parameters in statements:
            label = " ".join(statement.split())[:60]
            rows.append(
                (
                    f"{name}: {label}",
                    cost(lambda s=statement, p=parameters: conn.execute(s, p, prepare=True)),
                )
            )
        conn.execute("ROLLBACK")
    row = {
        "at": utcnow(),
        "actor_kind": "counselor",
        "actor_id": "x" * 36,
        "action": "case.view",
        "object_kind": "case",
        "object_id": "y" * 36,
        "remote_addr": "127.0.0.1",
    }
    from sqlalchemy.dialects import postgresql

    def sql(statement):
        statement = getattr(statement, "statement", statement)  # a Precompiled's own
        compiled = statement.compile(dialect=postgresql.psycopg.dialect(), column_keys=list(row))
        return str(compiled), row

    rows.append(
        ("BEGIN, audit INSERT, COMMIT (waits for the flush)", cost(transaction(sql(audit._INSERT))))
    )
    rows.append(
        (
            "BEGIN, audit INSERT of reads, COMMIT (does not)",
            cost(transaction(sql(audit._INSERT_READS))),
        )
    )
    conn.close()
    print(f"\nserver CPU per round trip kind, ms, {times} times each")
    print("| what | server CPU ms |\n|---|---|")
    for label, ms in rows:
        print(f"| {label} | {ms:.3f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", required=True, help="a PostgreSQL bench database (emptied)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", default="base")
    parser.add_argument("--pages", default=";".join(PAGES), help="page names, separated by ;")
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument(
        "--pool-cases",
        type=int,
        default=0,
        help="cases of one more counselor, then ANALYZE, as bench/load.py's database has "
        "(6000 in its default run): the server's estimates, and so its plans, as under load",
    )
    parser.add_argument(
        "--checkpoint", action="store_true", help="a CHECKPOINT before each run (see above)"
    )
    parser.add_argument("--trips-only", action="store_true")
    parser.add_argument("--split", type=int, default=0, help="split the server's CPU: N times each")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="counselor-pgcost-"))
    ref = cpu_split.reference_pages(args.pg_url)
    made = []
    bench_app = cpu_split.seed.bench_app
    autosaver = cpu_split.autosaver
    cpu_split.autosaver = lambda app, token: autosaver(app, token, change_one=True)
    cpu_split.seed.bench_app = lambda *a, **kw: made.append(bench_app(*a, **kw)) or made[-1]
    keep = [p.strip() for p in args.pages.split(";") if p.strip()]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    submits = submits_needed(args, len(variants)) if SUBMIT in keep else 0
    pages = cpu_split.project_pages(args.pg_url, tmp, submits, args.cases, args.pool_cases)
    app = made[0]
    prepare_at_checkout(app)
    pages = {k: v for k, v in pages.items() if k in keep}
    gc.collect()
    gc.freeze()
    server = Server(args.pg_url)
    server.vacuum()
    measured = {}
    if any("portal" not in name for name in pages):
        measured[("reference page", "base")] = ref["page"]
    if any("portal" in name for name in pages):
        measured[("reference save", "base")] = ref["save"]
    for name, fn in pages.items():
        for v in variants:
            measured[(name, v)] = fn
    for fn in set(measured.values()):
        for _ in range(WARM):
            fn()
    for name, fn in pages.items():
        trips, prepared = trips_and_prepared(app, fn)
        print(f"\n{name}: {len(trips)} round trips")
        for t in trips:
            print(f"    {t[:110]}")
        print(f"  prepared on its connection ({len(prepared)}):")
        for p in prepared:
            print(f"    {p}")
    if args.split:
        split(args.pg_url, app, pages, args.split)
    if args.trips_only or args.split:
        return 0
    results: dict[tuple[str, str], list[dict]] = {key: [] for key in measured}
    for _ in range(args.rounds):
        for (name, v), fn in measured.items():
            undo = variant(v, server)
            try:
                for _ in range(WARM_RUN):
                    fn()
                results[(name, v)].append(run(fn, args.requests, server, args.checkpoint))
            finally:
                undo()
    columns = ["worker CPU", "server CPU", "WAL writer CPU", "WAL bytes", "wall"]
    print(
        f"\nPostgreSQL, {args.requests} requests a run, median of {args.rounds} rounds, per request"
    )
    print("| page | variant | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for (name, v), runs in results.items():
        cells = [f"{statistics.median(r[c] for r in runs):.3f}" for c in columns]
        print(f"| {name} | {v} | " + " | ".join(cells) + " |")
    if len(variants) > 1:
        print(
            f"\nagainst {variants[0]}, median of the rounds' differences (same round), per request"
        )
        print("| page | variant | " + " | ".join(columns) + " |")
        print("|---|---|" + "---|" * len(columns))
        for name in pages:
            for v in variants[1:]:
                pairs = zip(results[(name, v)], results[(name, variants[0])], strict=True)
                diffs = [{c: a[c] - b[c] for c in columns} for a, b in pairs]
                cells = [f"{statistics.median(d[c] for d in diffs):+.3f}" for c in columns]
                print(f"| {name} | {v} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
