"""Load benchmark: Counselor against a bare Flask reference, side by side, with wrk.

    python bench/load.py --quick                        # SQLite, 1 round of 2 s runs
    python bench/load.py --pg-url postgresql://postgres@127.0.0.1:5432/perf_bench
    python bench/load.py --rounds 3 --seconds 8         # the issue's protocol
    python bench/load.py --measures autosave,submit     # only the measures named (in part)
    python bench/load.py --pg-url ... --redis-url redis://127.0.0.1:6379/9   # production's shape
    python bench/load.py --promises-off   # also the app with audit, encryption, session off

Seeds a scratch database through the app's own services (counselors; cases with 2-6
partners; sessions; submitted homework; a 30-item exercise; audit history; for the submit, a
pool of partners with complete unsent answers, see bench/submit.py), starts the
project and bench/ref_app.py under the same gunicorn settings (sync workers x2, no access
log), and drives each measure with wrk interleaved: reference, project, reference. The ratio
of a round is project / mean of the two reference runs; the table shows medians over rounds
(and each measure's line every round's ratio beside the median).
wrk (Debian package) is the only tool used; Lua scripts carry cookies and CSRF tokens.
The PostgreSQL database named by --pg-url is emptied first: give it a bench database.
With --redis-url the PostgreSQL run serves the project as production runs it, with Redis as
its broker and rate-limit store (the Redis database is flushed before and after: give it one
of its own); the SQLite run always keeps the embedded defaults of `make run`.
With --promises-off a third server (same settings, same database) serves the app with the
audit trail, encryption and the session look-ups switched off in its processes
(bench/ablate.py), run in each round between the project and the second reference run: an
experiment that measures what the promises cost under load, never a way to run the app.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import ablate, submit  # noqa: E402
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
    with_current_revision,
    wrk,
)
from bench.seed import (  # noqa: E402
    PASSWORD,
    SENTENCE,
    ablated_autosave_tokens,
    bench_app,
    explain,
    seed,
    served_env,
    thirty_answers,
)

# ---- the run ---------------------------------------------------------------------------------


@dataclass
class Measure:
    """One measure: the project's URL and wrk script (a list: one script a round, for a
    measure that uses up what it sends; a function: made anew for each round, for a measure
    whose state moves on), the reference's URL and script, the goal."""

    name: str
    url: str
    script: str | list[str] | Callable[[], str]
    ref: tuple[str, str]
    goal: float = 0.6
    #: connections (None: --connections) and wrk threads (None: at most 4)
    connections: int | None = None
    threads: int | None = None


def wanted(args, name: str) -> bool:
    """Whether --measures (comma-separated parts of names; empty: all) keeps this measure."""
    keep = [p.strip() for p in args.measures.split(",") if p.strip()]
    return not keep or any(p in name for p in keep)


