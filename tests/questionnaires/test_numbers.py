"""NaN, Infinity and decimal equality through the portal and the counselor's pages (issue 8.3).

A partner typing "NaN" into a text item that a ``>`` condition reads used to make every page
of that partner, and the counselor's pages of the assignment, fail with a 500; and a
condition or alert with ``=`` on a decimal never fired.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from counselor.alerts.models import Alert
from counselor.extensions import db
from counselor.questionnaires.models import Response
from tests.support import assign, load_own, new_case, open_link

DEFINITION = {
    "slug": "numbers-check",
    "title": "Numbers check",
    "purpose": "Text, decimal and integer items read by conditions and an alert.",
    "kind": "check-in",
    "items": [
        {
            "link_id": "n",
            "type": "group",
            "text": "Numbers",
            "items": [
                {"link_id": "n.feel", "type": "string", "text": "How many, in words or digits?"},
                {
                    "link_id": "n.more",
                    "type": "text",
                    "text": "QUESTION-more-than-five",
                    "enable_when": [{"question": "n.feel", "operator": ">", "answer": 5}],
                },
                {
                    "link_id": "n.amount",
                    "type": "decimal",
                    "text": "An amount",
                    "min": 0,
                    "max": 10,
                    "alert": {"operator": "=", "answer": 2.5, "message": "ALERT-two-and-a-half"},
                },
                {
                    "link_id": "n.exact",
                    "type": "text",
                    "text": "QUESTION-exactly-two-and-a-half",
                    "enable_when": [{"question": "n.amount", "operator": "=", "answer": 2.5}],
                },
                {"link_id": "n.count", "type": "integer", "text": "A count"},
            ],
        }
    ],
}


@pytest.fixture
def numbers(app, counselor_a, client_a):
    case = new_case(counselor_a)
    q = load_own(counselor_a, DEFINITION)
    assignment, tokens = assign(case, DEFINITION["slug"], owner_id=counselor_a.id)
    sam = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    sam_id = next(p.id for p in case.partners if p.display_name == "Sam Rivera")
    return q.latest.definition, assignment, sam, base, sam_id


def counselor_pages(client, base: str, partner_id) -> None:
    for path in (
        base,
        base + "/compare",
        base + "/export.csv",
        f"{base}/partners/{partner_id}/fhir.json",
    ):
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)


def test_nan_typed_into_a_text_item_read_by_a_condition_breaks_no_page(numbers, client_a):
    defn, _, sam, base, sam_id = numbers
    for typed in ("NaN", "sNaN", "Infinity", "-inf", "1e999"):
        sam.autosave({"n.feel": typed})  # it is text, and text is what the item asks for
        pages = sam.every_page(defn)  # every page answers 200 (asserted by the helper)
        assert "QUESTION-more-than-five" not in pages["/p/review"], typed  # text has no order
        counselor_pages(client_a, base, sam_id)
    sam.autosave({"n.feel": "7"})  # digits are a number, and 7 > 5
    assert "QUESTION-more-than-five" in sam.get("/p/review")
    sam.autosave({"n.feel": "NaN"})
    sam.submit()
    assert "Sent to your counselor" in sam.get("/p/")
    counselor_pages(client_a, base, sam_id)


def test_non_finite_numbers_are_refused_over_http_and_nothing_typed_is_lost(numbers):
    _, assignment, sam, _, sam_id = numbers
    sam.autosave({"n.feel": "kept words"})
    csrf, revision = sam.state()
    for body in (
        '{"revision": %d, "answers": {"n.count": NaN}}',
        '{"revision": %d, "answers": {"n.amount": Infinity}}',
        '{"revision": %d, "answers": {"n.amount": -Infinity}}',
        '{"revision": %d, "answers": {"n.amount": 1e999}}',
        '{"revision": %d, "answers": {"n.amount": "NaN"}}',
        '{"revision": %d, "answers": {"n.count": "1e999"}}',
    ):
        r = sam.client.post(
            "/p/autosave",
            data=body % revision,
            content_type="application/json",
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 400, (body, r.status_code)
        errors = r.get_json()["errors"]
        assert len(errors) == 1 and next(iter(errors.values())).startswith("Enter "), errors
    # the form without JavaScript: the page comes back with the message and what was typed
    r = sam.client.post(
        "/p/s/1",
        data={
            "csrf_token": csrf,
            "revision": revision,
            "action": "save",
            "a-n.feel": "typed again",
            "a-n.amount": "Infinity",
            "a-n.count": "3",
        },
    )
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "Enter a number, for example 2.5." in page
    assert 'value="typed again"' in page and 'value="Infinity"' in page and 'value="3"' in page
    db.session.expire_all()
    stored = db.session.scalar(
        select(Response).where(
            Response.assignment_id == assignment.id, Response.partner_id == sam_id
        )
    )
    assert stored.answers == {"n.feel": "kept words"} and stored.revision == revision


def test_a_decimal_equal_to_the_wanted_number_shows_its_follow_up_and_raises_its_alert(numbers):
    _, assignment, sam, _, _ = numbers
    sam.autosave({"n.amount": "2,50"})  # stored as "2.50"
    assert "QUESTION-exactly-two-and-a-half" in sam.get("/p/review")
    sam.submit()
    alerts = db.session.scalars(select(Alert).where(Alert.assignment_id == assignment.id)).all()
    assert [a.link_id for a in alerts] == ["n.amount"]


def test_a_non_finite_number_stored_before_the_fix_reads_as_unanswered(numbers, client_a):
    defn, assignment, sam, base, sam_id = numbers
    sam.autosave({"n.feel": "words"})
    db.session.expire_all()
    response = db.session.scalar(
        select(Response).where(
            Response.assignment_id == assignment.id, Response.partner_id == sam_id
        )
    )
    # what an older version could have written: JSON's non-standard constants
    response.answers_json = '{"n.count": NaN, "n.amount": Infinity, "n.feel": 1e999}'
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Response, response.id).answers == {
        "n.count": None,
        "n.amount": None,
        "n.feel": None,
    }
    sam.every_page(defn)
    counselor_pages(client_a, base, sam_id)
    fhir = client_a.get(f"{base}/partners/{sam_id}/fhir.json").get_data(as_text=True)
    json.loads(fhir, parse_constant=lambda c: pytest.fail(f"{c} in the FHIR export"))
    with pytest.raises(ValueError):  # and none can be written again
        db.session.get(Response, response.id).answers = {"n.count": float("nan")}
