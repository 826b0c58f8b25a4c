"""Compare, release and withdraw through HTTP on the real app, as the issue's "done means":
two partners answer the desires and boundaries inventory (agreement, a complementary pair, a
hard limit) and the intake (a pressure screening answer that raises an alert); the counselor
compares, releases, withdraws; each partner sees only what the reveal rules allow, on every
page they can reach.
"""

from __future__ import annotations

import re
import uuid
from types import SimpleNamespace

import pytest
from markupsafe import escape

from counselor.alerts.models import Alert
from counselor.extensions import db
from counselor.questionnaires.models import Assignment, Response
from counselor.reveal import matching
from tests.support import (
    INTAKE,
    INVENTORY,
    assign,
    canary,
    desire,
    intake_answers,
    new_case,
    open_link,
    sync,
)

ITEM_TEXT = {
    "mutual": "Talking through a fantasy together before acting on it",
    "complementary": "Giving or receiving instructions during intimacy",
    "discuss": "One partner leading and another following for an agreed time",
    "mismatch": "Light spanking",
    "limit_collision": "Rope restraint, once learned from a qualified teacher",
    "limit": "Touch that may leave marks visible for a day or two",
    "neither": "A little time alone to settle before coming back together",
    "unanswered": "Cuddling and quiet time afterwards",
}
#: the one sentence /p/shared shows before a release, whoever has or has not submitted
NOT_YET = "Nothing to show yet. When your counselor has gone through the answers"
NOT_MATCHED = [ITEM_TEXT[c] for c in ITEM_TEXT if c not in ("mutual", "complementary")]
SHARED_QUESTION = str(
    escape(
        "Is there something you'd like your partner or partners to know"
        " about how you approached this list?"
    )
)


def inventory_answers(who: str, c: dict) -> dict:
    """Sam and Alex's answers: one item of every class between them, a canary in every note."""
    note = lambda item: c[f"{who}-{item}-note"]  # noqa: E731
    if who == "sam":
        return {
            "communication.fantasy_talk": desire({"together": "yes"}, note=note("fantasy")),
            "communication.instructions": desire(
                {"give": "yes", "receive": "no"}, note=note("instructions")
            ),
            "power.lead_follow": desire({"lead": "maybe"}, note=note("lead")),
            "sensation.spanking": desire({"give": "yes"}, note=note("spanking")),
            "restraint.rope": desire({"give": "yes", "receive": "want_to_try"}, note=note("rope")),
            "sensation.marks": desire(
                {"give": "no", "receive": "no"}, limit=True, note=note("marks")
            ),
            "care.time_apart": desire({"together": "no"}, note=note("apart")),
            "care.cuddling": desire({"together": "yes"}, note=note("cuddling")),
            "closing.not_listed": c["sam-private"],
            "closing.limits_context": c["sam-limits"],
            "closing.for_partner": c["sam-shared"],
        }
    return {
        "communication.fantasy_talk": desire({"together": "want_to_try"}, note=note("fantasy")),
        "communication.instructions": desire(
            {"give": "no", "receive": "yes"}, note=note("instructions")
        ),
        "power.lead_follow": desire({"follow": "yes"}, note=note("lead")),
        "sensation.spanking": desire({"receive": "no"}, note=note("spanking")),
        "restraint.rope": desire({"give": "no", "receive": "no"}, limit=True, note=note("rope")),
        "sensation.marks": desire({"give": "no", "receive": "no"}, note=note("marks")),
        "care.time_apart": desire({"together": "no"}, note=note("apart")),
        "closing.not_listed": c["alex-private"],
        "closing.limits_context": c["alex-limits"],
        "closing.for_partner": c["alex-shared"],
    }


