"""The partner portal through HTTP: answering, drafts, stale tabs, submit, bad input, isolation."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from counselor.extensions import db
from counselor.portal import session as portal_session
from counselor.questionnaires.models import Assignment
from tests.support import (
    assign,
    assign_http,
    autosave,
    canary,
    load_own,
    new_case,
    open_link,
    partner_named,
    portal_csrf,
    practice_today,
    questionnaire,
    response_of,
    revision_of,
    section,
)


def checked(page: str, input_id: str) -> bool:
    m = re.search(r'<input[^>]*\bid="' + re.escape(input_id) + r'"[^>]*>', page)
    assert m, f"no input {input_id}"
    return bool(re.search(r"\schecked[\s>]", m.group(0)))


def item_block(page: str, block_id: str) -> str:
    """The HTML from an element with this id up to the next item or answer row."""
    start = page.index(f'id="{block_id}"')
    nxt = re.search(r'id="(item|answer)-', page[start + 10 :])
    return page[start : start + 10 + nxt.start()] if nxt else page[start:]


def _assign(client_a, case, slug_or_q, **kw):
    q = questionnaire(slug_or_q) if isinstance(slug_or_q, str) else slug_or_q
    r, tokens = assign_http(client_a, case, q.id, **kw)
    assignment = db.session.scalars(
        select(Assignment).order_by(Assignment.created_at.desc())
    ).first()
    return assignment, tokens


def _partner(app, token):
    c = app.test_client()
    open_link(c, token)
    return c


# ---- the whole flow ----


def test_inventory_flow_from_assignment_to_submission(app, client_a, couple):
    case_page = client_a.get(f"/cases/{couple.id}").get_data(as_text=True)
    assert f"/cases/{couple.id}/assign" in case_page
    due = (practice_today() + timedelta(days=7)).isoformat()
    assignment, tokens = _assign(
        client_a,
        couple,
        "desires-boundaries",
        due_on=due,
        instructions="Take your time; answer alone.",
    )
    assert set(tokens) == {"Sam Rivera", "Alex Novak"}
    sam_id = partner_named(couple, "Sam Rivera").id

    sam = _partner(app, tokens["Sam Rivera"])
    overview = sam.get("/p/").get_data(as_text=True)
    assert (
        "Desires and boundaries inventory" in overview
        and "Take your time; answer alone." in overview
    )
    assert "For Sam Rivera" in overview

    # section 1 with the no-JS form
    sections = [s.link_id for s in assignment.version.definition.sections]
    power = sections.index("power") + 1
    page, csrf, rev = section(sam, 1)
    assert f"Section 1 of {len(sections)}" in page
    assert 'for="a-communication.fantasy_talk-role-together-yes"' in page  # labels tied to inputs
    r = sam.post(
        "/p/s/1",
        data={
            "csrf_token": csrf,
            "revision": rev,
            "action": "next",
            "a-communication.fantasy_talk-role-together": "yes",
            "a-communication.instructions-role-give": "want_to_try",
            "a-communication.instructions-role-receive": "no",
            "a-communication.instructions-limit-receive": "on",
            "a-communication.fantasy_talk-fantasy": "on",
            "a-communication.fantasy_talk-experience": "liked",
            "a-communication.praise-note": "Only in private <b>please</b>",
        },
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/p/s/2")

    # the power section through autosave, as the page's script does
    page, csrf, rev = section(sam, power)
    assert f"Section {power} of {len(sections)}" in page
    data_csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    r = autosave(
        sam,
        data_csrf,
        rev,
        {
            "power.lead_follow": {
                "roles": {"lead": "maybe", "follow": "yes"},
                "limits": [],
                "fantasy": False,
                "experience": "",
                "note": "slowly",
            },
            "power.permission": {
                "roles": {"grant": "", "ask": "if_partner"},
                "limits": ["grant"],
                "fantasy": False,
                "experience": "never",
                "note": "",
            },
        },
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["revision"] > rev

    # leave, come back: everything is still there
    assert sam.post("/p/leave", data={"csrf_token": csrf}).status_code == 200
    assert sam.get("/p/s/1").status_code == 404
    open_link(sam, tokens["Sam Rivera"])
    page, _, _ = section(sam, 1)
    assert checked(page, "a-communication.fantasy_talk-role-together-yes")
    assert checked(page, "a-communication.instructions-role-give-want_to_try")
    assert checked(page, "a-communication.instructions-role-receive-no")
    assert checked(page, "a-communication.instructions-limit-receive")
    assert not checked(page, "a-communication.instructions-limit-give")
    assert not checked(page, "a-communication.praise-limit-give")
    assert checked(page, "a-communication.fantasy_talk-fantasy")
    assert checked(page, "a-communication.fantasy_talk-experience-liked")
    assert "Only in private &lt;b&gt;please&lt;/b&gt;" in page
    page, _, _ = section(sam, power)
    assert checked(page, "a-power.lead_follow-role-lead-maybe")
    assert checked(page, "a-power.lead_follow-role-follow-yes")
    assert checked(page, "a-power.permission-role-ask-if_partner")
    assert checked(page, "a-power.permission-limit-grant")
    assert checked(page, "a-power.permission-experience-never")
    assert not any(
        checked(page, f"a-power.permission-role-grant-{v}") for v in ("yes", "no", "maybe")
    )
    assert "5 of" in sam.get("/p/").get_data(as_text=True)  # 5 items answered (a note alone counts)

    # the stored answers are the ones typed, and encrypted
    stored = response_of(assignment.id, sam_id)
    assert stored.status == "draft"
    assert stored.answers["communication.praise"]["note"] == "Only in private <b>please</b>"
    assert stored.answers["communication.instructions"]["limits"] == ["receive"]
    assert stored.answers["communication.fantasy_talk"]["fantasy"] is True
    assert stored.answers["communication.fantasy_talk"]["experience"] == "liked"
    assert b"Only in private" not in bytes(stored.answers_json_sealed)

    # review and submit
    review = sam.get("/p/review").get_data(as_text=True)
    r = sam.post(
        "/p/submit", data={"csrf_token": portal_csrf(review), "revision": revision_of(review)}
    )
    assert r.status_code == 302
    done = sam.get("/p/?submitted=1").get_data(as_text=True)
    assert "Thank you" in done and "Sent to your counselor" in done
    assert "Want to try" in done and "Receiving: Hard limit" in done  # own answers, read-only
    assert "Fantasy only" in done and "Done it, liked it" in done
    assert 'name="a-' not in done
    assert "Change my answers" in done  # may reopen until the due date
    # a POST to a section after submit changes nothing
    before = response_of(assignment.id, sam_id)
    before_answers, before_rev = before.answers, before.revision
    page_csrf = portal_csrf(done)
    r = sam.post(
        "/p/s/1",
        data={
            "csrf_token": page_csrf,
            "revision": before_rev,
            "action": "save",
            "a-communication.fantasy_talk-role-together": "no",
        },
    )
    assert r.status_code == 409
    assert "You have already sent these answers" in r.get_data(as_text=True)
    r = autosave(
        sam, page_csrf, before_rev, {"communication.fantasy_talk": {"roles": {"together": "no"}}}
    )
    assert r.status_code == 409
    after = response_of(assignment.id, sam_id)
    assert (after.answers, after.revision, after.status) == (
        before_answers,
        before_rev,
        "submitted",
    )

    # the counselor sees who submitted and what
    page = client_a.get(f"/cases/{couple.id}/assignments/{assignment.id}").get_data(as_text=True)
    assert "Submitted" in page and "Not opened" in page
    assert (
        "Only in private &lt;b&gt;please&lt;/b&gt;" in page
        and "Want to try" in page
        and "Hard limit" in page
    )
    assert "Sam Rivera: Submitted" in client_a.get(f"/cases/{couple.id}").get_data(as_text=True)

    # reopen before the due date: a draft again, editable
    r = sam.post("/p/reopen", data={"csrf_token": page_csrf})
    assert r.status_code == 302 and r.headers["Location"].endswith("/p/s/1")
    page, csrf, rev = section(sam, 1)
    r = autosave(sam, csrf, rev, {"communication.fantasy_talk": {"roles": {"together": "maybe"}}})
    assert r.status_code == 200
    assert response_of(assignment.id, sam_id).status == "draft"
    assert "Draft" in client_a.get(f"/cases/{couple.id}/assignments/{assignment.id}").get_data(
        as_text=True
    )


def test_submit_with_a_required_item_missing_shows_the_error_beside_it(
    app, client_a, couple, counselor_a
):
    q = load_own(counselor_a)
    assignment, tokens = _assign(client_a, couple, q)
    sam = _partner(app, tokens["Sam Rivera"])
    page, csrf, rev = section(sam, 1)
    r = autosave(sam, csrf, rev, {"one.ok": True})
    assert r.status_code == 200
    review = sam.get("/p/review").get_data(as_text=True)
    r = sam.post("/p/submit", data={"csrf_token": csrf, "revision": revision_of(review)})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "One question still needs an answer" in page
    block = item_block(page, "answer-one.feel")
    assert (
        "has-error"
        in page[
            page.rindex("<div", 0, page.index('id="answer-one.feel"')) : page.index(
                'id="answer-one.feel"'
            )
        ]
    )
    assert "Please answer this question." in block
    assert "Please answer" not in item_block(page, "answer-one.ok")
    sam_id = partner_named(couple, "Sam Rivera").id
    assert response_of(assignment.id, sam_id).status == "draft"
    # the section page with ?check=1 shows the message beside the input as well
    page = sam.get("/p/s/1?check=1").get_data(as_text=True)
    assert 'id="err-one.feel"' in item_block(page, "item-one.feel")
    assert 'aria-describedby="err-one.feel"' in page
    # answered: the submit goes through
    _, csrf, rev = section(sam, 1)
    assert autosave(sam, csrf, rev, {"one.feel": "Calm"}).status_code == 200
    review = sam.get("/p/review").get_data(as_text=True)
    assert (
        sam.post(
            "/p/submit", data={"csrf_token": csrf, "revision": revision_of(review)}
        ).status_code
        == 302
    )
    assert response_of(assignment.id, sam_id).status == "submitted"


def _try_to_change(sam, assignment_id, partner_id):
    """Try every way a partner could change answers; returns the stored state after."""
    page = sam.get("/p/").get_data(as_text=True)
    csrf = portal_csrf(page)
    stored = response_of(assignment_id, partner_id)
    rev = stored.revision
    sam.post(
        "/p/s/1",
        data={"csrf_token": csrf, "revision": rev, "action": "save", "a-one.feel": "CHANGED"},
    )
    r = autosave(sam, csrf, rev, {"one.feel": "CHANGED"})
    assert r.status_code == 409 and r.get_json()["error"]
    sam.post("/p/submit", data={"csrf_token": csrf, "revision": rev})
    sam.post("/p/reopen", data={"csrf_token": csrf})
    after = response_of(assignment_id, partner_id)
    return after.answers, after.revision, after.status


def test_locked_assignment_cannot_be_changed(app, client_a, couple, counselor_a):
    q = load_own(counselor_a)
    assignment, tokens = _assign(client_a, couple, q)
    sam_id = partner_named(couple, "Sam Rivera").id
    sam = _partner(app, tokens["Sam Rivera"])
    _, csrf, rev = section(sam, 1)
    assert autosave(sam, csrf, rev, {"one.feel": "Original"}).status_code == 200
    before = response_of(assignment.id, sam_id)
    snapshot = (before.answers, before.revision, before.status)

    assert client_a.post(f"/cases/{couple.id}/assignments/{assignment.id}/lock").status_code == 302
    overview = sam.get("/p/").get_data(as_text=True)
    # (one.feel is counselor-only: once closed it is not shown back on the partner's device)
    assert "closed these answers for changes" in overview and "Original" not in overview
    assert "meant only for your counselor are not shown here" in overview
    assert sam.get("/p/s/1").status_code == 200
    assert _try_to_change(sam, assignment.id, sam_id) == snapshot

    assert (
        client_a.post(f"/cases/{couple.id}/assignments/{assignment.id}/unlock").status_code == 302
    )
    _, csrf, rev = section(sam, 1)
    assert autosave(sam, csrf, rev, {"one.feel": "Edited after unlock"}).status_code == 200


def test_after_the_due_date_answers_are_read_only(app, client_a, couple, counselor_a):
    q = load_own(counselor_a)
    assignment, tokens = _assign(
        client_a, couple, q, due_on=(practice_today() + timedelta(days=2)).isoformat()
    )
    sam_id = partner_named(couple, "Sam Rivera").id
    sam = _partner(app, tokens["Sam Rivera"])
    _, csrf, rev = section(sam, 1)
    assert autosave(sam, csrf, rev, {"one.feel": "Before the due date"}).status_code == 200
    review = sam.get("/p/review").get_data(as_text=True)
    assert (
        sam.post(
            "/p/submit", data={"csrf_token": csrf, "revision": revision_of(review)}
        ).status_code
        == 302
    )
    assert "Change my answers" in sam.get("/p/").get_data(as_text=True)

    db.session.execute(
        update(Assignment)
        .where(Assignment.id == assignment.id)
        .values(due_on=practice_today() - timedelta(days=2))
    )
    db.session.commit()
    before = response_of(assignment.id, sam_id)
    snapshot = (before.answers, before.revision, before.status)
    overview = sam.get("/p/").get_data(as_text=True)
    # (one.feel is counselor-only: once closed it is not shown back on the partner's device)
    assert "Change my answers" not in overview and "Before the due date" not in overview
    assert "meant only for your counselor are not shown here" in overview
    assert _try_to_change(sam, assignment.id, sam_id) == snapshot


# ---- two tabs ----


def test_autosave_from_a_stale_tab_is_refused_and_overwrites_nothing(
    app, client_a, couple, counselor_a
):
    q = load_own(counselor_a)
    assignment, tokens = _assign(client_a, couple, q)
    sam_id = partner_named(couple, "Sam Rivera").id
    phone = _partner(app, tokens["Sam Rivera"])
    laptop = _partner(app, tokens["Sam Rivera"])
    _, csrf1, rev1 = section(phone, 1)
    _, csrf2, rev2 = section(laptop, 1)
    assert rev1 == rev2
    r = autosave(phone, csrf1, rev1, {"one.feel": "Typed on the phone"})
    assert r.status_code == 200
    r = autosave(laptop, csrf2, rev2, {"one.feel": "Typed on the laptop"})
    assert r.status_code == 409
    body = r.get_json()
    assert body["stale"] is True and "nothing was overwritten" in body["error"]
    assert response_of(assignment.id, sam_id).answers == {"one.feel": "Typed on the phone"}
    # two tabs of one browser: same story
    page_a, csrf, rev = section(phone, 1)
    _, _, rev_b = section(phone, 1)
    assert autosave(phone, csrf, rev, {"two.word": "first"}).status_code == 200
    assert autosave(phone, csrf, rev_b, {"one.feel": "second tab"}).status_code == 409
    assert response_of(assignment.id, sam_id).answers == {
        "one.feel": "Typed on the phone",
        "two.word": "first",
    }
    # after reloading, the laptop saves normally
    _, csrf2, rev2 = section(laptop, 1)
    assert autosave(laptop, csrf2, rev2, {"one.feel": "Laptop after reload"}).status_code == 200


def test_autosave_answers_carry_every_security_header(app, client_a, couple, counselor_a):
    """A save, a refused save and a stale one: JSON answers get the same headers as pages
    (the app-wide after-request hooks run on every response), and the portal's own."""
    from tests.test_errors import header_problems

    _, tokens = _assign(client_a, couple, load_own(counselor_a))
    sam = _partner(app, tokens["Sam Rivera"])
    _, csrf, rev = section(sam, 1)
    answers = [
        autosave(sam, csrf, rev, {"one.feel": "fine"}),
        autosave(sam, csrf, rev + 1, {"one.rate": 11}),
        autosave(sam, csrf, rev, {"one.feel": "stale"}),
    ]
    assert [r.status_code for r in answers] == [200, 400, 409]
    for r in answers:
        assert header_problems(r) == [], r.status_code
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["X-Frame-Options"] == "DENY"


