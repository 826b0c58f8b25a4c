"""The comparison's summary (counts by class, per section) is kept per process once every
partner has submitted: it is never stale after a reopen, a new answer or a change of the
relationship map, it holds no answer, and the cache stays bounded."""

from __future__ import annotations

import re

import pytest

from counselor.reveal import services
from counselor.reveal.summary import SummaryCache, summarize
from tests.support import INVENTORY, assign, desire, new_case, open_link, sync

from .test_roles_and_relationships import set_map

ROPE = "restraint.rope"
CUDDLE = "care.cuddling"


def counts(page: str) -> dict[str, int]:
    return {
        c: int(n)
        for c, n in re.findall(r'<span class="cls cls-([a-z_]+)">[^<:]+: (\d+)</span>', page)
    }


@pytest.fixture
def couple(app, counselor_a):
    sync()
    case = new_case(counselor_a, "Cache", ("Sam Rivera", "Alex Novak"))
    assignment, tokens = assign(case, INVENTORY)
    browsers = {n: open_link(app.test_client(), t, name=n) for n, t in tokens.items()}
    browsers["Sam Rivera"].answer_and_submit({CUDDLE: desire({"together": "yes"})})
    browsers["Alex Novak"].answer_and_submit({CUDDLE: desire({"together": "no"})})
    return case, assignment, browsers, f"/cases/{case.id}/assignments/{assignment.id}/compare"


def test_a_reopened_and_changed_answer_shows_at_once(couple, client_a):
    _, _, browsers, url = couple
    services.SUMMARIES.clear()
    before = counts(client_a.get(url).get_data(as_text=True))
    assert before["mismatch"] == 1 and before["mutual"] == 0
    assert counts(client_a.get(url).get_data(as_text=True)) == before  # kept
    assert services.SUMMARIES.hits >= 1
    alex = browsers["Alex Novak"]
    r = alex.client.post("/p/reopen", data={"csrf_token": alex.csrf()})
    assert r.status_code == 302
    # a draft is classified anew on every request, each autosave shows
    alex.autosave({CUDDLE: desire({"together": "yes"})})
    draft = counts(client_a.get(url).get_data(as_text=True))
    assert draft["mismatch"] == 0 and draft["mutual"] == 1
    alex.submit()
    after = counts(client_a.get(url).get_data(as_text=True))
    assert after["mismatch"] == 0 and after["mutual"] == 1


def test_a_change_of_the_relationship_map_shows_at_once(couple, client_a):
    case, _, _, url = couple
    assert counts(client_a.get(url).get_data(as_text=True))["mismatch"] == 1
    set_map(client_a, case, [])  # the two are no longer in a relationship with each other
    page = client_a.get(url).get_data(as_text=True)
    assert "nothing is compared or shared between them" in page
    set_map(client_a, case, [("Sam Rivera", "Alex Novak")])
    assert counts(client_a.get(url).get_data(as_text=True))["mismatch"] == 1


def test_the_summary_holds_classes_and_no_answer(couple):
    _, assignment, _, _ = couple
    assignment = services.load_assignment(assignment.id)
    cmp = services.compare(assignment)
    text = repr(cmp.summary)
    assert "mismatch" in text
    for private in ("yes", "no", "Sam", "Alex", "note"):
        assert f"'{private}'" not in text, private


def test_the_cache_is_bounded_and_entries_expire():
    now = [0.0]
    cache = SummaryCache(size=2, ttl=60, clock=lambda: now[0])
    made = []

    def make(tag):
        def build():
            made.append(tag)
            return tag

        return build

    assert cache.get("a", make("a")) == "a"
    assert cache.get("a", make("a2")) == "a"  # kept
    cache.get("b", make("b"))
    cache.get("c", make("c"))  # "a" was the least recently used
    assert len(cache) == 2
    assert cache.get("a", make("a3")) == "a3"
    now[0] = 61.0
    assert cache.get("a", make("a4")) == "a4"  # expired
    assert made == ["a", "b", "c", "a3", "a4"]


def test_summarize_counts_an_item_once_per_class():
    from counselor.questionnaires.engine import Definition

    defn = Definition(
        {
            "slug": "t",
            "title": "T",
            "items": [
                {
                    "link_id": "g",
                    "type": "group",
                    "text": "G",
                    "items": [
                        {
                            "link_id": "d",
                            "type": "desire",
                            "text": "D",
                            "roles": [{"key": "together", "label": "Together"}],
                        }
                    ],
                }
            ],
        }
    )
    answers = {
        1: {"d": desire({"together": "yes"})},
        2: {"d": desire({"together": "no"})},
        3: {"d": desire({"together": "no"})},
    }
    summary = summarize(defn, answers, [(1, 2), (1, 3), (2, 3)])
    assert summary.counts["mismatch"] == 1 and summary.counts["neither"] == 1
    assert summary.section_counts("mismatch") == {0: 1}
    assert [(f.link_id, f.pairs) for f in summary.flagged("mismatch")] == [("d", (0, 1))]


def test_the_overview_parts_kept_with_a_summary_name_no_partner(couple, client_a):
    """The overview's counts and section list are rendered once per kept summary; what is
    kept names no partner (a couple's attention list names no pair)."""
    _, _, _, url = couple
    services.SUMMARIES.clear()
    page = client_a.get(url).get_data(as_text=True)
    assert "Sam Rivera" in page
    assert counts(client_a.get(url).get_data(as_text=True)) == counts(page)
    kept = [
        part
        for _, summary in services.SUMMARIES._entries.values()
        for part in summary._derived.values()
    ]
    assert len(kept) == 3  # the attention list, the counts by class, the section list
    assert all("Sam" not in part and "Alex" not in part for part in kept)


def test_a_renamed_partner_shows_at_once_on_the_overview(app, counselor_a, client_a):
    """With more than one pair the attention list names the pairs: it is never kept, so a
    partner renamed shows there on the next request."""
    from counselor.cases.services import update_case
    from counselor.extensions import db
    from tests.support import inventory_answers, submitted

    sync()
    case = new_case(counselor_a, "Three", ("Sam Rivera", "Alex Novak", "Kim Ito"))
    assignment = submitted(app, case, INVENTORY, inventory_answers())
    url = f"/cases/{case.id}/assignments/{assignment.id}/compare"
    assert "Sam Rivera &amp; Alex Novak" in client_a.get(url).get_data(as_text=True)
    rows = [{"id": str(p.id), "display_name": p.display_name} for p in case.partners]
    rows[0]["display_name"] = "Sam Okafor"
    update_case(case, case.label, rows)
    db.session.commit()
    page = client_a.get(url).get_data(as_text=True)
    assert "Sam Okafor &amp; Alex Novak" in page and "Sam Rivera" not in page
