"""Assigning homework: several cases at once, idempotent forms, status table, ownership,
due dates, SQL statement counts."""

from __future__ import annotations

import html
import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select

from counselor.extensions import db
from counselor.questionnaires.models import Assignment, Link, Response, SubmittedForm
from tests.support import (
    assign,
    autosave,
    links_from,
    load_own,
    new_case,
    open_link,
    partner_named,
    practice_today,
    questionnaire,
    request_key_from,
    response_of,
    revision_of,
    section,
    sync,
)

SIX = ("Ana One", "Ben Two", "Cy Three", "Di Four", "Ed Five", "Flo Six")


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def cases(app, counselor_a, client_a):
    sync()
    couple = new_case(counselor_a, label="Sam & Alex")
    triad = new_case(counselor_a, label="Three of us", names=("Jo Ash", "Lu Birch", "Mo Cedar"))
    archived = new_case(counselor_a, label="Old archived pair", names=("Pat Old", "Ray Old"))
    assert client_a.post(f"/cases/{archived.id}/archive").status_code == 302
    return couple, triad, archived


# ---- several cases at once ----


def test_assign_to_several_cases_from_the_library(client_a, cases):
    couple, triad, archived = cases
    q = questionnaire("consent-check-in")
    library = client_a.get("/questionnaires").get_data(as_text=True)
    assert f"/questionnaires/{q.id}/assign" in library
    form = client_a.get(f"/questionnaires/{q.id}/assign").get_data(as_text=True)
    assert "Sam &amp; Alex" in form and "Three of us" in form
    assert "Old archived pair" not in form and str(archived.id) not in form
    due = (practice_today() + timedelta(days=10)).isoformat()
    r = client_a.post(
        f"/questionnaires/{q.id}/assign",
        data={
            "cases": [str(couple.id), str(triad.id)],
            "due_on": due,
            "ttl_days": "14",
            "instructions": "Before our next session",
            "request_key": request_key_from(form),
        },
    )
    assert r.status_code == 200
    tokens = links_from(r.get_data(as_text=True))
    assert set(tokens) == {"Sam Rivera", "Alex Novak", "Jo Ash", "Lu Birch", "Mo Cedar"}
    assert len(set(tokens.values())) == 5
    # the homework is on each partner's home: one home link each, no per-assignment link
    assert _count(Assignment) == 2 and _count(Link) == 0 and _count(Response) == 5
    assert all(t.startswith("/h/") for t in tokens.values())
    for a in db.session.scalars(select(Assignment)):
        assert (
            a.due_on.isoformat() == due
            and a.link_ttl_days == 14
            and a.instructions == "Before our next session"
        )
    # the links page shows a QR code per link, made inline
    page = r.get_data(as_text=True)
    assert page.count('<svg class="qr-code"') == 5
    assert "Copy" in page


def test_an_archived_case_cannot_be_chosen_even_by_a_forged_post(client_a, cases):
    couple, _, archived = cases
    q = questionnaire("consent-check-in")
    form = client_a.get(f"/questionnaires/{q.id}/assign").get_data(as_text=True)
    r = client_a.post(
        f"/questionnaires/{q.id}/assign",
        data={
            "cases": [str(couple.id), str(archived.id)],
            "ttl_days": "30",
            "request_key": request_key_from(form),
        },
    )
    assert r.status_code == 400
    assert _count(Assignment) == 0 and _count(Link) == 0
    # and from the archived case's own page
    r = client_a.post(
        f"/cases/{archived.id}/assign",
        data={
            "questionnaire": str(q.id),
            "partners": [str(p.id) for p in archived.partners],
            "ttl_days": "30",
        },
    )
    assert r.status_code == 400 and "archived" in r.get_data(as_text=True)
    assert _count(Assignment) == 0


def test_another_counselors_case_cannot_be_injected_into_the_library_form(
    client_b, cases, counselor_b
):
    couple, _, _ = cases
    own = new_case(counselor_b, label="B's pair", names=("Val B", "Wes B"))
    q = questionnaire("consent-check-in")
    form = client_b.get(f"/questionnaires/{q.id}/assign").get_data(as_text=True)
    assert "Sam &amp; Alex" not in form
    r = client_b.post(
        f"/questionnaires/{q.id}/assign",
        data={
            "cases": [str(own.id), str(couple.id)],
            "ttl_days": "30",
            "request_key": request_key_from(form),
        },
    )
    assert r.status_code == 400
    assert _count(Assignment) == 0


