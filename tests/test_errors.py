"""Bad input gets a styled page and a 4xx, never a trace (promise 8); every page carries the
security headers, and no page runs inline script, inline style or anything from elsewhere."""

from __future__ import annotations

import io
import re
import uuid

import pytest

from counselor.core import web
from counselor.core.web import ERROR_TEXT
from tests.access_policy import POLICY, REFUSALS
from tests.support import PASSWORD, make_account, new_case, sign_in
from tests.sweep import (
    UnknownArgument,
    build_url,
    make_objects,
    matches,
    methods_of,
    sweep_rules,
    variants,
)

HOST = "counselor.test"
NOT_A_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
TRACE_WORDS = ("Traceback", 'File "', "werkzeug", "sqlalchemy", "jinja2", "RuntimeError")


def not_a_page(response) -> bool:
    """JSON and redirects: answers no browser shows as a page."""
    return response.status_code in (301, 302, 303, 307, 308) or response.mimetype == (
        "application/json"
    )


def header_problems(response) -> list[str]:
    """What is missing from a response's security headers."""
    h = response.headers
    csp = h.get("Content-Security-Policy", "")
    problems = []
    if not_a_page(response):
        if csp != NOT_A_PAGE_CSP:  # the strict fixed policy, no nonce
            problems.append(f"CSP {csp!r} on a response that is not a page")
    else:
        if not re.search(r"script-src [^;]*'nonce-[A-Za-z0-9_-]{16,}'", csp):
            problems.append("CSP without a script nonce")
        if "default-src 'self'" not in csp or "object-src 'none'" not in csp:
            problems.append("CSP without default-src 'self' and object-src 'none'")
    if "frame-ancestors 'none'" not in csp:
        problems.append("CSP without frame-ancestors 'none'")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append("CSP allows unsafe-inline/eval")
    if h.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if h.get("Referrer-Policy") not in ("same-origin", "no-referrer", "strict-origin"):
        problems.append(f"Referrer-Policy {h.get('Referrer-Policy')!r}")
    if "no-store" not in h.get("Cache-Control", ""):
        problems.append(f"Cache-Control {h.get('Cache-Control')!r} without no-store")
    return problems


def html_problems(response) -> list[str]:
    """Inline script or style, scripts without this response's nonce, URLs to other hosts."""
    html = response.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", response.headers.get("Content-Security-Policy", ""))
    problems = []
    for tag in re.findall(r"<script\b[^>]*>", html, re.I):
        if " src=" not in tag:
            problems.append(f"inline script {tag}")
        if not nonce or f'nonce="{nonce.group(1)}"' not in tag:
            problems.append(f"script without this response's nonce: {tag}")
    for tag in re.findall(r"<style\b[^>]*>", html, re.I):
        problems.append(f"inline style block {tag}")
    problems += [
        f"style attribute: {m}" for m in re.findall(r"<[^>]*\sstyle\s*=[^>]*>", html, re.I)
    ]
    problems += [
        f"event-handler attribute: {m}"
        for m in re.findall(r"<[^>]*\son[a-z]+\s*=[^>]*>", html, re.I)
    ]
    # What a page loads or links to: src, href, action, srcset, poster and CSS url(). A URL in
    # text or in a form value (the Quick exit page an admin typed) is not fetched by anyone.
    targets = re.findall(
        r"""(?:\b(?:src|href|action|srcset|poster)\s*=\s*["']?|url\(\s*["']?)([^"'\s>)]+)""",
        html,
        re.I,
    )
    for host in re.findall(r"(?:https?:)?//([A-Za-z0-9.-]+\.[A-Za-z]{2,})", " ".join(targets)):
        if host != HOST:
            problems.append(f"URL to another host: {host}")
    return problems


def styled_error(response, code: int) -> None:
    """The response is the app's styled error page for ``code``, with no trace in it."""
    html = response.get_data(as_text=True)
    title = ERROR_TEXT[code][0]
    assert response.status_code == code
    assert response.mimetype == "text/html"
    assert f"<title>{title} &middot; Counselor</title>" in html, html[:400]
    assert 'class="error-code"' in html and "/static/css/counselor.css" in html
    for word in TRACE_WORDS:
        assert word not in html, f"{word!r} on the {code} page"
    assert header_problems(response) == []
    assert html_problems(response) == []


