"""`make run`: start Procfile processes and stop every one of them on Ctrl-C.

    python -m counselor.devrun web worker beat

honcho left a process running in some runs: a Ctrl-C that arrived while it was still
starting the processes raised inside its signal handler (the pid of a process not yet
started was unknown), so that process never got a signal and honcho waited for it forever;
and honcho counted a process as stopped when the shell at the head of its process group
exited, even if Celery pool processes of that group were still alive. Here each command runs
in its own process group, the signal handlers exist before the first process starts, and a
group counts as stopped only when no process of it is left: SIGTERM first, SIGKILL to the
whole group after ``GRACE_SECONDS``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

#: how long processes get to finish after SIGTERM before their whole group is killed
GRACE_SECONDS = 8.0
PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


def read_procfile(path: Path = PROCFILE) -> dict[str, str]:
    """The ``name: command`` lines of a Procfile."""
    commands = {}
    for line in path.read_text().splitlines():
        m = _LINE.match(line.strip())
        if m:
            commands[m.group(1)] = m.group(2)
    return commands


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group is still running (zombies reaped by us)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def _pump(name: str, width: int, stream, lock: threading.Lock) -> None:
    for line in stream:
        with lock:
            sys.stdout.write(f"{datetime.now():%H:%M:%S} {name:<{width}} | {line}")
            sys.stdout.flush()


def run(names: list[str], commands: dict[str, str]) -> int:
    """Start the named commands; on a signal or when one exits, stop all; return an exit code."""
    stop = threading.Event()
    reason = {"code": 0}

    def on_signal(signum, frame) -> None:
        reason["code"] = 128 + signum if not stop.is_set() else reason["code"]
        stop.set()

    # Installed before anything starts: a Ctrl-C during start-up is never lost.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    width = max(len(n) for n in names)
    lock = threading.Lock()
    procs: dict[str, subprocess.Popen] = {}
    for name in names:
        if stop.is_set():
            break
        # ``exec``: the command replaces the shell and leads its own process group.
        proc = subprocess.Popen(  # noqa: S603 - the commands are our own Procfile's
            ["/bin/sh", "-c", f"exec {commands[name]}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        procs[name] = proc
        threading.Thread(target=_pump, args=(name, width, proc.stdout, lock), daemon=True).start()
        _say(lock, f"{name} started (pid {proc.pid})")
    while not stop.wait(0.2):
        ended = [n for n, p in procs.items() if p.poll() is not None]
        if ended:
            _say(lock, f"{ended[0]} stopped (exit {procs[ended[0]].returncode}); stopping the rest")
            reason["code"] = procs[ended[0]].returncode or 1
            break
    return _stop_all(procs, lock) or reason["code"]


def _stop_all(procs: dict[str, subprocess.Popen], lock: threading.Lock) -> int:
    """SIGTERM every group, wait for the grace period, SIGKILL what is left; 0 when clean."""
    for name, proc in procs.items():
        _say(lock, f"sending SIGTERM to {name}")
        _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        for proc in procs.values():
            proc.poll()  # reap the group leader so that it no longer counts as alive
        if not any(group_alive(p.pid) for p in procs.values()):
            return 0
        time.sleep(0.1)
    for name, proc in procs.items():
        if group_alive(proc.pid):
            _say(lock, f"{name} still running after {GRACE_SECONDS:.0f} s: sending SIGKILL")
            _signal_group(proc.pid, signal.SIGKILL)
    for proc in procs.values():
        proc.wait()
    # SIGKILL is delivered asynchronously; orphans are reaped by init: wait until they are gone.
    deadline = time.monotonic() + 5
    while any(group_alive(p.pid) for p in procs.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return 0


def _say(lock: threading.Lock, text: str) -> None:
    with lock:
        print(f"{datetime.now():%H:%M:%S} system | {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Command line: the Procfile process names to run (default: web worker beat)."""
    names = (argv if argv is not None else sys.argv[1:]) or ["web", "worker", "beat"]
    commands = read_procfile()
    unknown = [n for n in names if n not in commands]
    if unknown:
        print(f"Not in the Procfile: {', '.join(unknown)}", file=sys.stderr)
        return 2
    return run(names, commands)


if __name__ == "__main__":
    sys.exit(main())
