"""The builder's plain forms (no JavaScript): an item's conditions, stop and alert, and a
scoring rule with reverse-scored items; every problem named at its field, never a 500."""

from __future__ import annotations

import html
import re

from tests.questionnaires.test_builder import clone_intake, new_section, own, save
from tests.support import sync


def build(client, counselor) -> tuple[str, object]:
    """A copy of the intake with the "Done means" section saved: (editor URL, questionnaire)."""
    url, doc, base = clone_intake(client)
    assert save(client, url, new_section(doc), base).status_code == 302
    return url, own("intake-copy", counselor.id)


def field_errors(page: str) -> list[str]:
    return [
        html.unescape(e)
        for e in re.findall(
            r'<div class="invalid-feedback d-block[^"]*" role="alert">([^<]*)</div>', page
        )
    ]


def test_without_scripts_the_builder_lists_each_item_with_a_link_to_its_rules(
    app, counselor_a, client_a
):
    sync()
    url, copy = build(client_a, counselor_a)
    page = client_a.get(url).get_data(as_text=True)
    assert f'href="/questionnaires/{copy.id}/rules?item=item-91"' in page
    assert f'href="/questionnaires/{copy.id}/score?n=new"' in page
    assert "open as plain forms" in page


def test_a_condition_a_stop_and_an_alert_are_saved_from_the_plain_form(app, counselor_a, client_a):
    sync()
    url, copy = build(client_a, counselor_a)
    rules = f"/questionnaires/{copy.id}/rules?item=item-92"
    page = client_a.get(rules).get_data(as_text=True)
    assert "Did anything feel pressured this week?" in page  # an earlier question to pick
    r = client_a.post(
        rules,
        data={
            "base": 2,
            "conditions-0-question": "item-90",
            "conditions-0-operator": "=",
            "conditions-0-answer": "yes",
            "behavior": "all",
            "stop": "y",
            "stop_operator": "<=",
            "stop_answer": "1",
            "stop_message": "Thank you. Let's talk about this together first.",
            "alert": "y",
            "alert_operator": ">=",
            "alert_answer": "9",
            "alert_severity": "info",
            "alert_message": "Feels very close",
        },
    )
    assert r.status_code == 302 and r.location.endswith("/edit")
    item = own("intake-copy", counselor_a.id).newest.definition.doc["items"][-1]["items"][2]
    assert item["enable_when"] == [{"question": "item-90", "operator": "=", "answer": True}]
    assert item["stop_if"] == {
        "operator": "<=",
        "answer": 1,
        "message": "Thank you. Let's talk about this together first.",
    }
    assert item["alert"] == {
        "operator": ">=",
        "answer": 9,
        "severity": "info",
        "message": "Feels very close",
    }
    # the form shows what was saved, with an empty row to add another condition
    page = client_a.get(rules).get_data(as_text=True)
    assert 'name="conditions-1-question"' in page and 'value="yes"' in page


def test_problems_are_named_at_their_fields_and_nothing_is_saved(app, counselor_a, client_a):
    sync()
    url, copy = build(client_a, counselor_a)
    rules = f"/questionnaires/{copy.id}/rules?item=item-92"
    r = client_a.post(
        rules,
        data={
            "base": 2,
            "conditions-0-question": "item-90",
            "conditions-0-operator": "=",
            "conditions-0-answer": "perhaps",
            "conditions-1-question": "item-92",  # itself: not an earlier question
            "conditions-1-operator": "exists",
            "stop": "y",
            "stop_operator": "=",
            "stop_answer": "lots",
            "alert": "y",
            "alert_operator": "=",
            "alert_answer": "3",
            "alert_message": "",
        },
    )
    assert r.status_code == 400
    errors = field_errors(r.get_data(as_text=True))
    assert "Write yes or no." in errors
    assert "Choose a question that comes before this one." in errors
    assert "Write a number." in errors
    # once those are readable, the validator's problem is beside the alert's message
    r = client_a.post(
        rules,
        data={
            "base": 2,
            "conditions-0-question": "item-90",
            "conditions-0-operator": "=",
            "conditions-0-answer": "no",
            "alert": "y",
            "alert_operator": "=",
            "alert_answer": "3",
            "alert_message": "",
        },
    )
    assert r.status_code == 400
    assert field_errors(r.get_data(as_text=True)) == ["is empty; write something here"]
    assert len(own("intake-copy", counselor_a.id).versions) == 2
    # a page opened before another save: nothing overwritten
    r = client_a.post(rules, data={"base": 1, "conditions-0-question": ""})
    assert r.status_code == 409 and "saved elsewhere" in r.get_data(as_text=True)
    # a stale item name, and hostile values: a message or the builder, never a 500
    stale = client_a.get(f"/questionnaires/{copy.id}/rules?item=gone")
    assert stale.status_code == 302 and stale.location.endswith("/edit")
    for data in (
        {"conditions-0-question": "x" * 5000, "conditions-0-operator": "nope"},
        {"conditions-99-question": "item-90", "conditions-99-operator": "exists"},
        {"stop": "y", "stop_operator": "=", "stop_answer": "\x00", "stop_message": "a\x00"},
        {"alert": "y", "alert_operator": "=", "alert_answer": "1e999", "alert_message": "m"},
    ):
        assert client_a.post(rules, data={"base": 2, **data}).status_code in (302, 400)


