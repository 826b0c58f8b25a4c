"""The comparison page runs a fixed number of SQL statements: it does not grow with the number
of items or of partners (no N+1 over responses, partners or versions)."""

from __future__ import annotations

import re

import pytest

from counselor.extensions import db
from counselor.questionnaires.services import reissue
from tests.support import (
    INVENTORY,
    counting,
    desire,
    inventory_answers,
    load_own,
    new_case,
    open_link,
    submitted,
    sync,
)

SMALL = {
    "slug": "two-items",
    "title": "Two items",
    "purpose": "A very small exercise for counting queries.",
    "kind": "exercise",
    "items": [
        {
            "link_id": "a",
            "type": "desire",
            "text": "Holding hands",
            "roles": [{"key": "together", "label": "Together"}],
        },
        {"link_id": "b", "type": "text", "text": "Anything else?", "share": "shared"},
    ],
}
SIX = ("Ana", "Ben", "Cas", "Dee", "Eli", "Fay")
#: a comparison page that shows answers (a short comparison, or every section on one page):
#: login session, its head as plain rows (the assignment with its case, version, assigned
#: partners, their responses' status and the relationship map: one statement), the answers,
#: the audit row, the case's open alerts (its release form)
COMPARE_STATEMENTS = 5
#: a partner's preview reads plain rows as the comparison does: login session, its head (the
#: assignment with its case, version, assigned partners, their responses' status and the
#: relationship map: one statement), the answers (sealed), the audit row
PREVIEW_STATEMENTS = 4
#: the first page of a long preview (its contents: the sections with shared items and their
#: counts) reads no answer once its outline is kept (per process, as the comparison's
#: summary): login session, its head, the audit row
PREVIEW_CONTENTS_STATEMENTS = 3
#: a long comparison's overview: login session, its head as plain rows (one statement), the
#: audit row, the open alerts (tests/test_statement_counts.py holds it)
OVERVIEW_STATEMENTS = 4


def compare_statements(client, case, assignment) -> list[str]:
    url = f"/cases/{case.id}/assignments/{assignment.id}/compare"
    client.get(url)  # warm-up: anything cached per process is loaded once
    with counting() as statements:
        r = client.get(url)
    assert r.status_code == 200
    return statements


@pytest.fixture
def small_and_large(app, counselor_a):
    sync()
    load_own(counselor_a, SMALL)
    small_case = new_case(counselor_a, "Two", ("Sam Rivera", "Alex Novak"))
    small = submitted(
        app,
        small_case,
        "two-items",
        lambda n: {"a": desire({"together": "yes"}), "b": f"words {n}"},
        owner_id=counselor_a.id,
    )
    large_case = new_case(counselor_a, "Six", SIX)
    large = submitted(app, large_case, INVENTORY, inventory_answers())
    return (small_case, small), (large_case, large)


@pytest.fixture
def couple_inventory(app, counselor_a):
    sync()
    case = new_case(counselor_a, "Couple", ("Sam Rivera", "Alex Novak"))
    return case, submitted(app, case, INVENTORY, inventory_answers())


def test_compare_page_statement_count_does_not_grow(small_and_large, client_a):
    (small_case, small), (large_case, large) = small_and_large
    few = compare_statements(client_a, small_case, small)
    many = compare_statements(client_a, large_case, large)
    assert len(large.responses) == 6 and len(small.responses) == 2
    print(
        f"\ncompare page: {len(few)} statements for 2 items x 2 partners, "
        f"{len(many)} for the inventory x 6 partners"
    )
    assert len(few) == COMPARE_STATEMENTS, "\n".join(few)
    assert len(many) == OVERVIEW_STATEMENTS, "\n".join(many)
    url = f"/cases/{large_case.id}/assignments/{large.id}/compare"
    with counting() as statements:
        assert client_a.get(url + "?section=all").status_code == 200
    assert len(statements) == COMPARE_STATEMENTS


def test_preview_page_statement_count_does_not_grow(small_and_large, client_a):
    """A partner's preview reads the same statements for two items and for the inventory,
    and the contents of a long one (the inventory for six) reads no answer."""
    counts = []
    for case, assignment in small_and_large:
        url = f"/cases/{case.id}/assignments/{assignment.id}/partners/{case.partners[0].id}/preview"
        client_a.get(url)
        with counting() as statements:
            assert client_a.get(url).status_code == 200
        counts.append(len(statements))
    assert counts == [PREVIEW_STATEMENTS, PREVIEW_CONTENTS_STATEMENTS]


def every_cell_on_one_section_page(client, case, assignment, pairs: int) -> int:
    """The first page is an overview with no answer of any section and a link to each
    section's page and each partner's preview; every matrix cell is on exactly one section
    page, each section's page stays small, and every section on one page has them all;
    returns the largest page's size."""
    defn = assignment.version.definition
    desires = [i for i in defn.questions() if i["type"] == "desire"]
    url = f"/cases/{case.id}/assignments/{assignment.id}/compare"
    first = client.get(url).get_data(as_text=True)
    assert 'aria-labelledby="sections-h"' in first and 'aria-current="page"' in first
    assert '<td class="cell">' not in first and 'class="answer-block' not in first
    for n in range(1, len(defn.sections) + 1):
        assert f'href="{url}?section={n}"' in first
    for response in assignment.responses:
        assert f"/partners/{response.partner_id}/preview" in first
    cells, largest = 0, 0
    for n, section in enumerate(defn.sections, 1):
        page = client.get(f"{url}?section={n}").get_data(as_text=True)
        cells += page.count('<td class="cell">')
        largest = max(largest, len(page))
        in_section = [i for i in desires if defn.section_of(i["link_id"]) is section]
        assert page.count('<td class="cell">') == pairs * len(in_section)
        # every answer of the section once, each row's answers a link away from its cells
        assert page.count('class="answer-block') == len(
            [i for i in defn.questions() if defn.section_of(i["link_id"]) is section]
        )
        assert page.count('href="#answers-') == len(in_section)
        assert "will see" not in page  # the previews are pages of their own
    assert cells == pairs * len(desires)
    everything = client.get(url + "?section=all").get_data(as_text=True)
    assert everything.count('<td class="cell">') == pairs * len(desires)
    return largest


