"""Browser tests: the app served on 127.0.0.1 from a thread, driven by Debian's Chromium.

Playwright only drives the browser the machine already has (``/usr/bin/chromium``); it never
downloads one. Without Chromium or the playwright package these tests are skipped, unless
COUNSELOR_REQUIRE_SERVICES=1 (CI), where that is a failure.

The live app is a normal test app (same database as the test, wiped afterwards) with real
CSRF protection switched on and no SERVER_NAME, so that every URL it makes points back at
the address the browser used. The helpers these tests call live in ``tests.support.browser``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import pytest
from werkzeug.serving import make_server

from tests.support import REQUIRE_SERVICES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: how long a single browser step may wait (ms): generous for CI, short enough to fail fast
STEP_TIMEOUT_MS = 10_000

# Collected in every document before its own scripts run: CSP violations the page reports.
_CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def _missing(what: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(
            f"Browser tests need {what} (COUNSELOR_REQUIRE_SERVICES=1 makes this a failure, not a "
            "skip). Install Chromium with `apt-get install chromium` and Playwright with "
            "`pip install -e '.[test]'`; never `playwright install`.",
            pytrace=False,
        )
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, for the whole run."""
    if not os.access(CHROMIUM, os.X_OK):
        _missing(f"Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _missing("the playwright Python package")
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        pw.stop()


@dataclass
class LiveServer:
    """A running app: ``url`` is http://127.0.0.1:<port>."""

    app: object
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def serve(make_app):
    """Factory: serve ``make_app(**overrides)`` on 127.0.0.1 and a free port until the test ends."""
    running = []

    def start(**overrides) -> LiveServer:
        app = make_app(**{"WTF_CSRF_ENABLED": True, "SERVER_NAME": None, **overrides})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        running.append((server, thread))
        return LiveServer(app, server.server_port)

    try:
        yield start
    finally:
        for server, thread in running:
            try:
                server.shutdown()
            finally:
                server.server_close()
                thread.join(timeout=10)


@pytest.fixture
def live_server(serve, app) -> LiveServer:
    """The app with real CSRF, served from a thread; the test sets up data through ``app``."""
    return serve()


@dataclass
class Recorder:
    """What a browser context did: console messages, request URLs, uncaught page errors."""

    console: list[tuple[str, str]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, url)
    errors: list[str] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [url for _, url in self.requests]

    def csp_messages(self) -> list[str]:
        return [text for _, text in self.console if "Content Security Policy" in text]


@pytest.fixture
def new_context(browser, serve):
    """Factory for fresh browser contexts (own cookies), closed before the server stops.

    Returns ``(context, recorder)``. Depends on ``serve`` so that its teardown runs after the
    contexts are closed (no request is in flight when the database is wiped).
    """
    opened = []

    def make(server: LiveServer, **options):
        context = browser.new_context(base_url=server.url, **options)
        context.set_default_timeout(STEP_TIMEOUT_MS)
        context.add_init_script(_CSP_WATCH)
        rec = Recorder()
        context.on("console", lambda m: rec.console.append((m.type, m.text)))
        context.on("request", lambda r: rec.requests.append((r.method, r.url)))
        context.on("weberror", lambda e: rec.errors.append(str(e.error)))
        opened.append(context)
        return context, rec

    try:
        yield make
    finally:
        for context in opened:
            context.close()
