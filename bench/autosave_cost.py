"""Portal autosave's cost next to the reference's 30-field save, including what callgrind cannot
see: the kernel's time (SQLite's commit writes, the sockets to PostgreSQL) and PostgreSQL's.

    python bench/autosave_cost.py                              # SQLite
    python bench/autosave_cost.py --pg-url postgresql://postgres@127.0.0.1:5432/bench
    python bench/autosave_cost.py --callgrind                  # instructions, user space only

Seeds a scratch database (SQLite, or the PostgreSQL database of ``--pg-url``, emptied) with a
counselor, the thirty-item exercise assigned to a partner with a per-assignment link and
``--audit-rows`` of audit history, opens the link with the Flask test client as a phone
would, and puts bench/ref_app.py beside it on the same kind of database.

Without ``--callgrind``: ``--rounds`` rounds of a batch of reference saves then a batch of
autosaves (``--batch`` each; each autosave sends all thirty answers), medians per request of:
CPU time split into user and system (``resource.getrusage``), the write system calls and the
bytes they wrote (``/proc/self/io``: SQLite's log frames), and on PostgreSQL the round trips
(libpq's trace of what the connections send) and the server backends' CPU (``/proc/<pid>/stat``
of every backend of the database; 10 ms ticks, so read it over many requests).

With ``--neighbour`` (SQLite): what a second process costs an autosave, as gunicorn's other
worker does under load. The script forks; between two autosaves the other process does, in
turn by round, nothing (``alone``), one write of its own to the same file (``write``: SQLite
then re-reads every page the autosave needs, as the other worker's commit makes it), one
reference save on the reference's file (``work``: its Python work evicts the autosave's from
the processor's caches), or both (``both``, what a worker sees under wrk); the autosave's own
CPU time (``time.thread_time``), medians of the rounds.

With ``--callgrind`` the script runs itself under callgrind with instrumentation on only
around ``--count`` autosaves, then as many reference saves, after ``--warmup`` of each
(bench/submit_cost.py's method); each ``--valgrind-flag`` is passed on to valgrind (with
``--cache-sim=yes`` and ``--branch-sim=yes``, cache misses and mispredicted branches per
request are printed beside the instructions).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import submit_cost  # noqa: E402


def setup(pg_url: str, tmp: Path, audit_rows: int, change_one: bool = False):
    """(app, autosave, save): the app, and functions making one autosave and one reference
    save."""
    from bench import cpu_split, seed
    from counselor.auth.services import create_counselor
    from counselor.cases.services import create_case
    from counselor.core.audit import AuditEvent
    from counselor.core.models import utcnow
    from counselor.extensions import db
    from counselor.questionnaires.services import assign, load_definition

    url = pg_url or f"sqlite:///{tmp / 'autosave.sqlite3'}"
    ref = cpu_split.reference_pages(pg_url or f"sqlite:///{tmp / 'reference.sqlite3'}")
    app = seed.bench_app(url, tmp / "instance")
    with app.app_context():
        db.drop_all()
        db.create_all()
        owner = create_counselor("save@bench.example", "Counselor save", seed.PASSWORD)
        db.session.flush()
        thirty, _ = load_definition(seed.THIRTY, owner.id)
        case = create_case(owner, "Autosave", [{"display_name": seed.NAMES[0]}])
        _, issued = assign(
            case, thirty.latest, [], due_on=None, instructions=None, ttl_days=30, links=True
        )
        token = issued[0].token
        db.session.commit()
        for start in range(0, audit_rows, 5000):
            rows = [
                {"at": utcnow(), "actor_kind": "system", "action": "case.view", "object_id": f"{i}"}
                for i in range(start, min(start + 5000, audit_rows))
            ]
            db.session.execute(AuditEvent.__table__.insert(), rows)
            db.session.commit()
    autosave = cpu_split.autosaver(app, token, change_one)
    return app, autosave, ref["save"]


def _io() -> tuple[int, int]:
    """(write system calls, bytes written) of this process so far."""
    fields = dict(
        line.split(": ") for line in Path("/proc/self/io").read_text().splitlines() if line
    )
    return int(fields["syscw"]), int(fields["wchar"])


class Backends:
    """CPU ticks of the PostgreSQL backends of one database, read from /proc (the server runs
    on this machine)."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine, text

        from bench.seed import _sa

        self.engine = create_engine(_sa(url), isolation_level="AUTOCOMMIT", poolclass=None)
        self.query = text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        self.tick = os.sysconf("SC_CLK_TCK")

    def cpu_ms(self) -> float:
        with self.engine.connect() as conn:
            pids = conn.execute(self.query).scalars().all()
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total * 1000 / self.tick


def _costs(fn, n: int, backends: Backends | None) -> dict[str, float]:
    b0 = backends.cpu_ms() if backends else 0.0
    r0, (w0, c0) = resource.getrusage(resource.RUSAGE_SELF), _io()
    for _ in range(n):
        fn()
    r1, (w1, c1) = resource.getrusage(resource.RUSAGE_SELF), _io()
    out = {
        "user ms": (r1.ru_utime - r0.ru_utime) * 1000 / n,
        "system ms": (r1.ru_stime - r0.ru_stime) * 1000 / n,
        "write calls": (w1 - w0) / n,
        "KB written": (c1 - c0) / 1024 / n,
    }
    out["CPU ms"] = out["user ms"] + out["system ms"]
    if backends:
        out["server CPU ms"] = (backends.cpu_ms() - b0) / n
    return out