@pytest.fixture
def scenario(app, counselor_a, client_a):
    sync()
    # The label is the counselor's private name for the case: no partner page may show it.
    label = f"Sam & Alex – affair {canary('case-label')}"
    case = new_case(counselor_a, label, ("Sam Rivera", "Alex Novak"))
    inventory, inv_tokens = assign(case, INVENTORY)
    intake, intake_tokens = assign(case, INTAKE)
    keys = [
        f"{w}-{k}-note"
        for w in ("sam", "alex")
        for k in (
            "fantasy",
            "instructions",
            "lead",
            "spanking",
            "rope",
            "marks",
            "apart",
            "cuddling",
        )
    ]
    keys += [f"{w}-{k}" for w in ("sam", "alex") for k in ("private", "limits", "pressure-more")]
    c = {k: canary(k) for k in keys}
    c["sam-shared"] = f"SAM-SHARED-{uuid.uuid4().hex[:8]}"
    c["alex-shared"] = f"ALEX-SHARED-{uuid.uuid4().hex[:8]}"
    sam = open_link(app.test_client(), inv_tokens["Sam Rivera"], name="Sam Rivera")
    alex = open_link(app.test_client(), inv_tokens["Alex Novak"], name="Alex Novak")
    sam_intake = open_link(app.test_client(), intake_tokens["Sam Rivera"], name="Sam Rivera")
    alex_intake = open_link(app.test_client(), intake_tokens["Alex Novak"], name="Alex Novak")
    base = f"/cases/{case.id}/assignments/{inventory.id}"
    partners = {p.display_name: p for p in case.partners}
    return SimpleNamespace(
        case=case,
        label=label,
        inventory=inventory,
        intake=intake,
        c=c,
        sam=sam,
        alex=alex,
        sam_intake=sam_intake,
        alex_intake=alex_intake,
        base=base,
        partners=partners,
        counselor=client_a,
    )


def released_at(assignment):
    db.session.expire_all()
    return db.session.get(Assignment, assignment.id).released_at


def own_canaries(s, who: str) -> list[str]:
    return [v for k, v in s.c.items() if k.startswith(who + "-") and "shared" not in k]


def assert_nothing_of_the_other(s, browser, other: str, defn):
    """No canary of the other partner, nor the case label, on any page this partner can GET."""
    pages = browser.every_page(defn)
    for path, page in pages.items():
        found = [x for x in own_canaries(s, other) if x in page]
        assert found == [], f"{browser.name} sees {other}'s private text on {path}"
        assert s.label.split()[-1] not in page and "affair" not in page, (
            f"{browser.name} sees the case label on {path}"
        )
    return pages


def answer_everything(s):
    s.sam.answer_and_submit(inventory_answers("sam", s.c))
    s.alex.answer_and_submit(inventory_answers("alex", s.c))
    s.sam_intake.answer_and_submit(
        intake_answers(
            **{"screening.pressure": "a_little", "screening.more": s.c["sam-pressure-more"]}
        )
    )
    s.alex_intake.answer_and_submit(intake_answers())


def release(s, *, confirm=True, client=None, alerts=True):
    """Post the release form; ``alerts`` also confirms the case's open alerts by id."""
    data: dict = {"confirm": "y"} if confirm else {}
    if alerts:
        db.session.expire_all()
        ids = [
            str(a.id)
            for a in db.session.query(Alert).filter_by(case_id=s.case.id, acknowledged_at=None)
        ]
        if ids:
            data |= {"confirm_alerts": "y", "alert_id": ids}
    return (client or s.counselor).post(s.base + "/release", data=data)


def test_release_is_refused_until_every_partner_submitted(scenario):
    s = scenario
    s.sam.answer_and_submit(inventory_answers("sam", s.c))
    s.alex.autosave(inventory_answers("alex", s.c))  # a draft is not a submission

    page = s.counselor.get(s.base + "/compare").get_data(as_text=True)
    assert (
        "Release becomes possible once every assigned partner has submitted (1 of 2 so far)" in page
    )
    assert 'action="' + s.base + '/release"' not in page

    r = release(s)
    assert r.status_code == 409
    assert "Every assigned partner must submit" in r.get_data(as_text=True)
    assert released_at(s.inventory) is None
    defn = s.inventory.version.definition
    for browser, other in ((s.sam, "alex"), (s.alex, "sam")):
        pages = assert_nothing_of_the_other(s, browser, other, defn)
        assert NOT_YET in pages["/p/shared"]
        assert s.c[f"{other}-shared"] not in pages["/p/shared"]


