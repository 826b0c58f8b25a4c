"""The caseload and the case page in instructions (callgrind), next to the bare reference page.

    python bench/caseload_cost.py                         # SQLite scratch file
    python bench/caseload_cost.py --pg-url postgresql://postgres@127.0.0.1:5432/perf_bench
    python bench/caseload_cost.py --cases 1000 --warmup 30 --count 20

Seeds bench/seed.py's ``seed`` (caseloads of 10, 100 and ``--cases`` cases; the last two a
full page of 50 rows) outside valgrind (seeding under it would take many minutes), on a
scratch SQLite file or the PostgreSQL database of ``--pg-url`` (emptied), then runs itself
under ``valgrind --tool=callgrind --instr-atstart=no`` on that database with the same
encryption key and counts the instructions of ``--count`` requests of each page after
``--warmup`` of each: bench/ref_app.py's ``GET /page`` (on the same kind of database), the
caseload of 10 and of ``--cases`` cases and the case page (``bench/load.py``'s pages).
PostgreSQL's own work is in its server process and not counted. Needs valgrind's headers and
a C compiler (bench/submit_cost.py's helper).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seed import bench_app, seed, signed_in_client  # noqa: E402
from bench.submit_cost import count_pages, pages_counted, reopened  # noqa: E402


def _seeded(tmp: Path, pg_url: str, cases: int) -> dict:
    """Seed the database; what the counting run needs to open it again."""
    from counselor.config import new_encryption_key

    key = new_encryption_key()
    url = pg_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    app = bench_app(url, tmp / "instance", WTF_CSRF_ENABLED=False, COUNSELOR_ENCRYPTION_KEYS=key)
    data = seed(app, small=10, large=cases, audit_rows=2000)
    ref = pg_url or f"sqlite:///{tmp / 'reference.sqlite3'}"
    return {
        "url": url,
        "ref": ref,
        "key": key,
        "counselors": data["counselors"],
        "case": data["case"],
    }


def _count(tmp: Path, warmup: int, count: int) -> None:
    """Inside valgrind: each page's ``count`` requests, one dump of instructions each."""
    seeded = json.loads((tmp / "seeded.json").read_text())
    app, reference = reopened(tmp, seeded, seeded["ref"])
    small = signed_in_client(app, seeded["counselors"]["small"])
    large = signed_in_client(app, seeded["counselors"]["large"])
    pages = {
        "reference": (reference, "/page"),
        "caseload-small": (small, "/cases"),
        "caseload-large": (large, "/cases"),
        "case": (small, f"/cases/{seeded['case']}"),
    }
    count_pages(tmp, pages, warmup, count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="", help="a PostgreSQL bench database (emptied)")
    parser.add_argument("--cases", type=int, default=1000, help="cases of the large caseload")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--count", type=int, default=20, help="requests counted per page")
    parser.add_argument("--inside-callgrind", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside_callgrind:
        _count(Path(args.inside_callgrind), args.warmup, args.count)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="counselor-caseload-"))
    seeded = _seeded(tmp, args.pg_url, args.cases)
    totals, out = pages_counted(__file__, tmp, seeded, args.warmup, args.count)
    ref = totals["reference"]
    database = "PostgreSQL" if args.pg_url else "SQLite"
    print(f"callgrind ({database}), {args.count} requests each after {args.warmup} of warm-up:")
    print(f"  reference /page: {ref / 1e6:.2f} M instructions ({out})")
    names = {
        "caseload-small": "caseload, 10 cases",
        "caseload-large": f"caseload, {args.cases:,} cases",
        "case": "case page",
    }
    for key, name in names.items():
        print(f"  {name}: {totals[key] / 1e6:.2f} M instructions, ratio {ref / totals[key]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
