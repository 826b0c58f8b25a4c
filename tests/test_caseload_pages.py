"""The caseload comes in pages of 50: order, search and flags stay right across pages."""

from __future__ import annotations

import re
from datetime import timedelta

from counselor.auth.models import Counselor
from counselor.cases.services import PAGE_SIZE, caseload_page, create_case
from counselor.core.models import utcnow
from counselor.extensions import db


def _cases(account, count: int) -> list:
    """``count`` cases; case n had its last session n days ago (case 0 is the most recent)."""
    owner = db.session.get(Counselor, account.id)
    cases = []
    for n in range(count):
        case = create_case(owner, f"Case {n:03d}", [{"display_name": f"Kim {n:03d}"}])
        case.last_session_at = utcnow() - timedelta(days=n)
        cases.append(case)
    db.session.commit()
    return cases


def _labels(html: str) -> list[str]:
    return re.findall(r'case-label">(Case \d{3})', html)


def test_caseload_pages_hold_fifty_cases_in_order(app, client_a, counselor_a):
    _cases(counselor_a, 120)
    first = client_a.get("/cases").get_data(as_text=True)
    third = client_a.get("/cases?page=3").get_data(as_text=True)
    assert _labels(first) == [f"Case {n:03d}" for n in range(PAGE_SIZE)]
    assert _labels(third) == [f"Case {n:03d}" for n in range(100, 120)]
    assert "Cases 101–120 of 120" in third


def test_caseload_page_links_are_accessible_and_keep_the_filter(app, client_a, counselor_a):
    _cases(counselor_a, 60)
    page = client_a.get("/cases?q=case&status=all&page=2").get_data(as_text=True)
    nav = page[page.index('<nav class="mt-3" aria-label="Caseload pages">') :]
    assert 'aria-current="page" aria-label="Page 2, current page"' in nav
    assert 'href="/cases?q=case&amp;status=all&amp;page=1" rel="prev"' in nav
    assert '<span class="page-link">Next</span>' in nav


def test_a_short_caseload_has_no_page_links(app, client_a, counselor_a):
    _cases(counselor_a, 3)
    page = client_a.get("/cases").get_data(as_text=True)
    assert "Caseload pages" not in page and "3 cases" in page


def test_search_finds_a_case_from_a_later_page(app, client_a, counselor_a):
    _cases(counselor_a, 120)
    page = client_a.get("/cases?q=kim+117").get_data(as_text=True)
    assert _labels(page) == ["Case 117"]


def test_search_results_are_paged_in_caseload_order(app, client_a, counselor_a):
    _cases(counselor_a, 120)
    second = client_a.get("/cases?q=case&page=2").get_data(as_text=True)
    assert _labels(second) == [f"Case {n:03d}" for n in range(50, 100)]


def test_out_of_range_or_malformed_pages_show_the_nearest_page(app, client_a, counselor_a):
    _cases(counselor_a, 60)
    assert _labels(client_a.get("/cases?page=99").get_data(as_text=True))[0] == "Case 050"
    assert _labels(client_a.get("/cases?page=-4").get_data(as_text=True))[0] == "Case 000"
    r = client_a.get("/cases?page=two")
    assert r.status_code == 200 and _labels(r.get_data(as_text=True))[0] == "Case 000"


def test_flagged_cases_lead_every_page_order(app, counselor_a):
    cases = _cases(counselor_a, 120)
    owner = db.session.get(Counselor, counselor_a.id)
    flagged = {cases[119].id: (1, "review"), cases[75].id: (1, "review")}
    first = caseload_page(owner, "", "active", 1, flagged)
    assert [c.label for c in first.cases[:3]] == ["Case 075", "Case 119", "Case 000"]
    third = caseload_page(owner, "", "active", 3, flagged)
    assert "Case 119" not in [c.label for c in third.cases]
    searched = caseload_page(owner, "case 1", "active", 1, flagged)
    assert searched.cases[0].label == "Case 119"


def test_flag_ranks_order_the_caseload_across_pages(app, counselor_a):
    # reveal's provider ranks urgent 0, review 1: the more pressing rank leads, whatever the
    # sessions say, and a page later than the first never holds a flagged case
    cases = _cases(counselor_a, 120)
    owner = db.session.get(Counselor, counselor_a.id)
    flagged = {cases[3].id: (1, "review"), cases[119].id: (0, "urgent")}
    first = caseload_page(owner, "", "active", 1, flagged)
    assert [c.label for c in first.cases[:3]] == ["Case 119", "Case 003", "Case 000"]
    assert first.flagged[cases[119].id] == (0, "urgent")


def test_case_links_and_layout_urls_follow_where_the_app_is_mounted(app, client_a, counselor_a):
    # the rows' links and the layout's URLs are built once per process: a second mount point
    # gets its own, and the first keeps its
    cases = _cases(counselor_a, 2)
    for root in ("/practice", "", "/practice"):
        page = client_a.get("/cases", environ_overrides={"SCRIPT_NAME": root}).get_data(
            as_text=True
        )
        links = re.findall(r'case-row" href="([^"]+)"', page)
        assert links == [f"{root}/cases/{case.id}" for case in cases]
        assert f'href="{root}/static/css/counselor.css"' in page
        assert f'action="{root}/logout"' in page
    assert "Kim 001" in client_a.get(links[1].removeprefix("/practice")).get_data(as_text=True)