def test_an_autosaved_draft_is_sealed_to_its_row_and_reads_back_exactly(
    app, client_a, couple, counselor_a
):
    from counselor.core.crypto import DecryptionError
    from counselor.questionnaires.models import Response

    assignment, tokens = _assign(client_a, couple, load_own(counselor_a))
    sam = _partner(app, tokens["Sam Rivera"])
    secret = canary("draft") + " — café ✓ \u2028"
    _, csrf, rev = section(sam, 1)
    r = autosave(sam, csrf, rev, {"one.feel": secret})
    assert r.status_code == 200 and r.get_json()["revision"] == rev + 1
    r = autosave(sam, csrf, rev + 1, {"two.word": "second"})
    assert r.status_code == 200 and r.get_json()["revision"] == rev + 2
    expected = {"one.feel": secret, "two.word": "second"}

    # read back through the model, as every counselor page and export reads it
    stored = response_of(assignment.id, partner_named(couple, "Sam Rivera").id)
    assert stored.answers == expected
    assert (stored.revision, stored.status) == (rev + 2, "draft") and stored.saved_at
    # and the page shows it again to the partner
    assert "second" in section(sam, 2)[0]
    # at rest: sealed, nothing of the text in the row, bound to this row and column
    blob = bytes(stored.answers_json_sealed)
    assert secret.split(" ")[0].encode() not in blob
    assert Response.answers_json.open(blob, stored.id) == Response.dump_answers(expected)
    other = response_of(assignment.id, partner_named(couple, "Alex Novak").id)
    with pytest.raises(DecryptionError):
        Response.answers_json.open(blob, other.id)