def test_resubmitting_the_same_assign_form_creates_nothing_twice(client_a, cases):
    couple, triad, _ = cases
    q = questionnaire("consent-check-in")
    form = client_a.get(f"/questionnaires/{q.id}/assign").get_data(as_text=True)
    data = {
        "cases": [str(couple.id), str(triad.id)],
        "ttl_days": "30",
        "request_key": request_key_from(form),
    }
    assert client_a.post(f"/questionnaires/{q.id}/assign", data=data).status_code == 200
    again = client_a.post(f"/questionnaires/{q.id}/assign", data=data)
    assert again.status_code == 302
    assert "already created" in client_a.get(again.headers["Location"]).get_data(as_text=True)
    assert _count(Assignment) == 2 and _count(Link) == 0 and _count(Response) == 5

    # the same on the case page
    form = client_a.get(f"/cases/{couple.id}/assign").get_data(as_text=True)
    data = {
        "questionnaire": str(q.id),
        "partners": [str(p.id) for p in couple.partners],
        "ttl_days": "30",
        "request_key": request_key_from(form),
    }
    assert client_a.post(f"/cases/{couple.id}/assign", data=data).status_code == 200
    again = client_a.post(f"/cases/{couple.id}/assign", data=data)
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/cases/{couple.id}")
    assert _count(Assignment) == 3 and _count(Link) == 0 and _count(Response) == 7

    # a fresh form (a new key) assigns again
    form = client_a.get(f"/cases/{couple.id}/assign").get_data(as_text=True)
    data["request_key"] = request_key_from(form)
    assert client_a.post(f"/cases/{couple.id}/assign", data=data).status_code == 200
    assert _count(Assignment) == 4


@pytest.mark.parametrize("key", ["%", "_", "x" * 200, "a:0", ""])
def test_a_tampered_request_key_neither_blocks_nor_breaks_assigning(client_a, cases, key):
    couple, _, _ = cases
    q = questionnaire("consent-check-in")
    from tests.support import assign_http

    assign_http(client_a, couple, q.id)  # an earlier assignment made through the form exists
    r = client_a.post(
        f"/cases/{couple.id}/assign",
        data={
            "questionnaire": str(q.id),
            "partners": [str(p.id) for p in couple.partners],
            "ttl_days": "30",
            "request_key": key,
        },
    )
    assert r.status_code == 200, r.status_code
    # both partners got their home link with the first: this one is on their homes
    assert 'id="on-home"' in r.get_data(as_text=True)
    assert _count(Assignment) == 2
    keys = list(db.session.scalars(select(SubmittedForm.request_key)))
    assert len(keys) == 2 and all(re.fullmatch("[0-9a-f]{32}", k) for k in keys)


def test_assign_only_some_partners(client_a, cases):
    _, triad, _ = cases
    q = questionnaire("debrief")
    jo = partner_named(triad, "Jo Ash")
    form = client_a.get(f"/cases/{triad.id}/assign").get_data(as_text=True)
    # every partner is ticked by default
    assert form.count('name="partners" type="checkbox"') == 3 or form.count("checked") >= 3
    r = client_a.post(
        f"/cases/{triad.id}/assign",
        data={
            "questionnaire": str(q.id),
            "partners": [str(jo.id)],
            "ttl_days": "30",
            "request_key": request_key_from(form),
        },
    )
    assert r.status_code == 200
    assert set(links_from(r.get_data(as_text=True))) == {"Jo Ash"}
    assert _count(Response) == 1
    # no partner, or a partner of another case: refused
    for partners in ([], [str(partner_named(cases[0], "Sam Rivera").id)]):
        r = client_a.post(
            f"/cases/{triad.id}/assign",
            data={
                "questionnaire": str(q.id),
                "partners": partners,
                "ttl_days": "30",
            },
        )
        assert r.status_code == 400
    assert _count(Response) == 1


# ---- status table ----


