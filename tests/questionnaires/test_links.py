"""Personal links: token strength, hash-only storage, expiry, revoke/reissue, probes, cookies."""

from __future__ import annotations

import base64
import logging
import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from counselor import _RedactLinkTokens
from counselor.core.models import utcnow
from counselor.core.tokens import new_token, token_hash
from counselor.extensions import db
from counselor.portal import context as portal_context
from counselor.questionnaires import services
from counselor.questionnaires.models import Link
from tests.support import (
    assign,
    assign_http,
    new_case,
    open_link,
    open_portal,
    partner_named,
    questionnaire,
    sign_in,
    sync,
)

TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]+$")


@pytest.fixture
def couple(app, counselor_a):
    sync()
    return new_case(counselor_a)


# ---- token properties ----


def test_issued_link_carries_at_least_256_random_bits(client_a, couple):
    q = questionnaire("desires-boundaries")
    _, homes = assign_http(client_a, couple, q.id)  # the home links the assign page gives
    _, links = assign(couple, q.slug)  # per-assignment links, as before homes
    assert set(homes) == set(links) == {"Sam Rivera", "Alex Novak"}
    tokens = {
        f"{n} {kind}": t.removeprefix("/h/")
        for kind, d in (("home", homes), ("link", links))
        for n, t in d.items()
    }
    for token in tokens.values():
        assert TOKEN_RE.match(token)
        # measure what was issued: the bytes the token encodes, and nothing else around them
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == token
        assert len(raw) * 8 >= 256, f"an issued token carries only {len(raw) * 8} bits"
    assert len(set(tokens.values())) == len(tokens)


def test_100000_tokens_have_no_duplicates():
    n = 100_000
    tokens, hashes = set(), set()
    for _ in range(n):
        token, digest = new_token(services.TOKEN_BYTES)
        tokens.add(token)
        hashes.add(digest)
    assert min(len(t) for t in tokens) >= 43
    # every character position varies: no constant prefix or suffix
    sample = list(tokens)[:2000]
    for pos in (0, 21, 41):  # the 43rd character carries only 4 bits
        assert len({t[pos] for t in sample}) > 40
    # character frequencies look uniform over the 64-symbol alphabet (a weak entropy check)
    counts: dict[str, int] = {}
    for t in sample:
        for ch in t[:42]:
            counts[ch] = counts.get(ch, 0) + 1
    expected = len(sample) * 42 / 64
    chi2 = sum(
        (counts.get(c, 0) - expected) ** 2 / expected
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    print(
        f"\ntokens generated: {n}, duplicate tokens: {n - len(tokens)}, "
        f"duplicate hashes: {n - len(hashes)}, chi2(63 df)={chi2:.1f}"
    )
    assert len(tokens) == n and len(hashes) == n
    assert chi2 < 140  # p << 1e-6 for a fair source


def _dump_database() -> str:
    """Every row of every table as text (bytes as hex and latin-1), for leak checks."""
    parts = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for value in row:
                    if isinstance(value, (bytes, bytearray, memoryview)):
                        raw = bytes(value)
                        parts.append(raw.hex())
                        parts.append(raw.decode("latin-1"))
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


def test_only_the_sha256_of_a_token_is_stored(app, client_a, couple):
    q = questionnaire("desires-boundaries")
    _, tokens = assign(couple, q.slug)
    partner = app.test_client()
    token = tokens["Sam Rivera"]
    open_link(partner, token)
    # reissue too: the new raw token must not be stored either
    from counselor.questionnaires.models import Assignment

    assignment = db.session.scalar(select(Assignment))
    r = client_a.post(
        f"/cases/{couple.id}/assignments/{assignment.id}/partners/{couple.partners[1].id}/reissue",
        follow_redirects=True,
    )
    assert r.status_code == 200
    new_token = re.search(r"/l/([A-Za-z0-9_\-]+)", r.get_data(as_text=True)).group(1)
    all_tokens = [*tokens.values(), new_token]

    dump = _dump_database()
    hashes = set(db.session.scalars(select(Link.token_hash)))
    for t in all_tokens:
        assert t not in dump
        assert token_hash(t) in hashes
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)

    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        db.session.commit()
        with db.engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(FULL)"))
        raw = b"".join(
            p.read_bytes() for p in Path(url.database).parent.glob(Path(url.database).name + "*")
        )
        for t in all_tokens:
            assert t.encode() not in raw