def test_an_autosave_that_changes_nothing_is_recorded_and_leaves_the_sealed_answers_as_they_are(
    app, client_a, couple, counselor_a
):
    """A phone sends every answer of its section at each autosave: one that changes none
    still saves (a new revision, its time, its audit event), but writes no new ciphertext;
    a change to one section leaves every other section's answers as they were."""
    from counselor.core.audit import AuditEvent
    from counselor.questionnaires.models import Response, StoredAnswers

    assignment, tokens = _assign(client_a, couple, load_own(counselor_a))
    sam_id = partner_named(couple, "Sam Rivera").id
    sam = _partner(app, tokens["Sam Rivera"])
    _, csrf, rev = section(sam, 1)
    first = {"one.feel": "café ✓", "one.count": 3}
    assert autosave(sam, csrf, rev, first).get_json()["revision"] == rev + 1
    before = response_of(assignment.id, sam_id)
    blob = bytes(before.answers_json_sealed)

    r = autosave(sam, csrf, rev + 1, {**first, "two.word": None})  # nothing changed
    assert r.status_code == 200 and r.get_json()["revision"] == rev + 2
    after = response_of(assignment.id, sam_id)
    assert bytes(after.answers_json_sealed) == blob  # not sealed again
    assert after.revision == rev + 2 and after.saved_at >= before.saved_at
    events = db.session.scalars(
        select(AuditEvent.object_id).where(AuditEvent.action == "portal.save")
    ).all()
    assert events.count(str(before.id)) == 2  # each save is recorded, changed or not

    r = autosave(sam, csrf, rev + 2, {"two.word": "second"})
    assert r.status_code == 200 and r.get_json()["revision"] == rev + 3
    text = Response.answers_json.open(
        bytes(response_of(assignment.id, sam_id).answers_json_sealed), before.id
    )
    assert text == Response.dump_answers({**first, "two.word": "second"})
    assert StoredAnswers(text).read({"one"}) == first