def test_six_partners_see_one_section_at_a_time(small_and_large, client_a):
    """15 pairs x the inventory would be a 5 MB page: it is paged by section, every cell is on
    exactly one page, and every section's page stays small."""
    (small_case, small), (large_case, large) = small_and_large
    assert every_cell_on_one_section_page(client_a, large_case, large, 15) < 600_000
    # a couple's short exercise stays on one page, with no section list
    small_page = client_a.get(f"/cases/{small_case.id}/assignments/{small.id}/compare")
    assert 'id="sections-h"' not in small_page.get_data(as_text=True)


def test_a_couple_sees_the_inventory_one_section_at_a_time(couple_inventory, client_a):
    """A couple's 202-item inventory (606 cells, 580 KB on one page) is paged too, and its
    first page names the limit collisions and mismatches of every section first."""
    case, assignment = couple_inventory
    assert every_cell_on_one_section_page(client_a, case, assignment, 1) < 100_000
    url = f"/cases/{case.id}/assignments/{assignment.id}/compare"
    first = client_a.get(url).get_data(as_text=True)
    assert first.index('id="attention-h"') < first.index('id="sections-h"')
    total = int(re.search(r"Limit collision: (\d+)</span>", first).group(1))
    listed = re.findall(r'href="[^"]*\?section=(\d+)#row-([^"]+)"', first)
    assert total > 0 and listed
    # each listed item is a row of the section page it links to
    for n, link_id in listed[:3]:
        page = client_a.get(f"{url}?section={n}").get_data(as_text=True)
        assert f'id="row-{link_id}"' in page


def test_section_paging_refuses_a_section_that_is_not_there(small_and_large, client_a):
    (_, _), (large_case, large) = small_and_large
    url = f"/cases/{large_case.id}/assignments/{large.id}/compare"
    for bad in ("0", "99", "two", "-1"):
        r = client_a.get(f"{url}?section={bad}")
        assert r.status_code == 404, bad
        assert "no such section" in r.get_data(as_text=True)


def test_a_class_filter_opens_the_first_section_that_has_it(small_and_large, client_a):
    (_, _), (large_case, large) = small_and_large
    url = f"/cases/{large_case.id}/assignments/{large.id}/compare"
    page = client_a.get(url + "?class=limit_collision").get_data(as_text=True)
    total = int(re.search(r"Limit collision: (\d+)</span>", page).group(1))
    assert total > 0
    current = re.search(r'section=(\d+)&amp;class=limit_collision"[^>]*aria-current="page"', page)
    assert current, "the filtered page names its section"
    rows = page.count('<td class="cell">')
    assert rows > 0 and "No item in this class" not in page
    # the section list's numbers add up to the class's count
    badges = re.findall(r'class="badge text-bg-light">(\d+)</span>', page)
    assert sum(int(b) for b in badges) == total


def test_shared_page_statement_count_does_not_grow(small_and_large, client_a, app):
    (small_case, small), (large_case, large) = small_and_large
    counts = []
    for case, assignment in ((small_case, small), (large_case, large)):
        r = client_a.post(
            f"/cases/{case.id}/assignments/{assignment.id}/release", data={"confirm": "y"}
        )
        assert r.status_code == 302
        db.session.expire_all()
        partner = case.partners[0]
        issued = reissue(assignment, partner.id)
        db.session.commit()
        browser = open_link(app.test_client(), issued.token, name=partner.display_name)
        first = browser.get("/p/shared")
        # the six partners' page is a section at a time: its first section's page too
        paths = ["/p/shared", *re.findall(r'href="(/p/shared\?section=\d+)"', first)[:1]]
        for path in paths:
            with counting() as statements:
                page = browser.get(path)
            counts.append(len(statements))
        assert "You both want this" in page or "You complement each other" in page
    print(f"\nshared page: {counts[0]} statements for 2 partners, {counts[1:]} for 6 partners")
    assert len(counts) == 3 and len(set(counts)) == 1


def test_a_section_preview_is_exactly_that_section_of_the_partner_view(small_and_large):
    """Paging never shows a partner's preview anything the whole view would not: each
    section's preview is the whole view's items of that section, and together they are all."""
    from counselor.reveal import services

    (_, _), (_, large) = small_and_large
    assignment = services.load_assignment(large.id)
    defn = assignment.definition
    for partner in services.assigned_partners(assignment):
        whole = services.view_for_partner(assignment, partner.id, as_released=True)
        together = []
        for section in defn.sections:
            part = services.view_for_partner(
                assignment, partner.id, as_released=True, section_index=section.index
            )
            assert all(defn.section_of(i.link_id) is section for i in part.items)
            together += part.items
        assert [(i.link_id, i.matches, i.answers) for i in together] == [
            (i.link_id, i.matches, i.answers) for i in whole.items
        ]
        assert whole.items, "the six partners match on something"