def test_404_page(client_a):
    styled_error(client_a.get("/no/such/page"), 404)
    styled_error(client_a.get(f"/cases/{uuid.uuid4()}"), 404)
    styled_error(client_a.get("/cases/not-a-uuid"), 404)


def test_403_page(client_a, client_admin):
    styled_error(client_a.get("/admin/counselors"), 403)
    styled_error(client_admin.get("/cases"), 403)


def test_405_page(client_a):
    styled_error(client_a.get("/logout"), 405)
    styled_error(client_a.put("/cases"), 405)


def test_400_page_for_a_missing_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    r = app.test_client().post("/login", data={"email": "a@example.org", "password": PASSWORD})
    styled_error(r, 400)
    assert "reload the page and send it again" in r.get_data(as_text=True)


def test_413_page_for_a_body_over_the_limit(app, client_a, counselor_a):
    limit = app.config["MAX_CONTENT_LENGTH"]
    case = new_case(counselor_a)
    too_big = {
        "date": "2026-01-01",
        "time": "10:00",
        "duration_minutes": "50",
        "notes": "x" * (limit + 1),
    }
    styled_error(client_a.post(f"/cases/{case.id}/sessions/new", data=too_big), 413)
    styled_error(
        app.test_client().post(
            "/login", data={"email": "a@example.org", "password": "x" * (limit + 1)}
        ),
        413,
    )
    upload = {"notes": (io.BytesIO(b"x" * (limit + 1)), "big.txt")}
    styled_error(
        client_a.post(
            f"/cases/{case.id}/sessions/new", data=upload, content_type="multipart/form-data"
        ),
        413,
    )


def test_429_page(app, counselor_a):
    client = app.test_client()
    for _ in range(5):
        client.post("/login", data={"email": counselor_a.email, "password": "wrong password"})
    r = client.post("/login", data={"email": counselor_a.email, "password": "wrong password"})
    styled_error(r, 429)
    assert "please wait and try again" in r.get_data(as_text=True)


def test_a_blueprint_limit_still_limits_its_pages(make_app):
    """Limits found before the request (a blueprint's here) are checked, although that check
    is skipped while no such limit is set (extensions.init_limiter)."""
    from flask import Blueprint

    from counselor.extensions import limiter

    app = make_app()
    bp = Blueprint(f"limited_{uuid.uuid4().hex}", __name__)
    bp.add_url_rule("/limited-page", "page", lambda: "fine")
    limiter.limit("2 per minute")(bp)
    try:
        app.register_blueprint(bp)
        client = app.test_client()
        assert [client.get("/limited-page").status_code for _ in range(3)] == [200, 200, 429]
        assert app.test_client().get("/login").status_code == 200  # other pages: no limit
    finally:
        # the limiter is one for every app of the test run: later tests run without it
        limiter.limit_manager._blueprint_limits.pop(bp.name, None)


def test_500_page_shows_no_trace(make_app, caplog):
    app = make_app(TESTING=False)

    def explode():
        from flask import request

        raise RuntimeError(request.args["typed"])  # a message built from what someone typed

    app.add_url_rule("/explode", "explode", explode)
    assert app.testing is False and not app.config.get("PROPAGATE_EXCEPTIONS")
    with app.app_context():
        client = app.test_client()
        sign_in(client, make_account("a@example.org", "Counselor A"))
        r = client.get("/explode?typed=secret+detail+of+the+failure")
    styled_error(r, 500)
    assert "secret detail of the failure" not in r.get_data(as_text=True)
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "Unhandled RuntimeError" in logged and "in explode" in logged, "the frames go to the log"
    # ... but not the exception's message, which can quote what a person typed.
    assert "secret detail of the failure" not in logged


# --- every page ------------------------------------------------------------------------------