def test_logs_hold_no_raw_token(app, couple, caplog):
    _, tokens = assign(couple)
    token = tokens["Sam Rivera"]
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    open_link(client, token)
    client.get("/p/")
    client.get(f"/l/{secrets.token_urlsafe(32)}")
    # an error inside the landing is logged by endpoint, never by path
    assert token not in caplog.text
    for record in caplog.records:
        assert token not in record.getMessage()


def test_werkzeug_and_gunicorn_log_lines_are_redacted(caplog):
    token = secrets.token_urlsafe(32)
    caplog.set_level(logging.INFO)
    werkzeug = logging.getLogger("werkzeug")
    gunicorn = logging.getLogger("gunicorn.access")
    assert any(isinstance(f, _RedactLinkTokens) for f in werkzeug.filters)
    assert any(isinstance(f, _RedactLinkTokens) for f in gunicorn.filters)
    # werkzeug's request line: '"%s" %s %s' with the request line as an argument
    werkzeug.info('"%s" %s %s', f"GET /l/{token} HTTP/1.1", "302", "-")
    werkzeug.info(f"direct message GET /l/{token}?x=1")
    # gunicorn's access log passes its atoms as one mapping
    gunicorn.info(
        '%(h)s "%(r)s" %(s)s %(U)s',
        {"h": "10.0.0.1", "r": f"GET /l/{token} HTTP/1.1", "s": "302", "U": f"/l/{token}"},
    )
    assert len(caplog.records) == 3
    assert token not in caplog.text
    assert caplog.text.count("/l/[redacted]") >= 4


# ---- expiry, revoke, reissue ----


def test_valid_one_second_before_expiry_and_refused_at_expiry(app, couple, monkeypatch):
    assignment, tokens = assign(couple)
    token = tokens["Sam Rivera"]
    expires = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    db.session.execute(
        update(Link).where(Link.token_hash == token_hash(token)).values(expires_at=expires)
    )
    db.session.commit()
    client = app.test_client()

    monkeypatch.setattr(portal_context, "utcnow", lambda: expires - timedelta(seconds=1))
    open_link(client, token)
    assert client.get("/p/").status_code == 200

    monkeypatch.setattr(portal_context, "utcnow", lambda: expires)
    assert client.get(f"/l/{token}").status_code == 404
    # the portal session made before expiry ends at expiry too
    assert client.get("/p/").status_code == 404


