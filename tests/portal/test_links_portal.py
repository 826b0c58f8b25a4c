"""Links and the portal (issue 9 §6): reissue is safe to reload, one count of questions,
missing answers marked on the review, closed answers say why, hidden follow-ups leave no card.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from counselor.extensions import db
from counselor.questionnaires.models import Link
from tests.support import assign, new_case, sync


@pytest.fixture
def couple(app, counselor_a):
    sync()
    return new_case(counselor_a)


def test_reissue_is_post_redirect_get_and_a_reload_mints_nothing(app, client_a, couple):
    assignment, _ = assign(couple)
    sam = couple.partners[0]
    base = f"/cases/{couple.id}/assignments/{assignment.id}"
    r = client_a.post(f"{base}/partners/{sam.id}/reissue")
    assert r.status_code == 302
    shown_at = r.headers["Location"]
    page = client_a.get(shown_at)
    assert page.status_code == 200
    token = re.search(r"/l/([A-Za-z0-9_\-]+)", page.get_data(as_text=True)).group(1)
    count = db.session.scalar(select(func.count()).select_from(Link))
    again = client_a.get(shown_at, follow_redirects=True)
    assert again.status_code == 200
    text = again.get_data(as_text=True)
    assert token not in text and "shown once" in text
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Link)) == count
    # the link shown (and sent) still works after the reload
    phone = app.test_client()
    landing = phone.get(f"/l/{token}")
    assert landing.status_code == 200


# ---- the portal: beacon flush, counts, review, closed answers, follow-up cards ----

DOC = {
    "slug": "follow-ups",
    "title": "Follow-ups",
    "purpose": "Conditional questions and one required answer.",
    "kind": "check-in",
    "items": [
        {
            "link_id": "pace",
            "type": "group",
            "text": "Pace",
            "items": [
                {"link_id": "pace.talk", "type": "boolean", "text": "Talk about the pace?"},
                {
                    "link_id": "pace.what",
                    "type": "text",
                    "text": "What would you change?",
                    "enable_when": [{"question": "pace.talk", "operator": "=", "answer": True}],
                },
                {
                    "link_id": "pace.name",
                    "type": "string",
                    "text": "Your first name",
                    "required": True,
                    "share": "shared",
                },
            ],
        }
    ],
}


@pytest.fixture
def followups(app, couple, counselor_a):
    from tests.support import assign, load_own

    load_own(counselor_a, DOC)
    return assign(couple, "follow-ups", owner_id=counselor_a.id)


def _partner(app, token):
    from tests.support import open_portal

    c = app.test_client()
    assert open_portal(c, token).status_code == 302
    return c


def _state(client, path="/p/s/1"):
    from tests.support import portal_csrf, revision_of

    page = client.get(path).get_data(as_text=True)
    return page, portal_csrf(page), revision_of(page)


def test_a_beacon_flush_saves_with_the_token_in_the_body(app, followups):
    _, tokens = followups
    sam = _partner(app, tokens["Sam Rivera"])
    _, csrf, rev = _state(sam)
    body = json.dumps({"revision": rev, "answers": {"pace.name": "Sam"}, "csrf_token": csrf})
    r = sam.post("/p/autosave", data=body, content_type="text/plain;charset=UTF-8")
    assert r.status_code == 200, r.get_data(as_text=True)
    forged = json.dumps({"revision": rev + 1, "answers": {"pace.name": "x"}, "csrf_token": "bad"})
    r = sam.post("/p/autosave", data=forged, content_type="text/plain;charset=UTF-8")
    assert r.status_code == 400


def test_one_count_of_questions_in_the_library_the_portal_and_the_review(app, client_a, followups):
    _, tokens = followups
    library = client_a.get("/questionnaires").get_data(as_text=True)
    assert "2 questions (+1 follow-up for some answers)" in library
    sam = _partner(app, tokens["Sam Rivera"])
    assert "0 of 2 answered" in sam.get("/p/s/1").get_data(as_text=True)
    _, csrf, rev = _state(sam)
    r = sam.post(
        "/p/autosave",
        json={"revision": rev, "answers": {"pace.talk": True, "pace.what": "slower"}},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 200
    assert "1 of 2 answered" in sam.get("/p/s/1").get_data(as_text=True)
    assert "1 of 2 questions answered" in sam.get("/p/review").get_data(as_text=True)


def test_the_review_marks_a_missing_required_answer_before_send(app, followups):
    _, tokens = followups
    sam = _partner(app, tokens["Sam Rivera"])
    page = sam.get("/p/review").get_data(as_text=True)
    assert "One question still needs an answer" in page
    assert re.search(r'class="answer-row has-error" id="answer-pace.name"', page), page[-4000:]
    assert "Please answer this question." in page


def test_a_hidden_follow_up_leaves_no_empty_card(app, followups):
    _, tokens = followups
    sam = _partner(app, tokens["Sam Rivera"])
    page = sam.get("/p/s/1").get_data(as_text=True)
    card = re.search(
        r'<div class="card shadow-sm mb-3 q-card([^"]*)"><div class="card-body">\s*'
        r'<div class="q-item q-text d-none" id="item-pace.what"',
        page,
    )
    assert card and "d-none" in card.group(1)  # the whole card is hidden, not just its item
    shown = re.search(
        r'<div class="card shadow-sm mb-3 q-card([^"]*)"><div class="card-body">\s*'
        r'<div class="q-item q-boolean" id="item-pace.talk"',
        page,
    )
    assert shown and "d-none" not in shown.group(1)


def test_after_a_lock_the_controls_are_disabled_with_the_reason(app, client_a, couple, followups):
    from tests.support import csrf_token_from

    assignment, tokens = followups
    sam = _partner(app, tokens["Sam Rivera"])
    page = client_a.get(f"/cases/{couple.id}/assignments/{assignment.id}").get_data(as_text=True)
    r = client_a.post(
        f"/cases/{couple.id}/assignments/{assignment.id}/lock",
        data={"csrf_token": csrf_token_from(page)},
    )
    assert r.status_code == 302
    page = sam.get("/p/s/1").get_data(as_text=True)
    assert re.search(r'<fieldset class="answers" disabled aria-describedby="closed-why">', page)
    assert "closed these answers for changes" in page
    assert 'value="next"' not in page and "Save and" not in page
