"""A long "What you share" builds only the section it shows (issue 16): its list of sections,
their counts and which sections can be opened come from a pass that builds no line, and a
section's page builds that section's items alone. What a partner reads, on their own page
and in the counselor's preview of it, is still exactly the whole view's: section by section
the same items with the same matches, for a couple and for six partners; a section with no
shared item is still a clear 404."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counselor.extensions import db
from counselor.questionnaires.models import Response
from counselor.questionnaires.services import reissue
from counselor.reveal import matching, services, views
from tests.reveal.test_matching import ANSWERS
from tests.reveal.test_partner_view import DEFN
from tests.reveal.test_release_eyes_open import shared_items
from tests.reveal.test_roles_and_relationships import set_map
from tests.support import INVENTORY, inventory_answers, new_case, open_link, submitted, sync

NAMES = ("Ana", "Ben", "Cas", "Dee", "Eli", "Fay")
BADGE = {"mutual": "You both want this", "complementary": "You complement each other"}


@pytest.fixture(params=[2, 6], ids=["couple", "six partners"])
def released(request, app, counselor_a, client_a):
    """The inventory answered (every class of the matrix occurs) and released, for a couple
    and for six partners."""
    sync()
    case = new_case(counselor_a, f"Inventory {request.param}", NAMES[: request.param])
    assignment = submitted(app, case, INVENTORY, inventory_answers())
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    assert client_a.post(base + "/release", data={"confirm": "y"}).status_code == 302
    db.session.expire_all()
    return case, assignment, base


def partner_browser(app, assignment, partner):
    issued = reissue(assignment, partner.id)
    db.session.commit()
    return open_link(app.test_client(), issued.token, name=partner.display_name)


def listed(page: str, url: str) -> list[tuple[int, int]]:
    """The contents' sections: (number, count of items), in order."""
    found = re.findall(
        re.escape(url) + r'\?section=(\d+)">[^<]+</a>\s*<span[^>]*>(\d+) items?</span>', page
    )
    return [(int(n), int(c)) for n, c in found]


def as_read(item: views.SharedItem) -> str:
    """An item of the whole view as a section's page shows it (``shared_items``' text)."""
    words = [item.text, *(f"{BADGE[m.cls]} {m.detail}" for m in item.matches)]
    return " ".join(" ".join(words).split())


def test_every_section_page_is_that_section_of_the_whole_view(released, app, client_a):
    case, assignment, base = released
    defn = assignment.definition
    loaded = services.load_assignment(assignment.id)
    for partner in case.partners:
        # the whole view, built as before paging by section: every item, in one list
        whole = services.view_for_partner(loaded, partner.id)
        assert whole.items and not any(i.answers for i in whole.items)
        by_section: dict[int, list[str]] = {}
        for item in whole.items:
            by_section.setdefault(defn.section_of(item.link_id).index + 1, []).append(as_read(item))
        expected = [(n, len(texts)) for n, texts in sorted(by_section.items())]
        browser = partner_browser(app, assignment, partner)
        preview = f"{base}/partners/{partner.id}/preview"
        first = client_a.get(preview).get_data(as_text=True)
        assert f"{len(whole.items)} items in all" in first
        for who, url in ((browser.client, "/p/shared"), (client_a, preview)):
            contents = who.get(url).get_data(as_text=True)
            assert listed(contents, url) == expected, (partner.display_name, url)
            assert shared_items(contents) == []
            for n, texts in by_section.items():
                page = who.get(f"{url}?section={n}").get_data(as_text=True)
                shown = [html.unescape(i) for i in shared_items(page)]
                assert shown == texts, (partner.display_name, url, n)
            # a section with no shared item for this partner is neither listed nor reachable
            unlisted = [s.index + 1 for s in defn.sections if s.index + 1 not in by_section]
            assert unlisted
            for n in unlisted:
                r = who.get(f"{url}?section={n}")
                assert r.status_code == 404, (url, n)
                assert "choose" in r.get_data(as_text=True).lower()


