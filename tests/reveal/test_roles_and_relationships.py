"""Per-role hard limits, who does what, the relationship map and the sections of an assignment,
through HTTP on the real app (issues 9 §3-4 and 14 §1, §5).

Three partners: Jordan is with Riley and with Casey; Riley and Casey are not together
(metamours). They answer the built-in inventory; the counselor compares and releases.
"""

from __future__ import annotations

import re

import pytest

from counselor.cases.models import Case
from counselor.extensions import db
from tests.support import INVENTORY, assign, csrf_token_from, desire, new_case, open_link, sync

LEAD = "power.lead_follow"
INSTRUCTIONS = "communication.instructions"


def set_map(client, case, pairs: list[tuple[str, str]]):
    """Tick exactly these pairs (by partner name) on the relationship map page."""
    page = client.get(f"/cases/{case.id}/relationships").get_data(as_text=True)
    ids = {p.display_name: p.id for p in case.partners}
    data = {"csrf_token": csrf_token_from(page)}
    for a, b in pairs:
        first, second = sorted(
            (a, b), key=lambda n: [p.display_name for p in case.partners].index(n)
        )
        data[f"pair-{ids[first]}-{ids[second]}"] = "y"
    r = client.post(f"/cases/{case.id}/relationships", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]


@pytest.fixture
def polycule(app, counselor_a, client_a):
    sync()
    case = new_case(counselor_a, "Polycule", ("Jordan", "Riley", "Casey"))
    # a new case starts with everyone in a relationship with everyone
    assert len(case.relationships) == 3
    set_map(client_a, case, [("Jordan", "Riley"), ("Jordan", "Casey")])
    assignment, tokens = assign(case, INVENTORY)
    browsers = {n: open_link(app.test_client(), t, name=n) for n, t in tokens.items()}
    answers = {
        "Jordan": {
            LEAD: desire({"lead": "yes"}, note="JORDAN-LEAD-NOTE"),
            # giving instructions is fine, receiving them is a hard limit
            INSTRUCTIONS: desire({"give": "yes"}, limits=["receive"]),
        },
        "Riley": {
            LEAD: desire({"follow": "yes"}, experience="liked", note="RILEY-LEAD-NOTE"),
            INSTRUCTIONS: desire({"give": "yes", "receive": "yes"}),
        },
        "Casey": {
            LEAD: desire({"follow": "yes"}),
            INSTRUCTIONS: desire({"receive": "want_to_try"}, fantasy=True),
        },
    }
    for name, browser in browsers.items():
        browser.answer_and_submit(answers[name])
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    return case, assignment, browsers, base


def cell_texts(page: str) -> dict[str, list[str]]:
    """Item text -> the text of each pair cell of the matrix."""
    out = {}
    for row in re.findall(r"<tr[^>]*>\s*<th scope=\"row\".*?</tr>", page, re.S):
        item = re.search(r'class="fw-normal">(.*?)<div', row, re.S).group(1)
        cells = re.findall(r'<td class="cell">(.*?)</td>', row, re.S)
        out[item.strip()] = [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).replace("&#39;", "'").strip()
            for c in cells
        ]
    return out


def answers_of(page: str, link_id: str) -> str:
    """The text of one item's answers, side by side."""
    start = page.index(f'id="answers-{link_id}"')
    end = page.find('<div class="answer-block', start)
    return " ".join(re.sub(r"<[^>]+>", " ", page[start:end]).split())