def test_no_js_form_from_a_stale_tab_keeps_the_typed_text_on_the_page(
    app, client_a, couple, counselor_a
):
    q = load_own(counselor_a)
    assignment, tokens = _assign(client_a, couple, q)
    sam_id = partner_named(couple, "Sam Rivera").id
    sam = _partner(app, tokens["Sam Rivera"])
    _, csrf, old_rev = section(sam, 1)
    assert autosave(sam, csrf, old_rev, {"one.feel": "Saved elsewhere"}).status_code == 200
    r = sam.post(
        "/p/s/1",
        data={
            "csrf_token": csrf,
            "revision": old_rev,
            "action": "next",
            "a-one.feel": "A long paragraph typed in the old tab",
            "a-one.count": "3",
        },
    )
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert "A long paragraph typed in the old tab" in page
    assert "another tab or on another device" in page
    assert response_of(assignment.id, sam_id).answers == {"one.feel": "Saved elsewhere"}


def test_submit_from_a_stale_page_is_refused(app, client_a, couple, counselor_a):
    q = load_own(counselor_a)
    assignment, tokens = _assign(client_a, couple, q)
    sam_id = partner_named(couple, "Sam Rivera").id
    sam = _partner(app, tokens["Sam Rivera"])
    _, csrf, rev = section(sam, 1)
    assert autosave(sam, csrf, rev, {"one.feel": "ok"}).status_code == 200
    r = sam.post("/p/submit", data={"csrf_token": csrf, "revision": rev})
    assert r.status_code == 409
    assert "changed in another tab" in r.get_data(as_text=True)
    assert response_of(assignment.id, sam_id).status == "draft"