def _without_tokens(page: str) -> str:
    # The portal CSRF token and the CSP nonce differ per request by design; nothing else may.
    page = re.sub(r'(data-csrf|name="csrf_token" value)="[^"]+"', r'\1="-"', page)
    return re.sub(r'nonce="[^"]+"', 'nonce="-"', page)


def test_a_partner_cannot_tell_whether_the_other_has_submitted(scenario):
    s = scenario
    defn = s.inventory.version.definition
    s.sam.answer_and_submit(inventory_answers("sam", s.c))
    s.alex.autosave(inventory_answers("alex", s.c))
    before = {p: _without_tokens(h) for p, h in s.sam.every_page(defn).items()}
    s.alex.submit()
    after = {p: _without_tokens(h) for p, h in s.sam.every_page(defn).items()}
    for path in before:
        assert before[path] == after[path], f"{path} changed when the other partner submitted"
    assert NOT_YET in after["/p/shared"]
    # the two states really differ for the counselor, so the pages had something to tell
    page = s.counselor.get(s.base + "/compare").get_data(as_text=True)
    assert 'action="' + s.base + '/release"' in page


def test_compare_release_withdraw_as_a_new_user_would(scenario, app, client_b):
    s = scenario
    answer_everything(s)
    defn = s.inventory.version.definition

    # -- the counselor compares: the inventory is long, so the first page names what needs
    # attention first (the collision, the mismatch) with a link to its section's row
    first = s.counselor.get(s.base + "/compare").get_data(as_text=True)
    attention = first[first.index('id="attention-h"') : first.index('id="sections-h"')]
    for cls in ("limit_collision", "mismatch"):
        assert ITEM_TEXT[cls] in attention, cls
    # every class with its label, the counts at the top; every section on one page on request
    r = s.counselor.get(s.base + "/compare?section=all")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    cells = dict(
        re.findall(
            r'<th scope="row" class="fw-normal">(.*?)<div.*?<span class="cls cls-([a-z_]+)">',
            page,
            re.S,
        )
    )
    for cls, text in ITEM_TEXT.items():
        assert cells.get(text) == cls, (cls, text, cells.get(text))
        assert (
            f'<span class="cls cls-{cls}">{matching.CLASS_LABELS[cls]}</span>' in page
        )  # a text label, not colour alone
    desire_items = sum(1 for i in defn.questions() if i["type"] == "desire")
    expected_counts = {c: 1 for c in ITEM_TEXT}
    # an item counts under every class its role pairings have: the collision is a limit too,
    # instructions' receiving is "neither" (both no) beside the complementary giving, and the
    # lead and spanking items each leave one direction open
    expected_counts["limit"] = 2
    expected_counts["neither"] = 2
    expected_counts["unanswered"] = desire_items - 7 + 2
    for cls in matching.CLASS_ORDER:
        assert f"{matching.CLASS_LABELS[cls]}: {expected_counts[cls]}</span>" in page, cls
    # the counselor sees everything side by side, notes included
    for key in ("sam-fantasy-note", "alex-rope-note", "sam-private", "alex-limits"):
        assert s.c[key] in page
    # the filter by class keeps only that class
    only = s.counselor.get(s.base + "/compare?class=limit_collision").get_data(as_text=True)
    rows = re.findall(r'<th scope="row" class="fw-normal">(.*?)<div', only)
    assert rows == [ITEM_TEXT["limit_collision"]]
    # the pressure alert is on the case page
    case_page = s.counselor.get(f"/cases/{s.case.id}").get_data(as_text=True)
    assert "Reports some pressure (or is unsure) about taking part" in case_page

    # -- release needs the confirm box
    r = release(s, confirm=False)
    assert r.status_code == 400
    assert "Tick the confirmation box" in r.get_data(as_text=True)
    assert released_at(s.inventory) is None
    for browser, other in ((s.sam, "alex"), (s.alex, "sam")):
        assert NOT_YET in browser.get("/p/shared")
        assert s.c[f"{other}-shared"] not in browser.get("/p/shared")

    r = release(s)
    assert r.status_code == 302
    first = released_at(s.inventory)
    assert first is not None
    # a replayed release form changes nothing
    r = release(s)
    assert r.status_code == 409
    assert "already released" in r.get_data(as_text=True)
    assert released_at(s.inventory) == first

    # -- after release: each sees the matches and the shared item, nothing else of the other
    for browser, me, other in ((s.sam, "sam", "alex"), (s.alex, "alex", "sam")):
        pages = assert_nothing_of_the_other(s, browser, other, defn)
        shared = pages["/p/shared"]
        assert ITEM_TEXT["mutual"] in shared and ITEM_TEXT["complementary"] in shared
        assert SHARED_QUESTION in shared and s.c[f"{other}-shared"] in shared
        for text in NOT_MATCHED:
            assert text not in shared, text
        assert "You both want this" in shared and "You complement each other" in shared
        assert "Alex Novak" in shared if me == "sam" else "Sam Rivera" in shared
        # the partner still sees their own answers (the canaries were really stored)
        assert s.c[f"{me}-fantasy-note"] in pages["/p/review"]
        assert "See what you share" in pages["/p/"]
        # no alert text of the intake anywhere either
        for page in pages.values():
            assert "follow up privately" not in page
    sam_shared = s.sam.get("/p/shared")
    assert re.search(r"You: Giving · Alex Novak: Receiving", sam_shared)
    alex_shared = s.alex.get("/p/shared")
    assert re.search(r"You: Receiving · Sam Rivera: Giving", alex_shared)

    # -- a partner cannot reopen answers while released
    r = s.sam.client.post("/p/reopen", data={"csrf_token": s.sam.csrf()})
    assert r.status_code == 409
    assert "already shared what you have in common" in r.get_data(as_text=True)
    db.session.expire_all()
    sam_id = s.partners["Sam Rivera"].id
    resp = (
        db.session.query(Response).filter_by(assignment_id=s.inventory.id, partner_id=sam_id).one()
    )
    assert resp.status == "submitted"
    assert "Change my answers" not in s.sam.get("/p/")
    r = s.sam.autosave({"care.time_apart": desire({"together": "yes"})}, expect=409)
    assert "already shared what you have in common" in r.get_json()["error"]

    # -- another counselor: 404 on everything, and nothing changes
    alert = db.session.query(Alert).filter_by(case_id=s.case.id).one()
    urls = [
        ("get", s.base + "/compare", None),
        ("post", s.base + "/release", {"confirm": "y"}),
        ("post", s.base + "/withdraw", {}),
        ("get", s.base + f"/partners/{sam_id}/fhir.json", None),
        ("get", s.base + "/export.csv", None),
        ("post", f"/cases/{s.case.id}/alerts/{alert.id}/acknowledge", {"note": "not mine"}),
    ]
    for method, url, data in urls:
        r = getattr(client_b, method)(url, data=data) if data is not None else client_b.get(url)
        assert r.status_code == 404, (url, r.status_code)
        assert s.c["sam-private"] not in r.get_data(as_text=True)
    assert released_at(s.inventory) == first
    db.session.expire_all()
    assert db.session.get(Alert, alert.id).acknowledged_at is None

    # -- partners never reach counselor exports, even with their portal cookie sent everywhere
    for browser in (s.sam, s.alex):
        cookie = browser.client.get_cookie("counselor_portal", domain="counselor.test", path="/p")
        assert cookie is not None
        browser.client.set_cookie(
            "counselor_portal", cookie.value, domain="counselor.test", path="/"
        )
        for url in (
            s.base + f"/partners/{sam_id}/fhir.json",
            s.base + "/export.csv",
            s.base + "/compare",
        ):
            r = browser.client.get(url)
            assert r.status_code == 302 and "/login" in r.headers["Location"], (url, r.status_code)
            body = r.get_data(as_text=True)
            assert "QuestionnaireResponse" not in body and s.c["sam-private"] not in body

    # -- withdraw hides again; a second withdraw is refused
    r = s.counselor.post(s.base + "/withdraw")
    assert r.status_code == 302
    assert released_at(s.inventory) is None
    for browser, other in ((s.sam, "alex"), (s.alex, "sam")):
        pages = assert_nothing_of_the_other(s, browser, other, defn)
        shared = pages["/p/shared"]
        assert NOT_YET in shared
        assert s.c[f"{other}-shared"] not in shared
        assert ITEM_TEXT["mutual"] not in shared and "You both want this" not in shared
        assert "See what you share" not in pages["/p/"]
    r = s.counselor.post(s.base + "/withdraw")
    assert r.status_code == 409
    assert "not released" in r.get_data(as_text=True)
    assert released_at(s.inventory) is None


