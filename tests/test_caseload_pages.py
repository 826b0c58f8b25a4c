"""The caseload comes in pages of 50: order, search and flags stay right across pages."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import current_app
from markupsafe import escape
from sqlalchemy import event, update

from counselor.agreements import services as agreements
from counselor.agreements.models import Agreement, ClausePause
from counselor.agreements.queries import in_force
from counselor.alerts.models import Alert
from counselor.alerts.services import raise_rule_alert
from counselor.auth.models import Counselor
from counselor.cases.caseload import PAGE_SIZE
from counselor.cases.models import Case, Partner
from counselor.cases.services import create_case
from counselor.core.models import aware, day_text, local_day, utcnow
from counselor.extensions import db
from counselor.pages import read_models
from tests.support import assign, sync
from tests.support.agreements import agree_all, published_agreement


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
    assert "Cases 101&ndash;120 of 120" in third


def _nav(client, url: str) -> str:
    """The page links of the caseload page at ``url``."""
    page = client.get(url).get_data(as_text=True)
    return page[page.index('<nav class="mt-3" aria-label="Caseload pages">') :]


def test_caseload_page_links_are_accessible_and_keep_the_filter(app, client_a, counselor_a):
    _cases(counselor_a, 60)
    nav = _nav(client_a, "/cases?q=case&status=all&page=2")
    assert 'aria-current="page" aria-label="Page 2, current page"' in nav
    assert 'href="/cases?q=case&amp;status=all&amp;page=1" rel="prev"' in nav
    assert '<span class="page-link">Next</span>' in nav


def test_a_middle_page_links_to_every_page_and_its_neighbours(app, client_a, counselor_a):
    _cases(counselor_a, 120)
    nav = _nav(client_a, "/cases?status=active&page=2")
    assert 'href="/cases?status=active&amp;page=1" rel="prev"' in nav
    assert 'href="/cases?status=active&amp;page=3" rel="next"' in nav
    assert re.findall(r'aria-label="Page (\d)', nav) == ["1", "2", "3"]
    assert 'href="/cases?status=active&amp;page=2" aria-current="page"' in nav


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


def _alert(case, severity: str) -> None:
    """An open alert of ``severity`` on ``case``, raised as a feature's rule raises one."""
    assignment, _ = assign(case, "intake")
    raise_rule_alert(assignment, assignment.responses[0], "steps.pace", severity)
    db.session.commit()


def _pause(case) -> None:
    """A clause a partner paused in an agreement of ``case``."""
    agreement = published_agreement(case)
    agree_all(agreement)
    clause = in_force(agreement).clauses[0]["key"]
    agreements.pause(agreement, case.partners[0], clause)
    db.session.commit()


def _page(account, page: int = 1, query: str = "", status: str = "active"):
    owner = db.session.get(Counselor, account.id)
    with current_app.test_request_context():  # the read model makes each row's link
        return read_models.caseload_page(owner, query, status, page)


def test_flagged_cases_lead_every_page_order(app, counselor_a):
    sync()
    cases = _cases(counselor_a, 120)
    _alert(cases[119], "review")
    _alert(cases[75], "review")
    first = _page(counselor_a)
    assert [c.label for c in first.cases[:3]] == ["Case 075", "Case 119", "Case 000"]
    assert first.flagged == {cases[75].id: (1, "review"), cases[119].id: (1, "review")}
    # every case once, in order, across the pages
    labels = [c.label for n in (1, 2, 3) for c in _page(counselor_a, n).cases]
    assert labels == ["Case 075", "Case 119"] + [f"Case {n:03d}" for n in range(119) if n != 75]
    assert _page(counselor_a, 3).flagged == {}
    searched = _page(counselor_a, query="case 1")
    assert searched.cases[0].label == "Case 119"
    assert searched.flagged[cases[119].id] == (1, "review")


def test_flag_ranks_order_the_caseload_across_pages(app, client_a, counselor_a):
    # a pause and an urgent alert lead alike (the pause names the badge), then review, then
    # info, whatever the sessions say; an acknowledged alert or a lifted pause flags nothing
    sync()
    cases = _cases(counselor_a, 120)
    _alert(cases[3], "review")
    _alert(cases[119], "urgent")
    _alert(cases[60], "info")
    _pause(cases[90])
    _alert(cases[90], "review")
    _alert(cases[30], "urgent")
    db.session.execute(
        update(Alert).where(Alert.case_id == cases[30].id).values(acknowledged_at=utcnow())
    )
    db.session.commit()
    first = _page(counselor_a)
    assert [c.label for c in first.cases[:5]] == [
        "Case 090",
        "Case 119",
        "Case 003",
        "Case 060",
        "Case 000",
    ]
    assert first.flagged == {
        cases[90].id: (0, "pause"),
        cases[119].id: (0, "urgent"),
        cases[3].id: (1, "review"),
        cases[60].id: (2, "info"),
    }
    html = client_a.get("/cases").get_data(as_text=True)
    assert html.count("case-alert-flag") == 4 and "Paused by a partner" in html
    archived = _page(counselor_a, status="archived")
    assert archived.cases == [] and archived.flagged == {}


