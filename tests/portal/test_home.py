"""The partner's home: one standing link per partner per case, what it lists, whom it serves.

Partner A of case 1 reaches only A's own homework in case 1: not partner B's homework of the
same case, nothing of case 2, each refused with the same 404 as an id that names nothing.
The home link follows the personal-link rules: 256 bits, only its SHA-256 stored, shown
once, a preview-safe landing, expiry, reissue, revoke, identical 404s.
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from counselor.cases import homes
from counselor.cases.models import PartnerHome
from counselor.core.models import utcnow
from counselor.core.tokens import token_hash
from counselor.extensions import db
from counselor.portal.home_page import HomeCard
from counselor.portal.models import PortalSessionRecord
from tests.support import (
    assign,
    assign_http,
    canary,
    csrf_token_from,
    fresh,
    new_case,
    open_link,
    open_portal,
    partner_named,
    portal_csrf,
    practice_today,
    questionnaire,
    sync,
)
from tests.sweep import canaries_in, stable_body

HOME_URL = re.compile(r'value="(https?://[^"]+/h/([A-Za-z0-9_\-]+))"')


@pytest.fixture
def couple(app, counselor_a):
    sync()
    return new_case(counselor_a)


def _give_home_link(client, case, partner) -> str:
    """The counselor gives a partner their home link from the case page; the raw token."""
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    r = client.post(
        f"/cases/{case.id}/partners/{partner.id}/home-link",
        data={"csrf_token": csrf_token_from(page)},
    )
    assert r.status_code == 302 and "/home-link/" in r.headers["Location"]
    shown = client.get(r.headers["Location"])
    assert shown.status_code == 200
    body = shown.get_data(as_text=True)
    assert '<svg class="qr-code"' in body and "copy-btn" in body
    return HOME_URL.search(body).group(2)


def _home_row(partner) -> PartnerHome:
    db.session.expire_all()
    return db.session.get(PartnerHome, partner.id)


def _home(app, token: str):
    """A phone that opened a home link (GET the landing page, press its button)."""
    phone = app.test_client()
    r = open_link_home(phone, token)
    assert r.status_code == 302 and r.headers["Location"].endswith("/p/home")
    return phone


def open_link_home(client, token: str):
    return open_portal(client, f"/h/{token}")


def test_the_case_page_gives_a_home_link_once_and_keeps_only_its_hash(app, client_a, couple):
    sam = partner_named(couple, "Sam Rivera")
    page = client_a.get(f"/cases/{couple.id}").get_data(as_text=True)
    assert "No home link yet" in page and "Give home link" in page
    r = client_a.post(
        f"/cases/{couple.id}/partners/{sam.id}/home-link",
        data={"csrf_token": csrf_token_from(page)},
    )
    shown = client_a.get(r.headers["Location"]).get_data(as_text=True)
    token = HOME_URL.search(shown).group(2)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert len(raw) * 8 >= 256
    home = db.session.get(PartnerHome, sam.id)
    assert home.token_hash == token_hash(token)
    assert token not in str(db.session.execute(select(PartnerHome.__table__)).all())
    # a reload of the page shows it no more and mints nothing
    again = client_a.get(r.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert token not in again and "shown once" in again
    assert _home_row(sam).token_hash == token_hash(token)
    page = client_a.get(f"/cases/{couple.id}").get_data(as_text=True)
    assert "Home link works" in page and "Has not opened their home yet" in page


def test_a_preview_changes_nothing_and_the_button_opens_the_home(app, client_a, couple):
    sam = partner_named(couple, "Sam Rivera")
    token = _give_home_link(client_a, couple, sam)
    preview = app.test_client()
    r = preview.get(f"/h/{token}")
    assert r.status_code == 200 and "set-cookie" not in {k.lower() for k in r.headers.keys()}
    assert _home_row(sam).last_opened_at is None
    phone = _home(app, token)
    home = phone.get("/p/home")
    assert home.status_code == 200 and "For Sam Rivera" in home.get_data(as_text=True)
    assert _home_row(sam).last_opened_at is not None
    page = client_a.get(f"/cases/{couple.id}").get_data(as_text=True)
    assert "Last opened their home" in page


def test_the_home_lists_to_do_sent_and_shared_of_this_partner_in_this_case_only(
    app, client_a, couple, counselor_a
):
    from counselor.reveal.services import release

    sam, alex = partner_named(couple, "Sam Rivera"), partner_named(couple, "Alex Novak")
    due = practice_today() + timedelta(days=4)
    both, tokens = assign(couple, "consent-check-in", due_on=due)
    only_alex, _ = assign(couple, "debrief", partners=[alex])
    other = new_case(counselor_a, "Robin & Kim", ("Robin Lee", "Kim Ode"))
    assign(other, "intake")
    token = _give_home_link(client_a, couple, sam)
    phone = _home(app, token)
    home = phone.get("/p/home").get_data(as_text=True)
    todo = home[home.index('id="todo-h"') :]
    assert "Consent check-in" in todo and due.strftime("%A %-d %B") in todo
    assert "Debrief" not in home  # Alex's only
    assert "Intake" not in home  # another case's
    assert "What you share" not in home
    # Both send their answers; the counselor releases: sent, and "What you share"
    for name, browser in (("Sam", phone), ("Alex", None)):
        client = browser or app.test_client()
        if browser is None:
            open_link(client, tokens["Alex Novak"])
        page = client.get(f"/p/a/{both.id}/review").get_data(as_text=True)
        # (the check-in's required items are answered through the service for brevity)
        _answer_all(both, sam if name == "Sam" else alex)
        page = client.get(f"/p/a/{both.id}/review").get_data(as_text=True)
        rev = re.search(r'name="revision" value="(\d+)"', page).group(1)
        r = client.post(
            f"/p/a/{both.id}/submit", data={"csrf_token": portal_csrf(page), "revision": rev}
        )
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
    from counselor.reveal.models import Alert

    # (the answers given above meet the check-in's alert rule: the counselor confirms them)
    release(fresh(both), set(db.session.scalars(select(Alert.id))))
    db.session.commit()
    home = phone.get("/p/home").get_data(as_text=True)
    assert "What you share" in home and f"/p/a/{both.id}/shared" in home
    sent = home[home.index('id="sent-h"') :]
    assert "Consent check-in" in sent
    assert "Nothing to do right now" in home
    assert only_alex.id  # (still Alex's, untouched)


def _answer_all(assignment, partner) -> None:
    from counselor.questionnaires import engine
    from counselor.questionnaires.models import Response

    response = db.session.scalar(
        select(Response).where(
            Response.assignment_id == assignment.id, Response.partner_id == partner.id
        )
    )
    defn = fresh(assignment).definition
    answers = {}
    for item in defn.questions():
        if item.get("required"):
            answers[item["link_id"]] = _value(item)
    response.answers = engine.merge(response.answers, answers)
    response.status = "draft"
    db.session.commit()


def _value(item):
    kind = item["type"]
    if kind in ("scale", "integer"):
        return item.get("min", 0) if isinstance(item.get("min"), int) else 3
    if kind == "boolean":
        return True
    if kind in ("choice", "open-choice"):
        return item["options"][0]["code"] if "options" in item else "yes"
    return "Fine."


def test_partner_a_reaches_nothing_of_partner_b_or_of_another_case(
    app, client_a, couple, counselor_a
):
    """Every homework URL with B's only assignment or case 2's gives the 404 of an id that
    names nothing, byte for byte, and shows no canary."""
    sam, alex = partner_named(couple, "Sam Rivera"), partner_named(couple, "Alex Novak")
    mine, _ = assign(couple, "consent-check-in")
    alex_only, _ = assign(couple, "consent-check-in", partners=[alex])
    other = new_case(counselor_a, "Robin & Kim", ("Robin Lee", "Kim Ode"))
    theirs, _ = assign(other, "consent-check-in")
    secret = canary("alexonly")
    for assignment in (alex_only, theirs):
        for response in fresh(assignment).responses:
            response.answers = {"agreements.change": secret, "agreements.working": secret}
            response.status = "submitted"
        db.session.commit()  # (before the next fresh(), which expires what is not written)
    phone = _home(app, _give_home_link(client_a, couple, sam))
    csrf = portal_csrf(phone.get(f"/p/a/{mine.id}/").get_data(as_text=True))
    paths = ["/", "/s/1", "/s/2", "/review", "/shared"]
    posts = ["/s/1", "/autosave", "/submit", "/reopen"]
    missing = uuid.uuid4()
    expected = {p: stable_body(phone.get(f"/p/a/{missing}{p}")) for p in paths}
    for assignment in (alex_only, theirs):
        for p in paths:
            r = phone.get(f"/p/a/{assignment.id}{p}")
            assert r.status_code == 404, (assignment.id, p)
            assert stable_body(r) == expected[p]
            assert not canaries_in(r)
        for p in posts:
            r = phone.post(
                f"/p/a/{assignment.id}{p}",
                data={"csrf_token": csrf, "revision": "0"},
                headers={"X-CSRF-Token": csrf},
            )
            assert r.status_code == 404 and not canaries_in(r), (p, r.status_code)
    # nothing changed in B's answers
    for assignment in (alex_only, theirs):
        assert all(r.status == "submitted" for r in fresh(assignment).responses)
    assert phone.get(f"/p/a/{mine.id}/").status_code == 200


def test_reissue_ends_the_old_home_link_its_sessions_and_the_pin(app, client_a, couple):
    sam = partner_named(couple, "Sam Rivera")
    assign(couple, "consent-check-in")
    old = _give_home_link(client_a, couple, sam)
    phone = _home(app, old)
    page = phone.get("/p/home").get_data(as_text=True)
    r = phone.post(
        "/p/pin/set",
        data={"csrf_token": portal_csrf(page), "pin": "4821", "pin_again": "4821", "back": "home"},
    )
    assert r.status_code == 302 and _home_row(sam).pin_hash
    new = _give_home_link(client_a, couple, sam)
    not_found = stable_body(app.test_client().get(f"/h/{uuid.uuid4().hex}"))
    assert stable_body(app.test_client().get(f"/h/{old}")) == not_found
    assert phone.get("/p/home").status_code == 404  # the old link's session ended
    assert _home_row(sam).pin_hash is None
    assert _home(app, new).get("/p/home").status_code == 200  # no PIN asked


def test_revoked_and_expired_home_links_get_the_identical_404(app, client_a, couple):
    sam, alex = partner_named(couple, "Sam Rivera"), partner_named(couple, "Alex Novak")
    token_sam = _give_home_link(client_a, couple, sam)
    token_alex = _give_home_link(client_a, couple, alex)
    phone = _home(app, token_sam)
    page = client_a.get(f"/cases/{couple.id}").get_data(as_text=True)
    r = client_a.post(
        f"/cases/{couple.id}/partners/{sam.id}/home-link/revoke",
        data={"csrf_token": csrf_token_from(page)},
    )
    assert r.status_code == 302
    assert phone.get("/p/home").status_code == 404  # at the next request
    db.session.execute(
        update(PartnerHome)
        .where(PartnerHome.partner_id == alex.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    bodies = {
        stable_body(app.test_client().get(f"/h/{t}"))
        for t in (token_sam, token_alex, "unknown-" + uuid.uuid4().hex)
    }
    assert len(bodies) == 1
    assert "Home link revoked" in client_a.get(f"/cases/{couple.id}").get_data(as_text=True)


def test_a_per_assignment_link_opens_a_session_for_its_partner_with_their_home(app, couple):
    first, tokens = assign(couple, "consent-check-in")
    second, _ = assign(couple, "debrief")
    phone = app.test_client()
    open_link(phone, tokens["Sam Rivera"])
    record = db.session.scalar(select(PortalSessionRecord))
    assert record.partner_id == partner_named(couple, "Sam Rivera").id
    home = phone.get("/p/home").get_data(as_text=True)
    assert f"/p/a/{first.id}/" in home and f"/p/a/{second.id}/" in home
    assert phone.get(f"/p/a/{second.id}/").status_code == 200


def test_assigning_hands_out_home_links_only_to_partners_without_one(app, client_a, couple):
    _, tokens = assign_http(client_a, couple, questionnaire("consent-check-in").id)
    assert set(tokens) == {"Sam Rivera", "Alex Novak"}
    assert all(t.startswith("/h/") for t in tokens.values())
    r, again = assign_http(client_a, couple, questionnaire("debrief").id)
    assert again == {}  # nothing new to hand out: it is on their homes
    assert 'id="on-home"' in r.get_data(as_text=True)
    phone = app.test_client()
    open_portal(phone, tokens["Sam Rivera"])
    home = phone.get("/p/home").get_data(as_text=True)
    assert "Consent check-in" in home and "Debrief" in home


def test_other_features_add_cards_to_the_home(app, client_a, couple):
    sam = partner_named(couple, "Sam Rivera")

    def agreements(ctx):
        assert ctx.partner.id == sam.id and ctx.case.id == couple.id
        return [HomeCard("Your agreements", "One to read.", "/p/agreements", "Read it")]

    app.extensions.setdefault("portal_home_cards", []).append(agreements)
    try:
        home = _home(app, _give_home_link(client_a, couple, sam)).get("/p/home")
        assert "Your agreements" in home.get_data(as_text=True)
    finally:
        app.extensions["portal_home_cards"].remove(agreements)


def test_home_link_helpers_refuse_what_does_not_work(app, couple):
    sam = partner_named(couple, "Sam Rivera")
    assert homes.home_for_token("") is None and homes.home_for_token("x" * 200) is None
    assert homes.home_link_state(None) == "none"
    assert not homes.revoke_home_link(sam)  # nothing to revoke yet


def test_the_home_and_sign_in_buttons_need_their_csrf_token(app, client_a, couple):
    """The landings' buttons refuse a forged token or a cross-site post, and start nothing."""
    sam = partner_named(couple, "Sam Rivera")
    home_token = _give_home_link(client_a, couple, sam)
    sign_in_token = homes.mint_sign_in(sam.id)
    db.session.commit()
    for path in (f"/h/{home_token}", f"/in/{sign_in_token}"):
        browser = app.test_client()
        page = browser.get(path).get_data(as_text=True)
        assert browser.post(path, data={"csrf_token": "forged"}).status_code == 400
        r = browser.post(
            path,
            data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)},
            headers={"Sec-Fetch-Site": "cross-site"},
        )
        assert r.status_code == 400
        assert browser.get("/p/home").status_code == 404  # no session was started
    assert db.session.scalar(select(PortalSessionRecord)) is None
    # the sign-in link was not spent by the refused posts
    assert homes.sign_in_for_token(sign_in_token) is not None
