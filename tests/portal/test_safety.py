"""A shared phone must not betray a partner (issue 9 §1): private answers are not shown back,
Quick exit ends the session, safety resources follow an alert answer, and the optional PIN.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from counselor.cases.models import PartnerHome
from counselor.core.audit import AuditEvent
from counselor.core.models import utcnow
from counselor.core.practice import DEFAULT_SAFETY_TEXT
from counselor.extensions import db
from counselor.portal import session as portal_session
from counselor.portal.models import PortalSessionRecord
from counselor.questionnaires.models import Link
from tests.support import (
    assign,
    csrf_token_from,
    load_own,
    new_case,
    open_link,
    portal_csrf,
    small_alert_definition,
)

FEEL = "CANARY-feel-ok"


@pytest.fixture
def couple(app, counselor_a):
    load_own(counselor_a, small_alert_definition())
    case = new_case(counselor_a)
    assignment, tokens = assign(case, "alert-check", owner_id=counselor_a.id)
    return case, assignment, tokens


def _sam(app, couple):
    _, _, tokens = couple
    return open_link(app.test_client(), tokens["Sam Rivera"], name="Sam")


def _home(assignment, name="Sam Rivera") -> PartnerHome:
    """The partner's home row: their PIN guards every page of theirs (not one link's)."""
    return db.session.get(PartnerHome, _link(assignment, name).partner_id)


def _link(assignment, name="Sam Rivera") -> Link:
    db.session.expire_all()
    return next(
        link
        for link in db.session.scalars(select(Link).where(Link.assignment_id == assignment.id))
        if link.partner.display_name == name
    )


# ---- counselor-only answers after submit ----


def test_after_submit_counselor_only_answers_are_not_shown_back(app, couple):
    sam = _sam(app, couple)
    sam.autosave({"check.feel": FEEL, "check.tired": 9, "check.pushed": "a_bit"})
    review = sam.get("/p/review")
    assert 'id="answer-check.pushed"' in review  # before sending, the partner checks them all
    sam.submit()
    for path in ("/p/", "/p/review", "/p/s/1"):
        page = sam.get(path)
        assert FEEL in page  # a shared answer is still shown
        assert 'id="answer-check.tired"' not in page
        assert 'id="answer-check.pushed"' not in page
        assert not re.search(r'value="a_bit"\s*checked', page)  # not in the closed section
        assert not re.search(r'value="9"( autocomplete="off")?\s*checked', page)
    assert "meant only for your counselor are not shown here" in sam.get("/p/")


# ---- safety resources ----


def test_an_alert_answer_shows_the_practice_safety_text_without_the_answer(
    app, couple, client_admin
):
    page = client_admin.get("/admin/practice").get_data(as_text=True)
    r = client_admin.post(
        "/admin/practice",
        data={
            "csrf_token": csrf_token_from(page),
            "safety_text": "Crisis line CANARY-0800 111 or call us on 555-0100.",
            "quick_exit_url": "",
        },
    )
    assert r.status_code == 302
    sam = _sam(app, couple)
    sam.autosave({"check.feel": FEEL, "check.tired": 2, "check.pushed": "yes"})
    r = sam.submit()
    after = sam.client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Crisis line CANARY-0800 111" in after
    assert "Did you feel pushed" not in after and ">Yes<" not in after


def test_no_alert_no_safety_text_and_the_default_says_call_emergency_services(app, couple):
    _, _, tokens = couple
    alex = open_link(app.test_client(), tokens["Alex Novak"], name="Alex")
    alex.autosave({"check.feel": FEEL, "check.tired": 1, "check.pushed": "no"})
    r = alex.submit()
    assert "If you need support" not in alex.client.get(r.headers["Location"]).get_data(
        as_text=True
    )
    sam = _sam(app, couple)
    sam.autosave({"check.tired": 8, "check.pushed": "no"})
    r = sam.submit()
    page = sam.client.get(r.headers["Location"]).get_data(as_text=True)
    assert "If you need support" in page
    assert "emergency number" in page and "emergency number" in DEFAULT_SAFETY_TEXT


def test_practice_settings_are_for_admins_and_refuse_a_script_exit(client_a, client_admin):
    assert client_a.get("/admin/practice").status_code in (403, 404)
    page = client_admin.get("/admin/practice").get_data(as_text=True)
    assert "emergency number" in page  # the default is shown
    r = client_admin.post(
        "/admin/practice",
        data={
            "csrf_token": csrf_token_from(page),
            "safety_text": "",
            "quick_exit_url": "javascript:alert(1)",
        },
    )
    assert r.status_code == 400
    assert "https://" in r.get_data(as_text=True)


# ---- quick exit ----


def test_quick_exit_is_on_every_portal_page_and_the_landing(app, couple):
    _, assignment, tokens = couple
    landing = app.test_client().get(f"/l/{tokens['Sam Rivera']}").get_data(as_text=True)
    assert 'id="quick-exit"' in landing
    sam = _sam(app, couple)
    for path, page in sam.every_page(assignment.version.definition).items():
        assert 'id="quick-exit"' in page, path
        assert 'data-exit-url="https://www.bbc.com/weather"' in page, path


def test_quick_exit_ends_the_portal_session_on_the_server(app, couple):
    sam = _sam(app, couple)
    csrf = portal_csrf(sam.get("/p/"))
    r = sam.client.post("/p/exit", data={"csrf_token": csrf})
    assert r.status_code == 200
    assert 'http-equiv="refresh" content="0;url=https://www.bbc.com/weather"' in r.get_data(
        as_text=True
    )
    assert sam.client.get("/p/").status_code == 404
    db.session.expire_all()
    assert db.session.scalar(select(PortalSessionRecord)) is None
    # the audit trail says which partner left (not an empty actor)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "portal.quick_exit"))
    assert (event.actor_kind, event.actor_id) == ("partner", str(_link(couple[1]).partner_id))


def test_quick_exit_without_the_token_leaves_but_ends_nothing(app, couple):
    sam = _sam(app, couple)
    r = sam.client.post("/p/exit", data={"csrf_token": "forged"})
    assert r.status_code == 200  # a cross-site page cannot end the partner's session
    assert sam.client.get("/p/").status_code == 200


def test_a_portal_cookie_that_worked_is_refused_once_past_its_age_or_changed(
    app, couple, monkeypatch
):
    """The cookie's signature is checked once per value; its age still ends the session (12
    hours) and a changed copy of a value that worked opens nothing."""
    sam = _sam(app, couple)
    cookie = sam.client.get_cookie(portal_session.COOKIE, domain="counselor.test", path="/p")
    assert sam.client.get("/p/").status_code == 200
    changed = app.test_client()
    value = cookie.value[:-3] + ("A" if cookie.value[-3] != "A" else "B") + cookie.value[-2:]
    changed.set_cookie(portal_session.COOKIE, value, domain="counselor.test", path="/p")
    assert changed.get("/p/").status_code == 404
    later = time.time() + portal_session.MAX_AGE_SECONDS + 5
    monkeypatch.setattr("counselor.core.cookies.time.time", lambda: later)
    assert sam.client.get("/p/").status_code == 404


def test_quick_exit_goes_to_the_configured_page(make_app, counselor_a):
    app = make_app(COUNSELOR_QUICK_EXIT_URL="https://example.org/news")
    c = app.test_client()
    assert 'content="0;url=https://example.org/news"' in c.post("/p/exit").get_data(as_text=True)


# ---- PIN ----


def _set_pin(sam, pin="4821", again=None):
    csrf = portal_csrf(sam.get("/p/"))
    return sam.client.post(
        "/p/pin/set", data={"csrf_token": csrf, "pin": pin, "pin_again": again or pin}
    )


def test_a_pin_is_asked_on_a_new_browser_and_is_an_argon2_hash(app, couple):
    _, assignment, tokens = couple
    sam = _sam(app, couple)
    r = _set_pin(sam)
    assert r.status_code == 302
    assert sam.client.get("/p/").status_code == 200  # this browser just set it
    assert _home(assignment).pin_hash.startswith("$argon2")
    other = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam")
    r = other.client.get("/p/s/1")
    assert r.status_code == 302 and r.headers["Location"].endswith("/p/pin")
    page = other.get("/p/pin")
    r = other.client.post("/p/pin", data={"csrf_token": portal_csrf(page), "pin": "0000"})
    assert r.status_code == 400 and "not right" in r.get_data(as_text=True)
    r = other.client.post("/p/pin", data={"csrf_token": portal_csrf(page), "pin": "4821"})
    assert r.status_code == 302
    assert other.client.get("/p/s/1").status_code == 200


def test_pin_posts_need_the_portal_csrf_token(app, couple):
    """Setting or entering a PIN with a forged token changes nothing."""
    _, assignment, tokens = couple
    sam = _sam(app, couple)
    r = sam.client.post(
        "/p/pin/set", data={"csrf_token": "forged", "pin": "4821", "pin_again": "4821"}
    )
    assert r.status_code == 400
    assert _home(assignment).pin_hash is None
    assert _set_pin(sam).status_code == 302
    other = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam")
    other.get("/p/pin")
    r = other.client.post("/p/pin", data={"csrf_token": "forged", "pin": "4821"})
    assert r.status_code == 400
    assert other.client.get("/p/s/1").status_code == 302  # still asked for the PIN


@pytest.mark.parametrize(
    "pin,again", [("12", "12"), ("123456789", "123456789"), ("12a4", "12a4"), ("1234", "1235")]
)
def test_a_malformed_pin_gets_a_message(app, couple, pin, again):
    sam = _sam(app, couple)
    r = _set_pin(sam, pin, again)
    assert r.status_code == 400
    assert re.search(r"4 to 8 digits|differ", r.get_data(as_text=True))


def test_the_pin_is_asked_again_after_15_idle_minutes(app, couple):
    sam = _sam(app, couple)
    _set_pin(sam)
    assert sam.client.get("/p/").status_code == 200
    idle_since = utcnow() - portal_session.PIN_IDLE - timedelta(minutes=1)
    db.session.execute(update(PortalSessionRecord).values(last_seen_at=idle_since))
    db.session.commit()
    r = sam.client.get("/p/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/p/pin")
    r = sam.client.post(
        "/p/autosave", json={"revision": 0, "answers": {}}, headers={"X-CSRF-Token": "x"}
    )
    assert r.status_code in (400, 401)  # nothing is saved without the PIN


def test_wrong_pins_are_throttled(app, couple):
    _, assignment, tokens = couple
    sam = _sam(app, couple)
    _set_pin(sam)
    other = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam")
    csrf = portal_csrf(other.get("/p/pin"))
    codes = [
        other.client.post("/p/pin", data={"csrf_token": csrf, "pin": f"99{n:02d}"}).status_code
        for n in range(5)
    ]
    assert codes[:4] == [400, 400, 400, 400] and codes[4] == 429
    # even the right PIN waits now
    r = other.client.post("/p/pin", data={"csrf_token": csrf, "pin": "4821"})
    assert r.status_code == 429 and "wait" in r.get_data(as_text=True)
    assert _home(assignment).pin_failures == 4


def test_the_counselor_clears_the_pin_by_reissuing_the_link(app, couple, client_a):
    case, assignment, tokens = couple
    sam = _sam(app, couple)
    _set_pin(sam)
    partner = _link(assignment).partner
    page = client_a.get(f"/cases/{case.id}/assignments/{assignment.id}").get_data(as_text=True)
    r = client_a.post(
        f"/cases/{case.id}/assignments/{assignment.id}/partners/{partner.id}/reissue",
        data={"csrf_token": csrf_token_from(page)},
        follow_redirects=True,
    )
    assert r.status_code == 200
    token = re.search(r"/l/([A-Za-z0-9_\-]+)", r.get_data(as_text=True)).group(1)
    fresh_phone = open_link(app.test_client(), token, name="Sam")
    assert fresh_phone.client.get("/p/").status_code == 200  # no PIN on the new link
