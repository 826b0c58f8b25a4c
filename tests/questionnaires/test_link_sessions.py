"""Personal links after the landing: the swap for a portal session, no-store on every
portal response, the portal cookie beside the counselor's, link previews, the landing
button's CSRF check and forgetting a device (issue 3; split from ``test_links.py``)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from counselor.extensions import db
from counselor.questionnaires.models import Link
from tests.support import (
    assign,
    new_case,
    open_link,
    open_portal,
    partner_named,
    sign_in,
    sync,
)

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
