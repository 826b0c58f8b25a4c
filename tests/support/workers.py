"""Real Celery worker and beat processes for the export and mail tests.

The broker is Redis when COUNSELOR_TEST_REDIS_URL is set (CI; each pytest-xdist worker has a
Redis database of its own), otherwise the embedded SQLite broker in the test's temporary
folder. Workers run the Procfile's Celery app (``tests.support.celery_app`` only adds this
xdist worker's queue) against the test database and the test keys.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.services import CELERY_QUEUE, REDIS_URL, service_unavailable

ROOT = Path(__file__).resolve().parents[2]
ENTRY = "tests.support.celery_app:celery_app"
CELERY = str(Path(sys.executable).parent / "celery")


def broker_for_test(tmp_path: Path) -> str:
    """A broker for one test: a Redis database of its own, or an embedded SQLite file."""
    if REDIS_URL:
        import redis

        try:
            client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
            client.flushdb()
        except Exception as exc:  # noqa: BLE001
            service_unavailable(f"Redis at {REDIS_URL} ({exc})")
        return REDIS_URL
    return f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"


class Process:
    """A celery worker or beat started in its own process group, with its log in a file."""

    def __init__(self, kind: str, env: dict, log: Path, entry: str = ENTRY):
        self.kind, self.log = kind, log
        args = [CELERY, "-A", entry, kind, "--loglevel", "INFO"]
        if kind == "worker":
            args += [
                "--concurrency",
                "1",
                "--without-mingle",
                "--without-gossip",
                "--pool",
                "prefork",
            ]
        else:
            args += ["--schedule", str(log.with_suffix(".schedule"))]
        self.handle = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 40) -> None:
        """Until the worker says it is ready (beat is ready once it started)."""
        marker = b" ready." if self.kind == "worker" else b"beat: Starting"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker in self.log.read_bytes():
                return
            if self.handle.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"celery {self.kind} did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (the worker and its pool children)."""
        if self.handle.poll() is None:
            try:
                os.killpg(self.handle.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.handle.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.handle.pid, signal.SIGKILL)
                self.handle.wait(timeout=5)


class Celery:
    """Starts and always stops the processes of one test."""

    def __init__(self, base_config: dict, broker: str, tmp_path: Path):
        self.broker, self.tmp = broker, tmp_path
        self.env = {
            **os.environ,
            "COUNSELOR_ENV": "development",
            "DATABASE_URL": base_config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": base_config["SECRET_KEY"],
            "COUNSELOR_ENCRYPTION_KEYS": base_config["COUNSELOR_ENCRYPTION_KEYS"],
            "CELERY_BROKER_URL": broker,
            "REDIS_URL": "",
            "COUNSELOR_EXPORT_SWEEP_SECONDS": "1",
            "COUNSELOR_EXPORT_REPUBLISH_SECONDS": "2",
            "COUNSELOR_EXPORT_LEASE_SECONDS": "4",
            "COUNSELOR_EXPORT_VISIBILITY_SECONDS": "6",
            "COUNSELOR_EXPORT_MAX_ATTEMPTS": "2",
            "PYTHONUNBUFFERED": "1",
            "COUNSELOR_TEST_CELERY_QUEUE": CELERY_QUEUE,
        }
        self.processes: list[Process] = []

    def start(self, kind: str = "worker", *, render_delay: float | None = None, **env) -> Process:
        """Start a worker or beat with extra environment, and wait until it is ready.

        ``render_delay``: a worker whose every render first holds its claim this many seconds
        (the test-only entry ``tests.support.slow_render_app``).
        """
        n = len(self.processes)
        entry = ENTRY
        if render_delay is not None:
            entry = "tests.support.slow_render_app:celery_app"
            env["TEST_RENDER_DELAY_SECONDS"] = render_delay
        proc = Process(
            kind,
            {**self.env, **{k: str(v) for k, v in env.items()}},
            self.tmp / f"{kind}-{n}.log",
            entry,
        )
        self.processes.append(proc)
        proc.wait_ready()
        return proc

    def wait_for_log(self, marker: str, count: int, timeout: float) -> None:
        """Until the processes' logs hold ``marker`` at least ``count`` times."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.full_logs().count(marker) >= count:
                return
            time.sleep(0.2)
        pytest.fail(f"{marker!r} not logged {count} times in {timeout}s\n{self.logs()}")

    def full_logs(self) -> str:
        """The whole log of every process started."""
        return "".join(p.log.read_text() for p in self.processes)

    def stop(self) -> None:
        """Stop everything started, at once (SIGKILL to each process group).

        A graceful shutdown waits for the pool, seconds per test that prove nothing here;
        each test starts from a fresh broker (a new SQLite file, or a flushed Redis database).
        """
        for proc in self.processes:
            proc.kill(signal.SIGKILL)

    def logs(self) -> str:
        """Every process log, for failure messages."""
        return "\n".join(f"--- {p.log.name}\n{p.log.read_text()[-2500:]}" for p in self.processes)
