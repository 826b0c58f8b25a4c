"""The questionnaire builder (issue 15): create and clone, drafts and publishing, the live
check, practice sharing, and ownership. Through HTTP where a counselor would act."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from counselor.extensions import db
from counselor.questionnaires.models import Questionnaire
from tests.support import assign_http, new_case, questionnaire, sync


def editor_doc(page: str) -> dict:
    """The definition the builder page hands its script."""
    import html

    m = re.search(r'data-doc="([^"]*)"', page)
    assert m, "no definition on the builder page"
    return json.loads(html.unescape(m.group(1)))


def base_of(page: str) -> int:
    m = re.search(r'id="builder-base" name="base" type="hidden" value="(\d+)"', page)
    assert m, "no base version on the builder page"
    return int(m.group(1))


def clone_intake(client) -> tuple[str, dict, int]:
    """Clone the built-in intake; (edit URL, its definition, the version it starts from)."""
    intake = questionnaire("intake")
    r = client.post(f"/questionnaires/{intake.id}/clone")
    assert r.status_code == 302 and r.location.endswith("/edit"), r.status_code
    page = client.get(r.location)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    return r.location, editor_doc(text), base_of(text)


def save(client, url: str, doc: dict, base: int, action: str = "save"):
    return client.post(url, data={"definition": json.dumps(doc), "base": base, "action": action})


def own(slug_prefix: str, owner_id) -> Questionnaire:
    db.session.expire_all()
    return db.session.scalar(
        select(Questionnaire).where(
            Questionnaire.owner_id == owner_id, Questionnaire.slug.startswith(slug_prefix)
        )
    )


def new_section(doc: dict) -> dict:
    """The "Done means" section: three items, one a follow-up, one raising an alert."""
    section = {
        "link_id": "section-9",
        "type": "group",
        "text": "How this week went",
        "items": [
            {
                "link_id": "item-90",
                "type": "boolean",
                "text": "Did anything feel pressured this week?",
                "share": "counselor_only",
                "alert": {
                    "operator": "=",
                    "answer": True,
                    "message": "Pressure this week",
                    "severity": "urgent",
                },
            },
            {
                "link_id": "item-91",
                "type": "text",
                "text": "What happened?",
                "enable_when": [{"question": "item-90", "operator": "=", "answer": True}],
            },
            {
                "link_id": "item-92",
                "type": "scale",
                "text": "How close did you feel?",
                "min": 0,
                "max": 10,
                "min_label": "Not at all",
                "max_label": "Very",
            },
        ],
    }
    doc["items"].append(section)
    return doc


def test_a_clone_is_a_draft_of_ones_own_that_cannot_be_assigned(app, counselor_a, client_a):
    sync()
    url, doc, base = clone_intake(client_a)
    copy = own("intake-copy", counselor_a.id)
    assert copy.title == "Getting started: intake (copy)" and copy.latest is None
    assert doc["items"] == questionnaire("intake").latest.definition.doc["items"]
    case = new_case(counselor_a)
    # not offered on the assign form, and refused when posted anyway
    form = client_a.get(f"/cases/{case.id}/assign").get_data(as_text=True)
    assert str(copy.id) not in form
    r = client_a.get(f"/questionnaires/{copy.id}/assign")
    assert r.status_code == 200
    library = client_a.get("/questionnaires").get_data(as_text=True)
    assert "draft" in library


def test_saving_makes_new_immutable_versions_and_publishing_makes_them_assignable(
    app, counselor_a, client_a
):
    sync()
    url, doc, base = clone_intake(client_a)
    r = save(client_a, url, new_section(doc), base)
    assert r.status_code == 302
    copy = own("intake-copy", counselor_a.id)
    assert [v.number for v in copy.versions] == [1, 2]
    assert copy.latest is None  # two drafts
    r = client_a.post(f"/questionnaires/{copy.id}/publish")
    assert r.status_code == 302
    copy = own("intake-copy", counselor_a.id)
    assert copy.latest.number == 2
    # give version 2, then edit again: the assignment keeps version 2
    case = new_case(counselor_a)
    _, links = assign_http(client_a, case, copy.id)
    assert len(links) == 2
    page = client_a.get(url).get_data(as_text=True)
    doc = editor_doc(page)
    doc["title"] = "Our intake"
    assert save(client_a, url, doc, base_of(page), action="publish").status_code == 302
    copy = own("intake-copy", counselor_a.id)
    assert copy.latest.number == 3 and copy.title == "Our intake"
    from counselor.questionnaires.models import Assignment

    assignment = db.session.scalar(select(Assignment).where(Assignment.case_id == case.id))
    assert assignment.version.number == 2
    assert assignment.definition.doc["title"] == "Getting started: intake (copy)"


def test_an_invalid_definition_is_refused_with_each_problem_and_nothing_lost(
    app, counselor_a, client_a
):
    sync()
    url, doc, base = clone_intake(client_a)
    doc = new_section(doc)
    doc["items"][-1]["items"][1]["enable_when"][0]["question"] = "item-92"  # a later question
    doc["items"][-1]["items"][0]["text"] = ""
    r = save(client_a, url, doc, base)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "must be an earlier item" in page and "should be non-empty" in page
    assert editor_doc(page) == {**doc, "slug": editor_doc(page)["slug"]}  # the edits come back
    assert [v.number for v in own("intake-copy", counselor_a.id).versions] == [1]


def test_the_live_check_names_problems_by_item_and_renders_the_phone_view(
    app, counselor_a, client_a
):
    sync()
    url, doc, base = clone_intake(client_a)
    check = url.replace("/edit", "/check")
    doc = new_section(doc)
    r = client_a.post(check, data=json.dumps(doc), content_type="application/json")
    assert r.status_code == 200
    data = r.get_json()
    assert data["problems"] == {"items": {}, "scores": {}, "general": []}
    assert "Did anything feel pressured this week?" in data["preview"]
    # the follow-up carries the portal's rules and starts hidden, as it does for a partner
    follow_up = re.search(
        r'<div class="q-item q-text d-none" id="item-item-91"\s+data-enable-when="([^"]+)"',
        data["preview"],
    )
    assert follow_up and json.loads(follow_up.group(1).replace("&#34;", '"')) == [
        {"question": "item-90", "operator": "=", "answer": True}
    ]
    n = len(doc["items"]) - 1
    doc["items"][n]["items"][0]["alert"]["severity"] = "panic"
    doc["items"][n]["items"][1]["enable_when"][0]["question"] = "nowhere"
    doc["title"] = ""
    data = client_a.post(check, data=json.dumps(doc), content_type="application/json").get_json()
    assert data["preview"] is None
    assert data["problems"]["items"][f"$.items[{n}].items[0]"] == [
        "alert.severity: 'panic' is not one of ['urgent', 'review', 'info']"
    ]
    assert data["problems"]["items"][f"$.items[{n}].items[1]"] == [
        "enable_when: question 'nowhere' must be an earlier item"
    ]
    assert data["problems"]["general"] == ["$.title: is empty; write something here"]
    broken = client_a.post(check, data="{not json", content_type="application/json")
    assert broken.status_code == 400
    assert broken.get_json()["problems"]["general"][0].startswith("$: not valid JSON")


def test_a_save_from_an_older_page_is_refused_not_overwriting(app, counselor_a, client_a):
    sync()
    url, doc, base = clone_intake(client_a)
    first = dict(doc, title="First tab")
    assert save(client_a, url, first, base).status_code == 302
    r = save(client_a, url, dict(doc, title="Second tab"), base)
    assert r.status_code == 409
    assert "saved elsewhere" in r.get_data(as_text=True)
    assert "Second tab" in r.get_data(as_text=True)  # still on the page
    assert own("intake-copy", counselor_a.id).newest.definition.doc["title"] == "First tab"


def test_another_counselor_gets_404_everywhere_until_shared_then_read_only(
    app, counselor_a, counselor_b, client_a, client_b
):
    sync()
    url, doc, base = clone_intake(client_a)
    copy = own("intake-copy", counselor_a.id)
    qid = copy.id
    assert save(client_a, url, doc, base, action="publish").status_code == 302
    for method, path in [
        ("get", f"/questionnaires/{qid}"),
        ("get", f"/questionnaires/{qid}/edit"),
        ("get", f"/questionnaires/{qid}/fhir.json"),
        ("post", f"/questionnaires/{qid}/edit"),
        ("post", f"/questionnaires/{qid}/check"),
        ("post", f"/questionnaires/{qid}/clone"),
        ("post", f"/questionnaires/{qid}/publish"),
        ("post", f"/questionnaires/{qid}/share"),
    ]:
        assert getattr(client_b, method)(path).status_code == 404, path
    assert "intake (copy)" not in client_b.get("/questionnaires").get_data(as_text=True)
    assert client_a.post(f"/questionnaires/{qid}/share", data={"shared": "1"}).status_code == 302
    # shared: B reads, exports, assigns and clones it, and still cannot edit it
    assert "intake (copy)" in client_b.get("/questionnaires").get_data(as_text=True)
    page = client_b.get(f"/questionnaires/{qid}").get_data(as_text=True)
    assert "read-only for you" in page and f"/questionnaires/{qid}/edit" not in page
    assert client_b.get(f"/questionnaires/{qid}/fhir.json").status_code == 200
    for method, path in [
        ("get", f"/questionnaires/{qid}/edit"),
        ("post", f"/questionnaires/{qid}/edit"),
        ("post", f"/questionnaires/{qid}/publish"),
        ("post", f"/questionnaires/{qid}/share"),
    ]:
        assert getattr(client_b, method)(path).status_code == 404, path
    r = client_b.post(f"/questionnaires/{qid}/clone")
    assert r.status_code == 302
    assert own("intake-copy", counselor_b.id).owner_id == counselor_b.id
    case = new_case(counselor_b, "B's case", ("Kim",))
    _, links = assign_http(client_b, case, qid)
    assert list(links) == ["Kim"]
    # A's newer draft stays A's: B still sees (and gets) the published version
    page = client_a.get(url).get_data(as_text=True)
    draft = dict(editor_doc(page), title="A's unfinished draft")
    assert save(client_a, url, draft, base_of(page)).status_code == 302
    assert "unfinished" not in client_b.get(f"/questionnaires/{qid}").get_data(as_text=True)
    assert client_b.get(f"/questionnaires/{qid}?v=3").status_code == 404
    assert client_b.get(f"/questionnaires/{qid}/fhir.json?v=3").status_code == 404


def test_a_new_questionnaire_starts_as_a_draft_with_one_question(app, counselor_a, client_a):
    r = client_a.post("/questionnaires/new")
    assert r.status_code == 302
    page = client_a.get(r.location).get_data(as_text=True)
    doc = editor_doc(page)
    assert doc["items"][0]["items"][0]["text"] == "Your first question"
    assert 'src="/static/js/builder.js' in page and "<script>" not in page
    second = client_a.post("/questionnaires/new")
    db.session.expire_all()
    slugs = sorted(
        db.session.scalars(
            select(Questionnaire.slug).where(Questionnaire.owner_id == counselor_a.id)
        )
    )
    assert second.status_code == 302 and slugs == ["my-questionnaire", "my-questionnaire-2"]


def test_the_builder_writes_audit_events(app, counselor_a, client_a):
    from counselor.core.audit import AuditEvent

    sync()
    url, doc, base = clone_intake(client_a)
    save(client_a, url, new_section(doc), base, action="publish")
    client_a.get(url.replace("/edit", "/fhir.json"))
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {
        "questionnaire.clone",
        "questionnaire.edit_view",
        "questionnaire.save",
        "questionnaire.publish",
        "questionnaire.export_fhir",
    } <= actions
