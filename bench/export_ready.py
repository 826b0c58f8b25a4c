"""Export click-to-ready: through broker and worker, beside the same task run in process.

    python bench/export_ready.py [--exports 10] [--broker sqlite|redis|both] [--one-page]
    python bench/pdf.py                  # runs this after the render bench (both brokers)

On a scratch SQLite database seeded with a couple, a session and a submitted desire
inventory (a clinical record of 25 pages; with ``--one-page``, no inventory), with one real ``celery worker`` (prefork, concurrency 1: the Procfile's worker
with one process), for the embedded SQLite broker and for Redis (``REDIS_URL``), export by
export and in alternating order:

- **click→ready**: the counselor's POST of a clinical record export and the GET of the status
  page it redirects to, until the status endpoint can answer *ready*;
- **in process**: the task the worker runs (``render_export``: claim by conditional UPDATE,
  load, render, encrypt, store, audit), called in this process on a fresh export row of the
  same session, through the same Celery task object, so it does what the worker does minus
  the broker and the process hop.

Ready is the worker's commit of the row (the time of the *export.ready* audit event, written
right after it) plus one status request, made once the row says ready: the bench reads the
row only every 50 ms, so that it takes little of the cores the worker needs. Beside the
wall-clock times it prints CPU time per export: of the worker's processes (from /proc, so
Linux only; 10 ms ticks) and of this process for the in-process run. On a busy machine the
wall-clock times swing with the other load; CPU time shows whether the worker does more work.

One export of each kind is run first and not counted (the worker's first task, like this
process's, registers the fonts). The ratio is click→ready over in-process. *Seen ready* is
when the status page's script (counselor/static/js/exports.js, whose poll schedule is read
from the file) would show *ready*: the first poll it starts at or after the worker's commit,
plus that poll's round trip (that export's status request). The phases come from the export row's own times (requested, published, started = claimed,
finished = rendered and encrypted, before the row's UPDATE; the ready event) and this
process's clock.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_config  # noqa: E402

EXPORTS_JS = ROOT / "counselor" / "static" / "js" / "exports.js"
#: how often the bench reads the export's row while it waits for ready
BENCH_POLL_SECONDS = 0.05
#: the goal of issue 16: a user sees a fast export ready within this of the render
SEEN_GOAL_MS = 250


def _seed(app, inventory: bool = True):
    """A counselor with a couple, a session with notes and (unless told not to) a submitted
    desire inventory: a clinical record of 25 pages, or of one."""
    from counselor.auth.services import create_counselor
    from counselor.cases.services import create_case, save_session
    from counselor.extensions import db
    from counselor.questionnaires.models import Questionnaire
    from counselor.questionnaires.services import assign, sync_library

    with app.app_context():
        db.create_all()
        sync_library()
        counselor = create_counselor("bench@example.org", "Bench Counselor", "bench-password-1")
        case = create_case(
            counselor, "Sam & Alex", [{"display_name": "Sam"}, {"display_name": "Alex"}]
        )
        session = save_session(
            case,
            {
                "date": datetime.date.today(),
                "time": datetime.time(10, 0),
                "duration_minutes": 50,
                "agenda": "Review the inventory together.",
                "notes": "Both engaged; agreed on one small step. " * 20,
                "next_steps": "Try the first step, then each fills in the debrief.",
            },
        )
        if not inventory:
            db.session.commit()
            return case.id, session.id
        inventory = db.session.scalar(
            select(Questionnaire).where(Questionnaire.slug == "desires-boundaries")
        )
        assignment, _ = assign(
            case, inventory.latest, [], due_on=None, instructions=None, ttl_days=30
        )
        answers = ("yes", "want_to_try", "maybe", "no", "if_partner")
        for n, response in enumerate(assignment.responses):
            response.answers = {
                item["link_id"]: {
                    "roles": {
                        r["key"]: answers[(i + n + j) % 5] for j, r in enumerate(item["roles"])
                    },
                    "hard_limit": False,
                    "note": "",
                }
                for i, item in enumerate(inventory.latest.definition.questions())
                if item["type"] == "desire"
            }
            response.status = "submitted"
            response.submitted_at = session.starts_at
        db.session.commit()
        return case.id, session.id


def signed_in_client(app):
    """A test client signed in as the account ``_seed`` made."""
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.org", "password": "bench-password-1"})
    return client


def post_export(client, case_id, session_id):
    """The counselor's click on "clinical record" in a session's export panel."""
    return client.post(f"/cases/{case_id}/sessions/{session_id}/exports", data={"kind": "clinical"})


# ---- the status page's poll schedule ------------------------------------------------------


def poll_pauses(js: str | None = None):
    """The pause (ms) exports.js waits before its next poll, as a function of the ms since the
    click, from the script's constants: a quarter of the wait so far, within bounds."""
    js = js if js is not None else EXPORTS_JS.read_text()
    found = {
        name: float(m.group(1))
        for name in ("FIRST_POLL_MS", "LATE_SHARE", "MAX_POLL_MS")
        if (m := re.search(rf"\b{name}\s*=\s*([0-9.]+)", js))
    }
    if len(found) != 3:
        raise SystemExit(f"{EXPORTS_JS} no longer defines {sorted(found)}: update this bench")
    first, share, most = found["FIRST_POLL_MS"], found["LATE_SHARE"], found["MAX_POLL_MS"]
    return lambda waited_ms: min(max(first, round(waited_ms * share)), most)