def test_compare_page_says_who_does_what_per_relationship(polycule, client_a):
    case, assignment, _, base = polycule
    page = client_a.get(base + "/compare?section=all").get_data(as_text=True)
    # only the pairs in a relationship are columns: the metamours are never compared
    heads = re.findall(r'<th scope="col" class="text-center">(.*?)</th>', page)
    assert heads == ["Jordan &amp; Riley", "Jordan &amp; Casey"]
    cells = cell_texts(page)
    lead_text = next(t for t in cells if t.startswith("One partner leading"))
    jr, jc = cells[lead_text]
    assert "Jordan: Leading · Riley: Following" in jr
    assert "Jordan: Leading · Casey: Following" in jc
    # the row links to every partner's answers per role and their notes, shown once below
    assert f'href="#answers-{LEAD}"' in page
    answers = answers_of(page, LEAD)
    assert "JORDAN-LEAD-NOTE" in answers and "RILEY-LEAD-NOTE" in answers
    assert "Done it, liked it" in answers and "JORDAN-LEAD-NOTE" not in jr
    instr_text = next(t for t in cells if t.startswith("Giving or receiving instructions"))
    jr, jc = cells[instr_text]
    # the limit on receiving does not hide the match where Jordan gives
    assert jr.startswith("Limit collision")
    assert "Complementary" in jr and "Hard limit" in jr
    assert "Jordan: Giving · Riley: Receiving" in jr
    assert "Jordan's hard limit: Receiving · Riley wants Giving" in jr
    # Casey's wish to receive is fantasy only: never a match, something to discuss
    assert jc.startswith("To discuss") and "Jordan: Giving" not in jc


def test_class_filter_filters_both_lists_and_counts_match(polycule, client_a):
    _, _, _, base = polycule
    page = client_a.get(base + "/compare").get_data(as_text=True)
    counts = dict(re.findall(r'<span class="cls cls-([a-z_]+)">[^<:]+: (\d+)</span>', page))
    for cls, n in counts.items():
        only = client_a.get(base + f"/compare?class={cls}&section=all").get_data(as_text=True)
        rows = re.findall(r'<th scope="row" class="fw-normal">', only)
        assert len(rows) == int(n) or (int(n) == 0 and "No item in this class." in only), cls
    # the inventory is long, but the two complementary items (in two sections) fit on one
    # page: the filter shows both, from their two sections
    both = client_a.get(base + "/compare?class=complementary").get_data(as_text=True)
    assert len(re.findall(r'<th scope="row" class="fw-normal">', both)) == int(
        counts["complementary"]
    )
    assert "Showing every item in the class" in both and "the 2 sections that have one" in both
    assert counts["limit"] == "1" and counts["limit_collision"] == "1"
    only = client_a.get(base + "/compare?class=limit").get_data(as_text=True)
    side = only[only.index('id="side-h"') :]
    blocks = [b.strip() for b in re.findall(r'<div class="answer-question">([^<]*)', side)]
    assert blocks == ["Giving or receiving instructions during intimacy"]
    assert "Show every answer" in side


def test_metamours_see_nothing_of_each_other_after_release(polycule, client_a):
    _, _, browsers, base = polycule
    page = client_a.get(base + "/compare").get_data(as_text=True)
    r = client_a.post(base + "/release", data={"confirm": "y", "csrf_token": csrf_token_from(page)})
    assert r.status_code == 302
    riley = browsers["Riley"].get("/p/shared")
    casey = browsers["Casey"].get("/p/shared")
    jordan = browsers["Jordan"].get("/p/shared")
    assert "Casey" not in riley and "Riley" not in casey
    assert "Jordan" in riley and "Jordan" in casey
    assert "Riley" in jordan and "Casey" in jordan
    # Riley receives the instructions Jordan gives; nothing says Jordan has a limit
    assert "You: Receiving" in riley
    assert "Hard limit" not in riley and "Fantasy only" not in casey
    assert "liked" not in jordan


def test_removing_a_pair_from_the_map_is_audited_and_kept(polycule, client_a):
    case, *_ = polycule
    db.session.expire_all()
    stored = db.session.get(Case, case.id)
    names = {p.id: p.display_name for p in stored.partners}
    pairs = sorted(sorted(names[i] for i in r.pair) for r in stored.relationships)
    assert pairs == [["Casey", "Jordan"], ["Jordan", "Riley"]]
    show = client_a.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Jordan &amp; Riley" in show and "Riley &amp; Casey" not in show