def round_trips(app, fn) -> list[str]:
    """What one call of ``fn`` sends PostgreSQL, one line per round trip (libpq's trace)."""
    from tests.support.records import round_trips as tracing

    with app.app_context(), tracing() as counter:
        fn()  # its connection goes back to the pool traced
        counter.start()
        fn()
        return counter.trips()


def neighbour(args, app, autosave, save, tmp: Path) -> None:
    """``--neighbour``: see the module."""
    import sqlite3
    import time
    from multiprocessing import Pipe

    from counselor.extensions import db

    with app.app_context():
        db.engine.dispose()  # no connection crosses the fork
    mine, theirs = Pipe()
    child = os.fork()
    if child == 0:
        other = sqlite3.connect(tmp / "autosave.sqlite3", isolation_level=None)
        other.execute("PRAGMA synchronous=OFF")  # its own commit costs no waiting
        other.execute("CREATE TABLE IF NOT EXISTS neighbour (id INTEGER PRIMARY KEY)")
        while (what := theirs.recv()) != "quit":
            if what in ("work", "both"):
                save()
            if what in ("write", "both"):
                other.execute("INSERT INTO neighbour DEFAULT VALUES")
            theirs.send(True)
        os._exit(0)
    for _ in range(args.warmup):
        autosave()
    kinds = ("alone", "write", "work", "both")
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(args.rounds):
        for kind in kinds:
            spent = 0.0
            for _ in range(args.batch):
                if kind != "alone":
                    mine.send(kind)
                    mine.recv()
                start = time.thread_time()
                autosave()
                spent += time.thread_time() - start
            times[kind].append(spent * 1000 / args.batch)
    mine.send("quit")
    os.waitpid(child, 0)
    alone = statistics.median(times["alone"])
    print(f"\nautosave CPU ms with a neighbour process, medians of {args.rounds} rounds:")
    for kind, values in times.items():
        value = statistics.median(values)
        print(f"| {kind} | {value:.3f} | {value - alone:+.3f} |")


def interleaved(args, app, autosave, save) -> None:
    backends = Backends(args.pg_url) if args.pg_url else None
    for _ in range(args.warmup):
        autosave()
        save()
    rows: dict[str, dict[str, list[float]]] = {"reference save": {}, "autosave": {}}
    ratios: dict[str, list[float]] = {"in process": [], "with the server's CPU": []}
    for _ in range(args.rounds):
        ref, mine = _costs(save, args.batch, backends), _costs(autosave, args.batch, backends)
        for name, costs in (("reference save", ref), ("autosave", mine)):
            for key, value in costs.items():
                rows[name].setdefault(key, []).append(value)
        ratios["in process"].append(ref["CPU ms"] / mine["CPU ms"])
        if backends:
            server = ref["CPU ms"] + ref["server CPU ms"], mine["CPU ms"] + mine["server CPU ms"]
            ratios["with the server's CPU"].append(server[0] / server[1])
    keys = list(rows["autosave"])
    database = "PostgreSQL" if args.pg_url else "SQLite"
    print(f"\n{database}, per request, medians of {args.rounds} rounds of {args.batch}:")
    print("| | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name, costs in rows.items():
        cells = " | ".join(f"{statistics.median(costs[k]):.3f}" for k in keys)
        print(f"| {name} | {cells} |")
    for name, values in ratios.items():
        if values:
            print(f"ratio {name} (reference / autosave): {statistics.median(values):.3f}")
    if backends:
        trips = round_trips(app, autosave)
        print(f"round trips per autosave: {len(trips)}")
        for trip in trips:
            print(f"  {trip[:110]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="", help="a PostgreSQL bench database (emptied)")
    parser.add_argument("--audit-rows", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--count", type=int, default=40, help="autosaves counted by callgrind")
    parser.add_argument(
        "--change-one",
        action="store_true",
        help="each autosave changes one answer's note (else each sends the same answers)",
    )
    parser.add_argument("--callgrind", action="store_true")
    submit_cost.valgrind_flag_option(parser)
    parser.add_argument("--neighbour", action="store_true", help="SQLite: see the module")
    parser.add_argument("--inside-callgrind", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callgrind:
        return submit_cost.against_save(__file__, args, "autosave")
    tmp = Path(tempfile.mkdtemp(prefix="counselor-autosave-"))
    app, autosave, save = setup(args.pg_url, tmp, args.audit_rows, args.change_one)
    gc.collect()
    gc.freeze()  # as wsgi.py does once the app is made
    if args.inside_callgrind:
        submit_cost.counted(args, autosave, save, tmp, "autosave")
    elif args.neighbour and not args.pg_url:
        neighbour(args, app, autosave, save, tmp)
    else:
        interleaved(args, app, autosave, save)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
