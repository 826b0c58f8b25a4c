"""Portal submit's cost in process, next to the reference's 30-field save: CPU time interleaved
round by round, and instructions counted by callgrind around the submits only.

    python bench/submit_cost.py                          # SQLite, embedded broker
    REDIS_URL=redis://127.0.0.1:6379/6 python bench/submit_cost.py --pg-url postgresql://...
    python bench/submit_cost.py --callgrind              # the same seed, counted in instructions
    python bench/submit_cost.py --idle 120               # sessions unseen for 2 minutes, as load.py's
    python bench/submit_cost.py --syscalls               # system calls per request (strace)
    python bench/submit_cost.py --callgrind --valgrind-flag=--cache-sim=yes --valgrind-flag=--branch-sim=yes

Seeds a scratch database (SQLite, or the PostgreSQL database of ``--pg-url``, emptied) with a
counselor, the thirty-item exercise and a pool of couples whose answers are complete and not
sent (bench/submit.py's pool: every submit sends a response never sent before), and
bench/ref_app.py beside it. The broker is the app's: the embedded SQLite broker, or Redis when
``REDIS_URL`` is set (its database is flushed at the end: give it one of its own).

Without ``--callgrind``: after a warm-up, ``--rounds`` rounds of a batch of reference saves
then a batch of submits (``--batch`` each), CPU time (``time.process_time``) per request; the
ratio of a round is reference CPU over submit CPU, and the medians are printed. A busy machine
slows both alike within a round.

With ``--callgrind`` the script runs itself under ``valgrind --tool=callgrind
--instr-atstart=no`` and switches instrumentation on only around ``--count`` submits, then
around as many reference saves, after ``--warmup`` of each; instructions in user space, which
the machine's load does not move (the database's and broker's own file writes are in the
kernel and not counted). Needs valgrind's headers and a C compiler (a tiny helper issues the
client requests). Each ``--valgrind-flag`` is passed on to valgrind; with a simulation on
(``--cache-sim=yes``, ``--branch-sim=yes``, ``--LL=2097152,16,64`` for this machine's L2) every
event per request is printed beside the instructions.

Without ``--callgrind``, the CPU time is also split into user and system time (getrusage).
With ``--syscalls`` the script runs itself under ``strace -f`` and counts the system calls
made between two marks (``stat`` of a missing path) around ``--count`` submits, then around
as many reference saves, after the warm-up: per request, by call.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HELPER = r"""
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void cg_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
void cg_dump(const char *what) { CALLGRIND_DUMP_STATS_AT(what); }
void cg_zero(void) { CALLGRIND_ZERO_STATS; }
"""


def _helper(tmp: Path) -> ctypes.CDLL:
    source, lib = tmp / "cg.c", tmp / "cg.so"
    source.write_text(HELPER)
    subprocess.run(
        [
            shutil.which("cc") or "/usr/bin/cc",
            "-shared",
            "-fPIC",
            "-O1",
            "-o",
            str(lib),
            str(source),
        ],
        check=True,
    )
    return ctypes.CDLL(str(lib))


def setup(pg_url: str, tmp: Path, count: int, idle: int = 0):
    """(app, submit, save): the app, and functions making one submit of a fresh partner and
    one reference save; the partners' portal sessions last seen ``idle`` seconds ago."""
    from bench import cpu_split, submit

    url = pg_url or f"sqlite:///{tmp / 'submit.sqlite3'}"
    ref = cpu_split.reference_pages(pg_url or f"sqlite:///{tmp / 'reference.sqlite3'}")
    app, version = seeded_app(url, tmp)
    pool_of = {"counselors": {"submit": "submit@bench.example"}, "submit_version": version}
    send = cpu_split.submit_sender(app, pool_of, count)
    if idle:
        with app.app_context():
            submit.age_sessions(idle)
    return app, send, ref["save"]


def seeded_app(url: str, tmp: Path, **more):
    """(the app on ``url``, emptied, with a counselor and the thirty-item exercise; the
    exercise's version id): what bench/submit.py's pool is seeded on. ``more``: app settings."""
    from bench import seed
    from counselor.auth.services import create_counselor
    from counselor.extensions import db
    from counselor.questionnaires.services import load_definition, sync_library

    app = seed.bench_app(url, tmp / "instance", **more)
    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_library()
        owner = create_counselor("submit@bench.example", "Counselor submit", seed.PASSWORD)
        db.session.flush()
        version = load_definition(seed.THIRTY, owner.id)[0].latest.id
        db.session.commit()
    return app, version