def test_a_score_with_a_reverse_scored_item_and_cut_offs_from_the_plain_form(
    app, counselor_a, client_a
):
    sync()
    url, copy = build(client_a, counselor_a)
    new = f"/questionnaires/{copy.id}/score?n=new"
    page = client_a.get(new).get_data(as_text=True)
    assert "How close did you feel?" in page and "Reverse-scored" in page
    data = {
        "base": 2,
        "action": "save",
        "title": "Closeness",
        "method": "sum",
        "items": ["item-92"],
        "reverse": ["item-92"],
        "max_missing": "0",
        "hidden_as": "",
        "cutoffs-0-at_least": "5",
        "cutoffs-0-text": "Felt rather far apart",
        "source": "Practice-defined; not a validated instrument.",
        "share": "counselor_only",
    }
    r = client_a.post(new, data=data)
    assert r.status_code == 302, field_errors(r.get_data(as_text=True))
    doc = own("intake-copy", counselor_a.id).newest.definition.doc
    score = doc["scores"][-1]
    assert score["items"] == ["item-92"]
    assert score["reverse"] == [{"item": "item-92", "min": 0, "max": 10}]
    assert score["cutoffs"] == [{"at_least": 5, "text": "Felt rather far apart"}]
    n = len(doc["scores"]) - 1
    edit = f"/questionnaires/{copy.id}/score?n={n}"
    # problems beside their fields: a reversed item not added up, a cut-off that is no
    # number, more missing items allowed than there are items
    bad = {**data, "base": 3, "items": [], "cutoffs-0-at_least": "a lot", "max_missing": "-1"}
    r = client_a.post(edit, data=bad)
    assert r.status_code == 400
    errors = field_errors(r.get_data(as_text=True))
    assert any("Number must be at least 0" in e for e in errors), errors
    bad = {**data, "base": 3, "items": [], "cutoffs-0-at_least": "a lot"}
    errors = field_errors(client_a.post(edit, data=bad).get_data(as_text=True))
    assert "Write a number, for example 2.5." in errors
    assert any("tick it there too" in e for e in errors), errors
    bad = {**data, "base": 3, "max_missing": "1"}
    errors = field_errors(client_a.post(edit, data=bad).get_data(as_text=True))
    assert any("would allow a score with no item answered" in e for e in errors), errors
    assert len(own("intake-copy", counselor_a.id).versions) == 3
    # removing it
    r = client_a.post(edit, data={"base": 3, "action": "remove"})
    assert r.status_code == 302
    assert len(own("intake-copy", counselor_a.id).newest.definition.doc.get("scores", [])) == n


def test_without_scripts_save_and_publish_publishes_the_saved_version(app, counselor_a, client_a):
    sync()
    url, copy = build(client_a, counselor_a)
    page = client_a.get(url).get_data(as_text=True)
    sent = re.search(
        r'id="builder-definition" name="definition" type="hidden" value="([^"]*)"', page
    )
    base = re.search(r'id="builder-base" name="base" type="hidden" value="(\d+)"', page)
    # the phone view is there without scripts too: the saved version, follow-ups hidden
    assert 'id="item-item-91"' in page and "Did anything feel pressured this week?" in page
    r = client_a.post(
        url,
        data={
            "definition": html.unescape(sent.group(1)),
            "base": base.group(1),
            "action": "publish",
        },
    )
    assert r.status_code == 302
    copy = own("intake-copy", counselor_a.id)
    assert copy.latest.number == 2 and len(copy.versions) == 2