def test_status_table_shows_not_opened_opened_draft_submitted_with_times(
    app, client_a, counselor_a
):
    sync()
    case = new_case(counselor_a, label="Four", names=("Ana One", "Ben Two", "Cy Three", "Di Four"))
    assignment, tokens = assign(case, "consent-check-in")
    # Ben opens; Cy opens and saves; Di opens, answers and submits
    for name in ("Ben Two", "Cy Three", "Di Four"):
        c = app.test_client()
        open_link(c, tokens[name])
        if name == "Ben Two":
            continue
        _, csrf, rev = section(c, 1)
        answers = {"agreements.comfort": 7} if name == "Cy Three" else {}
        if name == "Di Four":
            defn = db.session.get(Assignment, assignment.id).version.definition
            from counselor.questionnaires import engine

            required = [i for i in defn.questions() if i.get("required")]
            answers = {
                i["link_id"]: (
                    5 if i["type"] == "scale" else True if i["type"] == "boolean" else "fine"
                )
                for i in required
            }
            for item in required:
                if item["type"] == "choice":
                    answers[item["link_id"]] = item["options"][0]["value"]
            assert engine.validate_changes(defn, answers)[1] == {}
        r = autosave(c, csrf, rev, answers or {"agreements.comfort": 7})
        assert r.status_code == 200, r.get_data(as_text=True)
        if name == "Di Four":
            review = c.get("/p/review").get_data(as_text=True)
            assert (
                c.post(
                    "/p/submit", data={"csrf_token": csrf, "revision": revision_of(review)}
                ).status_code
                == 302
            )

    page = client_a.get(f"/cases/{case.id}/assignments/{assignment.id}").get_data(as_text=True)
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<td class="fw-semibold">([^<]+)</td>.*?</tr>', page, re.S)
    }
    when = r"\w{3} \d{1,2} \w{3} \d{4}, \d{2}:\d{2}"
    assert "Not opened" in rows["Ana One"] and not re.search(when, rows["Ana One"])
    assert "Opened" in rows["Ben Two"] and re.search("opened " + when, rows["Ben Two"])
    assert "Draft" in rows["Cy Three"] and re.search("last saved " + when, rows["Cy Three"])
    assert "Submitted" in rows["Di Four"] and re.search("sent " + when, rows["Di Four"])
    for row in rows.values():
        assert "Works until" in row
    case_page = html.unescape(client_a.get(f"/cases/{case.id}").get_data(as_text=True))
    for label in (
        "Ana One: Not opened",
        "Ben Two: Opened",
        "Cy Three: Draft",
        "Di Four: Submitted",
    ):
        assert label in case_page
    # status and times in the database match
    for name, status in (
        ("Ana One", "not_opened"),
        ("Ben Two", "opened"),
        ("Cy Three", "draft"),
        ("Di Four", "submitted"),
    ):
        resp = response_of(assignment.id, partner_named(case, name).id)
        assert resp.status == status
        assert (resp.opened_at is None) == (status == "not_opened")
        assert (resp.submitted_at is not None) == (status == "submitted")


# ---- ownership ----


def test_another_counselor_gets_404_everywhere_and_changes_nothing(
    app, client_a, client_b, counselor_a
):
    sync()
    case = new_case(counselor_a)
    assignment, tokens = assign(case, "intake", due_on=practice_today() + timedelta(days=5))
    sam = partner_named(case, "Sam Rivera")
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    assert client_b.get(base).status_code == 404
    for path, data in (
        (f"{base}/lock", {}),
        (f"{base}/unlock", {}),
        (f"{base}/due", {"due_on": (practice_today() + timedelta(days=40)).isoformat()}),
        (f"{base}/partners/{sam.id}/reissue", {}),
        (f"{base}/partners/{sam.id}/revoke", {}),
        (
            f"/cases/{case.id}/assign",
            {
                "questionnaire": str(questionnaire("intake").id),
                "partners": [str(sam.id)],
                "ttl_days": "30",
            },
        ),
    ):
        r = client_b.post(path, data=data)
        assert r.status_code == 404, (path, r.status_code)
    assert client_b.get(f"/cases/{case.id}/assign").status_code == 404
    # an assignment id under another case id of the right owner is 404 as well
    other = new_case(counselor_a, label="Other pair", names=("X Y", "Z W"))
    assert client_a.get(f"/cases/{other.id}/assignments/{assignment.id}").status_code == 404
    # a partner of another case cannot be reissued through this assignment
    assert client_a.post(f"{base}/partners/{other.partners[0].id}/reissue").status_code == 404
    # nothing changed
    db.session.expire_all()
    a = db.session.get(Assignment, assignment.id)
    assert a.locked is False and a.due_on == practice_today() + timedelta(days=5)
    assert _count(Link) == 2
    assert all(link.revoked_at is None for link in a.links)
    open_link(app.test_client(), tokens["Sam Rivera"])
    # own questionnaires are private too
    q = load_own(counselor_a)
    assert client_b.get(f"/questionnaires/{q.id}").status_code == 404
    assert client_b.get(f"/questionnaires/{q.id}/assign").status_code == 404
    assert "Small check" not in client_b.get("/questionnaires").get_data(as_text=True)


