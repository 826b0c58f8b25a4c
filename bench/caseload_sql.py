"""The caseload's SQL at 10, 100 and 1,000 cases: each statement's time and its plan.

    python bench/caseload_sql.py                       # SQLite scratch file
    python bench/caseload_sql.py --pg-url postgresql://postgres@127.0.0.1:5432/perf_bench
    python bench/caseload_sql.py --plans               # and each statement's query plan
    python bench/caseload_sql.py --plans --sizes 10,1000,5000

Seeds three counselors (10, 100 and 1,000 cases unless --sizes names others of 2-6 partners, as bench/seed.py does) and,
for each, one case with an open alert and one with a paused clause, so that the flags' order
is exercised. It captures the statements one GET of the caseload runs (the first page, no
search) and runs each SELECT again on the driver's own cursor, ``--runs`` times: the median
wall-clock per statement, driver included, ORM and Flask not. The database named by
--pg-url is emptied first: give it a bench database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import seed as bench_seed  # noqa: E402

SIZES = (10, 100, 1000)


def seed(app) -> dict[int, str]:
    """Counselors with SIZES cases, one open alert and one pause each; size -> email."""
    from counselor.agreements import drafting, queries
    from counselor.agreements import services as agreements
    from counselor.alerts.services import raise_rule_alert
    from counselor.auth.services import create_counselor
    from counselor.extensions import db
    from counselor.questionnaires.models import Questionnaire
    from counselor.questionnaires.services import assign, sync_library

    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_library()
        intake = db.session.scalars(db.select(Questionnaire)).first().latest
        emails = {}
        for size in SIZES:
            counselor = create_counselor(f"c{size}@bench.example", f"C {size}", bench_seed.PASSWORD)
            db.session.flush()
            cases = bench_seed.seed_caseload(counselor, size, str(size))
            # an alert on a case far down the order, a pause on another: both lead the page
            flagged, paused = cases[-1], cases[len(cases) // 2]
            assignment, _ = assign(flagged, intake, [], due_on=None, instructions=None, ttl_days=30)
            db.session.flush()
            raise_rule_alert(assignment, assignment.responses[0], "steps.pace", "review")
            # an agreement both partners agreed to, one of its clauses paused (the app's own
            # services, as a counselor and the partners would make it)
            agreement = drafting.create(paused, "Our agreement", [p.id for p in paused.partners])
            draft = queries.draft_of(agreement)
            clauses = [{"kind": "aftercare", "text": "A blanket and water"}]
            drafting.save_draft(agreement, draft, "Our agreement", clauses, None)
            agreements.publish(agreement, draft.id)
            for partner in paused.partners:
                agreements.answer(agreement, partner, draft.id, "agree", None)
            clause = queries.in_force(agreement).clauses[0]["key"]
            agreements.pause(agreement, paused.partners[0], clause)
            db.session.commit()
            emails[size] = counselor.email
    return emails


def capture(app, client) -> list[tuple[str, object]]:
    """The SELECTs one GET /cases runs, with their parameters."""
    from sqlalchemy import event

    from counselor.extensions import db

    seen: list[tuple[str, object]] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    client.get("/cases")  # warm-up
    event.listen(engine, "before_cursor_execute", listen)
    try:
        assert client.get("/cases").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return seen


def timed(app, statements, runs: int, plans: bool) -> list[tuple[str, float, list[str]]]:
    """Median ms per statement on the driver's cursor, and its plan."""
    from counselor.extensions import db

    out = []
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            postgres = db.engine.dialect.name == "postgresql"
            for sql, params in statements:
                times = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    cur.execute(sql, params)
                    cur.fetchall()
                    times.append((time.perf_counter() - t0) * 1000)
                plan = []
                if plans:
                    cur.execute(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + sql, params)
                    plan = [str(row[0] if postgres else row[-1]) for row in cur.fetchall()]
                raw.rollback()
                out.append((_name(sql), statistics.median(times), plan))
        finally:
            raw.close()
    return out


def _name(sql: str) -> str:
    """A short name for a statement: the tables it reads."""
    import re

    tables = []
    for t in re.findall(r'(?:FROM|JOIN)\s+"?(\w+)"?', sql):
        if t not in tables:
            tables.append(t)
    return "+".join(tables)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="", help="a PostgreSQL bench database (emptied)")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--plans", action="store_true", help="print each statement's plan")
    parser.add_argument("--sizes", default="", help="caseload sizes, e.g. 10,1000,5000")
    args = parser.parse_args()
    global SIZES
    if args.sizes:
        SIZES = tuple(int(s) for s in args.sizes.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="counselor-caseload-sql-"))
    url = args.pg_url or f"sqlite:///{tmp / 'caseload.sqlite3'}"
    app = bench_seed.bench_app(url, tmp / "instance", WTF_CSRF_ENABLED=False)
    emails = seed(app)
    if args.pg_url:
        from sqlalchemy import text

        from counselor.extensions import db

        with app.app_context():
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    results = {}
    for size, email in emails.items():
        client = bench_seed.signed_in_client(app, email)
        results[size] = timed(app, capture(app, client), args.runs, args.plans)
    database = "PostgreSQL" if args.pg_url else "SQLite"
    print(f"\n{database}: median ms per statement of GET /cases, {args.runs} runs each\n")
    print("| statement | " + " | ".join(f"{s:,} cases" for s in SIZES) + " |")
    print("|---|" + "---|" * len(SIZES))
    for i, (name, _ms, _plan) in enumerate(results[SIZES[0]]):
        cells = [f"{results[s][i][1]:.3f}" if i < len(results[s]) else "-" for s in SIZES]
        print(f"| {name} | " + " | ".join(cells) + " |")
    totals = [sum(r[1] for r in results[s]) for s in SIZES]
    print("| **all** | " + " | ".join(f"**{t:.3f}**" for t in totals) + " |")
    if args.plans:
        for size in SIZES:
            for name, _ms, plan in results[size]:
                print(f"\n{name} at {size:,} cases:")
                print("\n".join("    " + line for line in plan))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
