"""Does `make run` stop every process it started on Ctrl-C?

    python bench/run_stops.py [--rounds 3] [--port 5099]

Starts what `make run` starts (``python -m counselor.devrun web worker beat``, or with
``--honcho`` the ``honcho start`` it used before, same environment), waits until the Celery worker says it is ready and gunicorn has booted its
workers, sends SIGINT to its process group as a terminal's Ctrl-C does, and then looks for any process
left anywhere (found by a marker in the environment). Prints one line per round and exits 1 if anything was
left behind (which it then kills, by pid). Uses the repository's instance/ like `make run`.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
MARKER = "COUNSELOR_RUN_STOPS_ROUND"


def processes_marked(marker: str) -> list[int]:
    """Every live process (not a zombie) whose environment carries ``marker``.

    Children inherit the environment, so this finds whatever honcho started, even a
    process that left its session or process group.
    """
    found = []
    needle = f"{MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


def one_round(
    port: int, timeout: float, early: float | None = None, use_honcho: bool = False
) -> tuple[bool, str]:
    """Start honcho, wait for readiness (or ``early`` seconds), Ctrl-C, report what is left."""
    marker = secrets.token_hex(8)
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "BIND": f"127.0.0.1:{port}",
        "FLASK_APP": "wsgi",
        "PYTHONUNBUFFERED": "1",
        MARKER: marker,
    }
    runner = (
        [str(BIN / "honcho"), "start", "web", "worker", "beat"]
        if use_honcho
        else [str(BIN / "python"), "-m", "counselor.devrun", "web", "worker", "beat"]
    )
    honcho = subprocess.Popen(
        runner,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a job in a terminal
    )
    lines: list[str] = []
    ready = threading.Event()
    sessions: set[int] = set()
    booted = {"worker": False, "web": 0}

    def read() -> None:
        for line in honcho.stdout:
            lines.append(line)
            m = re.search(r"started \(pid[= ](\d+)\)", line)
            if m:
                sessions.add(int(m.group(1)))
            if "ready." in line and " worker" in line:
                booted["worker"] = True
            if "Booting worker" in line:
                booted["web"] += 1
            if booted["worker"] and booted["web"] >= 2 and len(sessions) >= 3:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if early is not None:
        # Ctrl-C while the processes are still starting (the worker not yet forked its pool).
        ready.wait(early)
    elif not ready.wait(timeout):
        os.killpg(honcho.pid, signal.SIGINT)
        honcho.wait(30)
        return False, "did not become ready:\n" + "".join(lines[-30:])
    started = processes_marked(marker)
    os.killpg(honcho.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole job
    hung = ""
    try:
        honcho.wait(30)
    except subprocess.TimeoutExpired:
        hung = "honcho itself did not stop within 30 s; "
        honcho.kill()
        honcho.wait()
    reader.join(5)
    left = processes_marked(marker)
    detail = (
        f"{hung}{len(started)} processes before Ctrl-C, {len(left)} left after the runner exited"
    )
    if hung and not left:
        return False, detail + "\n" + "".join(lines[-15:])
    if left:
        names = [Path(f"/proc/{p}/cmdline").read_text().replace("\0", " ")[:90] for p in left]
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return False, detail + ":\n  " + "\n  ".join(names) + "\n" + "".join(lines[-12:])
    return True, detail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument(
        "--honcho", action="store_true", help="run `honcho start` as make run did before"
    )
    parser.add_argument(
        "--early", type=float, default=None, help="press Ctrl-C this many seconds after start"
    )
    args = parser.parse_args()
    failures = 0
    for n in range(1, args.rounds + 1):
        t0 = time.monotonic()
        ok, detail = one_round(args.port, args.timeout, args.early, args.honcho)
        failures += not ok
        print(
            f"round {n}: {'clean' if ok else 'LEFT OVER'} in {time.monotonic() - t0:.1f} s; {detail}"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
