"""Autosave's CPU under gunicorn, next to the reference's save, without wrk: what a worker
spends per request once the server's side (gunicorn, the socket, the other worker's writes)
is counted too.

    python bench/served_cost.py                     # SQLite scratch file, 3 rounds of 1,500
    python bench/served_cost.py --rounds 5 --saves 2000 --workers 1,2

Seeds a scratch SQLite file as bench/load.py does (``--cases`` and ``--audit-rows`` smaller by
default), starts the project and bench/ref_app.py under gunicorn with the load bench's
settings (bench/harness.py: sync workers, two unless ``--workers`` says otherwise), opens the
autosave links as a phone would, and then, from this one process, sends sequential saves to each server in
turn, round after round: the reference's 30-field POST, then the portal autosave carrying its
cookie, CSRF token and revision as the load bench's Lua script does. Each round prints the
saves a second and the CPU the server's workers spent per save (``/proc/<pid>/stat``, user and
system), and the ratio reference / autosave; the last line the medians. One client sends one
request at a time, so it measures cost, not throughput: it is safe to run on a machine that
others share, where wrk is not (the ratio holds under noise, the milliseconds do not).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench.seed import SENTENCE, bench_app, seed, served_env, thirty_answers  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")


def seeded(tmp: Path, cases: int, audit_rows: int) -> tuple[dict, list[str]]:
    """The servers' environment and the autosave links of a freshly seeded scratch file."""
    from bench import ref_app

    url = f"sqlite:///{tmp / 'served.sqlite3'}"
    env = served_env(url, tmp / "instance", REF_DATABASE_URL=url, REDIS_URL="")
    keys = env["COUNSELOR_ENCRYPTION_KEYS"]
    app = bench_app(url, tmp / "instance", COUNSELOR_ENCRYPTION_KEYS=keys)
    data = seed(app, small=10, large=cases, audit_rows=audit_rows)
    ref_app.create_schema(ref_app.url())
    with app.app_context():
        from counselor.extensions import db

        db.engine.dispose()
    return env, data["autosave_tokens"]


def cpu(pids: list[int]) -> tuple[float, float]:
    """User and system CPU seconds the processes ``pids`` have spent so far."""
    user = system = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        user, system = user + int(fields[11]), system + int(fields[12])
    return user / _TICK, system / _TICK


def send(conn: http.client.HTTPConnection, path: str, body: str, headers: dict) -> bytes:
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise SystemExit(f"{path}: {response.status} {data[:200]!r}")
    if response.getheader("Connection", "").lower() == "close":
        conn.close()  # sync workers close every connection; the next request reconnects
    return data


def autosaves(base: str, sessions: list[dict], count: int) -> None:
    """``count`` autosaves of all thirty answers, the partners in turn."""
    conn = http.client.HTTPConnection(*base[len("http://") :].split(":"))
    answers = thirty_answers()
    for i in range(count):
        s = sessions[i % len(sessions)]
        body = json.dumps({"revision": s["revision"], "answers": answers})
        headers = {
            "Content-Type": "application/json",
            "X-CSRF-Token": s["csrf"],
            "Cookie": s["cookie"],
        }
        s["revision"] = json.loads(send(conn, "/p/autosave", body, headers))["revision"]
    conn.close()


def saves(base: str, count: int) -> None:
    """``count`` of the reference's 30-field POSTs."""
    conn = http.client.HTTPConnection(*base[len("http://") :].split(":"))
    form = urllib.parse.urlencode({f"f{i}": f"{SENTENCE} {i}" for i in range(30)})
    for _ in range(count):
        send(conn, "/save", form, {"Content-Type": "application/x-www-form-urlencoded"})
    conn.close()


def timed(run, pids: list[int], count: int) -> dict:
    (u0, s0), t0 = cpu(pids), time.monotonic()
    run(count)
    (u1, s1), t1 = cpu(pids), time.monotonic()
    return {
        "per s": count / (t1 - t0),
        "user ms": (u1 - u0) * 1000 / count,
        "system ms": (s1 - s0) * 1000 / count,
        "CPU ms": (u1 - u0 + s1 - s0) * 1000 / count,
    }


def show(name: str, row: dict) -> str:
    return (
        f"{name}: {row['per s']:6.0f} saves/s, worker CPU {row['CPU ms']:.3f} ms a save "
        f"(user {row['user ms']:.3f}, system {row['system ms']:.3f})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--saves", type=int, default=1500, help="saves per server per round")
    parser.add_argument(
        "--workers",
        default="2",
        help="comma-separated worker counts: each count's pair of servers runs in every round",
    )
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--audit-rows", type=int, default=20000)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="counselor-served-") as tmpdir, ExitStack() as stack:
        env, tokens = seeded(Path(tmpdir), args.cases, args.audit_rows)
        pairs = []
        for count in counts:
            project, pbase = harness.start_gunicorn("bench.load_wsgi:app", env, count)
            stack.callback(harness.stop, project)
            reference, rbase = harness.start_gunicorn("bench.ref_app:app", env, count)
            stack.callback(harness.stop, reference)
            sessions = [harness.open_link(pbase, t) for t in tokens]
            autosaves(pbase, sessions, 100)  # warm-up: every worker has its connection
            saves(rbase, 100)
            pairs.append((count, pbase, sessions, workers(project), rbase, workers(reference)))
        ratios: dict[int, list[float]] = {count: [] for count in counts}
        for n in range(args.rounds):
            for count, pbase, sessions, mine, rbase, ref in pairs:
                # the servers share the partners: each round goes on from their last revision
                sessions[:] = [harness.with_current_revision(pbase, s) for s in sessions]
                r = timed(lambda c, rbase=rbase: saves(rbase, c), ref, args.saves)
                a = timed(lambda c, p=pbase, s=sessions: autosaves(p, s, c), mine, args.saves)
                ratios[count].append(r["CPU ms"] / a["CPU ms"])
                label = f"round {n}, {count} worker{'s' if count > 1 else ''}"
                print(f"{label}: {show('reference', r)}", flush=True)
                print(f"{label}: {show('autosave ', a)}; ratio {ratios[count][-1]:.3f}", flush=True)
        for count, values in ratios.items():
            print(
                f"{count} worker{'s' if count > 1 else ''}: median CPU ratio "
                f"(reference / autosave) {statistics.median(values):.3f}"
            )
    return 0


def workers(server) -> list[int]:
    """The worker processes of a gunicorn from ``harness.start_gunicorn`` (not its master)."""
    return [p for p in harness.process_tree(server.pid) if p != server.pid]


if __name__ == "__main__":
    raise SystemExit(main())
