"""The comparison's section page and a partner's preview in instructions (callgrind), next
to the bare reference page.

    python bench/preview_cost.py                 # SQLite scratch file, 10 requests of each
    python bench/preview_cost.py --count 20
    python bench/preview_cost.py --pages preview --pg-url postgresql://postgres@127.0.0.1:5432/b

Seeds a scratch SQLite database with bench/seed.py's ``seed`` outside valgrind (seeding under
it would take many minutes), then runs itself under ``valgrind --tool=callgrind
--instr-atstart=no`` on that database with the same encryption key, signs a counselor in,
and after ``--warmup`` requests of each page counts the instructions of ``--count`` requests
of bench/ref_app.py's ``GET /page`` and, for the couple's and the six partners' desire
inventory, of the comparison's largest section page and of the first partner's preview (the
pages ``bench/load.py`` measures as ``comparison section`` and ``comparison preview``, the
latter its largest section's page). Instructions in user space do not move with the
machine's load; with ``--pg-url`` (a bench database, emptied) the app and the reference read
PostgreSQL, and the server's own work, in its own processes, is not counted. Needs
valgrind's headers and a C compiler (bench/submit_cost.py's helper).
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

#: the pages counted besides the reference (``bench/seed.py``'s ``compare_paths``)
PAGES = ("section", "preview")


def _seeded(tmp: Path, pg_url: str) -> dict:
    """Seed the scratch database; what the counting run needs to open it again."""
    from counselor.config import new_encryption_key

    key = new_encryption_key()
    url = pg_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    data = seed(
        bench_app(url, tmp / "instance", WTF_CSRF_ENABLED=False, COUNSELOR_ENCRYPTION_KEYS=key),
        small=10,
        large=10,
        audit_rows=100,
    )
    paths = {
        f"{page}-{size}": data["compare_paths"][size][page] for page in PAGES for size in (2, 6)
    }
    return {"url": url, "key": key, "email": data["counselors"]["small"], "paths": paths}


def _count(tmp: Path, warmup: int, count: int, pages: list[str]) -> None:
    """Inside valgrind: each page's ``count`` requests, one dump of instructions each."""
    seeded = json.loads((tmp / "seeded.json").read_text())
    url = seeded["url"]
    ref_url = url if url.startswith("postgresql") else f"sqlite:///{tmp / 'reference.sqlite3'}"
    app, reference = reopened(tmp, seeded, ref_url)
    client = signed_in_client(app, seeded["email"])
    counted = {"reference": (reference, "/page")}
    counted |= {
        name: (client, path)
        for name, path in seeded["paths"].items()
        if name.split("-")[0] in pages
    }
    count_pages(tmp, counted, warmup, count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--count", type=int, default=10, help="requests counted per page")
    parser.add_argument("--pages", default=",".join(PAGES), help="section, preview or both")
    parser.add_argument("--pg-url", default="", help="a PostgreSQL bench database (emptied)")
    parser.add_argument("--inside-callgrind", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pages = [p for p in PAGES if p in args.pages.split(",")]
    if args.inside_callgrind:
        _count(Path(args.inside_callgrind), args.warmup, args.count, pages)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="counselor-preview-"))
    totals, out = pages_counted(
        __file__,
        tmp,
        _seeded(tmp, args.pg_url),
        args.warmup,
        args.count,
        extra=(f"--pages={','.join(pages)}",),
    )
    ref = totals["reference"]
    print(f"callgrind, {args.count} requests each after {args.warmup} of warm-up ({out}):")
    print(f"  reference /page: {ref / 1e6:.2f} M instructions")
    for page in pages:
        for size in ("2", "6"):
            n = totals[f"{page}-{size}"]
            print(
                f"  comparison {page}, {size} partners: {n / 1e6:.2f} M instructions, "
                f"ratio {ref / n:.3f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
