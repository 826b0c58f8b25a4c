"""The comparison page's CPU per request, in process, next to the bare reference page.

    python bench/compare.py                      # scratch SQLite, 120 requests per page
    python bench/compare.py --pg-url postgresql://postgres@127.0.0.1:5432/compare_bench
    python bench/compare.py --profile 25         # also cProfile each page: the top 25 lines

Seeds a scratch database with bench/seed.py's ``seed`` (a couple and six partners with a
submitted 202-item desire inventory), signs a counselor in with the Flask test client and
times the comparison pages through it, templates included: this process's CPU time per
request (``time.process_time``, which waiting for a busy core does not inflate), after
warm-up requests. Beside them it times bench/ref_app.py's ``GET /page`` (a Jinja page of 50
rows from one query) the same way, and prints each page's ratio to it (the reference's CPU
over the page's: what the load bench's req/s ratio tends to when both are CPU-bound).
The PostgreSQL database named by --pg-url is emptied first: give it a bench database.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.seed import bench_app, seed, signed_in_client  # noqa: E402


def timed(client, url: str, runs: int, warm: int) -> tuple[list[float], int]:
    """CPU ms of each of ``runs`` requests after ``warm`` untimed ones; the page's size."""
    size = 0
    for _ in range(warm):
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        size = len(r.data)
    out = []
    for _ in range(runs):
        cpu = time.process_time()
        r = client.get(url)
        out.append((time.process_time() - cpu) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return out, size


def profile(client, url: str, runs: int, top: int) -> None:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(runs):
        client.get(url)
    prof.disable()
    print(f"--- cProfile of {runs} requests of {url}")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def print_statements(app, client, name: str, url: str) -> None:
    from sqlalchemy import event

    from counselor.extensions import db

    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split())[:160])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    print(f"--- {name}: {len(seen)} statements")
    for line in seen:
        print("   ", line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default="", help="a bench database (emptied first)")
    parser.add_argument("--runs", type=int, default=120, help="timed requests per page")
    parser.add_argument("--warm", type=int, default=5, help="untimed requests first")
    parser.add_argument("--profile", type=int, default=0, help="cProfile: top N lines")
    parser.add_argument("--only", default="", help="time only pages whose name has this")
    parser.add_argument("--statements", action="store_true", help="print each page's SQL")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="counselor-compare-"))
    database_url = args.pg_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["REF_DATABASE_URL"] = database_url

    from bench import ref_app

    app = bench_app(database_url, tmp / "instance", WTF_CSRF_ENABLED=False)
    data = seed(app, small=10, large=100, audit_rows=1000)
    ref_app.create_schema(ref_app.url())
    client = signed_in_client(app, data["counselors"]["small"])
    reference = ref_app.app.test_client()

    paths = data["compare_paths"]
    pages = {
        "reference /page": (reference, "/page"),
        "caseload, 10 cases": (client, "/cases"),
        **{
            f"comparison {page}, {size} partners": (client, paths[size][page])
            for size in (2, 6)
            for page in ("first", "section", "preview")
        },
        **{
            f"comparison, {size} partners, all": (client, paths[size]["first"] + "?section=all")
            for size in (2, 6)
        },
    }
    label = "PostgreSQL" if args.pg_url else "SQLite"
    results = {}
    for name, (who, url) in pages.items():
        if args.only and args.only not in name and name != "reference /page":
            continue
        runs = args.runs if "all" not in name else max(10, args.runs // 10)
        cpu, size = timed(who, url, runs, args.warm)
        if args.statements and who is client:
            print_statements(app, who, name, url)
        results[name] = (statistics.median(cpu), statistics.mean(cpu), size, runs)
        if args.profile and "reference" not in name:
            profile(who, url, min(runs, 50), args.profile)
    ref = results["reference /page"][0]
    print()
    print(f"{label}, in-process CPU per request (median / mean of N requests after warm-up):")
    print()
    print("| page | N | CPU ms median | CPU ms mean | KiB | reference CPU / page CPU |")
    print("|---|---|---|---|---|---|")
    for name, (median, mean, size, runs) in results.items():
        print(
            f"| {name} | {runs} | {median:.1f} | {mean:.1f} | {size / 1024:.0f} | "
            f"{ref / median:.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