# ---- CSRF ----


def test_portal_posts_need_the_portal_csrf_token(app, client_a, couple, counselor_a):
    q = load_own(counselor_a)
    assignment, tokens = _assign(client_a, couple, q)
    sam_id = partner_named(couple, "Sam Rivera").id
    sam = _partner(app, tokens["Sam Rivera"])
    alex = _partner(app, tokens["Alex Novak"])
    _, csrf, rev = section(sam, 1)
    _, alex_csrf, _ = section(alex, 1)
    assert autosave(sam, csrf, rev, {"one.feel": "kept"}).status_code == 200
    before = response_of(assignment.id, sam_id)
    snapshot = (before.answers, before.revision, before.status)
    rev = before.revision
    for token in (None, "", "forged", alex_csrf, csrf[:-1]):
        extra = {} if token is None else {"csrf_token": token}
        headers = {} if token is None else {"X-CSRF-Token": token}
        for path, data in (
            ("/p/s/1", {"revision": rev, "action": "save", "a-one.feel": "forged"}),
            ("/p/submit", {"revision": rev}),
            ("/p/reopen", {}),
            ("/p/leave", {}),
        ):
            r = sam.post(path, data={**data, **extra})
            assert r.status_code == 400, (path, token, r.status_code)
        r = sam.post(
            "/p/autosave",
            json={"revision": rev, "answers": {"one.feel": "forged"}},
            headers=headers,
        )
        assert r.status_code == 400, (token, r.status_code)
    after = response_of(assignment.id, sam_id)
    assert (after.answers, after.revision, after.status) == snapshot
    assert sam.get("/p/").status_code == 200  # the forged leave did not end the session


# ---- bad input ----