def test_a_case_without_a_session_comes_after_every_case_with_one(app, counselor_a):
    # the cases with a session and those without are two walks of the index
    cases = _cases(counselor_a, 60)
    for case in cases[10:20]:
        case.last_session_at = None
    db.session.commit()
    labels = [c.label for n in (1, 2) for c in _page(counselor_a, n).cases]
    newest_first = sorted(cases[10:20], key=lambda c: (c.created_at, c.id), reverse=True)
    assert labels == [c.label for c in cases[:10] + cases[20:]] + [c.label for c in newest_first]


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


def test_page_links_are_what_url_for_makes(app):
    # the page links are built once a page; each must be url_for's own URL, also for a
    # search that needs quoting and under a mount point
    from flask import url_for

    from counselor.core.urls import paged_url

    for root in ("", "/practice"):
        for query in (None, "kim & sam", "ø/é?#=+%"):
            for status in ("active", "all"):
                with app.test_request_context("/cases", environ_overrides={"SCRIPT_NAME": root}):
                    make = paged_url("cases.index", q=query, status=status)
                    for n in (1, 2, 17):
                        assert make(n) == url_for("cases.index", q=query, status=status, page=n)


def test_row_links_made_together_are_what_url_for_makes(app):
    # a page's row links are quoted in one call; each must be url_for's own URL, also for
    # texts that need quoting, hold what the call splits on, or under a mount point
    from flask import url_for

    from counselor.core.urls import urls_of

    case_id = uuid.uuid4()
    for root in ("", "/practice"):
        with app.test_request_context("/cases", environ_overrides={"SCRIPT_NAME": root}):
            ids = [str(uuid.uuid4()) for _ in range(3)]
            made = urls_of("cases.show", "case_id", ids)
            assert made == [url_for("cases.show", case_id=uuid.UUID(t)) for t in ids]
            # a string part of the path: texts that need quoting, or hold a slash (what the
            # call splits on)
            texts = ["kim & sam", "ø/é?#=+%", "%2F", "a\x00b", "x", "é"]
            for some in ([texts[0], *texts[4:]], texts, []):
                made = urls_of("cases.home_link", "key", some, case_id=case_id, partner_id=case_id)
                assert made == [
                    url_for("cases.home_link", key=t, case_id=case_id, partner_id=case_id)
                    for t in some
                ]


def test_texts_escaped_together_are_what_a_template_escapes():
    from counselor.core.text import escaped_all

    texts = ['<b>&amp;</b> "O\'Neil"', "", "plain", "Ünïcødé ✓ —"]
    for some in (texts, [*texts, "a\x00<"], []):
        assert escaped_all(some) == [str(escape(t)) for t in some]


def test_each_row_says_its_partners_and_its_latest_session(app, client_a, counselor_a):
    owner = db.session.get(Counselor, counselor_a.id)
    booked = create_case(owner, "Booked", [{"display_name": "Sam"}, {"display_name": "Alex"}])
    booked.last_session_at = utcnow() + timedelta(days=3)
    past = create_case(owner, "Past", [{"display_name": "Kim"}])
    past.last_session_at = utcnow() - timedelta(days=2)
    create_case(owner, "New", [{"display_name": "Jo"}, {"display_name": "Ren"}])
    db.session.commit()
    page = re.sub(r"\s+", " ", client_a.get("/cases").get_data(as_text=True))
    lines = re.findall(
        r'secondary"> ([^<]*?) </div> </div> <div class="[^"]*md-end"> ([^<]*?) </div>', page
    )
    assert lines == [
        ("2 partners: Sam, Alex", f"Session booked for {local_day(booked.last_session_at)}"),
        ("1 partner: Kim", f"Last session {local_day(past.last_session_at)}"),
        ("2 partners: Jo, Ren", "No sessions yet"),
    ]