# ---- due dates ----


def test_a_due_date_in_the_past_is_refused_with_a_message(app, client_a, counselor_a):
    sync()
    case = new_case(counselor_a)
    q = questionnaire("intake")
    yesterday = (practice_today() - timedelta(days=1)).isoformat()
    r = client_a.post(
        f"/cases/{case.id}/assign",
        data={
            "questionnaire": str(q.id),
            "partners": [str(p.id) for p in case.partners],
            "ttl_days": "30",
            "due_on": yesterday,
        },
    )
    assert r.status_code == 400
    assert "The due date is in the past." in r.get_data(as_text=True)
    assert _count(Assignment) == 0

    assignment, _ = assign(case, "intake", due_on=practice_today() + timedelta(days=3))
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    r = client_a.post(f"{base}/due", data={"due_on": yesterday})
    assert r.status_code == 400
    assert "The new due date is in the past." in r.get_data(as_text=True)
    r = client_a.post(f"{base}/due", data={"due_on": "next tuesday"})
    assert r.status_code == 400
    assert "Enter the new due date as a date." in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Assignment, assignment.id).due_on == practice_today() + timedelta(days=3)
    # extending works and the partner is told the new date
    later = practice_today() + timedelta(days=20)
    r = client_a.post(f"{base}/due", data={"due_on": later.isoformat()})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Assignment, assignment.id).due_on == later


@pytest.mark.parametrize("ttl", ["0", "366", "-5", "ten", ""])
def test_link_lifetime_outside_1_to_365_days_is_refused(client_a, cases, ttl):
    couple, _, _ = cases
    q = questionnaire("intake")
    r = client_a.post(
        f"/cases/{couple.id}/assign",
        data={
            "questionnaire": str(q.id),
            "partners": [str(p.id) for p in couple.partners],
            "ttl_days": ttl,
        },
    )
    assert r.status_code == 400
    assert _count(Assignment) == 0


# ---- SQL statements on the assignment page ----


@contextmanager
def count_statements():
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    db.session.commit()
    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _answered_assignment(app, case, slug, owner_id=None):
    """An assignment where every partner has opened and saved a few answers."""
    assignment, tokens = assign(case, slug, owner_id=owner_id)
    defn = db.session.get(Assignment, assignment.id).version.definition
    first = next(i for i in defn.questions() if i["type"] in ("desire", "text"))
    for token in tokens.values():
        c = app.test_client()
        open_link(c, token)
        _, csrf, rev = section(c, 1)
        value = (
            {"roles": {first["roles"][0]["key"]: "yes"}}
            if first["type"] == "desire"
            else "an answer"
        )
        assert autosave(c, csrf, rev, {first["link_id"]: value}).status_code == 200
    return assignment


def test_assignment_page_statements_do_not_grow_with_items_or_partners(app, client_a, counselor_a):
    sync()
    small_q = load_own(counselor_a)
    single = new_case(counselor_a, label="One person", names=("Solo Person",))
    six = new_case(counselor_a, label="Six of us", names=SIX)
    small = _answered_assignment(app, single, "small-check", owner_id=counselor_a.id)
    big = _answered_assignment(app, six, "desires-boundaries")
    assert small_q.latest.definition.questions()

    counts = {}
    for label, case, assignment in (
        ("small/1 partner", single, small),
        ("inventory/6 partners", six, big),
    ):
        url = f"/cases/{case.id}/assignments/{assignment.id}"
        client_a.get(url)  # warm caches that are not per request
        with count_statements() as statements:
            r = client_a.get(url)
        assert r.status_code == 200
        counts[label] = list(statements)
    print("\nassignment page SQL statements:", {k: len(v) for k, v in counts.items()})
    small_n, big_n = (len(v) for v in counts.values())
    assert big_n <= small_n, "\n".join(counts["inventory/6 partners"])