def flush_redis(redis_url: str) -> None:
    """Empty the bench's own Redis database (queued mail tasks no worker consumed, limits)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()


def run_database(label: str, database_url: str, args, tmp: Path, redis_url: str = "") -> list[dict]:
    """Seed, start both servers, run every measure interleaved; returns table rows.

    With ``redis_url`` the project's broker and rate-limit store are that Redis database."""
    from bench import ref_app

    instance = tmp / f"instance-{label}"
    env = served_env(
        database_url,
        instance,
        REF_DATABASE_URL=database_url,
        WEB_CONCURRENCY="2",
        REDIS_URL=redis_url,
    )
    keys = env["COUNSELOR_ENCRYPTION_KEYS"]
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
    pool, off_pool, off_tokens = [], [], []
    if args.promises_off and wanted(args, "portal autosave"):
        off_tokens = ablated_autosave_tokens(app, data)
    if wanted(args, "portal submit"):
        t0 = time.monotonic()
        count = submit.pool_size(args.seconds, args.rounds, args.submit_rate)
        servers = 2 if args.promises_off else 1  # each server its own partners to send
        pool = submit.seed_pool(
            app, data["counselors"]["submit"], data["submit_version"], count * servers
        )
        pool, off_pool = pool[:count], pool[count:]
        if off_pool:
            # sealed as the ablated server seals: it opens them without AES-GCM
            ablate.plain_answers(app, [p["path"].split("/")[3] for p in off_pool])
        print(
            f"[{label}] {count * servers} partners to submit seeded in "
            f"{time.monotonic() - t0:.1f} s"
        )
    with app.app_context():
        from sqlalchemy import text

        from counselor.extensions import db

        if db.engine.dialect.name == "postgresql":
            # this machine's server runs without autovacuum; a production server runs it, and
            # after the seeding's inserts (PostgreSQL 13+ vacuums after inserts too) it would
            # have vacuumed and analysed every table: statistics for the planner, and the
            # visibility map that lets an index answer a count without reading the table
            db.session.commit()
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        db.engine.dispose()
    if redis_url:
        flush_redis(redis_url)  # what seeding queued; the servers start from an empty broker

    project, pbase = start_gunicorn("bench.load_wsgi:app", env)
    reference, rbase = start_gunicorn("bench.ref_app:app", env)
    off = None
    if args.promises_off:
        off_env = {**env, "BENCH_PROMISE_OFF": ",".join(ablate.SWITCHES)}
        off, obase = start_gunicorn("bench.load_wsgi:app", off_env)
    try:
        ref_page = (rbase + "/page", "")
        ref_post = (
            rbase + "/save",
            POST_LUA
            % lua_string(urllib.parse.urlencode({f"f{i}": f"{SENTENCE} {i}" for i in range(30)})),
        )
        conns = args.connections
        refs_of = (ref_page, ref_post)
        measures = served_measures(args, data, pbase, data["autosave_tokens"], pool, tmp, refs_of)
        # the same measures on the server with the promises off, each with its own partners
        off_measures = {
            m.name: m
            for m in (
                served_measures(args, data, obase, off_tokens, off_pool, tmp, refs_of, "off")
                if off
                else []
            )
        }
        rows = []
        for m in (m for m in measures if wanted(args, m.name)):
            rounds, refs, offs = [], [], []
            o = off_measures.get(m.name)
            for n in range(args.rounds):
                c = m.connections or conns
                before = wrk(*m.ref, args.seconds, c, tmp, server=reference)
                mine = wrk(m.url, script_of(m, n), args.seconds, c, tmp, m.threads, project)
                if o:
                    offs.append(wrk(o.url, script_of(o, n), args.seconds, c, tmp, o.threads, off))
                after = wrk(*m.ref, args.seconds, c, tmp, server=reference)
                ref = (before["rps"] + after["rps"]) / 2
                rounds.append((mine, ref, mine["rps"] / ref))
                refs.append((before, after))
            mine = {
                k: statistics.median(r[0][k] for r in rounds) for k in ("rps", "p50", "p99", "bad")
            }
            row = {
                "db": label,
                "measure": m.name,
                "ref_rps": statistics.median(r[1] for r in rounds),
                **mine,
                "ratio": statistics.median(r[2] for r in rounds),
                # each round's: their spread says how steady the machine was (the req/s
                # columns are medians of their own, so their quotient may differ)
                "round_ratios": [r[2] for r in rounds],
                "goal": m.goal,
                "ran_out": sum(submit.ran_out(r[0]["output"]) for r in rounds),
                # CPU per request by whom (ms): gunicorn's processes, wrk, PostgreSQL's
                "cpu": _median_cpu([r[0] for r in rounds]),
                "ref_cpu": {
                    k: statistics.median((b["cpu"][k] + a["cpu"][k]) / 2 for b, a in refs)
                    for k in refs[0][0]["cpu"]
                },
            }
            if offs:
                row["off"] = {
                    "rps": statistics.median(x["rps"] for x in offs),
                    "ratio": statistics.median(
                        x["rps"] / r[1] for x, r in zip(offs, rounds, strict=True)
                    ),
                    "bad": statistics.median(x["bad"] for x in offs),
                    "ran_out": sum(submit.ran_out(x["output"]) for x in offs),
                    "cpu": _median_cpu(offs),
                }
            rows.append(row)
            print(_line(row), flush=True)
        if not wanted(args, "one user"):
            return rows
        small, large = (sign_in(pbase, data["counselors"][k], PASSWORD) for k in ("small", "large"))
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
        if off:
            stop(off)