def _times(fn, n: int) -> tuple[float, float]:
    """(user, system) CPU milliseconds per call of ``fn``, over ``n`` calls."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(n):
        fn()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return (
        (r1.ru_utime - r0.ru_utime) * 1000 / n,
        (r1.ru_stime - r0.ru_stime) * 1000 / n,
    )


def interleaved(args, send, save) -> None:
    for _ in range(args.warmup):
        send()
        save()
    subs, refs, ratios = [], [], []
    for _ in range(args.rounds):
        ref, sub = _times(save, args.batch), _times(send, args.batch)
        subs.append(sub)
        refs.append(ref)
        ratios.append(sum(ref) / sum(sub))

    def mean(rows, i):  # a mean: the kernel counts CPU time in whole ticks, user or system
        return statistics.fmean(r[i] for r in rows)

    print(
        f"submit {statistics.median(sum(s) for s in subs):.2f} ms CPU (user {mean(subs, 0):.2f}, "
        f"system {mean(subs, 1):.2f}), reference save {statistics.median(sum(r) for r in refs):.2f}"
        f" ms (user {mean(refs, 0):.2f}, system {mean(refs, 1):.2f}), ratio "
        f"{statistics.median(ratios):.3f} (medians of {args.rounds} rounds of {args.batch}; user "
        "and system: means)"
    )


#: what a request's system calls are found between, in strace's log (``stat`` of a missing path)
MARK = "/counselor-bench-mark"


def marked(args, send, save) -> None:
    """For ``--syscalls`` (run under strace): ``args.count`` calls of each, after the
    warm-up, each batch between two ``stat`` calls of ``MARK`` paths that strace logs."""
    for _ in range(args.warmup):
        send()
        save()
    for name, fn in (("submit", send), ("save", save)):
        os.path.exists(f"{MARK}-start-{name}")
        for _ in range(args.count):
            fn()
        os.path.exists(f"{MARK}-stop-{name}")


def syscalls(args) -> int:
    """Run this script under ``strace -f`` (``marked``) and print the system calls per
    submit and per reference save, by name, from the lines between the marks."""
    out = Path(tempfile.mkdtemp(prefix="counselor-strace-")) / "strace.log"
    argv = [a for a in sys.argv[1:] if a != "--syscalls"]
    subprocess.run(
        [shutil.which("strace") or "/usr/bin/strace", "-f", "-qq", "-o", str(out)]
        + [sys.executable, __file__, "--inside-strace", *argv],
        check=True,
    )
    counts: dict[str, dict[str, int]] = {}
    current = None
    call = re.compile(r"^(?:\d+\s+)?(?:<\.\.\. )?([a-z_0-9]+)[( ]")
    for line in out.read_text(errors="replace").splitlines():
        mark = re.search(MARK + r"-(start|stop)-(\w+)", line)
        if mark:
            current = mark.group(2) if mark.group(1) == "start" else None
            continue
        if current is None or "resumed>" in line:
            continue
        found = call.match(line)
        if found:
            per = counts.setdefault(current, {})
            per[found.group(1)] = per.get(found.group(1), 0) + 1
    names = sorted({n for per in counts.values() for n in per})
    print(f"system calls per request ({args.count} of each after {args.warmup} warm-up; {out})")
    print(f"{'call':<20}{'submit':>10}{'save':>10}")
    for n in names:
        row = [counts.get(w, {}).get(n, 0) / args.count for w in ("submit", "save")]
        print(f"{n:<20}{row[0]:>10.2f}{row[1]:>10.2f}")
    totals = [sum(counts.get(w, {}).values()) / args.count for w in ("submit", "save")]
    print(f"{'total':<20}{totals[0]:>10.2f}{totals[1]:>10.2f}")
    return 0


def counted(args, send, save, tmp: Path, what: str = "submit") -> None:
    """Callgrind's count of ``args.count`` calls of ``send`` (dumped as ``what``), then as
    many reference saves, after ``args.warmup`` of each."""
    cg = _helper(tmp)
    for _ in range(args.warmup):
        send()
        save()
    for name, fn in ((what, send), ("save", save)):
        cg.cg_start()
        for _ in range(args.count):
            fn()
        cg.cg_stop()
        cg.cg_dump(name.encode())


def reopened(tmp: Path, seeded: dict, ref_url: str):
    """Inside valgrind: (the app on the database seeded before, with its key; a client of
    bench/ref_app.py on ``ref_url``, its schema made)."""
    os.environ["REF_DATABASE_URL"] = ref_url
    from bench import ref_app
    from bench.seed import bench_app

    app = bench_app(
        seeded["url"],
        tmp / "instance",
        WTF_CSRF_ENABLED=False,
        COUNSELOR_ENCRYPTION_KEYS=seeded["key"],
    )
    ref_app.create_schema(ref_app.url())
    return app, ref_app.app.test_client()


def count_pages(tmp: Path, pages: dict, warmup: int, count: int) -> None:
    """Inside valgrind: ``warmup`` requests of each page (name -> (client, path)), then each
    page's ``count`` requests counted, one dump of instructions named after the page each
    (``under_valgrind`` reads them)."""
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


def pages_counted(
    script: str, tmp: Path, seeded: dict, warmup: int, count: int, extra: tuple[str, ...] = ()
):
    """(instructions per request by page, callgrind's folder): ``script`` run again under
    callgrind with ``--inside-callgrind`` on ``tmp`` (and the arguments ``extra``), where
    ``seeded`` (what its counting run reopens, ``reopened``) is written first."""
    (tmp / "seeded.json").write_text(json.dumps(seeded))
    out = tmp / "callgrind"
    out.mkdir()
    argv = [f"--warmup={warmup}", f"--count={count}", f"--inside-callgrind={tmp}", *extra]
    return under_valgrind(script, argv, out, count), out


def under_valgrind(script: str, argv: list[str], out: Path, count: int) -> dict[str, float]:
    """Run ``script`` with ``argv`` under callgrind, instrumentation off until the script's
    own client requests (``_helper``) switch it on; each dump's instructions per request
    (``count`` requests a dump), by the dump's name."""
    _callgrind(script, argv, out)
    return {name: events["Ir"] for name, events in dumped(out, count).items()}


def _callgrind(script: str, argv: list[str], out: Path, flags: tuple[str, ...] = ()) -> None:
    """Run ``script`` with ``argv`` under callgrind (with valgrind's further ``flags``), its
    dumps written into ``out``."""
    subprocess.run(
        [
            shutil.which("valgrind") or "/usr/bin/valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            *flags,
            f"--callgrind-out-file={out}/callgrind.out.%p",
            sys.executable,
            script,
            *argv,
        ],
        check=True,
        stderr=subprocess.DEVNULL,
    )


def dumped(out: Path, count: int) -> dict[str, dict[str, float]]:
    """Every event callgrind counted (instructions, and cache misses and mispredicted
    branches when simulated) per request, by dump name, from the files in ``out``."""
    found = {}
    for path in out.glob("callgrind.out.*"):
        text = path.read_text(errors="replace")
        trigger = re.search(r"^desc: Trigger: Client Request: (\S+)", text, re.M)
        names = re.search(r"^events: (.+)$", text, re.M)
        total = re.search(r"^totals: (.+)$", text, re.M)
        if trigger and names and total:
            values = (int(v) / count for v in total.group(1).split())
            found[trigger.group(1)] = dict(zip(names.group(1).split(), values, strict=False))
    return found


def valgrind_flag_option(parser: argparse.ArgumentParser) -> None:
    """``--valgrind-flag``, which ``against_save`` passes on to valgrind."""
    parser.add_argument(
        "--valgrind-flag",
        action="append",
        default=[],
        help="with --callgrind: one more flag for valgrind (--cache-sim=yes, --branch-sim=yes)",
    )


def against_save(script: str, args, name: str) -> int:
    """Count ``script``'s ``name`` requests and the reference's saves under callgrind (the
    script run again with ``--inside-callgrind``) and print both with their ratio."""
    out = Path(tempfile.mkdtemp(prefix="counselor-callgrind-"))
    flags = tuple(args.valgrind_flag)
    # the script's own arguments; a valgrind flag starts with "-", which argparse takes as
    # an option's value only in the form --valgrind-flag=VALUE
    argv = [
        "--inside-callgrind",
        *(a for a in sys.argv[1:] if a != "--callgrind" and not a.startswith("--valgrind-flag=")),
    ]
    _callgrind(script, argv, out, flags)
    events = dumped(out, args.count)
    mine, ref = events[name]["Ir"], events["save"]["Ir"]
    print(
        f"callgrind: {name} {mine / 1e6:.2f} M instructions, reference save {ref / 1e6:.2f} M, "
        f"ratio {ref / mine:.3f} ({args.count} of each after {args.warmup} warm-up; {out})"
    )
    if flags:
        print(f"{'per request':<12}{name:>12}{'save':>12}")
        for event in events[name]:
            print(f"{event:<12}{events[name][event]:>12,.0f}{events['save'][event]:>12,.0f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="", help="a PostgreSQL bench database (emptied)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--count", type=int, default=30, help="submits counted by callgrind")
    parser.add_argument(
        "--idle",
        type=int,
        default=0,
        help="seconds since each portal session was last seen (120: as bench/load.py's pool, "
        "seeded minutes before its submits, so that each submit writes the session's touch)",
    )
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument(
        "--syscalls",
        action="store_true",
        help="count system calls per submit and per save under strace (--count of each)",
    )
    valgrind_flag_option(parser)
    parser.add_argument("--inside-callgrind", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--inside-strace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callgrind:
        return against_save(__file__, args, "submit")
    if args.syscalls:
        return syscalls(args)
    tmp = Path(tempfile.mkdtemp(prefix="counselor-submit-"))
    counting = args.inside_callgrind or args.inside_strace
    measured = args.count if counting else args.rounds * args.batch
    app, send, save = setup(args.pg_url, tmp, args.warmup + measured, args.idle)
    gc.collect()
    gc.freeze()  # as wsgi.py does once the app is made
    try:
        if args.inside_callgrind:
            counted(args, send, save, tmp)
        elif args.inside_strace:
            marked(args, send, save)
        else:
            interleaved(args, send, save)
    finally:
        redis_url = app.config.get("REDIS_URL")
        if redis_url:
            import redis

            redis.Redis.from_url(redis_url).flushdb()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
