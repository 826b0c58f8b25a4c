"""Practice scale: no page's time grows with the audit table or with other counselors' data.

    python bench/scale.py --pg-url postgresql://postgres@127.0.0.1:5432/counselor_bench
    python bench/scale.py --pg-url ... --quick        # 10 counselors, 500,000 audit events
    python bench/scale.py --pg-url ... --plans        # also every statement's scans

Seeds one measured counselor (200 cases of 2-6 partners with sessions, a couple and six
partners with a submitted desire inventory, a partner's thirty-item exercise) through the
app's own services and times every page they and their partners use, in process through the
Flask test client, templates included: wall-clock and this process's CPU time per request
(medians of --runs), and the database's own time for the page's statements (EXPLAIN ANALYZE).
Then it grows the database around them: N-1 more counselors with 200 cases each, 20 private
questionnaires each and homework on a quarter of their cases, also through the services, and
a year of audit events (millions of rows, written with COPY: the audit table is append-only
and the services would only add the same rows slower), runs ANALYZE, and measures the same
pages again. It prints a markdown table of small against large per page and flags any
sequential scan of a table of more than 5,000 rows in the plans of the large database.

The database named by --pg-url is emptied first: give it a bench database.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import revision_of  # noqa: E402
from bench.seed import (  # noqa: E402
    NAMES,
    PASSWORD,
    SECRET,
    THIRTY,
    _sa,
    seed_caseload,
    submitted_inventory,
    thirty_answers,
)

#: a table with more rows than this that a page scans from end to end is a page whose time
#: grows with other counselors' data (small lookup tables are scanned by choice: cheaper)
BIG_TABLE = 5_000
#: each other counselor's own (private) questionnaires, which the library must not read
OWN_QUESTIONNAIRES = 20
ACTIONS = (
    "case.view",
    "session.view",
    "assignment.view",
    "assignment.compare",
    "portal.section",
    "portal.autosave",
    "auth.login",
    "export.create",
)


# ---- seeding ------------------------------------------------------------------------------


def seed_measured(app, cases: int) -> dict:
    """The measured counselor and everything their pages show."""
    from sqlalchemy import select

    from counselor.auth.services import create_counselor
    from counselor.cases.services import create_case
    from counselor.extensions import db
    from counselor.questionnaires.models import Questionnaire
    from counselor.questionnaires.services import assign, load_definition, sync_library

    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_library()
        me = create_counselor("me@bench.example", "Measured Counselor", PASSWORD)
        db.session.commit()
        made = seed_caseload(me, cases, "me")
        inventory = db.session.scalar(
            select(Questionnaire).where(Questionnaire.slug == "desires-boundaries")
        ).latest
        out = {"email": me.email, "counselor_id": str(me.id), "case": str(made[len(made) // 2].id)}
        for size in (2, 6):
            case = create_case(me, f"Compare {size}", [{"display_name": n} for n in NAMES[:size]])
            assignment = submitted_inventory(case, inventory)
            out[f"compare{size}"] = (str(case.id), str(assignment.id))
        thirty, _ = load_definition(THIRTY, me.id)
        case = create_case(me, "Autosave", [{"display_name": NAMES[0]}])
        assignment, issued = assign(
            case, thirty.latest, [], due_on=None, instructions=None, ttl_days=30, links=True
        )
        db.session.commit()
        out["token"] = issued[0].token
        out["autosave"] = (str(case.id), str(assignment.id))
        return out


def seed_others(app, counselors: int, cases: int) -> None:
    """More counselors with their own caseloads, private exercises of their own and homework
    on a quarter of their cases, through the services."""
    from counselor.auth.services import create_counselor
    from counselor.extensions import db
    from counselor.questionnaires.services import assign, load_definition

    with app.app_context():
        for k in range(counselors):
            other = create_counselor(f"other{k}@bench.example", f"Counselor {k}", PASSWORD)
            db.session.commit()
            made = seed_caseload(other, cases, f"o{k}")
            for q in range(OWN_QUESTIONNAIRES):
                own, _ = load_definition({**THIRTY, "slug": f"own-{k}-{q}"}, other.id)
            for case in made[::4]:
                assign(case, own.latest, [], due_on=None, instructions=None, ttl_days=30)
            db.session.commit()
            if k % 10 == 9:
                print(f"  {k + 1} more counselors seeded", flush=True)


def seed_audit(app, rows: int) -> None:
    """A year of audit events of every counselor and partner, with COPY."""
    from sqlalchemy import text

    from counselor.extensions import db

    with app.app_context():
        actors = [str(v) for v in db.session.scalars(text("SELECT id FROM counselor"))]
        objects = [str(v) for v in db.session.scalars(text('SELECT id FROM "case"'))]
        rng = random.Random(16)  # noqa: S311 (bench data, not secrets)
        now = datetime.now(UTC)
        raw = db.engine.raw_connection()
        try:
            with raw.cursor() as cur:
                done = 0
                while done < rows:
                    n = min(200_000, rows - done)
                    buf = io.StringIO()
                    for i in range(n):
                        at = now - timedelta(seconds=rng.randrange(365 * 86_400))
                        buf.write(
                            f"{at.isoformat()}\tcounselor\t{rng.choice(actors)}\t"
                            f"{ACTIONS[i % len(ACTIONS)]}\tcase\t{rng.choice(objects)}\t127.0.0.1\n"
                        )
                    with cur.copy(
                        "COPY audit_event (at, actor_kind, actor_id, action, object_kind, "
                        "object_id, remote_addr) FROM STDIN"
                    ) as copy:
                        copy.write(buf.getvalue())
                    done += n
            raw.commit()
        finally:
            raw.close()
        db.session.execute(text("ANALYZE"))
        db.session.commit()


# ---- the pages ------------------------------------------------------------------------------


def pages(app, data: dict) -> dict[str, tuple]:
    """Every page of the measured counselor and partner: name -> (method, url, body)."""
    from flask import url_for

    c2, a2 = data["compare2"]
    c6, a6 = data["compare6"]
    with app.test_request_context():
        return {
            "caseload": ("GET", url_for("cases.index"), None),
            "caseload, last page": ("GET", url_for("cases.index", page=4), None),
            "caseload, search": ("GET", url_for("cases.index", q="Case me 01"), None),
            "case page": ("GET", url_for("cases.show", case_id=data["case"]), None),
            "assignment page": (
                "GET",
                url_for("questionnaires.assignment", case_id=c2, assignment_id=a2),
                None,
            ),
            "comparison, 2 partners": (
                "GET",
                url_for("reveal.compare", case_id=c2, assignment_id=a2),
                None,
            ),
            "comparison, 6 partners": (
                "GET",
                url_for("reveal.compare", case_id=c6, assignment_id=a6),
                None,
            ),
            "library": ("GET", "/questionnaires", None),
            "portal section": ("GET", "/p/s/1", None),
            "portal autosave": ("POST", "/p/autosave", "autosave"),
        }


class Clients:
    """A signed-in counselor and a partner who opened their link (test clients)."""

    def __init__(self, app, data: dict) -> None:
        self.counselor = app.test_client()
        r = self.counselor.post("/login", data={"email": data["email"], "password": PASSWORD})
        assert r.status_code == 302, "bench sign-in failed"
        self.partner = app.test_client()
        landing = self.partner.get(f"/l/{data['token']}").get_data(as_text=True)
        button = re.search(r'name="csrf_token" value="([^"]+)"', landing).group(1)
        r = self.partner.post(f"/l/{data['token']}", data={"csrf_token": button})
        assert r.status_code == 302, "bench link did not open"
        page = self.partner.get("/p/s/1").get_data(as_text=True)
        self.csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
        self.revision = revision_of(page)
        self.n = 0

    def request(self, method: str, url: str, body):
        client = self.partner if url.startswith("/p/") else self.counselor
        if body == "autosave":
            self.n += 1
            r = client.post(
                url,
                data=json.dumps({"revision": self.revision, "answers": thirty_answers(self.n)}),
                content_type="application/json",
                headers={"X-CSRF-Token": self.csrf},
            )
            self.revision = r.get_json()["revision"]
            return r
        return client.open(url, method=method)


def time_pages(app, data: dict, runs: int) -> dict[str, tuple[float, float]]:
    """Per page, the median wall-clock ms and the median CPU ms of this process (the app's
    own work, which waiting for a busy core does not inflate) over ``runs`` requests, after
    two warm-ups."""
    clients = Clients(app, data)
    out = {}
    for name, (method, url, body) in pages(app, data).items():
        walls, cpus = [], []
        for k in range(runs + 2):
            start, cpu = time.perf_counter(), time.process_time()
            r = clients.request(method, url, body)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            assert r.status_code == 200, (name, r.status_code)
            if k >= 2:
                walls.append(wall * 1000)
                cpus.append(cpu * 1000)
        out[name] = (statistics.median(walls), statistics.median(cpus))
    return out


def explain_pages(app, data: dict, verbose: bool) -> dict[str, tuple[int, float, list[str]]]:
    """Per page: statements run, the database's own time for them (EXPLAIN ANALYZE:
    planning and execution, summed), and the sequential scans of big tables among their plans
    (with ``verbose``, every scan of every statement is printed)."""
    from sqlalchemy import event, text

    from counselor.extensions import db

    clients = Clients(app, data)
    with app.app_context():
        sizes = {
            r[0]: r[1]
            for r in db.session.execute(
                text("SELECT relname, reltuples FROM pg_class WHERE relkind = 'r'")
            )
        }
        engine = db.engine
    report = {}
    for name, (method, url, body) in pages(app, data).items():
        seen: list[tuple[str, object]] = []

        def capture(conn, cursor, statement, parameters, context, executemany, seen=seen):
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            clients.request(method, url, body)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        flagged, db_ms = [], 0.0
        with engine.connect() as conn:
            for statement, parameters in seen:
                times = []
                for _ in range(3):  # the best of three: one run is at the mercy of other load
                    plan = conn.exec_driver_sql(
                        "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
                    ).scalar()
                    plan = plan if isinstance(plan, list) else json.loads(plan)
                    times.append(plan[0]["Planning Time"] + plan[0]["Execution Time"])
                db_ms += min(times)
                scans = []
                for node in _nodes(plan[0]["Plan"]):
                    rel = node.get("Relation Name")
                    if rel:
                        scans.append(f"{node['Node Type']} {rel} {node.get('Index Name', '')}")
                    if node["Node Type"] == "Seq Scan" and sizes.get(rel, 0) > BIG_TABLE:
                        flagged.append(
                            f"Seq Scan on {rel} ({sizes[rel]:.0f} rows): "
                            + " ".join(statement.split())[:240]
                        )
                if verbose:
                    print(
                        f"[{name}] "
                        + "; ".join(scans)
                        + f"  <- {' '.join(statement.split())[:160]}"
                    )
            conn.rollback()
        report[name] = (len(seen), db_ms, flagged)
    return report


def _nodes(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


# ---- the run ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", required=True, help="a bench database (emptied first)")
    parser.add_argument("--quick", action="store_true", help="10 counselors, 500,000 events")
    parser.add_argument("--counselors", type=int, default=50)
    parser.add_argument("--cases", type=int, default=200, help="cases per counselor")
    parser.add_argument("--audit-rows", type=int, default=3_000_000)
    parser.add_argument("--runs", type=int, default=20, help="requests timed per page")
    parser.add_argument("--plans", action="store_true", help="print every statement's scans")
    args = parser.parse_args()
    if args.quick:
        args.counselors, args.audit_rows, args.runs = 10, 500_000, 8

    from counselor import create_app
    from counselor.config import new_encryption_key

    app = create_app(
        {
            "INSTANCE_PATH": tempfile.mkdtemp(prefix="counselor-scale-"),
            "SQLALCHEMY_DATABASE_URI": _sa(args.pg_url),
            "SECRET_KEY": SECRET,
            "COUNSELOR_ENCRYPTION_KEYS": new_encryption_key(),
            "WTF_CSRF_ENABLED": False,
        }
    )
    t0 = time.monotonic()
    data = seed_measured(app, args.cases)
    seed_audit(app, 10_000)
    print(
        f"small: 1 counselor, {args.cases} cases, 10,000 audit events, seeded in "
        f"{time.monotonic() - t0:.0f} s",
        flush=True,
    )
    small = time_pages(app, data, args.runs)
    small_db = explain_pages(app, data, False)
    t0 = time.monotonic()
    seed_others(app, args.counselors - 1, args.cases)
    t1 = time.monotonic()
    seed_audit(app, args.audit_rows)
    events = args.audit_rows + 10_000
    print(
        f"large: {args.counselors} counselors, {args.counselors * args.cases} cases (seeded "
        f"through the services in {t1 - t0:.0f} s), {events:,} audit events "
        f"(COPY in {time.monotonic() - t1:.0f} s)",
        flush=True,
    )
    large = time_pages(app, data, args.runs)
    report = explain_pages(app, data, args.plans)
    print()
    print(
        f"Small: 1 counselor, {args.cases} cases, 10,000 audit events. Large: "
        f"{args.counselors} counselors × {args.cases} cases, {events:,} audit events. "
        f"Medians of {args.runs} requests; app CPU is this process's CPU time per request, "
        "database is EXPLAIN ANALYZE planning + execution of the page's statements (best of 3)."
    )
    print()
    print(
        "| page | wall ms, small → large | app CPU ms, small → large | × | "
        "database ms, small → large | × | statements | sequential scans of big tables |"
    )
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for name, (count, db_ms, flagged) in report.items():
        (ws, cs), (wl, cl) = small[name], large[name]
        ds = small_db[name][1]
        cpu_x, db_x = cl / cs, db_ms / ds if ds else 1.0
        worst = max(worst, cpu_x)
        print(
            f"| {name} | {ws:.1f} → {wl:.1f} | {cs:.1f} → {cl:.1f} | {cpu_x:.2f}× | "
            f"{ds:.2f} → {db_ms:.2f} | {db_x:.2f}× | {count} | {len(flagged) or 'none'} |"
        )
    print()
    for name, (_, _, flagged) in report.items():
        for line in flagged:
            print(f"[{name}] {line}")
    print(f"worst app CPU large / small: {worst:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