def script_of(m: Measure, n: int) -> str:
    """The measure's wrk script for round ``n`` (see ``Measure.script``)."""
    script = m.script[n] if isinstance(m.script, list) else m.script
    return script() if callable(script) else script


def _median_cpu(runs: list[dict]) -> dict:
    return {k: statistics.median(r["cpu"][k] for r in runs) for k in runs[0]["cpu"]}


def served_measures(
    args, data: dict, base: str, tokens: list, pool: list, tmp: Path, refs, name="submit"
) -> list[Measure]:
    """The measures of the server at ``base`` against the reference's (page, save) ``refs``:
    its own counselors' sign-ins, autosave with the links ``tokens``, the submit with the
    partners ``pool`` (its files named after ``name``)."""
    ref_page, ref_post = refs
    small, large = (sign_in(base, data["counselors"][k], PASSWORD) for k in ("small", "large"))
    sessions = [open_link(base, t) for t in tokens]
    # "@@": where the wrk script writes each save's number (AUTOSAVE_LUA)
    answers = json.dumps({**thirty_answers(), "t0": f"{SENTENCE} (@@)"}, ensure_ascii=False)
    return [
        Measure("caseload, 10 cases", base + "/cases", GET_LUA % lua_string(small), ref_page),
        Measure(
            f"caseload, {args.cases} cases",
            base + "/cases",
            GET_LUA % lua_string(large),
            ref_page,
        ),
        Measure(
            "case page", base + f"/cases/{data['case']}", GET_LUA % lua_string(small), ref_page
        ),
        *(
            Measure(
                f"comparison {page}, {size} partners",
                base + data["compare_paths"][size][page],
                GET_LUA % lua_string(small),
                ref_page,
                goal,
            )
            for page in ("first", "section", "preview")
            for size, goal in ((2, 0.5), (6, 0.3))
        ),
        Measure(
            "portal autosave, 30 items",
            base + "/p/autosave",
            lambda: (
                AUTOSAVE_LUA
                % (
                    lua_table([with_current_revision(base, s) for s in sessions]),
                    lua_string(answers),
                )
            ),
            ref_post,
            connections=len(sessions),
        ),
        # one thread per connection: each walks its own slice of the pool
        Measure(
            "portal submit, 30 items",
            base,
            submit.scripts(pool, args.rounds, args.connections, tmp, name),
            ref_post,
            threads=args.connections,
        ),
    ]


def _line(row: dict) -> str:
    ok = "ok" if row["ratio"] >= row["goal"] else "BELOW"
    return (
        f"[{row['db']}] {row['measure']:<28} ref {row['ref_rps']:7.0f} req/s | project "
        f"{row['rps']:7.0f} req/s p50 {row['p50']:6.1f} ms p99 {row['p99']:6.1f} ms | ratio "
        f"{row['ratio']:.3f} (goal >= {row['goal']}) {ok}"
        + " (rounds "
        + ", ".join(f"{r:.3f}" for r in row.get("round_ratios", []))
        + ")"
        + (f" | {row['bad']:.0f} non-2xx" if row["bad"] else "")
        + " | CPU ms/request ref "
        + _cpu(row["ref_cpu"])
        + ", project "
        + _cpu(row["cpu"])
        + (
            f" | the pool of partners ran out in {row['ran_out']} round(s): wrk divides by the "
            "whole run, so this rate is a floor (raise --submit-rate)"
            if row.get("ran_out")
            else ""
        )
        + (_off_line(row["off"]) if "off" in row else "")
    )


def _off_line(off: dict) -> str:
    return (
        f" | promises off {off['rps']:7.0f} req/s ratio {off['ratio']:.3f}"
        + (f" {off['bad']:.0f} non-2xx" if off["bad"] else "")
        + f" CPU ms/request {_cpu(off['cpu'])}"
        + (f" (its pool ran out in {off['ran_out']} round(s))" if off["ran_out"] else "")
    )