def _bad_inputs(rev: int) -> list[tuple[str, dict]]:
    """(label, keyword arguments for client.post to /p/autosave) - each must be a 4xx."""

    def j(obj):
        return {"data": json.dumps(obj), "content_type": "application/json"}

    def raw(text, ctype="application/json"):
        return {"data": text, "content_type": ctype}

    return [
        ("text over the item limit", j({"revision": rev, "answers": {"one.feel": "x" * 10_001}})),
        ("string over the item limit", j({"revision": rev, "answers": {"two.word": "x" * 1_001}})),
        ("whole request too large", j({"revision": rev, "answers": {"one.feel": "x" * 900_000}})),
        (
            "request over the server limit",
            j({"revision": rev, "answers": {"one.feel": "x" * 1_100_000}}),
        ),
        (
            "many fields over the per-request budget",
            j(
                {
                    "revision": rev,
                    "answers": {
                        "one.feel": "é" * 9_000,
                        "two.word": "ü" * 999,
                        **{f"x{i}": "y" for i in range(50_000)},
                    },
                }
            ),
        ),
        ("unknown link_id", j({"revision": rev, "answers": {"nope": "x"}})),
        ("group link_id", j({"revision": rev, "answers": {"one": "x"}})),
        ("choice outside the options", j({"revision": rev, "answers": {"one.pace": "fast"}})),
        ("choice as a list", j({"revision": rev, "answers": {"one.pace": ["slow", "same"]}})),
        ("scale out of range", j({"revision": rev, "answers": {"one.rate": 11}})),
        ("scale negative", j({"revision": rev, "answers": {"one.rate": -1}})),
        ("integer out of range", j({"revision": rev, "answers": {"one.count": 51}})),
        ("integer as words", j({"revision": rev, "answers": {"one.count": "many"}})),
        (
            "integer too long",
            raw(f'{{"revision": {rev}, "answers": {{"one.count": {"9" * 5000}}}}}'),
        ),
        ("integer NaN", raw(f'{{"revision": {rev}, "answers": {{"one.count": NaN}}}}')),
        ("integer Infinity", raw(f'{{"revision": {rev}, "answers": {{"one.count": 1e999}}}}')),
        ("boolean as text", j({"revision": rev, "answers": {"one.ok": "perhaps"}})),
        ("NUL byte", j({"revision": rev, "answers": {"one.feel": "before\x00after"}})),
        (
            "NUL in a desire note",
            j(
                {
                    "revision": rev,
                    "answers": {"two.touch": {"roles": {"together": "yes"}, "note": "\x00"}},
                }
            ),
        ),
        (
            "desire limit on an unknown role",
            j({"revision": rev, "answers": {"two.touch": {"roles": {}, "limits": ["boss"]}}}),
        ),
        (
            "desire experience not offered",
            j({"revision": rev, "answers": {"two.touch": {"roles": {}, "experience": "often"}}}),
        ),
        (
            "desire fantasy as text",
            j({"revision": rev, "answers": {"two.touch": {"roles": {}, "fantasy": "yes"}}}),
        ),
        (
            "desire unknown role",
            j({"revision": rev, "answers": {"two.touch": {"roles": {"boss": "yes"}}}}),
        ),
        (
            "desire unknown answer",
            j({"revision": rev, "answers": {"two.touch": {"roles": {"together": "always"}}}}),
        ),
        (
            "desire hard_limit as text",
            j({"revision": rev, "answers": {"two.touch": {"roles": {}, "hard_limit": "yes"}}}),
        ),
        (
            "desire extra key",
            j({"revision": rev, "answers": {"two.touch": {"roles": {}, "released": True}}}),
        ),
        ("desire as a string", j({"revision": rev, "answers": {"two.touch": "yes"}})),
        (
            "desire role answered with a list",
            j({"revision": rev, "answers": {"two.touch": {"roles": {"together": ["yes"]}}}}),
        ),
        (
            "desire role answered with an object",
            j({"revision": rev, "answers": {"two.touch": {"roles": {"together": {"a": 1}}}}}),
        ),
        ("lone surrogate", raw(f'{{"revision": {rev}, "answers": {{"one.feel": "a\\ud800b"}}}}')),
        (
            "lone surrogate in a note",
            raw(
                f'{{"revision": {rev}, "answers": '
                '{"two.touch": {"roles": {}, "note": "\\udfff"}}}'
            ),
        ),
        ("malformed JSON", raw('{"revision": 1, "answers": {')),
        (
            "deeply nested JSON",
            raw(f'{{"revision": {rev}, "answers": {{"one.feel": {"[" * 100_000}}}}}'),
        ),
        ("invalid UTF-8", raw(b'{"revision": 1, "answers": {"one.feel": "\xff\xfe"}}')),
        ("empty body", raw("")),
        ("JSON list", j([rev, {"one.feel": "x"}])),
        ("JSON string", j("hello")),
        ("JSON null", j(None)),
        ("revision as string", j({"revision": str(rev), "answers": {"one.feel": "x"}})),
        ("revision as bool", j({"revision": True, "answers": {"one.feel": "x"}})),
        ("revision as float", j({"revision": float(rev), "answers": {"one.feel": "x"}})),
        ("revision missing", j({"answers": {"one.feel": "x"}})),
        ("revision null", j({"revision": None, "answers": {"one.feel": "x"}})),
        ("revision huge", j({"revision": 10**30, "answers": {"one.feel": "x"}})),
        ("revision negative", j({"revision": -1, "answers": {"one.feel": "x"}})),
        ("answers as a list", j({"revision": rev, "answers": [["one.feel", "x"]]})),
        ("answers missing", j({"revision": rev})),
        ("answers null", j({"revision": rev, "answers": None})),
        ("form-encoded body", raw("revision=1&answers=x", "application/x-www-form-urlencoded")),
        (
            "text/plain body",
            raw(json.dumps({"revision": rev, "answers": {"one.feel": "x"}}), "text/plain"),
        ),
    ]


def _bad_form_posts(rev: int) -> list[tuple[str, dict]]:
    """(label, form data for POST /p/s/1) - each must be a 4xx."""
    base = {"revision": rev, "action": "save"}
    return [
        ("form: integer as words", {**base, "a-one.count": "many"}),
        ("form: integer out of range", {**base, "a-one.count": "500"}),
        ("form: choice outside the options", {**base, "a-one.pace": "fast"}),
        ("form: scale out of range", {**base, "a-one.rate": "42"}),
        ("form: NUL byte", {**base, "a-one.feel": "a\x00b"}),
        ("form: text over the limit", {**base, "a-one.feel": "y" * 10_001}),
        ("form: revision missing", {"action": "save", "a-one.feel": "x"}),
        ("form: revision not a number", {**base, "revision": "abc", "a-one.feel": "x"}),
        ("form: revision 5000 digits", {**base, "revision": "9" * 5000, "a-one.feel": "x"}),
        ("form: stale revision", {**base, "revision": rev - 1, "a-one.feel": "x"}),
    ]