def seen_ready(ready_ms: float, page_ms: float, rtt_ms: float, pause) -> float:
    """When the page shows *ready* (ms after the click): the first poll the script starts at
    or after ``ready_ms`` (the commit), plus its round trip. The script starts its timer once the page has
    loaded (``page_ms``), and each next one when a poll has answered."""
    t = page_ms
    while True:
        t += pause(t)
        if t >= ready_ms:
            return t + rtt_ms
        t += rtt_ms


# ---- the measure --------------------------------------------------------------------------


@dataclass
class Figures:
    """Milliseconds per export, in the order measured."""

    ready: list[float] = field(default_factory=list)  # click → status says ready
    inproc: list[float] = field(default_factory=list)  # the task called in this process
    seen: list[float] = field(default_factory=list)  # click → the page would show ready
    #: CPU time of the worker's processes per export, and of this process per in-process run
    worker_cpu: list[float] = field(default_factory=list)
    inproc_cpu: list[float] = field(default_factory=list)
    #: phase name → ms, for each worker export and each in-process run
    worker_phases: list[dict] = field(default_factory=list)
    inproc_phases: list[dict] = field(default_factory=list)


def _clock(t: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(t, datetime.UTC)


def _ms(a: datetime.datetime | float, b: datetime.datetime | float) -> float:
    a, b = (_clock(t) if isinstance(t, float) else t for t in (a, b))
    return (b - a).total_seconds() * 1000


def _row(app, export_id) -> dict:
    """The export's status and times, and when its *export.ready* event was written (right
    after the commit that made it ready: the moment the status endpoint can say so)."""
    from counselor.core.audit import AuditEvent
    from counselor.core.models import aware
    from counselor.extensions import db
    from counselor.reports.models import Export

    with app.app_context():
        export = db.session.get(Export, export_id)
        names = ("status", "requested_at", "published_at", "started_at", "finished_at")
        row = {n: aware(getattr(export, n)) if n != "status" else export.status for n in names}
        row["ready_at"] = aware(
            db.session.scalar(
                select(AuditEvent.at).where(
                    AuditEvent.action == "export.ready", AuditEvent.object_id == str(export_id)
                )
            )
        )
        return row


def _cpu_ms(pid: int) -> float:
    """CPU time (user + system) of a process and of its children alive now (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total * 1000 / tick


def through_worker(app, client, case_id, session_id, worker_pid) -> dict:
    """One export the way a counselor makes it: click→ready, its phases, when the status page
    had loaded, one status request's round trip, and the worker's CPU time.

    Ready is the worker's commit (the time of its *export.ready* event) plus one status
    request, timed once the row says ready: the bench reads the row only every 50 ms, as
    the worker shares the machine's cores with it."""
    import uuid

    cpu = _cpu_ms(worker_pid)
    click = time.time()
    r = post_export(client, case_id, session_id)
    posted = time.time()
    page = r.headers["Location"]
    client.get(page)  # the browser follows the redirect; the script starts once it loaded
    loaded = time.time()
    export_id = uuid.UUID(page.rstrip("/").split("/")[-1])
    # ready once its event is written too (the worker commits the event right after the row)
    while (row := _row(app, export_id))["status"] != "failed" and row["ready_at"] is None:
        time.sleep(BENCH_POLL_SECONDS)
    cpu = _cpu_ms(worker_pid) - cpu
    asked = time.time()
    state = client.get(page.rstrip("/") + "/status.json").get_json()["status"]
    rtt = (time.time() - asked) * 1000
    if state != "ready":
        raise SystemExit(f"export {export_id} ended {state}")
    ready = _ms(click, row["ready_at"]) + rtt
    return {
        "ready": ready,
        "page": (loaded - click) * 1000,
        "rtt": rtt,
        "cpu": cpu,
        "phases": {
            "POST": (posted - click) * 1000,
            "click → row written": _ms(click, row["requested_at"]),
            "click → published": _ms(click, row["published_at"]),
            "click → claimed": _ms(click, row["started_at"]),
            "claimed → rendered, encrypted": _ms(row["started_at"], row["finished_at"]),
            "rendered → committed": _ms(row["finished_at"], row["ready_at"]),
            "status request": rtt,
        },
    }


def in_process(app, case_id, session_id) -> dict:
    """The worker's task on a fresh export row of the same session, called in this process:
    its time, its phases and its CPU time."""
    from counselor.cases.models import Case, CounselingSession
    from counselor.extensions import db
    from counselor.reports import services

    with app.app_context():
        case = db.session.get(Case, case_id)
        export = services.request_export(
            case, "clinical", db.session.get(CounselingSession, session_id), None
        )
        db.session.commit()
        export_id = export.id
    task = app.extensions["celery"].tasks[services.RENDER_TASK]
    cpu = time.process_time()
    start = time.time()
    outcome = task(str(export_id))  # Task.__call__: the app context, claim, work, finish
    end = time.time()
    cpu = (time.process_time() - cpu) * 1000
    if outcome != "ready":
        raise SystemExit(f"the in-process export ended {outcome}")
    row = _row(app, export_id)
    return {
        "took": (end - start) * 1000,
        "cpu": cpu,
        "phases": {
            "task called → claimed": _ms(start, row["started_at"]),
            "claimed → rendered, encrypted": _ms(row["started_at"], row["finished_at"]),
            "rendered → committed": _ms(row["finished_at"], row["ready_at"]),
            "→ returned": _ms(row["ready_at"], end),
        },
    }


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    """One ``celery worker`` process as the Procfile starts it, with one child; waits till ready."""
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "wsgi:celery_app",
            "worker",
            "--concurrency",
            "1",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while b" ready." not in log.read_bytes():
        if time.monotonic() > deadline or worker.poll() is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            raise SystemExit(f"worker did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    return worker


def bench_export(count: int, broker: str | None = None, inventory: bool = True) -> Figures:
    """Time ``count`` exports through broker and worker and as many in process, interleaved.

    ``broker``: a Redis URL, or None for the embedded SQLite broker; ``inventory``: whether
    the session's record holds the desire inventory (25 pages) or only the session (1 page).
    """
    from counselor import create_app

    config = scratch_config()
    tmp = Path(config["INSTANCE_PATH"])
    broker = broker or f"sqla+sqlite:///{tmp / 'broker.sqlite3'}"
    config["CELERY_BROKER_URL"] = broker
    app = create_app(config)
    case_id, session_id = _seed(app, inventory)
    env = {
        **os.environ,
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "bench-secret",
        "COUNSELOR_ENCRYPTION_KEYS": config["COUNSELOR_ENCRYPTION_KEYS"],
        "CELERY_BROKER_URL": broker,
    }
    log = tmp / "worker.log"
    worker = start_worker(env, log)
    pause = poll_pauses()
    figures = Figures()
    try:
        client = signed_in_client(app)
        through_worker(app, client, case_id, session_id, worker.pid)  # warm-up, not counted
        in_process(app, case_id, session_id)
        for n in range(count):
            for side in ("worker", "inproc") if n % 2 == 0 else ("inproc", "worker"):
                if side == "worker":
                    w = through_worker(app, client, case_id, session_id, worker.pid)
                    figures.ready.append(w["ready"])
                    committed = w["ready"] - w["rtt"]
                    figures.seen.append(seen_ready(committed, w["page"], w["rtt"], pause))
                    figures.worker_cpu.append(w["cpu"])
                    figures.worker_phases.append(w["phases"])
                else:
                    p = in_process(app, case_id, session_id)
                    figures.inproc.append(p["took"])
                    figures.inproc_cpu.append(p["cpu"])
                    figures.inproc_phases.append(p["phases"])
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=20)
    shutil.rmtree(tmp, ignore_errors=True)
    return figures


def _spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.0f} ms (min {min(values):.0f}, max {max(values):.0f})"
    )