def _all_cpu(row: dict, cpu: dict) -> float:
    """All the CPU a request cost: gunicorn's, wrk's, and on PostgreSQL its and Redis's
    servers' (on SQLite they serve other work)."""
    services = _services(cpu) if row["db"] == "PostgreSQL" else 0
    return cpu["server"] + cpu["wrk"] + services


def _services(cpu: dict) -> float:
    """PostgreSQL's and Redis's CPU a request."""
    return cpu["postgres"] + cpu["redis"]


def promises_markdown(rows: list[dict]) -> str:
    """``--promises-off``: the app with audit, encryption and session work switched off in its
    processes, next to the real app, in the same rounds against the same reference runs."""
    lines = [
        "| database | measure | reference req/s | Counselor req/s (ratio) | promises off req/s "
        "(ratio) | gunicorn CPU ms/req: reference → Counselor → promises off | ratio of all "
        "CPU per request: Counselor → promises off |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "off" not in r:
            continue
        off, ref = r["off"], _all_cpu(r, r["ref_cpu"])
        lines.append(
            f"| {r['db']} | {r['measure']} | {r['ref_rps']:.0f} | {r['rps']:.0f} "
            f"({r['ratio']:.3f}) | {off['rps']:.0f} ({off['ratio']:.3f})"
            + (f", {off['bad']:.0f} non-2xx" if off["bad"] else "")
            + f" | {r['ref_cpu']['server']:.2f} → {r['cpu']['server']:.2f} → "
            f"{off['cpu']['server']:.2f} | {ref / _all_cpu(r, r['cpu']):.3f} → "
            f"{ref / _all_cpu(r, off['cpu']):.3f} |"
        )
    return "\n".join(lines)


def _cpu(cpu: dict) -> str:
    return " ".join(f"{k} {v:.2f}" for k, v in cpu.items() if k in ("server", "wrk") or v >= 0.005)


def cpu_markdown(rows: list[dict]) -> str:
    """Where each request's CPU went under load, project against reference (ms per request):
    gunicorn's processes, PostgreSQL's and Redis's (on the PostgreSQL run), and wrk's. The
    2 cores are shared by all of them: where the req/s ratio is below the ratio of all CPU
    per request, the rest is waiting (locks, disk), not computing."""
    lines = [
        "| database | measure | gunicorn CPU ms/req: reference → Counselor | PostgreSQL + "
        "Redis CPU ms/req | wrk CPU ms/req | ratio of all CPU per request |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "cpu" not in r:
            continue
        ref, mine = r["ref_cpu"], r["cpu"]
        on_pg = r["db"] == "PostgreSQL"  # on SQLite the services' CPU is other work's
        pg = f"{_services(ref):.2f} → {_services(mine):.2f}" if on_pg else "–"
        total, ref_total = _all_cpu(r, mine), _all_cpu(r, ref)
        lines.append(
            f"| {r['db']} | {r['measure']} | {ref['server']:.2f} → {mine['server']:.2f} | {pg} | "
            f"{ref['wrk']:.2f} → {mine['wrk']:.2f} | {ref_total / total:.3f} |"
        )
    return "\n".join(lines)


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
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("COUNSELOR_BENCH_REDIS_URL", ""),
        help="serve the PostgreSQL run with this Redis database as broker and rate-limit store "
        "(production's shape); flushed before and after",
    )
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
        default=0,
        help=f"submits a second the pool of partners is sized for (default {submit.RATE}, "
        f"{submit.QUICK_RATE} with --quick)",
    )
    parser.add_argument(
        "--promises-off",
        action="store_true",
        help="also serve the app with audit, encryption and session work switched off "
        "(bench/ablate.py) and run it in each round: what the promises cost under load",
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.cases, args.audit_rows = 1, 2, 300, 20_000
    args.submit_rate = args.submit_rate or (submit.QUICK_RATE if args.quick else submit.RATE)
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
            try:
                rows += run_database("PostgreSQL", args.pg_url, args, tmp, args.redis_url)
            finally:
                if args.redis_url:
                    flush_redis(args.redis_url)
    print()
    print(markdown(rows))
    print()
    print(cpu_markdown(rows))
    if args.promises_off:
        print()
        print(promises_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
