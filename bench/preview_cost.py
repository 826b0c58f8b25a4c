"""A partner's preview in instructions (callgrind), next to the bare reference page.

    python bench/preview_cost.py                 # SQLite scratch file, 10 requests of each
    python bench/preview_cost.py --count 20

Seeds a scratch SQLite database with bench/seed.py's ``seed`` outside valgrind (seeding under
it would take many minutes), then runs itself under ``valgrind --tool=callgrind
--instr-atstart=no`` on that database with the same encryption key, signs a counselor in,
and after ``--warmup`` requests of each page counts the instructions of ``--count`` requests
of bench/ref_app.py's ``GET /page`` and of the first partner's preview of the couple's and
the six partners' desire inventory: the page ``bench/load.py`` measures as ``comparison
preview`` (its largest section's page). Instructions in user space do not move with the
machine's load. Needs valgrind's headers and a C compiler (bench/submit_cost.py's helper).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seed import bench_app, seed, signed_in_client  # noqa: E402
from bench.submit_cost import _helper, under_valgrind  # noqa: E402


def _seeded(tmp: Path) -> dict:
    """Seed the scratch database; what the counting run needs to open it again."""
    from counselor.config import new_encryption_key

    key = new_encryption_key()
    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    data = seed(
        bench_app(url, tmp / "instance", WTF_CSRF_ENABLED=False, COUNSELOR_ENCRYPTION_KEYS=key),
        small=10,
        large=10,
        audit_rows=100,
    )
    paths = {size: data["compare_paths"][size]["preview"] for size in (2, 6)}
    return {"url": url, "key": key, "email": data["counselors"]["small"], "paths": paths}


def _count(tmp: Path, warmup: int, count: int) -> None:
    """Inside valgrind: each page's ``count`` requests, one dump of instructions each."""
    seeded = json.loads((tmp / "seeded.json").read_text())
    os.environ["REF_DATABASE_URL"] = f"sqlite:///{tmp / 'reference.sqlite3'}"
    from bench import ref_app

    app = bench_app(
        seeded["url"],
        tmp / "instance",
        WTF_CSRF_ENABLED=False,
        COUNSELOR_ENCRYPTION_KEYS=seeded["key"],
    )
    ref_app.create_schema(ref_app.url())
    client = signed_in_client(app, seeded["email"])
    pages = {"reference": (ref_app.app.test_client(), "/page")}
    pages |= {f"preview-{size}": (client, path) for size, path in seeded["paths"].items()}
    for who, path in pages.values():
        for _ in range(warmup):
            assert who.get(path).status_code == 200, path
    cg = _helper(tmp)
    gc.collect()
    gc.freeze()  # as wsgi.py does once the app is made
    for name, (who, path) in pages.items():
        cg.cg_start()
        for _ in range(count):
            who.get(path)
        cg.cg_stop()
        cg.cg_dump(name.encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--count", type=int, default=10, help="requests counted per page")
    parser.add_argument("--inside-callgrind", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside_callgrind:
        _count(Path(args.inside_callgrind), args.warmup, args.count)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="counselor-preview-"))
    (tmp / "seeded.json").write_text(json.dumps(_seeded(tmp)))
    out = tmp / "callgrind"
    out.mkdir()
    argv = [f"--warmup={args.warmup}", f"--count={args.count}", f"--inside-callgrind={tmp}"]
    totals = under_valgrind(__file__, argv, out, args.count)
    ref = totals["reference"]
    print(f"callgrind, {args.count} requests each after {args.warmup} of warm-up ({out}):")
    print(f"  reference /page: {ref / 1e6:.2f} M instructions")
    for size in ("2", "6"):
        page = totals[f"preview-{size}"]
        print(
            f"  comparison preview, {size} partners: {page / 1e6:.2f} M instructions, "
            f"ratio {ref / page:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
