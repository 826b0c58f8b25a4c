"""The resource library for learning together (issue 14): a counselor's own and shared
resources, the starter list, attached to learning-together homework and shown on the partner's
home as plain text and links."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from counselor.core.audit import AuditEvent
from counselor.extensions import db
from counselor.learning import services
from counselor.learning.models import Resource, ResourceAttachment
from counselor.questionnaires.services import starter_resources
from tests.support import assign, new_case, open_portal, sync
from tests.sweep import stable_body

NEW = {
    "title": "The Joy of Learning",
    "source": "A. Author",
    "url": "https://example.org/book",
    "note": "Chapter 3 on talking about wants.",
    "shared": "",
}


def _add(client, **change) -> object:
    return client.post("/resources", data={**NEW, **change})


def _resource(title: str) -> Resource:
    db.session.expire_all()
    return db.session.scalar(select(Resource).where(Resource.title == title))


def _learning_case(account, partners=None):
    sync()
    case = new_case(account, names=("Sam Rivera", "Alex Novak", "Kai Ito"))
    chosen = [p for p in case.partners if p.display_name in partners] if partners else None
    assignment, tokens = assign(case, "learning-together", partners=chosen)
    return case, assignment, tokens


def _audits(action: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


def test_the_library_starts_with_the_starter_list_once(app, client_a, counselor_a):
    page = client_a.get("/resources").get_data(as_text=True)
    for entry in starter_resources():
        assert entry["title"] in page
    assert "Emily Nagoski (2015)" in page
    come = _resource("Come As You Are")
    delete = client_a.post(f"/resources/{come.id}/delete")
    assert delete.status_code == 302
    assert "is deleted" in client_a.get("/resources").get_data(as_text=True)  # the flash
    again = client_a.get("/resources").get_data(as_text=True)
    assert "Come As You Are" not in again  # deleting a starter title does not bring it back
    assert _audits("resource.delete") == 1 and _audits("resource.list") == 3


def test_add_edit_and_refuse_bad_input(app, client_a, counselor_a):
    assert _add(client_a).status_code == 302
    made = _resource(NEW["title"])
    assert (made.source, made.url, made.owner_id) == ("A. Author", NEW["url"], counselor_a.id)
    for change, words in (
        ({"url": "javascript:alert(1)"}, "starts with https://"),
        ({"url": "ftp://example.org/x"}, "starts with https://"),
        ({"title": " "}, "title"),
        ({"source": ""}, "author or source"),
        ({"title": "T" * 301}, "300"),
        ({"note": "n\x00"}, ""),
    ):
        r = _add(client_a, **{**change, "title": change.get("title", "Other")})
        assert r.status_code == 400, change
        assert words in r.get_data(as_text=True)
    assert _resource("Other") is None
    edited = client_a.post(f"/resources/{made.id}/edit", data={**NEW, "title": "Renamed"})
    assert edited.status_code == 302 and _resource("Renamed").id == made.id
    assert _audits("resource.create") == 1 and _audits("resource.update") == 1


def test_another_counselor_never_sees_or_changes_an_unshared_resource(
    app, client_a, client_b, counselor_a
):
    _add(client_a, title="Private pick")
    mine = _resource("Private pick")
    assert "Private pick" not in client_b.get("/resources").get_data(as_text=True)
    for path, method in (("/edit", "get"), ("/edit", "post"), ("/delete", "post")):
        got = getattr(client_b, method)(f"/resources/{mine.id}{path}", data=NEW)
        missing = getattr(client_b, method)(f"/resources/{counselor_a.id}{path}", data=NEW)
        assert got.status_code == missing.status_code == 404, path
        assert stable_body(got) == stable_body(missing)
    assert _resource("Private pick") is not None


def test_a_shared_resource_is_attachable_by_colleagues_but_only_its_owner_edits_it(
    app, client_a, client_b, counselor_a, counselor_b
):
    _add(client_a, title="Practice favourite", shared="y")
    shared = _resource("Practice favourite")
    page = client_b.get("/resources").get_data(as_text=True)
    assert "Shared by colleagues" in page and "Practice favourite" in page
    assert client_b.get(f"/resources/{shared.id}/edit").status_code == 404
    case, assignment, _ = _learning_case(counselor_b)
    url = f"/cases/{case.id}/assignments/{assignment.id}/resources"
    assert client_b.post(url, data={"resources": [str(shared.id)]}).status_code == 302
    assert [r.id for r in services.attached("assignment", assignment.id)] == [shared.id]


def test_attaching_shows_the_resources_on_the_partners_home_as_text_and_links(
    app, client_a, counselor_a
):
    case, assignment, tokens = _learning_case(counselor_a, partners=("Sam Rivera", "Alex Novak"))
    _add(client_a)
    _add(client_a, title="No address", url="")
    chosen = [_resource(NEW["title"]).id, _resource("No address").id]
    url = f"/cases/{case.id}/assignments/{assignment.id}/resources"
    form = client_a.get(url).get_data(as_text=True)
    assert "Come As You Are" in form  # the starter list is there to choose from
    assert client_a.post(url, data={"resources": [str(i) for i in chosen]}).status_code == 302
    assert _audits("resource.attach_assignment") == 1
    shown = client_a.get(f"/cases/{case.id}/assignments/{assignment.id}").get_data(as_text=True)
    assert "Resources for the partners" in shown and NEW["title"] in shown

    sam = app.test_client()
    assert open_portal(sam, tokens["Sam Rivera"]).status_code == 302
    home = sam.get("/p/home").get_data(as_text=True)
    assert "To read and explore together" in home
    assert NEW["note"] in home and "A. Author" in home and "No address" in home
    link = re.search(r'<a[^>]*href="https://example.org/book"[^>]*>', home)
    assert link and 'rel="noopener noreferrer"' in link.group(0)
    # a link is a link: the page loads nothing from elsewhere
    assert not re.search(r'(src|srcset)="https?://', home)
    assert not re.search(r'<link[^>]+href="https?://', home)
    # the second title has no address: plain text, no link
    assert not re.search(r"<a[^>]*>No address</a>", home)


def test_only_partners_of_that_homework_see_its_resources(app, client_a, counselor_a):
    case, assignment, tokens = _learning_case(counselor_a, partners=("Sam Rivera", "Alex Novak"))
    other_case, other_assignment, other_tokens = _learning_case(counselor_a)
    _add(client_a, title="For Sam and Alex")
    services.set_attached(case, "assignment", assignment.id, [_resource("For Sam and Alex").id])
    db.session.commit()
    kai = next(p for p in case.partners if p.display_name == "Kai Ito")
    kai_homework, kai_tokens = assign(case, "learning-together", partners=[kai])
    for token in (kai_tokens["Kai Ito"], other_tokens["Sam Rivera"]):
        browser = app.test_client()
        assert open_portal(browser, token).status_code == 302
        home = browser.get("/p/home").get_data(as_text=True)
        assert "For Sam and Alex" not in home and "To read and explore" not in home


def test_resources_attach_only_to_the_learning_together_exercise(app, client_a, counselor_a):
    sync()
    case = new_case(counselor_a)
    other, _ = assign(case, "intake")
    r = client_a.get(f"/cases/{case.id}/assignments/{other.id}/resources")
    missing = client_a.get(f"/cases/{case.id}/assignments/{case.id}/resources")
    assert r.status_code == missing.status_code == 404
    assert stable_body(r) == stable_body(missing)


def test_another_counselors_unshared_resource_cannot_be_attached(
    app, client_a, client_b, counselor_b
):
    _add(client_a, title="Not yours")
    theirs = _resource("Not yours")
    case, assignment, _ = _learning_case(counselor_b)
    url = f"/cases/{case.id}/assignments/{assignment.id}/resources"
    for value in (str(theirs.id), "not-an-id"):
        r = client_b.post(url, data={"resources": [value]})
        assert r.status_code == 400 and "not in your library" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ResourceAttachment)) == 0
    # and counselor A cannot reach B's assignment to attach anything
    assert client_a.get(url).status_code == 404


def test_a_step_can_be_given_resources_through_the_service(app, client_a, counselor_a):
    """Steps (another feature) attach through ``set_attached`` and name a partner's steps in
    ``app.extensions["learning_partner_targets"]``."""
    import uuid

    case = new_case(counselor_a)
    sam = case.partners[0]
    step_id = uuid.uuid4()
    _add(client_a, title="For the step")
    services.set_attached(case, "step", step_id, [_resource("For the step").id])
    db.session.commit()
    app.extensions.setdefault("learning_partner_targets", []).append(
        lambda partner: [step_id] if partner.id == sam.id else []
    )
    try:
        assert [r.title for r in services.partner_resources(sam)] == ["For the step"]
        assert services.partner_resources(case.partners[1]) == []
    finally:
        app.extensions["learning_partner_targets"].pop()
