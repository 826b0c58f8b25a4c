"""A section's page of a long comparison shows exactly what the whole comparison shows for that
section: the same rows, the same cells with the same classes and who-does-what lines, the
same answers; and *Needs attention first* on the overview points at rows that have the class
it names. A section page builds and classifies only its own items, so this is what keeps it
honest against every section on one page (``?section=all``)."""

from __future__ import annotations

import re

import pytest

from counselor.reveal import services
from tests.support import INVENTORY, fresh, inventory_answers, new_case, submitted, sync

ROW = re.compile(r'<tr id="row-([^"]+)">(.*?)</tr>', re.S)
CELL = re.compile(r'<td class="cell">.*?</td>', re.S)
BLOCK = re.compile(r'<div class="answer-block[^"]*" id="answers-([^"]+)">(.*?)\n    </div>', re.S)
FLAG = re.compile(r'href="[^"]*\?section=(\d+)#row-([^"]+)"')


def varied():
    """The inventory's varied answers, with notes (HTML in them) and fantasy-only marks."""
    base = inventory_answers()

    def answers(n):
        out = base(n)
        for k, value in enumerate(out.values()):
            if k % 7 == n % 7:
                value["note"] = f"<b>note</b> {n} & {k}"
            if k % 13 == n:
                value["fantasy"] = True
        return out

    return answers


def matrix(page: str) -> dict[str, list[str]]:
    """Per matrix row (its item's link id), its cells as shown."""
    return {lid: CELL.findall(body) for lid, body in ROW.findall(page)}


def answers(page: str) -> dict[str, str]:
    """Per answer block (its item's link id), what it shows."""
    return dict(BLOCK.findall(page))


@pytest.fixture(params=[2, 6], ids=["couple", "six partners"])
def inventory(request, app, counselor_a):
    sync()
    names = ("Ana <i>", "Ben & co", "Cas", "Dee", "Eli", "Fay")[: request.param]
    case = new_case(counselor_a, f"Inventory {request.param}", names)
    assignment = submitted(app, case, INVENTORY, varied())
    return case, assignment, request.param * (request.param - 1) // 2


def test_a_section_page_shows_what_the_whole_comparison_shows_for_that_section(inventory, client_a):
    case, assignment, pairs = inventory
    url = f"/cases/{case.id}/assignments/{assignment.id}/compare"
    everything = client_a.get(url + "?section=all").get_data(as_text=True)
    whole_matrix, whole_answers = matrix(everything), answers(everything)
    assert whole_matrix and whole_answers
    assert all(len(cells) == pairs for cells in whole_matrix.values())
    classes = {
        c
        for cells in whole_matrix.values()
        for cell in cells
        for c in re.findall(r"cls-(\w+)", cell)
    }
    assert {"limit_collision", "mismatch", "discuss", "complementary"} <= classes
    assert "&lt;b&gt;note&lt;/b&gt;" in everything and "<b>note" not in everything
    seen_rows, seen_answers = {}, {}
    for n in range(1, len(assignment.version.definition.sections) + 1):
        r = client_a.get(f"{url}?section={n}")
        assert r.status_code == 200
        page = r.get_data(as_text=True)
        rows, blocks = matrix(page), answers(page)
        assert not (rows.keys() & seen_rows.keys()), "a row is on one section page only"
        assert rows == {lid: whole_matrix[lid] for lid in rows}
        assert blocks == {lid: whole_answers[lid] for lid in blocks}
        seen_rows |= rows
        seen_answers |= blocks
        # a class filter on a section page shows the rows of this page that have the class
        mismatches = matrix(
            client_a.get(f"{url}?section={n}&class=mismatch").get_data(as_text=True)
        )
        assert mismatches == {
            lid: cells for lid, cells in rows.items() if any("cls-mismatch" in c for c in cells)
        }
    assert seen_rows == whole_matrix
    assert seen_answers == whole_answers
    # and each cell's classes are those the whole questionnaire's summary counts (the
    # overview's counts, section list and attention list come from it)
    summary = services.compare(fresh(assignment)).summary
    assert {lid for lid, _, _ in summary.desires} == set(seen_rows)
    for lid, _, per_pair in summary.desires:
        shown = [tuple(re.findall(r"cls cls-(\w+)", cell)) for cell in seen_rows[lid]]
        assert [set(c) for c in shown] == [set(c) for c in per_pair], lid


def test_needs_attention_first_points_at_rows_with_that_class(inventory, client_a):
    case, assignment, _ = inventory
    url = f"/cases/{case.id}/assignments/{assignment.id}/compare"
    first = client_a.get(url).get_data(as_text=True)
    attention = first[first.index('id="attention-h"') : first.index('id="sections-h"')]
    groups = {re.search(r"cls cls-(\w+)", g).group(1): g for g in attention.split("<h3 ")[1:]}
    assert set(groups) == {"limit_collision", "mismatch"}
    pages: dict[str, dict[str, list[str]]] = {}
    for cls, group in groups.items():
        flagged = FLAG.findall(group)
        assert flagged
        for n, lid in flagged:
            if n not in pages:
                pages[n] = matrix(client_a.get(f"{url}?section={n}").get_data(as_text=True))
            assert any(f"cls-{cls}" in cell for cell in pages[n][lid]), (cls, lid)
