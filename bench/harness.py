"""What bench/load.py drives its runs with: the two servers under gunicorn, a cookie-keeping
client that signs in and opens links before wrk runs, and wrk itself with its Lua scripts."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WRK = shutil.which("wrk") or "/usr/bin/wrk"


# ---- servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_argv(port: int, workers: int = 2) -> list[str]:
    """gunicorn's command line as the benches run it: sync ``workers`` on ``port``, as the
    Procfile's web process runs (no access log); the app's target goes last."""
    return [
        str(BIN / "gunicorn"),
        "--worker-class",
        "sync",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]


def start_gunicorn(target: str, env: dict, workers: int = 2) -> tuple[subprocess.Popen, str]:
    """gunicorn sync x2 (or ``workers``) on a free port (``gunicorn_argv``)."""
    port = free_port()
    proc = subprocess.Popen(
        [*gunicorn_argv(port, workers), target],
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, base
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"{target} did not start") from None
            time.sleep(0.2)
    raise SystemExit(f"{target} did not open its port")


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


class Browser:
    """A cookie-keeping HTTP client for logging in and opening links before wrk runs."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path) as r:
            return r.read().decode()

    def post(self, path: str, data: dict) -> str:
        body = urllib.parse.urlencode(data).encode()
        with self.opener.open(self.base + path, body) as r:
            return r.read().decode()

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def sign_in(base: str, email: str, password: str) -> str:
    """Log in through the form (with its CSRF token); returns the Cookie header."""
    b = Browser(base)
    page = b.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    b.post("/login", {"csrf_token": token.group(1), "email": email, "password": password})
    assert "Caseload" in b.get("/cases"), "bench sign-in failed"
    return b.cookie_header()


def open_link(base: str, token: str) -> dict:
    """Open a personal link; returns the portal cookie, CSRF token and revision."""
    b = Browser(base)
    landing = b.get(f"/l/{token}")  # the landing page's button swaps the token for a session
    button = re.search(r'name="csrf_token" value="([^"]+)"', landing).group(1)
    b.post(f"/l/{token}", {"csrf_token": button})
    page = b.get("/p/s/1")
    csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    return {"cookie": b.cookie_header(), "csrf": csrf, "revision": revision_of(page)}


def revision_of(page: str) -> int:
    """The answers' revision a portal section page carries (its hidden ``revision`` field)."""
    found = re.search(r'id="revision"[^>]*value="(\d+)"|value="(\d+)" id="revision"', page)
    return int(found.group(1) or found.group(2) or 0)


def with_current_revision(base: str, session: dict) -> dict:
    """The portal session of ``open_link`` with the revision its answers have now (read from
    the first page, as a reloaded tab would): each round of autosave starts from it, else a
    round after the first would send a stale revision and time nothing but refusals (409)."""
    opener = urllib.request.build_opener()
    opener.addheaders = [("Cookie", session["cookie"])]
    with opener.open(base + "/p/s/1") as r:
        page = r.read().decode()
    return {**session, "revision": revision_of(page)}


# ---- wrk -------------------------------------------------------------------------------------

GET_LUA = """
wrk.headers["Cookie"] = %s
"""

AUTOSAVE_LUA = """
local sessions = %s
local body_answers = %s
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("idx", counter)
end
function init(args)
  s = sessions[idx]
  rev = s.revision
end
function request()
  -- one answer changed at every save, as a partner's typing does (a save that changes
  -- nothing writes no new text, a path the bench must not measure instead)
  saves = (saves or 0) + 1
  local answers = body_answers:gsub("@@", tostring(saves), 1)
  local body = '{"revision": ' .. rev .. ', "answers": ' .. answers .. '}'
  return wrk.format("POST", "/p/autosave", {["Content-Type"] = "application/json",
    ["X-CSRF-Token"] = s.csrf, ["Cookie"] = s.cookie}, body)
end
function response(status, headers, body)
  local r = body:match('"revision":%%s*(%%d+)')
  if r then rev = tonumber(r) end
end
"""

POST_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = %s
"""


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def lua_table(rows: list[dict]) -> str:
    items = ", ".join(
        "{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in row.items()) + "}" for row in rows
    )
    return "{" + items + "}"


def wrk(
    url: str,
    script: str,
    seconds: float,
    connections: int,
    tmp: Path,
    threads: int | None = None,
    server: subprocess.Popen | None = None,
) -> dict:
    """One wrk run; returns req/s, p50 and p99 in ms, the count of non-2xx/3xx answers and
    what wrk printed (``output``: a script's done() may add lines). ``threads``: at most 4
    unless given. With ``server`` (a gunicorn from ``start_gunicorn``), also the CPU that
    its processes, wrk, and the machine's PostgreSQL and Redis servers spent per request (ms): what
    tells a page that costs CPU from one that waits."""
    path = tmp / f"s{time.monotonic_ns()}.lua"
    path.write_text(script)
    threads = threads or min(connections, 4)
    watched = {}
    if server:
        watched = {
            "server": process_tree(server.pid),
            "postgres": pids_named("postgres"),
            "redis": pids_named("redis-server"),
        }
    cpu_before = {k: cpu_seconds(v) for k, v in watched.items()}
    wrk_before = os.times()
    run = subprocess.run(
        [
            WRK,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(path),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    if run.stderr.strip():  # a script error: wrk goes on with plain GETs, which would be timed
        raise SystemExit(f"wrk: {run.stderr.strip()}")
    out = run.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    cpu = {}
    if server:
        wrk_after = os.times()
        count = int(re.search(r"(\d+) requests in", out).group(1)) or 1
        spent = {k: cpu_seconds(v) - cpu_before[k] for k, v in watched.items()}
        spent["wrk"] = (wrk_after.children_user + wrk_after.children_system) - (
            wrk_before.children_user + wrk_before.children_system
        )
        cpu = {k: v * 1000 / count for k, v in spent.items()}
    return {
        "rps": rps,
        "cpu": cpu,
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "bad": int(bad.group(1)) if bad else 0,
        "output": out,
    }


def process_tree(pid: int) -> list[int]:
    """``pid`` and its children (gunicorn's master and its workers), read from /proc."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue  # gone
    return pids


def pids_named(name: str) -> list[int]:
    """Every process of the machine whose command is ``name`` (``postgres``: the server and
    its backends, the bench's among them; ``redis-server``)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == name:
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds the processes ``pids`` have spent so far (a process gone
    meanwhile counts 0: take the same list before and after)."""
    return sum(cpu_split(pids))


def cpu_split(pids: list[int]) -> tuple[float, float]:
    """``cpu_seconds`` as (user, system)."""
    user = system = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user, system = user + int(fields[11]), system + int(fields[12])  # fields 14 and 15
    return user / _TICK, system / _TICK


def _ms(value: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", value)
    n, unit = float(m.group(1)), m.group(2)
    return n / 1000 if unit == "us" else n * 1000 if unit == "s" else n
