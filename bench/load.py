"""Load benchmark: Counselor against a bare Flask reference, side by side, with wrk.

    python bench/load.py --quick                        # SQLite, 1 round of 2 s runs
    python bench/load.py --pg-url postgresql://postgres@127.0.0.1:5432/perf_bench
    python bench/load.py --rounds 3 --seconds 8         # the issue's protocol
    python bench/load.py --measures autosave,submit     # only the measures named (in part)

Seeds a scratch database through the app's own services (counselors; cases with 2-6
partners; sessions; submitted homework; a 30-item exercise; audit history; for the submit, a
pool of partners with complete unsent answers, see bench/submit.py), starts the
project and bench/ref_app.py under the same gunicorn settings (sync workers x2, no access
log), and drives each measure with wrk interleaved: reference, project, reference. The ratio
of a round is project / mean of the two reference runs; the table shows medians over rounds.
wrk (Debian package) is the only tool used; Lua scripts carry cookies and CSRF tokens.
The PostgreSQL database named by --pg-url is emptied first: give it a bench database.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import submit  # noqa: E402
from bench.harness import (  # noqa: E402
    AUTOSAVE_LUA,
    GET_LUA,
    POST_LUA,
    WRK,
    lua_string,
    lua_table,
    open_link,
    sign_in,
    start_gunicorn,
    stop,
    wrk,
)

PASSWORD = "bench passphrase for load tests"  # noqa: S105
SECRET = "bench-secret-key-not-for-production"  # noqa: S105

#: a 30-item section: 15 desire items and 15 free-text items, as a long inventory page has
THIRTY = {
    "slug": "bench-thirty",
    "title": "Thirty items",
    "purpose": "A one-page exercise of thirty items for the load benchmark.",
    "kind": "exercise",
    "items": [
        {
            "link_id": "page",
            "type": "group",
            "text": "All on one page",
            "items": [
                *(
                    {
                        "link_id": f"d{i}",
                        "type": "desire",
                        "text": f"Activity number {i}",
                        "roles": [
                            {"key": "give", "label": "Give"},
                            {"key": "receive", "label": "Receive"},
                        ],
                    }
                    for i in range(15)
                ),
                *({"link_id": f"t{i}", "type": "text", "text": f"Question {i}"} for i in range(15)),
            ],
        }
    ],
}
SENTENCE = "We talked about it on Sunday and both felt calmer afterwards; next time slower."


NAMES = ["Sam Rivera", "Alex Novak", "Kim Ito", "Jo Adeyemi", "Ren Park", "Mo Haddad"]


def seed_caseload(counselor, cases: int, tag: str) -> list:
    """``cases`` cases of 2-6 partners with up to three sessions each, through the services."""
    from counselor.cases.services import create_case, save_session
    from counselor.core.models import utcnow
    from counselor.extensions import db

    made = []
    for n in range(cases):
        partners = [{"display_name": NAMES[(n + k) % 6]} for k in range(2 + n % 5)]
        case = create_case(counselor, f"Case {tag} {n:04d}", partners)
        for s in range(n % 4):
            start = utcnow() - timedelta(days=7 * s + n % 7)
            save_session(
                case,
                {
                    "date": start.date(),
                    "time": start.time(),
                    "duration_minutes": 50,
                    "agenda": SENTENCE,
                    "notes": SENTENCE,
                },
            )
        made.append(case)
        if n % 100 == 99:
            db.session.commit()
    db.session.commit()
    return made


def compare_paths(case, assignment) -> dict[str, str]:
    """The pages a counselor reads of a long comparison: its first page (the overview), the
    page of its largest section (the most matrix cells and answers of any section page) and
    the first partner's preview (the whole of one partner's shared page)."""
    from counselor.questionnaires.engine import ANSWERABLE, walk

    base = f"/cases/{case.id}/assignments/{assignment.id}"
    defn = assignment.definition
    largest = max(
        defn.sections, key=lambda s: sum(1 for i in walk(s.items) if i["type"] in ANSWERABLE)
    )
    return {
        "first": base + "/compare",
        "section": base + f"/compare?section={largest.index + 1}",
        "preview": base + f"/partners/{case.partners[0].id}/preview",
    }


def submitted_inventory(case, inventory):
    """The desire inventory assigned to every partner of ``case`` and sent by each (a yes to
    every role), through the portal's own services; the assignment, committed."""
    from counselor.cases import homes
    from counselor.extensions import db
    from counselor.portal import context as portal_context
    from counselor.portal import services as portal
    from counselor.questionnaires.services import assign

    assignment, _ = assign(case, inventory, [], due_on=None, instructions=None, ttl_days=30)
    db.session.flush()
    for partner in case.partners:
        ctx = portal_context.assignment_context(
            portal_context.PortalContext(partner, homes.home_of(partner)), assignment.id
        )
        answers = {
            i["link_id"]: {
                "roles": {r["key"]: "yes" for r in i["roles"]},
                "hard_limit": False,
                "note": "",
            }
            for i in ctx.definition.questions()
            if i["type"] == "desire"
        }
        portal.save(ctx, answers, ctx.response.revision)
        portal.submit(ctx, ctx.response.revision)
    db.session.commit()
    return assignment


