"""Portal submit served by gunicorn, driven by one sequential client: the worker's CPU per
submit read from /proc, next to what bench/submit_cost.py measures in process.

    python bench/submit_served.py                       # SQLite, embedded broker
    python bench/submit_served.py --pg-url postgresql://... --redis-url redis://.../13
    python bench/submit_served.py --profile 30          # and the worker's cProfile, top 30
    python bench/submit_served.py --strace              # and strace -c of the worker
    python bench/submit_served.py --callgrind --count 100   # the worker's instructions
    python bench/submit_served.py --idle 120            # sessions last seen 2 minutes ago

Seeds a scratch database (SQLite, or the PostgreSQL database of ``--pg-url``, emptied) as
bench/submit_cost.py does: a counselor, the thirty-item exercise and bench/submit.py's pool
of partners with complete unsent answers and an open portal session each. Then serves
``bench.load_wsgi:app`` under gunicorn with bench/load.py's settings (sync, one worker here,
so that every submit is the one worker's) and POSTs ``--warmup`` then ``--count`` submits one
after the other from this process, a new connection each as wrk's do against a sync worker
(which closes every connection after its response). The CPU of the worker, of the
PostgreSQL and Redis servers (when used) and the wall time per submit are printed for the
counted ones. ``--profile`` runs a cProfile in the worker around the counted requests only
(gunicorn's ``pre_request``/``post_request`` hooks) and prints its top lines; what it does
not see (reading the request, gunicorn's own loop) is the difference between the profile's
total and the CPU read from /proc. ``--callgrind`` runs gunicorn under valgrind and counts
the worker's instructions from the first counted request to the one after the last.

``--idle`` moves every portal session's last sight back that many seconds: bench/load.py's
pool is seeded minutes before its submits, so each of them finds a session unseen for more
than a minute, whose touch (``portal.session``) the submit writes; submit_cost.py's sessions
are seconds old. ``--workers 2`` serves as load.py does (the client still sends one submit
at a time, each to whichever worker takes it); on SQLite each connection then finds its page
cache stale after the other's commit (``--strace`` shows the reads), which ``--other-writer``
reproduces with one worker, for ``--callgrind``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    cpu_seconds,
    cpu_split,
    free_port,
    gunicorn_argv,
    pids_named,
    process_tree,
)

#: gunicorn's settings file with ``--profile``: a cProfile in the worker switched on by
#: pre_request once the warm-up is over, dumped at the worker's exit
HOOKS = """
import cProfile, os, time
warmup = int(os.environ["BENCH_PROFILE_AFTER"])
seen = [0]
profile = cProfile.Profile(time.process_time)  # CPU time: waiting is not counted

def pre_request(worker, req):
    seen[0] += 1
    if seen[0] > warmup:
        profile.enable()

def post_request(worker, req, environ, resp):
    profile.disable()

def worker_exit(server, worker):
    profile.dump_stats(os.environ["BENCH_PROFILE_OUT"])
"""

#: gunicorn's settings file with ``--callgrind`` (gunicorn under valgrind, one worker):
#: instructions counted from the first counted request's start to the start of the request
#: after the last (everything the worker did between, gunicorn's loop and reading requests)
CALLGRIND_HOOKS = """
import ctypes, os
warmup, count = int(os.environ["BENCH_PROFILE_AFTER"]), int(os.environ["BENCH_COUNT"])
cg = ctypes.CDLL(os.environ["BENCH_CALLGRIND_HELPER"])
seen = [0]
timeout = 900

def pre_request(worker, req):
    seen[0] += 1
    if seen[0] == warmup + 1:
        cg.cg_start()
    elif seen[0] == warmup + count + 1:
        cg.cg_stop()
        cg.cg_dump(b"served")
