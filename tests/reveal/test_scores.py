"""Scores on the counselor's pages, and a shared score reaching only its own partner."""

from __future__ import annotations

import re

from counselor.questionnaires.engine import Definition
from counselor.reveal.views import PartnerInfo, partner_view
from tests.support import assign, load_own, new_case, open_link


def _scale(lid: str) -> dict:
    return {
        "link_id": lid,
        "type": "scale",
        "text": f"Question {lid}",
        "min": 0,
        "max": 10,
        "min_label": "low",
        "max_label": "high",
        "share": "counselor_only",
    }


def scored_definition() -> dict:
    return {
        "slug": "scored-check",
        "title": "Scored check",
        "purpose": "A check-in with two scores, used by the tests.",
        "kind": "check-in",
        "items": [
            {
                "link_id": "s",
                "type": "group",
                "text": "Scales",
                "items": [_scale("s.a"), _scale("s.b")],
            }
        ],
        "scores": [
            {
                "key": "together",
                "title": "TITLE-shared-score",
                "method": "sum",
                "items": ["s.a", "s.b"],
                "cutoffs": [
                    {"at_least": 0, "text": "READING-low"},
                    {"at_least": 10, "text": "READING-high"},
                ],
                "source": "SOURCE-practice-defined, not validated",
                "share": "shared",
            },
            {
                "key": "private",
                "title": "TITLE-private-score",
                "method": "mean",
                "items": ["s.a", "s.b"],
                "source": "SOURCE-private",
            },
        ],
    }


def test_a_partner_sees_only_their_own_shared_score_and_only_after_release():
    defn = Definition(scored_definition())
    partners = [PartnerInfo(0, "Partner-0"), PartnerInfo(1, "Partner-1")]
    answers = {0: {"s.a": 1, "s.b": 2}, 1: {"s.a": 7, "s.b": 6}}
    before = partner_view(defn, partners[0], partners, answers, all_submitted=True, released=False)
    assert before.own_scores == []
    for viewer, mine in ((0, "3"), (1, "13")):
        view = partner_view(
            defn, partners[viewer], partners, answers, all_submitted=True, released=True
        )
        assert [(s.title, s.shown) for s in view.own_scores] == [("TITLE-shared-score", mine)]
        other = "13" if mine == "3" else "3"
        assert other not in {s.shown for s in view.own_scores}
        assert "TITLE-private-score" not in repr(view)


def test_scores_show_on_the_counselor_pages_and_the_partners_own_page(app, counselor_a, client_a):
    load_own(counselor_a, scored_definition())
    case = new_case(counselor_a)
    assignment, tokens = assign(case, "scored-check", owner_id=counselor_a.id)
    sam = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    alex = open_link(app.test_client(), tokens["Alex Novak"], name="Alex Novak")
    sam.answer_and_submit({"s.a": 1, "s.b": 2})
    alex.answer_and_submit({"s.a": 9, "s.b": 8})
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    for path in (base, base + "/compare"):
        page = client_a.get(path).get_data(as_text=True)
        for text in (
            "TITLE-shared-score",
            "TITLE-private-score",
            "READING-low",
            "READING-high",
            "SOURCE-practice-defined, not validated",
            ">17<",
            "8.50",
        ):
            assert text in page, (path, text)
    assert client_a.post(base + "/release", data={"confirm": "y"}).status_code == 302
    page = sam.get("/p/shared")
    assert "TITLE-shared-score" in page and "READING-low" in page
    # Alex's score (17) must not reach Sam; CSRF tokens and nonces are random hex, so look for
    # the number as page text rather than as any substring.
    assert "READING-high" not in page and ">17<" not in page
    assert not re.search(r"\b17\b", re.sub(r"<[^>]*>", " ", page))
    assert "TITLE-private-score" not in page and "SOURCE-private" not in page
    page = alex.get("/p/shared")
    assert "READING-high" in page and ">17<" in page and "READING-low" not in page