def report(kind: str, f: Figures) -> str:
    """Print the figures of one broker; return the README table row."""
    ready, inproc, seen = (statistics.median(v) for v in (f.ready, f.inproc, f.seen))
    ratios = statistics.median(r / p for r, p in zip(f.ready, f.inproc, strict=True))
    load = os.getloadavg()[0]
    print(f"export click→ready, {kind} broker, 1 worker, {len(f.ready)} exports (load {load:.1f}):")
    print(f"  click→ready         {_spread(f.ready)}")
    print(f"  in process          {_spread(f.inproc)}")
    print(
        f"  ratio               {ready / inproc:.2f}x of the medians, {ratios:.2f}x median of "
        "per-export ratios (goal <= 1.2x)"
    )
    wcpu, pcpu = statistics.median(f.worker_cpu), statistics.median(f.inproc_cpu)
    print(
        f"  CPU per export      worker processes {wcpu:.0f} ms, in process {pcpu:.0f} ms: "
        f"{wcpu / pcpu:.2f}x (the same work, whatever else the machine runs)"
    )
    verdict = "within" if seen <= inproc + SEEN_GOAL_MS else "NOT within"
    print(
        f"  seen ready          {_spread(f.seen)}: render {seen - inproc:+.0f} ms, {verdict} "
        f"the goal of render + {SEEN_GOAL_MS} ms"
    )
    for name, phases in (("worker", f.worker_phases), ("in process", f.inproc_phases)):
        parts = ", ".join(
            f"{phase} {statistics.median(p[phase] for p in phases):.0f}" for phase in phases[0]
        )
        print(f"  phases, {name} (median ms): {parts}")
    return (
        f"| export click → ready, {kind} | in-process task {inproc:.0f} ms | click→ready "
        f"{ready:.0f} ms; seen ready {seen:.0f} ms | {ready / inproc:.2f}× "
        f"(seen: render {seen - inproc:+.0f} ms) | ≤ 1.2×; seen ≤ render + {SEEN_GOAL_MS} ms |"
    )