def thirty_answers(n: int = 0) -> dict:
    """Answers to every item of THIRTY (a full page, as autosave sends after a long edit)."""
    answers = {
        f"d{i}": {"roles": {"give": "yes", "receive": "maybe"}, "hard_limit": False, "note": ""}
        for i in range(15)
    }
    answers.update({f"t{i}": f"{SENTENCE} ({n})" for i in range(15)})
    return answers


# ---- seeding through the app's services ----------------------------------------------------


def bench_app(database_url: str, instance: Path, **more):
    """The app as the benches run it: ``database_url`` (emptied by ``seed``), an instance
    folder of its own, a fresh encryption key unless ``more`` names one."""
    from counselor import create_app
    from counselor.config import new_encryption_key

    return create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": _sa(database_url),
            "SECRET_KEY": SECRET,
            "COUNSELOR_ENCRYPTION_KEYS": new_encryption_key(),
            **more,
        }
    )


def signed_in_client(app, email: str):
    """A Flask test client signed in as ``email`` through the sign-in form (with its CSRF
    token when the app checks one)."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    form = {"email": email, "password": PASSWORD}
    r = client.post("/login", data={**form, **({"csrf_token": token.group(1)} if token else {})})
    assert r.status_code == 302, "bench sign-in failed"
    return client


def seed(app, *, small: int, large: int, audit_rows: int) -> dict:
    """Create the bench data; returns ids and tokens the measures need."""
    from sqlalchemy import select

    from counselor.auth.services import create_counselor
    from counselor.cases.services import create_case
    from counselor.core.audit import AuditEvent
    from counselor.core.models import utcnow
    from counselor.extensions import db
    from counselor.questionnaires.models import Questionnaire
    from counselor.questionnaires.services import assign, load_definition, sync_library

    out: dict = {}
    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_library()
        inventory = db.session.scalar(
            select(Questionnaire).where(Questionnaire.slug == "desires-boundaries")
        ).latest
        counselors = {}
        for key, count in (("small", small), ("mid", 100), ("large", large)):
            c = create_counselor(f"{key}@bench.example", f"Counselor {key}", PASSWORD)
            db.session.flush()
            counselors[key] = c
            seed_caseload(c, count, key)
        out["counselors"] = {k: c.email for k, c in counselors.items()}
        owner = counselors["small"]
        thirty, _ = load_definition(THIRTY, owner.id)
        db.session.commit()

        def submitted(case):
            return submitted_inventory(case, inventory)

        compare, paths = {}, {}
        for size in (2, 6):
            case = create_case(
                owner, f"Compare {size}", [{"display_name": n} for n in NAMES[:size]]
            )
            assignment = submitted(case)
            compare[size] = (str(case.id), str(assignment.id))
            paths[size] = compare_paths(case, assignment)
        out["compare"] = compare
        out["compare_paths"] = paths
        # Partners who will autosave the thirty-item page: one case each, one link each.
        tokens = []
        for n in range(4):
            case = create_case(owner, f"Autosave {n}", [{"display_name": NAMES[n]}])
            _, issued = assign(
                case, thirty.latest, [], due_on=None, instructions=None, ttl_days=30, links=True
            )
            tokens.append(issued[0].token)
        db.session.commit()
        out["autosave_tokens"] = tokens
        out["thirty_version"] = thirty.latest.id
        out["case"] = str(case.id)
        # A year of audit history (reads and changes), none of it relevant to any page.
        batch = 5000
        for start in range(0, audit_rows, batch):
            rows = [
                {
                    "at": utcnow() - timedelta(minutes=i % 525_600),
                    "actor_kind": "counselor",
                    "actor_id": str(owner.id),
                    "action": "case.view",
                    "object_kind": "case",
                    "object_id": f"{i:032x}",
                    "remote_addr": "",
                }
                for i in range(start, min(start + batch, audit_rows))
            ]
            db.session.execute(AuditEvent.__table__.insert(), rows)
            db.session.commit()
    return out


def explain(data: dict) -> None:
    """PostgreSQL plans of the caseload's queries: index scans, nothing over other data."""
    from sqlalchemy import select, text

    from counselor.alerts.models import Alert
    from counselor.auth.models import Counselor
    from counselor.cases.models import Case
    from counselor.cases.services import _caseload_statement
    from counselor.extensions import db

    large = db.session.scalar(
        select(Counselor).where(Counselor.email == data["counselors"]["large"])
    )
    db.session.execute(text("ANALYZE"))
    alerts = (
        select(Alert.case_id)
        .join(Case, Case.id == Alert.case_id)
        .where(Case.counselor_id == large.id, Alert.acknowledged_at.is_(None))
    )
    queries = {
        "caseload page": _caseload_statement("active", (), page=True).params(
            counselor_id=large.id, offset=0
        ),
        "caseload alert flags": alerts,
    }
    queries = {
        name: str(q.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
        for name, q in queries.items()
    }
    for name, sql in queries.items():
        plan = [r[0] for r in db.session.execute(text("EXPLAIN " + sql))]
        scans = [line.strip() for line in plan if "Scan" in line]
        print(f"[PostgreSQL] plan of the {name}: " + "; ".join(scans), flush=True)
    db.session.rollback()


# ---- the run ---------------------------------------------------------------------------------


@dataclass
class Measure:
    """One measure: the project's URL and wrk script (a list: one script a round, for a
    measure that uses up what it sends), the reference's URL and script, the goal."""

    name: str
    url: str
    script: str | list[str]
    ref: tuple[str, str]
    goal: float = 0.6
    #: connections (None: --connections) and wrk threads (None: at most 4)
    connections: int | None = None
    threads: int | None = None


def wanted(args, name: str) -> bool:
    """Whether --measures (comma-separated parts of names; empty: all) keeps this measure."""
    keep = [p.strip() for p in args.measures.split(",") if p.strip()]
    return not keep or any(p in name for p in keep)


def run_database(label: str, database_url: str, args, tmp: Path) -> list[dict]:
    """Seed, start both servers, run every measure interleaved; returns table rows."""
    from bench import ref_app
    from counselor.config import new_encryption_key

    keys = new_encryption_key()
    instance = tmp / f"instance-{label}"
    env = {
        "SECRET_KEY": SECRET,
        "COUNSELOR_ENCRYPTION_KEYS": keys,
        "DATABASE_URL": database_url,
        "BENCH_INSTANCE": str(instance),
        "REF_DATABASE_URL": database_url,
        "WEB_CONCURRENCY": "2",
    }
    os.environ.update({k: v for k, v in env.items() if k != "DATABASE_URL"})
    app = bench_app(database_url, instance, COUNSELOR_ENCRYPTION_KEYS=keys)
    t0 = time.monotonic()
    data = seed(app, small=10, large=args.cases, audit_rows=args.audit_rows)
    ref_app.create_schema(ref_app.url())
    print(
        f"[{label}] seeded in {time.monotonic() - t0:.1f} s: 10 + 100 + {args.cases} cases, "
        f"{args.audit_rows} audit events",
        flush=True,
    )
    with app.app_context():
        from counselor.extensions import db

        if db.engine.dialect.name == "postgresql":
            explain(data)
    pool = []
    if wanted(args, "portal submit"):
        t0 = time.monotonic()
        count = submit.pool_size(args.seconds, args.rounds, args.submit_rate)
        pool = submit.seed_pool(app, data["counselors"]["small"], data["thirty_version"], count)
        print(f"[{label}] {count} partners to submit seeded in {time.monotonic() - t0:.1f} s")
    with app.app_context():
        from counselor.extensions import db

        db.engine.dispose()

    project, pbase = start_gunicorn("bench.load_wsgi:app", env)
    reference, rbase = start_gunicorn("bench.ref_app:app", env)
    try:
        small = sign_in(pbase, data["counselors"]["small"], PASSWORD)
        large = sign_in(pbase, data["counselors"]["large"], PASSWORD)
        sessions = [open_link(pbase, t) for t in data["autosave_tokens"]]
        ref_page = (rbase + "/page", "")
        ref_post = (
            rbase + "/save",
            POST_LUA
            % lua_string(urllib.parse.urlencode({f"f{i}": f"{SENTENCE} {i}" for i in range(30)})),
        )
        answers = json.dumps(thirty_answers(), ensure_ascii=False)
        conns = args.connections
        measures = [
            Measure("caseload, 10 cases", pbase + "/cases", GET_LUA % lua_string(small), ref_page),
            Measure(
                f"caseload, {args.cases} cases",
                pbase + "/cases",
                GET_LUA % lua_string(large),
                ref_page,
            ),
            Measure(
                "case page", pbase + f"/cases/{data['case']}", GET_LUA % lua_string(small), ref_page
            ),
            *(
                Measure(
                    f"comparison {page}, {size} partners",
                    pbase + data["compare_paths"][size][page],
                    GET_LUA % lua_string(small),
                    ref_page,
                    goal,
                )
                for page in ("first", "section", "preview")
                for size, goal in ((2, 0.5), (6, 0.3))
            ),
            Measure(
                "portal autosave, 30 items",
                pbase + "/p/autosave",
                AUTOSAVE_LUA % (lua_table(sessions), lua_string(answers)),
                ref_post,
                connections=len(sessions),
            ),
            # one thread per connection: each walks its own slice of the pool
            Measure(
                "portal submit, 30 items",
                pbase,
                submit.scripts(pool, args.rounds, conns, tmp),
                ref_post,
                threads=conns,
            ),
        ]
        rows = []
        for m in (m for m in measures if wanted(args, m.name)):
            rounds = []
            for n in range(args.rounds):
                script = m.script[n] if isinstance(m.script, list) else m.script
                c = m.connections or conns
                before = wrk(*m.ref, args.seconds, c, tmp)
                mine = wrk(m.url, script, args.seconds, c, tmp, threads=m.threads)
                after = wrk(*m.ref, args.seconds, c, tmp)
                ref = (before["rps"] + after["rps"]) / 2
                rounds.append((mine, ref, mine["rps"] / ref))
            mine = {
                k: statistics.median(r[0][k] for r in rounds) for k in ("rps", "p50", "p99", "bad")
            }
            row = {
                "db": label,
                "measure": m.name,
                "ref_rps": statistics.median(r[1] for r in rounds),
                **mine,
                "ratio": statistics.median(r[2] for r in rounds),
                "goal": m.goal,
                "ran_out": sum(submit.ran_out(r[0]["output"]) for r in rounds),
            }
            rows.append(row)
            print(_line(row), flush=True)
        if not wanted(args, "one user"):
            return rows
        # One user, one connection: does a page's latency grow with the caseload? 10 cases
        # fill a fifth of a page, 100 and more fill the page of 50.
        sizes = {"small": 10, "mid": 100, "large": args.cases}
        mid = sign_in(pbase, data["counselors"]["mid"], PASSWORD)
        cookies = {"small": small, "mid": mid, "large": large}
        p50 = {
            k: wrk(pbase + "/cases", GET_LUA % lua_string(cookies[k]), args.seconds, 1, tmp)["p50"]
            for k in sizes
        }
        for a, b in (("small", "large"), ("mid", "large")):
            rows.append(
                {
                    "db": label,
                    "measure": f"caseload {sizes[a]} → {sizes[b]} cases, one user",
                    "one_user": (p50[a], p50[b]),
                    "flat": p50[b] / p50[a],
                }
            )
            print(
                f"[{label}] caseload one user p50: {p50[a]:.1f} ms ({sizes[a]} cases) -> "
                f"{p50[b]:.1f} ms ({sizes[b]} cases): {p50[b] / p50[a]:.2f}x (goal <= 1.5x)",
                flush=True,
            )
        return rows
    finally:
        stop(project)
        stop(reference)


def _sa(url: str) -> str:
    return (
        "postgresql+psycopg://" + url[len("postgresql://") :]
        if url.startswith("postgresql://")
        else url
    )


def _line(row: dict) -> str:
    ok = "ok" if row["ratio"] >= row["goal"] else "BELOW"
    return (
        f"[{row['db']}] {row['measure']:<28} ref {row['ref_rps']:7.0f} req/s | project "
        f"{row['rps']:7.0f} req/s p50 {row['p50']:6.1f} ms p99 {row['p99']:6.1f} ms | ratio "
        f"{row['ratio']:.3f} (goal >= {row['goal']}) {ok}"
        + (f" | {row['bad']:.0f} non-2xx" if row["bad"] else "")
        + (
            f" | the pool of partners ran out in {row['ran_out']} round(s): wrk divides by the "
            "whole run, so this rate is a floor (raise --submit-rate)"
            if row.get("ran_out")
            else ""
        )
    )


def markdown(rows: list[dict]) -> str:
    """The README table."""
    lines = [
        "| database | measure | reference req/s | Counselor req/s | p50 ms | p99 ms | ratio | goal |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "one_user" in r:
            lines.append(
                f"| {r['db']} | {r['measure']} | | | {r['one_user'][0]:.1f} → "
                f"{r['one_user'][1]:.1f} | | {r['flat']:.2f}× | ≤ 1.5× |"
            )
        else:
            lines.append(
                f"| {r['db']} | {r['measure']} | {r['ref_rps']:.0f} | {r['rps']:.0f} | "
                f"{r['p50']:.1f} | {r['p99']:.1f} | {r['ratio']:.3f} | ≥ {r['goal']} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s runs, 300 cases")
    parser.add_argument("--pg-url", default=os.environ.get("COUNSELOR_BENCH_DATABASE_URL", ""))
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--audit-rows", type=int, default=200_000)
    parser.add_argument(
        "--measures",
        default="",
        help="comma-separated parts of measure names to run (caseload, case page, comparison, "
        "autosave, submit, one user); default all",
    )
    parser.add_argument(
        "--submit-rate",
        type=int,
        default=submit.RATE,
        help="submits a second the pool of partners is sized for (default %(default)s)",
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.cases, args.audit_rows = 1, 2, 300, 20_000
    args.seconds = int(args.seconds) if args.seconds >= 1 else 1
    if not os.path.exists(WRK):
        print("wrk is not installed (Debian package wrk)", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="counselor-load-") as tmpdir:
        tmp = Path(tmpdir)
        if not args.no_sqlite:
            rows += run_database("SQLite", f"sqlite:///{tmp / 'bench.sqlite3'}", args, tmp)
        if args.pg_url:
            rows += run_database("PostgreSQL", args.pg_url, args, tmp)
    print()
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
