"""A long "What you share" builds only the section it shows (issue 16): its list of sections,
their counts and which sections can be opened come from a pass that builds no line, and a
section's page builds that section's items alone. What a partner reads, on their own page
and in the counselor's preview of it, is still exactly the whole view's: section by section
the same items with the same matches, for a couple and for six partners; a section with no
shared item is still a clear 404."""

from __future__ import annotations

import html
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counselor.extensions import db
from counselor.questionnaires.engine import walk
from counselor.questionnaires.models import StoredAnswers
from counselor.questionnaires.services import reissue
from counselor.reveal import matching, services, views
from counselor.reveal.shared_pages import PAGE_LINES
from tests.reveal.test_matching import ANSWERS
from tests.reveal.test_partner_view import DEFN
from tests.reveal.test_release_eyes_open import shared_items
from tests.reveal.test_roles_and_relationships import set_map
from tests.support import (
    INVENTORY,
    assign,
    desire,
    inventory_answers,
    new_case,
    open_link,
    submitted,
    sync,
)

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
    decrypt Riley's and Jordan's answers, never Casey's; once the outline is kept, the
    contents page decrypts none."""
    sync()
    case = new_case(counselor_a, "Polycule", ("Jordan", "Riley", "Casey"))
    set_map(client_a, case, [("Jordan", "Riley"), ("Jordan", "Casey")])
    assignment = submitted(app, case, INVENTORY, inventory_answers())
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    assert client_a.post(base + "/release", data={"confirm": "y"}).status_code == 302
    riley = next(p for p in case.partners if p.display_name == "Riley")
    browser = partner_browser(app, assignment, riley)
    preview = f"{base}/partners/{riley.id}/preview"
    names = {p.id: p.display_name for p in case.partners}
    whose_text = {
        r.answers_json.encode(): names[r.partner_id]
        for r in services.load_assignment(assignment.id).responses
    }
    read: list[str] = []
    init = StoredAnswers.__init__

    def counting(self, text):
        read.append(whose_text[text.encode() if isinstance(text, str) else bytes(text)])
        init(self, text)

    monkeypatch.setattr(StoredAnswers, "__init__", counting)
    for who, url in ((browser.client, "/p/shared"), (client_a, preview)):
        services.OUTLINES.clear()
        sections = listed(who.get(url).get_data(as_text=True), url)
        assert sections
        assert sorted(read) == ["Jordan", "Riley"], url
        read.clear()
        assert listed(who.get(url).get_data(as_text=True), url) == sections
        assert read == [], url  # the outline is kept: the contents page decrypts nothing
        page = who.get(f"{url}?section={sections[0][0]}").get_data(as_text=True)
        assert sorted(read) == ["Jordan", "Riley"], url
        read.clear()
        assert "Jordan" in " ".join(shared_items(page))
        assert "Casey" not in " ".join(shared_items(page))


def test_a_kept_outline_follows_every_change_of_what_it_counts(app, counselor_a, client_a):
    """A preview's contents (the sections with shared items, each with its count) are kept per
    process once everyone has submitted. A reopened and changed answer and a change of the
    relationship map show on the next page, a section left without shared items is neither
    listed nor reachable, one partner's contents never serve another's, and what is kept is
    counts alone."""
    sync()
    names = ("Ana", "Ben", "Cas")
    case = new_case(counselor_a, "Kept", names)
    assignment, tokens = assign(case, INVENTORY)
    browsers = {n: open_link(app.test_client(), t, name=n) for n, t in tokens.items()}
    answers_for = inventory_answers()
    for n, name in enumerate(names):
        browsers[name].answer_and_submit(answers_for(n))
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    defn = assignment.definition
    partners = {p.display_name: p for p in case.partners}

    def expected(name: str) -> tuple[int, list[tuple[int, int]]]:
        """What the whole view (built without any outline) holds: its items in all, and if
        it is long, per section number its count (a short one is shown on one page)."""
        db.session.expire_all()
        loaded = services.load_assignment(assignment.id)
        whole = services.view_for_partner(loaded, partners[name].id, as_released=True)
        counts = Counter(defn.section_of(i.link_id).index + 1 for i in whole.items)
        lines = sum(1 + len(i.matches) + len(i.answers) for i in whole.items)
        paged = lines > PAGE_LINES and len(counts) > 1
        return len(whole.items), sorted(counts.items()) if paged else []

    def shown(name: str) -> tuple[int, list[tuple[int, int]]]:
        url = f"{base}/partners/{partners[name].id}/preview"
        page = client_a.get(url).get_data(as_text=True)
        total = re.search(r"(\d+) items? in all", page)
        return int(total.group(1)) if total else 0, listed(page, url)

    services.OUTLINES.clear()
    for name in names:
        assert shown(name) == expected(name) == shown(name)  # the second one kept
    before = shown("Ana")
    first = before[1][0][0]
    section = defn.sections[first - 1]
    # Ben and Cas reopen and say no to everything of Ana's first section: it has no shared
    # item for her any more
    no = {
        i["link_id"]: desire({r["key"]: "no" for r in i["roles"]})
        for i in walk(section.items)
        if i["type"] == "desire"
    }
    for name in ("Ben", "Cas"):
        browser = browsers[name]
        r = browser.client.post("/p/reopen", data={"csrf_token": browser.csrf()})
        assert r.status_code == 302
        browser.autosave(no)
    assert shown("Ana") == (0, [])  # drafts: nothing shows
    for name in ("Ben", "Cas"):
        browsers[name].submit()
    after, ben = shown("Ana"), shown("Ben")
    assert after == expected("Ana") and after[0] < before[0]
    assert first not in dict(after[1])
    r = client_a.get(f"{base}/partners/{partners['Ana'].id}/preview?section={first}")
    assert r.status_code == 404
    # Ana and Ben are no longer together: each sees Cas's matches only
    set_map(client_a, case, [("Ana", "Cas"), ("Ben", "Cas")])
    for name in names:
        assert shown(name) == expected(name)
    assert shown("Ana") != after and shown("Ben") != ben
    kept = [outline for _, outline in services.OUTLINES._entries.values()]
    assert kept and all(isinstance(o, views.Outline) for o in kept)
    for outline in kept:
        assert all(
            type(n) is int for n in (outline.lines, *outline.counts, *outline.counts.values())
        )


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