def brokers(choice: str) -> list[tuple[str, str | None]]:
    """(name, URL) of the brokers to measure: ``sqlite``, ``redis`` (REDIS_URL) or ``both``."""
    redis = os.environ.get("REDIS_URL")
    if choice in ("redis", "both") and not redis:
        if choice == "redis":
            raise SystemExit("--broker redis needs REDIS_URL")
        print("REDIS_URL is not set: measuring the embedded SQLite broker only")
    wanted = [("embedded SQLite", None)] if choice in ("sqlite", "both") else []
    return wanted + ([("Redis", redis)] if choice in ("redis", "both") and redis else [])


def run(count: int, choice: str, inventory: bool = True) -> list[str]:
    """Measure each broker in turn; the README rows."""
    return [report(name, bench_export(count, url, inventory)) for name, url in brokers(choice)]


def print_table(rows: list[str]) -> None:
    """Print the README table of the given rows."""
    print()
    print("| measure | reference | Counselor | ratio | goal |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=int, default=10, help="exports to time on each side")
    parser.add_argument("--broker", choices=("sqlite", "redis", "both"), default="both")
    parser.add_argument(
        "--one-page",
        action="store_true",
        help="export a session without the inventory: the hop's fixed cost shows",
    )
    args = parser.parse_args()
    print_table(run(args.exports, args.broker, not args.one_page))


if __name__ == "__main__":
    main()
