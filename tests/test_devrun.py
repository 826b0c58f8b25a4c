"""`make run` (counselor.devrun) leaves no process behind on Ctrl-C, even a stubborn one."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading

from counselor.devrun import group_alive, read_procfile

# The leader exits on SIGTERM, its child ignores it: what a Celery pool process can do.
STUBBORN = "sh -c '(trap \"\" TERM INT; echo child-up; while :; do sleep 0.2; done) & wait'"
RUNNER = (
    "import sys, counselor.devrun as d; d.GRACE_SECONDS = 0.5; "
    "sys.exit(d.run(['stubborn', 'plain'], {'stubborn': sys.argv[1], 'plain': 'sleep 600'}))"
)


def test_ctrl_c_stops_every_process_group_it_started():
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, STUBBORN],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    groups, lines, child_up = [], [], False
    # If the runner never says what the test waits for, end it so the read below returns.
    watchdog = threading.Timer(60, runner.kill)
    watchdog.start()
    try:
        for line in runner.stdout:  # until both groups started and the stubborn child is up
            lines.append(line)
            m = re.search(r"started \(pid (\d+)\)", line)
            if m:
                groups.append(int(m.group(1)))
            child_up = child_up or "child-up" in line
            if child_up and len(groups) == 2:
                break
        assert len(groups) == 2, "".join(lines)
        os.killpg(runner.pid, signal.SIGINT)  # Ctrl-C reaches the runner's job
        rest, _ = runner.communicate(timeout=30)
        assert "sending SIGKILL" in rest, rest
        assert not [g for g in groups if group_alive(g)], "".join(lines) + rest
    finally:
        watchdog.cancel()
        for g in groups:
            if group_alive(g):
                os.killpg(g, signal.SIGKILL)
        if runner.poll() is None:
            runner.kill()


def test_the_procfile_names_web_worker_and_beat():
    assert {"web", "worker", "beat"} <= set(read_procfile())
