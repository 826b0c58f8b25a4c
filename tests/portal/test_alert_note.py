"""An empty alert note sent without browser validation gets its page back with a message
(issue 9 §9), not a bare 400 page."""

from __future__ import annotations

import re

import pytest

from tests.support import assign, load_own, new_case, open_link, small_alert_definition


@pytest.mark.parametrize("next_page", ["case", "assignment"])
def test_an_empty_alert_note_gets_the_form_back_with_a_message(
    app, counselor_a, client_a, next_page
):
    load_own(counselor_a, small_alert_definition())
    case = new_case(counselor_a, "Flagged couple")
    assignment, tokens = assign(case, "alert-check", owner_id=counselor_a.id)
    open_link(app.test_client(), tokens["Sam Rivera"], name="Sam").answer_and_submit(
        {"check.pushed": "a_bit"}
    )
    page = client_a.get(f"/cases/{case.id}").get_data(as_text=True)
    alert_id = re.search(r"/alerts/([0-9a-f-]+)/acknowledge", page).group(1)
    r = client_a.post(
        f"/cases/{case.id}/alerts/{alert_id}/acknowledge",
        data={"note": "  ", "next_page": next_page},
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "Flagged couple" in html  # the page itself, with its alert form
    assert re.search(
        rf'id="note-{alert_id}" name="note"[^>]*aria-describedby="note-{alert_id}-error"', html
    )
    assert re.search(rf'id="note-{alert_id}-error">Write a short note', html)
    if next_page == "assignment":
        assert f"/cases/{case.id}/assignments/{assignment.id}/compare" in html