def test_partners_names_of_any_length_and_characters_come_back_whole(app, client_a, counselor_a):
    # a case's partners come as one column of parts (cases.caseload._partners_of): names
    # with colons, commas and digits, and a long one, are each read whole and in order
    owner = db.session.get(Counselor, counselor_a.id)
    names = ["12:34, 5", "\U0001f600" * 300, ":", "9" * 40, "Zoë, Jr.", "x"]
    create_case(owner, "Names", [{"display_name": name} for name in names])
    db.session.commit()
    page = re.sub(r"\s+", " ", client_a.get("/cases").get_data(as_text=True))
    assert f"> {escape('6 partners: ' + ', '.join(names))} </div>" in page


def test_a_full_page_says_what_each_case_object_says(app, client_a, counselor_a):
    # A full page of 50 rows against the same cases read one by one as objects (label and
    # partners through their sealed columns' descriptors, the session day through
    # ``strftime`` in a practice zone west of UTC): labels and names with HTML characters
    # and commas, one to six partners in their order, booked, past and no sessions, sessions
    # either side of midnight in the zone, an archived case, flags, the link, the order.
    sync()
    app.config["COUNSELOR_TIMEZONE"] = "America/New_York"
    owner = db.session.get(Counselor, counselor_a.id)
    noon = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    cases = []
    for n in range(55):
        names = [f'P{n}.{k} <&> "O\'Neil", Jr.' for k in range(1 + n % 6)]
        case = create_case(owner, f"Case {n:03d} <b>&amp;", [{"display_name": x} for x in names])
        # 03:30 UTC is the day before in New York; a third have no session, some are booked
        hours = (-8.5, 15.5, None)[n % 3]
        if hours is not None:
            case.last_session_at = noon + timedelta(days=20 - n, hours=hours)
        if n == 7:
            case.status = "archived"
        cases.append(case)
    db.session.commit()
    _alert(cases[40], "urgent")
    _pause(cases[12])
    html = client_a.get("/cases?status=all").get_data(as_text=True)
    rows = re.findall(r'<a class="list-group-item[^"]*" href="([^"]+)">(.*?)</a>', html, re.S)
    assert len(rows) == PAGE_SIZE
    by_link = {f"/cases/{case.id}": case for case in cases}
    shown = []
    for link, row in rows:
        case = db.session.get(type(cases[0]), by_link[link].id)
        db.session.refresh(case)
        text = re.sub(r"\s+", " ", row)
        label = re.search(r'case-label">(.*?) <', text).group(1)
        assert label == escape(case.label)
        names = [p.display_name for p in case.partners]
        count = f"{len(names)} {'partner' if len(names) == 1 else 'partners'}"
        assert f"> {escape(f'{count}: ' + ', '.join(names))} </div>" in text
        if case.last_session_at is None:
            when = "No sessions yet"
        else:
            at = aware(case.last_session_at)
            day = at.astimezone(ZoneInfo("America/New_York")).date()
            booked = "Session booked for" if at > utcnow() else "Last session"
            when = f"{booked} {day.day} {day.strftime('%b')} {day.year}"
        assert text.endswith(f'md-end"> {when} </div> </div> ')
        assert ("Archived</span>" in text) == (case.status == "archived")
        shown.append(case.label.split(" <")[0])
    flags = re.findall(r"case-alert-flag case-alert-(\w+)\">⚑ ([^<]+)<", html)
    assert flags == [("pause", "Paused by a partner"), ("urgent", "Urgent screening alert")]
    assert shown[:2] == ["Case 012", "Case 040"]
    # then the latest session first (the booked ones lead), those without one last, newest
    # first
    rest = [c for c in cases if c not in (cases[12], cases[40])]
    dated = sorted((c for c in rest if c.last_session_at), key=lambda c: aware(c.last_session_at))
    undated = sorted(
        (c for c in rest if not c.last_session_at), key=lambda c: (aware(c.created_at), c.id)
    )
    expected = [c.label.split(" <")[0] for c in dated[::-1] + undated[::-1]]
    assert shown[2:] == expected[: PAGE_SIZE - 2]


def test_every_month_prints_as_strftime_prints_it():
    # the rows' days (and every page's and PDF's) name the month from a table
    for month in range(1, 13):
        day = date(2026, month, 9)
        assert day_text(day) == f"9 {day.strftime('%b')} 2026"
        assert day_text(day, year=False, long=True) == f"9 {day.strftime('%B')}"