def test_an_admin_cannot_compare_or_release(scenario, client_admin):
    s = scenario
    answer_everything(s)
    assert client_admin.get(s.base + "/compare").status_code == 403
    assert client_admin.post(s.base + "/release", data={"confirm": "y"}).status_code == 403
    assert released_at(s.inventory) is None


def test_release_and_withdraw_of_a_missing_assignment_are_404(scenario):
    s = scenario
    missing = f"/cases/{s.case.id}/assignments/{uuid.uuid4()}"
    assert s.counselor.post(missing + "/release", data={"confirm": "y"}).status_code == 404
    assert s.counselor.post(missing + "/withdraw").status_code == 404
    assert s.counselor.get(missing + "/compare").status_code == 404


LOOSE = {
    "slug": "loose-items",
    "title": "Loose items",
    "purpose": "Loose items at the start and the end, and two groups of the same title.",
    "kind": "exercise",
    "items": [
        {"link_id": "first", "type": "text", "text": "QUESTION-first", "share": "shared"},
        {
            "link_id": "g1",
            "type": "group",
            "text": "Part",
            "items": [{"link_id": "g1.a", "type": "text", "text": "QUESTION-g1a"}],
        },
        {
            "link_id": "g2",
            "type": "group",
            "text": "Part",
            "items": [{"link_id": "g2.a", "type": "text", "text": "QUESTION-g2a"}],
        },
        {"link_id": "last", "type": "text", "text": "QUESTION-last"},
    ],
}


def test_compare_page_lists_every_item_once_under_its_own_section(app, counselor_a, client_a):
    from tests.support import load_own

    load_own(counselor_a, LOOSE)
    case = new_case(counselor_a)
    assignment, tokens = assign(case, "loose-items", owner_id=counselor_a.id)
    for name, token in tokens.items():
        open_link(app.test_client(), token, name=name).answer_and_submit(
            {"first": f"{name} first", "last": f"{name} last"}
        )
    page = client_a.get(f"/cases/{case.id}/assignments/{assignment.id}/compare").get_data(
        as_text=True
    )
    side = page[page.index('id="side-h"') :]
    for q in ("QUESTION-first", "QUESTION-g1a", "QUESTION-g2a", "QUESTION-last"):
        assert side.count(q) == 1, (q, side.count(q))
    assert (
        side.index("QUESTION-first")
        < side.index("QUESTION-g1a")
        < side.index("QUESTION-g2a")
        < side.index("QUESTION-last")
    )