@pytest.fixture
def every_page(app):
    """Every response the sweep's rules give anonymous, counselor A and the admin (fresh
    objects of A filled in for each request; GETs and form-less POSTs), for checking headers
    and markup. Account actions aim at a bystander, so no actor loses their account."""
    a = make_account("a@example.org", "Counselor A")
    b = make_account("b@example.org", "Counselor B")
    bystander = make_account("c@example.org", "Counselor C")
    accounts = {"counselor_a": a, "admin": make_account("admin@example.org", "Admin", admin=True)}
    clients = {who: app.test_client() for who in ("anonymous", *accounts)}
    for who, account in accounts.items():
        sign_in(clients[who], account)
    pages = []
    for rule in sweep_rules(app):
        if rule.endpoint not in POLICY:
            continue  # unclassified routes fail in test_access.py
        # A set of objects serves the rule's requests until one may have changed them: GETs
        # change nothing, and neither does a refused request (test_access.py proves both), so
        # only a state-changing request that was not refused calls for a fresh set (building
        # one is most of this fixture's time).
        objects = None
        for who, client in clients.items():
            for method in methods_of(rule):
                if objects is None:
                    objects = {**make_objects(a, b), "counselor_id": bystander.id}
                try:
                    url = build_url(rule, variants(rule, objects)["own"])
                except UnknownArgument:
                    continue  # reported by the sweep
                response = client.open(url, method=method)
                pages.append((f"{who} {method} {url}", response))
                if method != "GET" and not _refused(response):
                    objects = None
                if method != "GET" and who in accounts and not _signed_in(client):
                    sign_in(client, accounts[who])  # after logout, for the next rules
    for client in clients.values():
        for where in ("/nowhere", "/logout"):
            pages.append((f"GET {where}", client.get(where)))
    return pages


def _refused(response) -> bool:
    """A refusal, which changes nothing: one of the sweep's ``REFUSALS`` (the form's errors,
    forbidden, missing, not allowed, a conflict, or the login page)."""
    return any(matches(refusal, response, {}) for refusal in REFUSALS)


def _signed_in(client) -> bool:
    return client.get("/account/password").status_code == 200


def test_every_page_has_security_headers_and_clean_markup(every_page):
    """Headers on every response; on every HTML page no inline script or style, scripts with
    this response's nonce, nothing loaded from other hosts; and no 500 anywhere."""
    assert len(every_page) > 30
    html_pages = [
        (w, r) for w, r in every_page if r.mimetype == "text/html" and r.status_code != 302
    ]
    assert sum(r.status_code == 200 for _, r in html_pages) >= 10
    problems = [f"{where}: {p}" for where, r in every_page for p in header_problems(r)]
    for where, r in html_pages:
        found = html_problems(r)
        if where.endswith("POST /p/exit"):
            # Quick exit without JavaScript: leaving for the configured outside page is its job
            found = [p for p in found if not p.startswith("URL to another host")]
        problems += [f"{where}: {p}" for p in found]
    problems += [f"{where}: {r.status_code}" for where, r in every_page if r.status_code >= 500]
    assert not problems, "\n".join(problems)


def test_each_response_gets_its_own_nonce(client_a):
    nonces = {
        re.search(
            r"'nonce-([^']+)'", client_a.get("/cases").headers["Content-Security-Policy"]
        ).group(1)
        for _ in range(3)
    }
    assert len(nonces) == 3


def test_json_and_redirects_get_the_strict_fixed_policy_and_draw_no_nonce(
    app, client_a, monkeypatch
):
    """Pages keep the nonce policy; a JSON answer or a redirect, which run no script, get
    ``default-src 'none'`` made once, and no nonce is drawn for them."""
    drawn = []
    draw = web.csp_nonce
    monkeypatch.setattr(web, "csp_nonce", lambda: drawn.append(1) or draw())
    moved = app.test_client().get("/cases")  # signed out: to the login page
    assert moved.status_code == 302 and moved.mimetype == "text/html"
    assert moved.headers["Content-Security-Policy"] == NOT_A_PAGE_CSP
    assert header_problems(moved) == [] and drawn == []
    page = client_a.get("/cases")
    assert page.status_code == 200
    assert "'nonce-" in page.headers["Content-Security-Policy"] and drawn
    for r in (page, moved):
        assert len(r.headers.getlist("Content-Security-Policy")) == 1


def test_the_checks_catch_what_they_look_for(app):
    """The page checks can fail: a page with inline script, a style attribute and a CDN."""
    from flask import Response

    bad = Response(
        '<script>alert(1)</script><p style="color:red"><link href="https://cdn.example.com/x.css">',
        mimetype="text/html",
    )
    problems = html_problems(bad)
    assert any("inline script" in p for p in problems)
    assert any("style attribute" in p for p in problems)
    assert any("cdn.example.com" in p for p in problems)
    assert len(header_problems(bad)) >= 5