"""


def seed_pool(url: str, tmp: Path, keys: str, count: int, idle: int) -> list[dict]:
    """The database emptied and seeded; bench/submit.py's pool of ``count`` partners, their
    portal sessions last seen ``idle`` seconds ago."""
    from bench import submit
    from bench.submit_cost import seeded_app
    from counselor.extensions import db

    app, version = seeded_app(url, tmp, COUNSELOR_ENCRYPTION_KEYS=keys)
    pool = submit.seed_pool(app, "submit@bench.example", version, count)
    with app.app_context():
        if idle:
            submit.age_sessions(idle)
        db.engine.dispose()
    return pool


def start(
    env: dict, port: int, config: Path | None, prefix: list[str], workers: int
) -> subprocess.Popen:
    """gunicorn sync with ``workers`` on ``port`` (run under ``prefix``: valgrind)."""
    argv = [*prefix, *gunicorn_argv(port, workers)]
    if config:
        argv += ["--config", str(config)]
    if prefix:  # valgrind: a worker that loads the app ten times slower is not killed
        argv += ["--timeout", "600"]
    proc = subprocess.Popen(
        [*argv, "bench.load_wsgi:app"],
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.2)
    raise SystemExit("gunicorn did not open its port")


def post(port: int, path: str, cookie: str, body: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request(
            "POST",
            path,
            body,
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


def send(port: int, p: dict) -> None:
    body = urllib.parse.urlencode({"csrf_token": p["csrf"], "revision": p["revision"]})
    status = post(port, p["path"], p["cookie"], body)
    assert status == 302, status


def backends(pg_url: str) -> list[int]:
    """The PostgreSQL backends of ``pg_url``'s database (the worker's among them; other
    databases' backends, which come and go on a shared machine, left out)."""
    name = f" {pg_url.rsplit('/', 1)[1]} "
    found = []
    for pid in pids_named("postgres"):
        try:
            with open(f"/proc/{pid}/cmdline") as f:
                if name in f.read():
                    found.append(pid)
        except OSError:
            continue
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="", help="a PostgreSQL bench database (emptied)")
    parser.add_argument("--redis-url", default="", help="the broker's Redis database (flushed)")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument(
        "--idle",
        type=int,
        default=0,
        help="seconds since each portal session was last seen (load.py's pool is minutes old)",
    )
    parser.add_argument("--workers", type=int, default=1, help="gunicorn's workers")
    parser.add_argument("--pool", type=int, default=0, help="partners seeded (at least enough)")
    parser.add_argument("--profile", type=int, default=0, help="print this many profile lines")
    parser.add_argument("--sort", default="tottime", help="the profile's sort order")
    parser.add_argument("--strace", action="store_true", help="strace -c the worker")
    parser.add_argument(
        "--other-writer",
        action="store_true",
        help="SQLite: commit a row from another connection after each submit, as a second "
        "worker's write would (each submit then finds its connection's page cache stale)",
    )
    parser.add_argument("--callgrind", action="store_true", help="count the worker's instructions")
    args = parser.parse_args()

    from bench.seed import served_env

    tmp = Path(tempfile.mkdtemp(prefix="counselor-served-"))
    url = args.pg_url or f"sqlite:///{tmp / 'submit.sqlite3'}"
    env = served_env(
        url,
        tmp / "instance",
        REDIS_URL=args.redis_url,
        BENCH_PROFILE_AFTER=str(args.warmup),
        BENCH_COUNT=str(args.count),
    )
    keys = env["COUNSELOR_ENCRYPTION_KEYS"]
    t0 = time.monotonic()
    pool = seed_pool(url, tmp, keys, max(args.pool, args.warmup + args.count), args.idle)
    print(f"seeded {len(pool)} partners in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    # the partners sent: spread over the whole pool, as wrk's threads walk their slices
    step = len(pool) // (args.warmup + args.count)
    sent = pool[::step][: args.warmup + args.count]
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
    config, prefix = None, []
    if args.profile:
        config = tmp / "hooks.py"
        config.write_text(HOOKS)
        env["BENCH_PROFILE_OUT"] = str(tmp / "worker.prof")
    elif args.callgrind:
        from bench.submit_cost import _helper

        config = tmp / "hooks.py"
        config.write_text(CALLGRIND_HOOKS)
        _helper(tmp)
        env["BENCH_CALLGRIND_HELPER"] = str(tmp / "cg.so")
        prefix = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={tmp}/callgrind.out.%p",
        ]
    port = free_port()
    server = start(env, port, config, prefix, args.workers)
    try:
        for p in sent[: args.warmup]:
            send(port, p)
        workers = [p for p in process_tree(server.pid) if p != server.pid]
        servers = backends(args.pg_url) if args.pg_url else []
        servers += pids_named("redis-server") if args.redis_url else []
        tracer = None
        if args.strace:
            tracer = subprocess.Popen(
                ["strace", "-c", "-f", "-o", str(tmp / "strace.txt")]
                + [a for w in workers for a in ("-p", str(w))],
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)
        other = None
        if args.other_writer:
            import sqlite3

            other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            other.execute("CREATE TABLE IF NOT EXISTS bench_other (id INTEGER PRIMARY KEY)")
        before = (*cpu_split(workers), cpu_seconds(servers), time.monotonic())
        for p in sent[args.warmup :]:
            send(port, p)
            if other:
                other.execute("INSERT INTO bench_other DEFAULT VALUES")
        after = (*cpu_split(workers), cpu_seconds(servers), time.monotonic())
        if args.callgrind:
            post(port, "/", "", "")  # its pre_request ends the count
        if tracer:
            tracer.send_signal(2)
            tracer.wait(10)
    finally:
        server.send_signal(15)
        server.wait(60)
    n = args.count
    user, system, others, wall = ((a - b) * 1000 / n for a, b in zip(after, before, strict=True))
    database = "PostgreSQL" if args.pg_url else "SQLite"
    print(
        f"{database}{' + Redis' if args.redis_url else ''}, pool {len(pool)}: {n} submits, "
        f"worker CPU {user + system:.2f} ms a submit (user {user:.2f}, system {system:.2f}), "
        f"database and broker servers {others:.2f} ms, wall {wall:.2f} ms"
    )
    if args.callgrind:
        counted = 0
        for path in tmp.glob("callgrind.out.*"):
            text = path.read_text(errors="replace")
            total = re.search(r"^totals: (\d+)", text, re.M)
            if re.search(r"^desc: Trigger: Client Request: served", text, re.M) and total:
                counted += int(total.group(1))
        print(f"callgrind: {counted / n / 1e6:.2f} M instructions a submit, all workers ({tmp})")
    if tracer:
        print((tmp / "strace.txt").read_text())
    if args.profile:
        import pstats

        stats = pstats.Stats(str(tmp / "worker.prof"))
        print(f"profile total {stats.total_tt * 1000 / n:.2f} ms a submit")
        stats.sort_stats(args.sort).print_stats(args.profile)
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