def test_expiry_in_the_database_is_honoured_without_a_fake_clock(app, couple):
    assignment, tokens = assign(couple)
    token = tokens["Sam Rivera"]
    client = app.test_client()
    open_link(client, token)
    db.session.execute(
        update(Link)
        .where(Link.token_hash == token_hash(token))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert client.get("/p/").status_code == 404
    assert client.get(f"/l/{token}").status_code == 404


def test_link_lifetime_follows_the_assignment(app, client_a, couple):
    _, tokens = assign(couple, "debrief", ttl_days=2)
    link = db.session.scalar(
        select(Link).where(Link.token_hash == token_hash(tokens["Sam Rivera"]))
    )
    from counselor.core.models import aware

    assert (
        timedelta(days=2) - timedelta(minutes=1)
        < aware(link.expires_at) - utcnow()
        <= timedelta(days=2)
    )


def test_revoke_applies_at_the_next_request(app, client_a, couple):
    assignment, tokens = assign(couple)
    sam = partner_named(couple, "Sam Rivera")
    partner = app.test_client()
    open_link(partner, tokens["Sam Rivera"])
    assert partner.get("/p/").status_code == 200
    r = client_a.post(f"/cases/{couple.id}/assignments/{assignment.id}/partners/{sam.id}/revoke")
    assert r.status_code == 302
    assert partner.get("/p/").status_code == 404
    assert partner.get("/p/s/1").status_code == 404
    assert app.test_client().get(f"/l/{tokens['Sam Rivera']}").status_code == 404
    # Alex is unaffected
    alex = app.test_client()
    open_link(alex, tokens["Alex Novak"])
    page = client_a.get(f"/cases/{couple.id}/assignments/{assignment.id}").get_data(as_text=True)
    assert "Revoked" in page


def test_reissue_ends_the_old_link_and_its_sessions_at_once(app, client_a, couple):
    assignment, tokens = assign(couple)
    sam = partner_named(couple, "Sam Rivera")
    old = tokens["Sam Rivera"]
    phone = app.test_client()
    open_link(phone, old)
    page = phone.get("/p/s/1").get_data(as_text=True)
    csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    r = client_a.post(
        f"/cases/{couple.id}/assignments/{assignment.id}/partners/{sam.id}/reissue",
        follow_redirects=True,
    )
    assert r.status_code == 200
    new = re.search(r"/l/([A-Za-z0-9_\-]+)", r.get_data(as_text=True)).group(1)
    assert new != old
    assert "shown only now" in r.get_data(as_text=True)
    # the session made from the old link stops at once, for reads and for saves
    assert phone.get("/p/").status_code == 404
    r = phone.post(
        "/p/autosave", json={"revision": 0, "answers": {}}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 404
    assert app.test_client().get(f"/l/{old}").status_code == 404
    fresh = app.test_client()
    open_link(fresh, new)
    assert fresh.get("/p/").status_code == 200


# ---- misses look the same and are rate limited ----


def _not_found_body(client, path, addr="192.0.2.10"):
    r = client.get(path, environ_base={"REMOTE_ADDR": addr})
    assert r.status_code == 404
    return r.data


def test_unknown_expired_and_revoked_tokens_get_byte_identical_404s(app, client_a, couple):
    assignment, tokens = assign(couple)
    sam, alex = partner_named(couple, "Sam Rivera"), partner_named(couple, "Alex Novak")
    # Sam's link: revoked; Alex's link: expired
    services.revoke(assignment, sam.id)
    db.session.execute(
        update(Link)
        .where(Link.partner_id == alex.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    c = app.test_client()
    bodies = {
        "unknown": _not_found_body(c, f"/l/{secrets.token_urlsafe(32)}"),
        "short": _not_found_body(c, "/l/abc"),
        "long": _not_found_body(c, "/l/" + "A" * 500),
        "revoked": _not_found_body(c, f"/l/{tokens['Sam Rivera']}"),
        "expired": _not_found_body(c, f"/l/{tokens['Alex Novak']}"),
        "no session": _not_found_body(c, "/p/"),
    }
    assert len(set(bodies.values())) == 1, {k: len(v) for k, v in bodies.items()}
    assert b"This link is not available" in bodies["unknown"]
    assert tokens["Sam Rivera"].encode() not in bodies["revoked"]


def test_random_probes_miss_and_repeated_misses_are_rate_limited(app, couple):
    assignment, tokens = assign(couple)
    c = app.test_client()
    probes = hits = 0
    bodies = set()
    addresses = [f"198.51.100.{n}" for n in range(1, 11)]
    for addr in addresses:
        for _ in range(20):
            r = c.get(f"/l/{secrets.token_urlsafe(32)}", environ_base={"REMOTE_ADDR": addr})
            probes += 1
            hits += r.status_code != 404
            bodies.add(r.data)
        # the 21st miss from the same address within 10 minutes is refused
        r = c.get(f"/l/{secrets.token_urlsafe(32)}", environ_base={"REMOTE_ADDR": addr})
        assert r.status_code == 429, (addr, r.status_code)
        assert "Too many attempts" in r.get_data(as_text=True)
        assert r.headers["Cache-Control"] == "no-store"
    print(f"\nprobes: {probes}, hits: {hits}, distinct 404 bodies: {len(bodies)}")
    assert hits == 0 and len(bodies) == 1
    # another address is unaffected: it still reaches the landing and a real link works there
    assert (
        c.get(
            f"/l/{secrets.token_urlsafe(32)}", environ_base={"REMOTE_ADDR": "203.0.113.7"}
        ).status_code
        == 404
    )
    r = open_portal(c, tokens["Sam Rivera"], environ_base={"REMOTE_ADDR": "203.0.113.8"})
    assert r.status_code == 302


def test_successful_landings_do_not_count_as_misses(app, couple):
    _, tokens = assign(couple)
    c = app.test_client()
    for _ in range(25):
        r = open_portal(c, tokens["Sam Rivera"], environ_base={"REMOTE_ADDR": "192.0.2.99"})
        assert r.status_code == 302


# ---- landing, headers, cookies ----


def test_landing_swaps_the_token_for_a_session_and_a_clean_url(app, couple):
    _, tokens = assign(couple)
    token = tokens["Sam Rivera"]
    c = app.test_client()
    r = open_portal(c, token)
    assert r.status_code == 302
    assert r.headers["Location"] in ("/p/", "http://counselor.test/p/")
    assert token not in r.headers["Location"]
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Cache-Control"] == "no-store"
    final = c.get("/p/")
    assert final.status_code == 200
    assert final.request.path == "/p/"
    assert token not in final.get_data(as_text=True)
    assert final.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="referrer" content="no-referrer">' in final.get_data(as_text=True)


def test_every_portal_response_has_no_store(app, couple):
    _, tokens = assign(couple)
    c = app.test_client()
    seen = []
    seen.append(("landing page", c.get(f"/l/{tokens['Sam Rivera']}")))
    seen.append(("landing", open_portal(c, tokens["Sam Rivera"])))
    seen.append(("landing miss", c.get("/l/nope")))
    seen.append(("landing miss (button)", c.post("/l/nope")))
    seen.append(("landing without token", c.post(f"/l/{tokens['Sam Rivera']}")))
    for path in ("/p/", "/p/s/1", "/p/s/2", "/p/review", "/p/s/99"):
        seen.append((path, c.get(path)))
    page = c.get("/p/s/1").get_data(as_text=True)
    csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    rev = int(re.search(r'name="revision" value="(\d+)"', page).group(1))
    seen.append(
        (
            "autosave ok",
            c.post(
                "/p/autosave", json={"revision": rev, "answers": {}}, headers={"X-CSRF-Token": csrf}
            ),
        )
    )
    seen.append(
        (
            "autosave stale",
            c.post(
                "/p/autosave",
                json={"revision": rev - 1, "answers": {}},
                headers={"X-CSRF-Token": csrf},
            ),
        )
    )
    seen.append(
        (
            "autosave bad",
            c.post(
                "/p/autosave",
                data="{",
                content_type="application/json",
                headers={"X-CSRF-Token": csrf},
            ),
        )
    )
    seen.append(("no csrf", c.post("/p/autosave", json={"revision": rev, "answers": {}})))
    seen.append(("leave", c.post("/p/leave", data={"csrf_token": csrf})))
    seen.append(("after leave", c.get("/p/")))
    for name, r in seen:
        assert r.headers.get("Cache-Control") == "no-store", (
            name,
            r.status_code,
            r.headers.get("Cache-Control"),
        )
        assert r.status_code < 500, name


def test_unrouted_portal_responses_have_no_store_too(app, couple):
    _, tokens = assign(couple)
    c = app.test_client()
    open_link(c, tokens["Sam Rivera"])
    for r in (c.get("/p/autosave"), c.get("/p/nothing-here")):
        assert r.status_code in (404, 405)
        assert r.headers.get("Cache-Control") == "no-store"


def _set_cookie(response, name):
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))


def test_portal_cookie_is_httponly_lax_scoped_to_p_and_apart_from_the_counselor_cookie(
    app, couple, counselor_a
):
    _, tokens = assign(couple)
    c = app.test_client()
    r = open_portal(c, tokens["Sam Rivera"])
    cookie = _set_cookie(r, "counselor_portal")
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert "httponly" in attrs
    assert attrs["samesite"].lower() == "samesite=lax"
    assert attrs["path"] == "Path=/p"
    assert app.config["SESSION_COOKIE_NAME"] != "counselor_portal"
    # the landing sets no counselor session cookie at all
    assert not any(
        h.startswith(app.config["SESSION_COOKIE_NAME"] + "=")
        for h in r.headers.getlist("Set-Cookie")
    )
    # the counselor's login sets a different cookie for the whole site
    login_response = sign_in(app.test_client(), counselor_a)
    assert _set_cookie(login_response, app.config["SESSION_COOKIE_NAME"])


def test_portal_cookie_is_secure_when_cookies_must_be(make_app, counselor_a):
    secure_app = make_app(SESSION_COOKIE_SECURE=True)
    with secure_app.app_context():
        sync()
        case = new_case(counselor_a, label="Secure pair")
        _, tokens = assign(case)
        r = open_portal(
            secure_app.test_client(), tokens["Sam Rivera"], base_url="https://counselor.test"
        )
        assert "Secure" in _set_cookie(r, "counselor_portal")


def test_counselor_login_and_portal_session_live_side_by_side(app, client_a, couple):
    """One browser: counselor signed in, opens a partner link; leaving one keeps the other."""
    _, tokens = assign(couple)
    browser = client_a
    assert browser.get("/cases").status_code == 200
    landing = open_link(browser, tokens["Sam Rivera"]).landing
    overview = browser.get("/p/")
    # portal responses never touch the counselor's cookie
    counselor_cookie = app.config["SESSION_COOKIE_NAME"] + "="
    for r in (landing, overview):
        assert not any(h.startswith(counselor_cookie) for h in r.headers.getlist("Set-Cookie"))
    page = overview.get_data(as_text=True)
    assert "Sam Rivera" in page
    assert browser.get("/cases").status_code == 200  # still signed in as the counselor
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = browser.post("/p/leave", data={"csrf_token": csrf})
    assert r.status_code == 200 and "forgotten" in r.get_data(as_text=True)
    assert browser.get("/p/").status_code == 404  # the portal session is gone
    assert browser.get("/cases").status_code == 200  # the counselor is not signed out

    # and the other way round: signing out of the counselor side keeps the portal session
    open_link(browser, tokens["Sam Rivera"])
    assert browser.get("/p/").status_code == 200
    assert browser.post("/logout").status_code == 302
    assert browser.get("/cases").status_code == 302  # back to the login page
    assert browser.get("/p/").status_code == 200


def test_a_portal_session_does_not_sign_anyone_in_on_the_counselor_side(app, couple):
    _, tokens = assign(couple)
    c = app.test_client()
    open_link(c, tokens["Sam Rivera"])
    assignment_id = db.session.scalar(select(Link.assignment_id))
    for path in (
        "/cases",
        f"/cases/{couple.id}",
        f"/cases/{couple.id}/assignments/{assignment_id}",
        "/questionnaires",
    ):
        r = c.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path


# ---- link previews, forgetting the device ----


def _response_of(partner):
    from counselor.questionnaires.models import Response

    db.session.expire_all()
    return db.session.scalar(select(Response).where(Response.partner_id == partner.id))


def test_a_link_preview_get_changes_nothing_and_sets_no_cookie(app, couple):
    """Mail and chat apps fetch a link to preview it: that must not open the partner's homework."""
    from counselor.core.audit import AuditEvent
    from counselor.portal.models import PortalSessionRecord

    couple_label = couple.label
    _, tokens = assign(couple)
    sam = partner_named(couple, "Sam Rivera")
    events_before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    bot = app.test_client()
    for _ in range(3):
        r = bot.get(f"/l/{tokens['Sam Rivera']}")
        assert r.status_code == 200
        assert not r.headers.getlist("Set-Cookie")
        page = r.get_data(as_text=True)
        assert "Open my homework" in page and 'method="post"' in page
        # a preview shows nothing of who or what: no name, no case label, no title
        for private in ("Sam Rivera", "Alex Novak", couple_label, "Desires"):
            assert private not in page, private
    response = _response_of(sam)
    link = db.session.scalar(select(Link).where(Link.partner_id == sam.id))
    assert response.status == "not_opened" and response.opened_at is None
    assert link.last_used_at is None
    assert db.session.scalar(select(func.count()).select_from(PortalSessionRecord)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events_before
    assert bot.get("/p/").status_code == 404

    # the button opens it
    r = open_portal(app.test_client(), tokens["Sam Rivera"])
    assert r.status_code == 302 and _set_cookie(r, "counselor_portal")
    assert _response_of(sam).status == "opened"


def test_the_landing_button_needs_its_csrf_token_and_a_same_site_page(app, couple):
    _, tokens = assign(couple)
    token = tokens["Sam Rivera"]
    c = app.test_client()
    for data, headers in (
        ({}, {}),
        ({"csrf_token": "forged"}, {}),
        ({"csrf_token": "fälschung"}, {}),
    ):
        r = c.post(f"/l/{token}", data=data, headers=headers)
        assert r.status_code == 400 and not r.headers.getlist("Set-Cookie")
        assert "Open your personal link again" in r.get_data(as_text=True)
    # a genuine token sent from another site (a forged form elsewhere) is refused too
    page = c.get(f"/l/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c.post(f"/l/{token}", data={"csrf_token": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 400 and not r.headers.getlist("Set-Cookie")
    assert _response_of(partner_named(couple, "Sam Rivera")).status == "not_opened"
    r = c.post(f"/l/{token}", data={"csrf_token": csrf}, headers={"Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 302


def test_a_bad_token_gets_the_same_404_on_the_button_as_on_the_page(app, couple):
    c = app.test_client()
    bad = secrets.token_urlsafe(32)
    page = _not_found_body(c, f"/l/{bad}")
    r = c.post(f"/l/{bad}", data={"csrf_token": "x"}, environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert r.status_code == 404 and r.data == page


def test_forget_this_device_ends_the_session_on_the_server(app, couple):
    """A copy of the portal cookie (another browser, a backup) stops working at once."""
    _, tokens = assign(couple)
    phone = app.test_client()
    open_link(phone, tokens["Sam Rivera"])
    cookie = phone.get_cookie("counselor_portal", domain="counselor.test", path="/p").value
    copy = app.test_client()
    copy.set_cookie("counselor_portal", cookie, domain="counselor.test", path="/p")
    assert copy.get("/p/").status_code == 200

    csrf = re.search(r'data-csrf="([^"]+)"', phone.get("/p/s/1").get_data(as_text=True)).group(1)
    r = phone.post("/p/leave", data={"csrf_token": csrf})
    assert r.status_code == 200 and "forgotten" in r.get_data(as_text=True)
    assert phone.get("/p/").status_code == 404
    assert copy.get("/p/").status_code == 404
    assert (
        copy.post(
            "/p/autosave", json={"revision": 0, "answers": {}}, headers={"X-CSRF-Token": csrf}
        ).status_code
        == 404
    )
    # the link still works to come back
    open_link(phone, tokens["Sam Rivera"])
    assert phone.get("/p/").status_code == 200