def test_case_page_statements_do_not_grow_with_assignments_or_partners(app, client_a, counselor_a):
    sync()
    single = new_case(counselor_a, label="One person", names=("Solo Person",))
    six = new_case(counselor_a, label="Six of us", names=SIX)
    _answered_assignment(app, single, "consent-check-in")
    for slug in ("desires-boundaries", "intake", "debrief"):
        _answered_assignment(app, six, slug)
    counts = {}
    for label, case in (("1 assignment/1 partner", single), ("3 assignments/6 partners", six)):
        client_a.get(f"/cases/{case.id}")
        with count_statements() as statements:
            r = client_a.get(f"/cases/{case.id}")
        assert r.status_code == 200
        counts[label] = list(statements)
    print("\ncase page SQL statements:", {k: len(v) for k, v in counts.items()})
    small_n, big_n = (len(v) for v in counts.values())
    assert big_n <= small_n, "\n".join(counts["3 assignments/6 partners"])


@pytest.mark.parametrize(
    "zone,utc_now,local_today",
    [
        # 21:00 on 9 March in New York is already 10 March in UTC
        ("America/New_York", "2026-03-10T02:00:00+00:00", date(2026, 3, 9)),
        # 00:30 on 10 March in Berlin is still 9 March in UTC
        ("Europe/Berlin", "2026-03-09T23:30:00+00:00", date(2026, 3, 10)),
    ],
)
def test_due_dates_are_judged_in_the_practice_time_zone(
    make_app, counselor_a, monkeypatch, zone, utc_now, local_today
):
    """A due date of the practice's today is accepted; partners may edit all that day."""
    from datetime import datetime

    from counselor.portal import context as portal_context
    from counselor.portal import services as portal_services
    from counselor.questionnaires import services

    now = datetime.fromisoformat(utc_now)
    zoned = make_app(COUNSELOR_TIMEZONE=zone)
    with zoned.app_context():
        sync()
        case = new_case(counselor_a, label="Zoned pair")
        monkeypatch.setattr(services, "utcnow", lambda: now)
        monkeypatch.setattr(portal_services, "utcnow", lambda: now)
        monkeypatch.setattr(portal_context, "utcnow", lambda: now)
        assignment, tokens = assign(case, "intake", due_on=local_today)
        with pytest.raises(services.AssignmentError):
            services.set_due(
                db.session.get(Assignment, assignment.id), local_today - timedelta(days=1)
            )
        db.session.rollback()
        c = zoned.test_client()
        open_link(c, tokens["Sam Rivera"])
        _, csrf, rev = section(c, 1)
        assert autosave(c, csrf, rev, {"goals.main": "still today"}).status_code == 200


def test_two_copies_of_one_form_arriving_together_create_it_once(client_a, cases, monkeypatch):
    """The race a double click can win: both copies pass the "already done?" look-up before
    either commits. The database's unique request key lets one through; the other gets the
    same "already created" answer, not a 500."""
    from counselor.questionnaires import services

    couple, _, _ = cases
    q = questionnaire("consent-check-in")
    form = client_a.get(f"/cases/{couple.id}/assign").get_data(as_text=True)
    data = {
        "questionnaire": str(q.id),
        "partners": [str(p.id) for p in couple.partners],
        "ttl_days": "30",
        "request_key": request_key_from(form),
    }
    assert client_a.post(f"/cases/{couple.id}/assign", data=data).status_code == 200
    # The second copy looked before the first committed: it saw nothing yet.
    monkeypatch.setattr(services, "already_assigned", lambda key: False)
    late = client_a.post(f"/cases/{couple.id}/assign", data=data)
    assert late.status_code == 302, late.status_code
    assert "already created" in client_a.get(late.headers["Location"]).get_data(as_text=True)
    assert _count(Assignment) == 1