def test_bad_input_gets_a_clear_4xx_and_damages_nothing(app, client_a, couple, counselor_a):
    q = load_own(counselor_a)
    assignment, tokens = _assign(client_a, couple, q)
    sam_id = partner_named(couple, "Sam Rivera").id
    sam = _partner(app, tokens["Sam Rivera"])
    _, csrf, rev = section(sam, 1)
    r = autosave(
        sam,
        csrf,
        rev,
        {"one.feel": "Keep me", "two.touch": {"roles": {"together": "yes"}, "note": "n"}},
    )
    assert r.status_code == 200
    stored = response_of(assignment.id, sam_id)
    snapshot = (stored.answers, stored.revision, stored.status)
    rev = stored.revision

    tried, five_hundreds, problems = 0, 0, []
    for label, kwargs in _bad_inputs(rev):
        tried += 1
        r = sam.post("/p/autosave", headers={"X-CSRF-Token": csrf}, **kwargs)
        five_hundreds += r.status_code >= 500
        if not 400 <= r.status_code < 500:
            problems.append(f"{label}: {r.status_code}")
            continue
        if r.is_json:
            message = r.get_json().get("error", "")
        else:
            message = re.sub(r"<[^>]+>", " ", r.get_data(as_text=True))
        if not message.strip() or "Traceback" in message:
            problems.append(f"{label}: no clear message")
        now = response_of(assignment.id, sam_id)
        if (now.answers, now.revision, now.status) != snapshot:
            problems.append(f"{label}: stored answers changed")
    for label, data in _bad_form_posts(rev):
        tried += 1
        r = sam.post("/p/s/1", data={"csrf_token": csrf, **data})
        five_hundreds += r.status_code >= 500
        if not 400 <= r.status_code < 500:
            problems.append(f"{label}: {r.status_code}")
            continue
        now = response_of(assignment.id, sam_id)
        if (now.answers, now.revision, now.status) != snapshot:
            problems.append(f"{label}: stored answers changed")
    print(f"\nbad inputs tried: {tried}, 500s: {five_hundreds}")
    assert not problems, problems
    # and the error is shown beside its item, with the typed value kept
    r = sam.post(
        "/p/s/1",
        data={
            "csrf_token": csrf,
            "revision": rev,
            "action": "save",
            "a-one.feel": "Keep me too",
            "a-one.count": "many",
        },
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "Enter a whole number." in item_block(page, "item-one.count")
    assert 'value="many"' in item_block(page, "item-one.count")
    assert "Keep me too" in page


@pytest.mark.parametrize("number", [0, 3, 99])
def test_section_numbers_outside_the_questionnaire_are_404(
    app, client_a, couple, counselor_a, number
):
    q = load_own(counselor_a)
    _, tokens = _assign(client_a, couple, q)
    sam = _partner(app, tokens["Sam Rivera"])
    assert sam.get(f"/p/s/{number}").status_code == 404


# ---- arbitrary text round-trips exactly or is refused ----

any_text = st.one_of(
    st.text(),
    st.text(
        alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "So", "Cs", "Lo"]),
        max_size=200,
    ),
    st.lists(
        st.sampled_from(
            [
                "\r\n",
                "\n",
                "\r",
                "\t",
                "\x00",
                "\u2028",
                "\ufeff",
                "🧡",
                "👩‍❤️‍👨",
                "\u202e",
                "é",
                "e\u0301",
                " ",
                "<script>",
                "&amp;",
            ]
        ),
        max_size=300,
    ).map("".join),
    st.builds(
        lambda unit, n: (unit * (n // len(unit) + 1))[:n],
        st.text(min_size=1, max_size=8),
        st.integers(min_value=9_990, max_value=12_000),
    ),
)


def test_arbitrary_text_is_stored_exactly_or_refused(app, client_a, couple, counselor_a):
    q = load_own(counselor_a)
    assignment, tokens = _assign(client_a, couple, q)
    sam_id = partner_named(couple, "Sam Rivera").id
    sam = _partner(app, tokens["Sam Rivera"])
    _, csrf, _ = section(sam, 1)
    counts = {"stored": 0, "refused": 0, "500": 0}

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(text=any_text)
    def check(text):
        before = response_of(assignment.id, sam_id)
        before_answers, rev = before.answers, before.revision
        r = autosave(sam, csrf, rev, {"one.feel": text})
        if r.status_code >= 500:
            counts["500"] += 1
        assert r.status_code < 500, (r.status_code, text[:80])
        after = response_of(assignment.id, sam_id)
        if r.status_code == 200:
            counts["stored"] += 1
            # read back through the model (decrypting), exactly as typed
            if text == "":
                assert "one.feel" not in after.answers
            else:
                assert after.answers["one.feel"] == text
                assert len(after.answers["one.feel"]) == len(text)
        else:
            counts["refused"] += 1
            assert 400 <= r.status_code < 500
            assert r.get_json()["error"]
            assert after.answers == before_answers and after.revision == rev

    check()
    print(f"\nhypothesis text answers: {counts}")
    assert counts["stored"] > 0 and counts["500"] == 0


# ---- partner isolation ----


def test_a_partner_never_sees_the_other_partners_answers(app, client_a, couple, counselor_a):
    assignment, tokens = _assign(client_a, couple, "desires-boundaries")
    canary_text, canary_note, canary_shared = (
        canary("closing"),
        canary("note"),
        canary("shared"),
    )
    alex = _partner(app, tokens["Alex Novak"])
    _, csrf, rev = section(alex, 6)
    r = autosave(
        alex,
        csrf,
        rev,
        {
            "closing.not_listed": canary_text,
            "closing.for_partner": canary_shared,
        },
    )
    assert r.status_code == 200
    _, csrf, rev = section(alex, 1)
    r = autosave(
        alex,
        csrf,
        rev,
        {
            "communication.teasing": {
                "roles": {"give": "no"},
                "hard_limit": True,
                "note": canary_note,
            }
        },
    )
    assert r.status_code == 200
    review = alex.get("/p/review").get_data(as_text=True)
    assert (
        alex.post(
            "/p/submit", data={"csrf_token": csrf, "revision": revision_of(review)}
        ).status_code
        == 302
    )

    # a second case of the same counselor with its own assignment
    other = new_case(counselor_a, label="Robin & Kim", names=("Robin Lee", "Kim Ode"))
    other_assignment, other_tokens = _assign(client_a, other, "intake")
    robin = _partner(app, other_tokens["Robin Lee"])
    _, rcsf, rrev = section(robin, 1)
    robin_canary = canary("robin")
    assert autosave(robin, rcsf, rrev, {"goals.main": robin_canary}).status_code == 200

    sam = _partner(app, tokens["Sam Rivera"])
    pages = ["/p/", "/p/review", "/p/s/1?check=1"] + [f"/p/s/{n}" for n in range(1, 7)]
    _, csrf, rev = section(sam, 1)
    assert (
        autosave(sam, csrf, rev, {"communication.teasing": {"roles": {"give": "yes"}}}).status_code
        == 200
    )
    seen = []
    for path in pages:
        r = sam.get(path)
        assert r.status_code == 200, path
        seen.append(r.get_data(as_text=True))
    review = sam.get("/p/review").get_data(as_text=True)
    assert (
        sam.post(
            "/p/submit", data={"csrf_token": csrf, "revision": revision_of(review)}
        ).status_code
        == 302
    )
    for path in pages[:2]:
        seen.append(sam.get(path).get_data(as_text=True))
    everything = "\n".join(seen)
    assert "For Sam Rivera" in everything
    for planted in (canary_text, canary_note, canary_shared, robin_canary):
        assert planted not in everything
    assert "Alex Novak" not in everything and "Robin" not in everything
    # the counselor sees Alex's canaries, so they were really stored
    counselor_page = client_a.get(f"/cases/{couple.id}/assignments/{assignment.id}").get_data(
        as_text=True
    )
    assert canary_text in counselor_page and canary_note in counselor_page


def test_a_portal_session_reaches_nothing_of_another_link_or_case(
    app, client_a, couple, counselor_a
):
    assignment, tokens = assign(couple, "desires-boundaries")
    other = new_case(counselor_a, label="Robin & Kim", names=("Robin Lee", "Kim Ode"))
    other_assignment, _ = assign(other, "intake")
    sam = _partner(app, tokens["Sam Rivera"])
    # counselor pages of either case: the portal cookie signs nobody in
    for path in (
        f"/cases/{other.id}/assignments/{other_assignment.id}",
        f"/cases/{couple.id}/assignments/{assignment.id}",
        f"/cases/{other.id}",
        "/questionnaires",
    ):
        r = sam.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path
    # a signed cookie naming a session the server never recorded is refused
    with app.test_request_context():
        forged = portal_session.SIGNED.serializer().dumps({"s": "x"})
    mallory = app.test_client()
    mallory.set_cookie(portal_session.COOKIE, forged, domain="counselor.test", path="/p")
    assert mallory.get("/p/").status_code == 404
    # a cookie signed with another key is refused
    mallory.set_cookie(
        portal_session.COOKIE, "eyJsIjoiMSJ9.bad.sig", domain="counselor.test", path="/p"
    )
    assert mallory.get("/p/").status_code == 404


def test_a_high_risk_item_shows_its_advisory_before_the_answers(app, client_a, couple):
    assignment, tokens = _assign(client_a, couple, "desires-boundaries")
    sections = [s.link_id for s in assignment.version.definition.sections]
    sam = _partner(app, tokens["Sam Rivera"])
    page, _, _ = section(sam, sections.index("high_risk") + 1)
    block = item_block(page, "item-high_risk.choking")
    advisory = block.index('class="item-advisory"')
    assert "Pressure on the neck can cut off blood to the brain" in block
    assert advisory < block.index('name="a-high_risk.choking-role-give"')  # read before answering
    assert "style=" not in block
    # an ordinary item has no caution
    assert "item-advisory" not in item_block(page, "item-high_risk.note")


def test_preview_shows_alert_severity_and_cited_sources(client_a, couple):
    page = client_a.get(f"/questionnaires/{questionnaire('intake').id}").get_data(as_text=True)
    assert "Sources and licences" in page and "Ask Suicide-Screening Questions" in page
    assert "alert (urgent): Says they are under 18" in page
    assert "Informed consent comes first" in page  # the consent step, set by the practice
    inventory = questionnaire("desires-boundaries").id
    page = client_a.get(f"/questionnaires/{inventory}").get_data(as_text=True)
    assert 'class="item-advisory"' in page and "Sources and licences" not in page
    assert "Informed consent comes first" not in page
