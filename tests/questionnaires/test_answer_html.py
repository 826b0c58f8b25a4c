"""One answer as read-only HTML (counselor/questionnaires/answer_html.py): the markup the
answer_text macro made, every text of a definition or an answer escaped."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from counselor.questionnaires.answer_html import answer_html

EVIL = '<script>alert("x")</script> & more'
SAFE = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more"


def desire_item(*roles: tuple[str, str, str | None]) -> dict:
    """A desire item of (key, label, counterpart) roles."""
    return {
        "link_id": "d",
        "type": "desire",
        "text": "An activity",
        "roles": [
            {"key": k, "label": label, **({"counterpart": c} if c else {})} for k, label, c in roles
        ],
    }


GIVE_RECEIVE = desire_item(("give", "Giving", "receive"), ("receive", EVIL, "give"))
TOGETHER = desire_item(("together", "Together", None))
CHOICE = {
    "link_id": "c",
    "type": "choice",
    "text": "Pick",
    "options": [{"value": "a", "label": "Option A"}, {"value": "b", "label": EVIL}],
}


@pytest.mark.parametrize("empty", [None, "", []])
def test_no_answer_reads_no_answer(empty):
    assert answer_html({"type": "text"}, empty) == (
        '<span class="text-body-secondary fst-italic">No answer</span>'
    )


def test_a_desire_answer_shows_each_role_its_limit_marks_and_note_escaped():
    value = {
        "roles": {"give": "yes"},
        "limits": ["receive"],
        "fantasy": True,
        "experience": "liked",
        "note": EVIL,
    }
    html = answer_html(GIVE_RECEIVE, value)
    assert isinstance(html, Markup)
    assert html == (
        '<span class="desire-answer">'
        '\n    <span class="desire-chip desire-yes">Giving: Yes</span>'
        f' <span class="desire-chip desire-limit">{SAFE}: Hard limit</span>'
        ' <span class="desire-chip desire-fantasy">Fantasy only</span>'
        ' <span class="desire-chip desire-experience">Done it, liked it</span>'
        "\n  </span>"
        f'<div class="small prewrap mt-1 desire-note-text">Note: {SAFE}</div>'
    )


def test_a_one_role_desire_answer_names_no_role_and_an_open_role_reads_not_answered():
    assert answer_html(TOGETHER, {"roles": {"together": "if_partner"}}) == (
        '<span class="desire-answer">'
        '\n    <span class="desire-chip desire-if_partner">If my partner wants</span>'
        "\n  </span>"
    )
    assert answer_html(TOGETHER, {"note": "later"}) == (
        '<span class="desire-answer">'
        '\n    <span class="desire-chip desire-none">not answered</span>'
        "\n  </span>"
        '<div class="small prewrap mt-1 desire-note-text">Note: later</div>'
    )


def test_an_older_item_wide_hard_limit_reads_as_a_limit_on_the_answered_role():
    html = answer_html(GIVE_RECEIVE, {"roles": {"give": "no"}, "hard_limit": True})
    assert (
        '<span class="desire-chip desire-no">Giving: No</span>'
        ' <span class="desire-chip desire-limit">Giving: Hard limit</span>'
    ) in html
    assert html.count("Hard limit") == 1  # the role left open is not limited


def test_choices_read_as_their_labels_escaped():
    assert answer_html(CHOICE, "a") == "Option A"
    assert answer_html(CHOICE, ["a", "b", EVIL]) == f"Option A; {SAFE}; {SAFE}"


def test_free_text_scale_and_boolean():
    assert answer_html({"type": "text"}, EVIL) == f'<span class="prewrap">{SAFE}</span>'
    assert answer_html({"type": "boolean"}, True) == "Yes"
    assert answer_html({"type": "boolean"}, False) == "No"
    scale = {"type": "scale", "min": 0, "max": 10, "min_label": "none", "max_label": EVIL}
    assert answer_html(scale, 7) == (
        '<span class="scale-value">7</span> <span class="text-body-secondary small">'
        f"of 10 (0 none – 10 {SAFE})</span>"
    )