def test_sections_chosen_at_assignment_are_all_the_partner_and_comparison_see(
    app, counselor_a, client_a
):
    sync()
    case = new_case(counselor_a)
    page = client_a.get(f"/cases/{case.id}/assign").get_data(as_text=True)
    qid = re.search(r'<option value="([^"]+)">Desires and boundaries', page).group(1)
    data = {
        "csrf_token": csrf_token_from(page),
        "questionnaire": qid,
        "partners": [
            p for p in re.findall(r'name="partners" type="checkbox" value="([^"]+)"', page)
        ],
        "ttl_days": "30",
        "request_key": re.search(r'name="request_key" type="hidden" value="([^"]+)"', page).group(
            1
        ),
        f"sections-{qid}-shown": "1",
    }
    # no section ticked: refused with a message
    r = client_a.post(f"/cases/{case.id}/assign", data=data)
    assert r.status_code == 400 and "Choose at least one section." in r.get_data(as_text=True)
    data[f"sections-{qid}"] = ["touch", "care"]
    r = client_a.post(f"/cases/{case.id}/assign", data=data)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    # the page hands out the partners' home links
    token = re.search(r"(/h/[A-Za-z0-9_-]{20,})", r.get_data(as_text=True)).group(1)
    from counselor.questionnaires.models import Assignment

    assignment = db.session.query(Assignment).filter_by(case_id=case.id).one()
    assert assignment.sections == ["touch", "care"]
    assert [s.link_id for s in assignment.definition.sections] == ["touch", "care"]
    browser = open_link(app.test_client(), token, name="Sam Rivera")
    home = browser.get("/p/")
    assert "Touch, kissing and closeness" in home and "Impact" not in home
    assert "Section 1 of 2" in browser.get("/p/s/1")
    assert browser.client.get("/p/s/3").status_code == 404
    cmp = client_a.get(f"/cases/{case.id}/assignments/{assignment.id}/compare")
    text = cmp.get_data(as_text=True)
    assert "Light spanking" not in text and "Cuddling" in text


def test_flask_answers_upgrade_turns_item_limits_into_role_limits(app, counselor_a, runner):
    """Answers saved before limits were per role: the limit lands on every answered role (every
    role when none was answered), the rest of the answer is kept, and a second run changes
    nothing."""
    from counselor.questionnaires.models import Response

    sync()
    case = new_case(counselor_a)
    assignment, _ = assign(case, INVENTORY)
    sam = next(r for r in assignment.responses if r.partner.display_name == "Sam Rivera")
    sam.answers = {
        INSTRUCTIONS: {"roles": {"receive": "no"}, "hard_limit": True, "note": "N"},
        LEAD: {"roles": {}, "hard_limit": True, "note": ""},
        "care.cuddling": {"roles": {"together": "yes"}, "hard_limit": False, "note": ""},
        "closing.not_listed": "text stays as it was",
    }
    db.session.commit()
    result = runner.invoke(args=["answers", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "rewrote 1 " in result.output
    db.session.expire_all()
    answers = db.session.get(Response, sam.id).answers
    assert answers[INSTRUCTIONS] == {
        "roles": {"receive": "no"},
        "limits": ["receive"],
        "fantasy": False,
        "experience": "",
        "note": "N",
    }
    assert answers[LEAD]["limits"] == ["lead", "follow"]
    assert answers["care.cuddling"]["limits"] == [] and "hard_limit" not in answers["care.cuddling"]
    assert answers["closing.not_listed"] == "text stays as it was"
    again = runner.invoke(args=["answers", "upgrade"])
    assert "rewrote 0 " in again.output


def relationship_list(client, case) -> list[str]:
    """The case page's "In a relationship" lines."""
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    listing = page[page.index('class="list-unstyled small mb-2 relationship-list"') :]
    listing = listing[: listing.index("</ul>")]
    return [
        re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li[^>]*>(.*?)</li>", listing)
    ]


def test_case_page_names_who_is_together_as_the_map_says(app, counselor_a, client_a):
    case = new_case(counselor_a, "Triad", ("Jordan", "Riley", "Casey"))
    # a new case starts with everyone together, listed in the case's order
    assert relationship_list(client_a, case) == [
        "Jordan &amp; Riley",
        "Jordan &amp; Casey",
        "Riley &amp; Casey",
    ]
    set_map(client_a, case, [("Casey", "Riley"), ("Casey", "Jordan")])
    assert relationship_list(client_a, case) == ["Jordan &amp; Casey", "Riley &amp; Casey"]
    set_map(client_a, case, [])
    assert relationship_list(client_a, case) == [
        "Nobody: no answers are compared between these partners."
    ]