def test_a_section_page_builds_only_its_own_lines(released, app, client_a, monkeypatch):
    """The contents page builds no match line, a section's page only its own: what the page
    costs follows the section read, not the whole view."""
    case, assignment, base = released
    partner = case.partners[0]
    whole = services.view_for_partner(services.load_assignment(assignment.id), partner.id)
    defn = assignment.definition
    built = []
    line = views.MatchLine

    def counted(*args):
        built.append(args)
        return line(*args)

    preview = f"{base}/partners/{partner.id}/preview"
    browser = partner_browser(app, assignment, partner)
    sections = listed(client_a.get(preview).get_data(as_text=True), preview)
    monkeypatch.setattr(views, "MatchLine", counted)
    for who, url in ((browser.client, "/p/shared"), (client_a, preview)):
        assert who.get(url).status_code == 200
        assert built == [], "the contents page built match lines"
        for n, _ in sections:
            assert who.get(f"{url}?section={n}").status_code == 200
            in_section = [i for i in whole.items if defn.section_of(i.link_id).index + 1 == n]
            assert len(built) == sum(len(i.matches) for i in in_section)
            built.clear()


def test_a_partners_page_reads_no_answer_of_a_metamour(app, counselor_a, client_a, monkeypatch):
    """Jordan is with Riley and with Casey, who are not together: Riley's page and its preview
    decrypt Riley's and Jordan's answers, never Casey's."""
    sync()
    case = new_case(counselor_a, "Polycule", ("Jordan", "Riley", "Casey"))
    set_map(client_a, case, [("Jordan", "Riley"), ("Jordan", "Casey")])
    assignment = submitted(app, case, INVENTORY, inventory_answers())
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    assert client_a.post(base + "/release", data={"confirm": "y"}).status_code == 302
    riley = next(p for p in case.partners if p.display_name == "Riley")
    browser = partner_browser(app, assignment, riley)
    preview = f"{base}/partners/{riley.id}/preview"
    read = []
    load = Response.load_answers

    def counting(text):
        read.append(text)
        return load(text)

    monkeypatch.setattr(Response, "load_answers", staticmethod(counting))
    for who, url in ((browser.client, "/p/shared"), (client_a, preview)):
        sections = listed(who.get(url).get_data(as_text=True), url)
        assert sections
        assert len(read) == 2, url
        read.clear()
        page = who.get(f"{url}?section={sections[0][0]}").get_data(as_text=True)
        assert len(read) == 2, url
        read.clear()
        assert "Jordan" in " ".join(shared_items(page))
        assert "Casey" not in " ".join(shared_items(page))


@st.composite
def desire_answers(draw, item: dict):
    """Any answer to ``item``: today's shape (limits per role) or an older one (an item-wide
    hard limit), fantasy or not, or none at all."""
    keys = [r["key"] for r in item["roles"]]
    roles = {k: v for k in keys if (v := draw(st.sampled_from(ANSWERS))) is not None}
    if draw(st.booleans()):
        return None
    if draw(st.booleans()):
        return {"roles": roles, "hard_limit": draw(st.booleans()), "note": ""}
    limits = draw(st.lists(st.sampled_from(keys), unique=True))
    return {"roles": roles, "limits": limits, "fantasy": draw(st.booleans()), "note": ""}


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_has_match_is_whether_the_pairings_hold_a_match(data):
    """The outline's quick test (``matching.has_match`` of the roles each answer ``wanted``)
    says yes exactly when the partner view's (``matches_prepared``) shows a match."""
    item = data.draw(st.sampled_from([i for i in DEFN.questions() if i["type"] == "desire"]))
    a, b = data.draw(desire_answers(item)), data.draw(desire_answers(item))
    plan = matching.role_plan(item)
    pa, pb = matching.prepare(item, a), matching.prepare(item, b)
    quick = matching.has_match(plan, matching.wanted(a), matching.wanted(b))
    assert quick == bool(matching.matches_prepared(plan, pa, pb))