def test_every_caseload_read_is_audited_once_even_an_empty_one(client_a, counselor_a):
    """The page's statement writes its audit event on PostgreSQL (``audit.ReadWithEvent``,
    with no row to find: a caseload may be empty), the commit on SQLite; a search, a page
    past the end and an empty caseload each write exactly one."""
    from sqlalchemy import func, select

    from counselor.core.audit import AuditEvent

    def views() -> int:
        return db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "caseload.view", AuditEvent.actor_id == str(counselor_a.id))
        )

    before = views()
    for url in ("/cases", "/cases?q=nobody", "/cases?page=3", "/cases?status=archived"):
        assert client_a.get(url).status_code == 200
        db.session.remove()
        assert views() == before + 1, url
        before += 1


def _leading(client) -> list[tuple[str, str]]:
    """The first three rows of the caseload as a counselor sees them: label, badge kind."""
    html = client.get("/cases").get_data(as_text=True)
    rows = re.findall(r'case-label">(Case \d{3})(.*?)</a>', html, re.S)
    badge = re.compile(r"case-alert-flag case-alert-(\w+)")
    return [(label, (badge.search(rest) or [None, ""])[1]) for label, rest in rows[:3]]


def test_flags_opened_and_closed_move_cases_in_and_out_of_the_lead(app, client_a, counselor_a):
    # raised, acknowledged, paused and lifted through the features' own services: a case
    # leads while any of its flags is open, and only then (counselor.cases.flags)
    from counselor.alerts.services import acknowledge

    sync()
    cases = _cases(counselor_a, 60)
    plain = [("Case 000", ""), ("Case 001", ""), ("Case 002", "")]
    assert _leading(client_a) == plain
    _alert(cases[55], "info")
    _alert(cases[55], "urgent")  # a second assignment's alert on the same case
    _pause(cases[58])
    # a pause and an urgent alert lead alike, then the latest session first
    assert _leading(client_a) == [("Case 055", "urgent"), ("Case 058", "pause"), plain[0]]
    urgent = db.session.query(Alert).filter_by(case_id=cases[55].id, severity="urgent").one()
    acknowledge(urgent, "Called them.")
    db.session.commit()
    # the info alert is still open: the case leads after the pause, as info
    assert _leading(client_a) == [("Case 058", "pause"), ("Case 055", "info"), plain[0]]
    info = db.session.query(Alert).filter_by(case_id=cases[55].id, severity="info").one()
    acknowledge(info, "Read.")
    _alert(cases[58], "review")  # under the pause
    db.session.commit()
    assert _leading(client_a) == [("Case 058", "pause"), *plain[:2]]
    assert not db.session.get(Case, cases[55].id).maybe_flagged
    pause = db.session.query(ClausePause).filter_by(lifted_at=None).one()
    agreement = db.session.get(Agreement, pause.agreement_id)
    agreements.lift(agreement, db.session.get(Partner, pause.partner_id), pause.id)
    db.session.commit()
    # the review alert is still open
    assert _leading(client_a) == [("Case 058", "review"), *plain[:2]]
    review = db.session.query(Alert).filter_by(case_id=cases[58].id, acknowledged_at=None).one()
    acknowledge(review, "Seen.")
    db.session.commit()
    assert _leading(client_a) == plain
    assert not db.session.get(Case, cases[58].id).maybe_flagged


@pytest.mark.parametrize("recreated", ["ix_case_counselor_status", "ix_case_maybe_flagged"])
def test_the_flags_read_only_the_marked_cases_whatever_order_the_indexes_were_made(
    app, client_a, counselor_a, recreated
):
    """SQLite without statistics picks between two indexes that both serve the counselor's id
    by the order they were made in; the caseload's flags must read the few marked cases
    (``ix_case_maybe_flagged``), never walk every case of the counselor, in either order."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner; PostgreSQL's is held by tests/test_pool.py")
    _cases(counselor_a, 3)
    index = next(i for i in Case.__table__.indexes if i.name == recreated)
    with db.engine.begin() as conn:  # made again: now the last index of the table
        index.drop(conn)
        index.create(conn)
    seen = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "flags" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        assert client_a.get("/cases").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    statement, parameters = seen[-1]
    with db.engine.connect() as conn:
        plan = [
            row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]
    walks = [step for step in plan if step.startswith("SEARCH case USING")]
    assert sum("ix_case_maybe_flagged" in step for step in walks) == 2, "\n".join(plan)
    assert not any(
        step.endswith("(counselor_id=?)") and "maybe_flagged" not in step for step in walks
    ), "\n".join(plan)
