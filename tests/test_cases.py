"""The caseload: cases with 1-6 partners, counseling sessions, search, archive, delete, demo."""

from __future__ import annotations

import re
import uuid
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from counselor.cases.models import Case, CounselingSession, Partner
from counselor.extensions import db
from tests.support import make_account, new_case, sign_in

NAMES = ["Robin Ash", "Kim Birch", "Lou Cedar", "Max Dune", "Noor Elm", "Ola Fir"]


def partners_form(names, start=0) -> dict:
    return {f"partners-{n}-display_name": name for n, name in enumerate(names, start)}


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def the_case(case_url: str) -> Case:
    db.session.expire_all()
    return db.session.get(Case, uuid.UUID(case_url.rstrip("/").rsplit("/", 1)[1]))


def page(response) -> str:
    return response.get_data(as_text=True)


def error_next_to(html: str, field_id: str, message: str) -> bool:
    """Whether ``message`` is shown right after the input ``field_id`` (before the next field)."""
    start = html.find(f'id="{field_id}"')
    if start < 0:
        return False
    nxt = html.find("<label", start)
    chunk = html[start : nxt if nxt > 0 else None]
    return "invalid-feedback" in chunk and message in chunk


# --- creating and editing cases ----------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 6])
def test_counselor_creates_a_case_with_one_to_six_partners(client_a, counselor_a, n):
    r = client_a.post("/cases/new", data={"label": f"Case of {n}", **partners_form(NAMES[:n])})
    assert r.status_code == 302
    case = the_case(r.location)
    assert case.counselor_id == counselor_a.id and case.status == "active"
    assert [p.display_name for p in case.partners] == NAMES[:n]
    shown = page(client_a.get(r.location))
    assert all(name in shown for name in NAMES[:n])


def test_a_case_without_partners_is_refused_with_a_message(client_a):
    for data in ({"label": "Nobody"}, {"label": "Nobody", "partners-0-pronouns": "she/her"}):
        r = client_a.post("/cases/new", data=data)
        assert r.status_code == 400 and "Name at least one partner." in page(r)
    r = client_a.post(
        "/cases/new",
        data={
            "label": "Half",
            "partners-0-display_name": "Sam",
            "partners-1-email": "kim@example.net",
        },
    )
    assert r.status_code == 400
    assert "Every partner with details needs a name." in page(r)
    assert error_next_to(page(r), "partners-1-display_name", "Give this partner a name.")
    assert count(Case) == 0 and count(Partner) == 0


def test_a_seventh_partner_cannot_be_injected(client_a):
    r = client_a.post(
        "/cases/new",
        data={
            "label": "Seven",
            **partners_form(NAMES),
            "partners-6-display_name": "Seventh Person",
        },
    )
    assert r.status_code == 302
    case = the_case(r.location)
    assert [p.display_name for p in case.partners] == NAMES
    assert "Seventh Person" not in page(client_a.get(r.location))


def test_the_service_and_the_database_refuse_a_seventh_partner(app, counselor_a):
    from counselor.auth.models import Counselor
    from counselor.cases.services import CaseError, create_case

    owner = db.session.get(Counselor, counselor_a.id)
    with pytest.raises(CaseError, match="between 1 and 6 partners"):
        create_case(owner, "Seven", [{"display_name": n} for n in [*NAMES, "Seventh"]])
    db.session.rollback()
    with pytest.raises(CaseError, match="between 1 and 6 partners"):
        create_case(owner, "None", [])
    db.session.rollback()
    case = new_case(counselor_a, "Six", NAMES)
    db.session.add(Partner(case_id=case.id, position=7, display_name="Seventh"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(Partner(case_id=case.id, position=3, display_name="Same slot"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert count(Partner, Partner.case_id == case.id) == 6


def test_editing_a_case_keeps_the_ids_of_kept_partners(client_a, counselor_a):
    case = new_case(counselor_a, "Sam & Alex", ("Sam Rivera", "Alex Novak", "Jo Park"))
    sam, alex, jo = (p.id for p in case.partners)
    form = page(client_a.get(f"/cases/{case.id}/edit"))
    assert str(sam) in form and "Alex Novak" in form
    r = client_a.post(
        f"/cases/{case.id}/edit",
        data={
            "label": "Sam, Alex & Rue",
            "partners-0-partner_id": str(sam),
            "partners-0-display_name": "Sam R.",
            "partners-0-pronouns": "they/them",
            "partners-1-partner_id": str(alex),
            "partners-1-display_name": "",  # removed
            "partners-2-partner_id": str(jo),
            "partners-2-display_name": "Jo Park",
            "partners-3-display_name": "Rue Quinn",  # added
        },
    )
    assert r.status_code == 302
    case = the_case(r.location)
    assert case.label == "Sam, Alex & Rue"
    got = {p.display_name: p for p in case.partners}
    assert set(got) == {"Sam R.", "Jo Park", "Rue Quinn"}
    assert got["Sam R."].id == sam and got["Sam R."].pronouns == "they/them"
    assert got["Jo Park"].id == jo
    assert got["Rue Quinn"].id not in (sam, alex, jo)
    assert db.session.get(Partner, alex) is None


def test_editing_cannot_take_over_another_cases_partner(client_a, counselor_a, counselor_b):
    mine = new_case(counselor_a, "Mine", ("Sam Rivera",))
    theirs = new_case(counselor_b, "Theirs", ("B's Partner",))
    foreign = theirs.partners[0].id
    r = client_a.post(
        f"/cases/{mine.id}/edit",
        data={
            "label": "Mine",
            "partners-0-partner_id": str(mine.partners[0].id),
            "partners-0-display_name": "Sam Rivera",
            "partners-1-partner_id": str(foreign),
            "partners-1-display_name": "Hijacked",
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Partner, foreign).display_name == "B's Partner"
    assert db.session.get(Partner, foreign).case_id == theirs.id
    added = [p for p in the_case(r.location).partners if p.display_name == "Hijacked"]
    assert len(added) == 1 and added[0].id != foreign


def test_injected_fields_are_ignored(client_a, counselor_a, counselor_b):
    forced_id = uuid.uuid4()
    r = client_a.post(
        "/cases/new",
        data={
            "label": "Injected",
            **partners_form(["Sam"]),
            "counselor_id": str(counselor_b.id),
            "status": "archived",
            "id": str(forced_id),
        },
    )
    assert r.status_code == 302
    case = the_case(r.location)
    assert (case.counselor_id, case.status) == (counselor_a.id, "active") and case.id != forced_id
    other = new_case(counselor_a, "Other case", ("Kim",))
    r = client_a.post(
        f"/cases/{case.id}/sessions/new",
        data={
            "date": "2026-04-01",
            "time": "09:00",
            "duration_minutes": "50",
            "notes": "n",
            "case_id": str(other.id),
            "id": str(forced_id),
        },
    )
    assert r.status_code == 302
    session = db.session.scalar(select(CounselingSession))
    assert session.case_id == case.id and session.id != forced_id
    r = client_a.post(
        f"/cases/{case.id}/edit",
        data={
            "label": "Injected",
            **partners_form(["Sam"]),
            "counselor_id": str(counselor_b.id),
            "status": "archived",
        },
    )
    assert r.status_code == 302
    case = the_case(r.location)
    assert (case.counselor_id, case.status) == (counselor_a.id, "active")


# --- the caseload list ------------------------------------------------------------------------


def _session(case, day: date):
    from counselor.cases.services import save_session

    save_session(case, {"date": day, "time": time(10, 0), "duration_minutes": 50})
    db.session.commit()


def labels_in(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", m).strip()
        for m in re.findall(r'class="fw-semibold case-label">([^<]*)', html)
    ]


def test_search_over_label_and_partner_names_ignores_case(client_a, counselor_a, counselor_b):
    new_case(counselor_a, "Robin & Kim", ("Robin Ash", "Kim Birch"))
    new_case(counselor_a, "Sam & Alex", ("Sam Rivera", "Alex Novak"))
    new_case(counselor_a, "Maya (individual)", ("Maya Lindqvist",))
    new_case(counselor_b, "B's Novak case", ("Zed Novak",))

    def search(q, **kw):
        return labels_in(page(client_a.get("/cases", query_string={"q": q, **kw})))

    assert search("NOVAK") == ["Sam &amp; Alex"]
    assert search("robin") == ["Robin &amp; Kim"]
    assert search("lindQ") == ["Maya (individual)"]
    assert sorted(search("")) == ["Maya (individual)", "Robin &amp; Kim", "Sam &amp; Alex"]
    assert search("Zed") == []
    assert "No case matches" in page(client_a.get("/cases", query_string={"q": "Zed"}))


def test_status_filter_and_archive_unarchive(client_a, counselor_a):
    keep = new_case(counselor_a, "Active one", ("A1",))
    old = new_case(counselor_a, "Archived one", ("B1",))
    r = client_a.post(f"/cases/{old.id}/archive")
    assert r.status_code == 302
    assert "Archived" in page(client_a.get(f"/cases/{old.id}"))
    assert labels_in(page(client_a.get("/cases"))) == ["Active one"]
    assert [
        label.split(" Archived")[0]
        for label in labels_in(page(client_a.get("/cases?status=archived")))
    ] == ["Archived one"]
    assert len(labels_in(page(client_a.get("/cases?status=all")))) == 2
    assert len(labels_in(page(client_a.get("/cases?status=bogus")))) == 1  # unknown filter: active
    assert client_a.post(f"/cases/{old.id}/unarchive").status_code == 302
    db.session.expire_all()
    assert (
        db.session.get(Case, old.id).status == "active"
        and db.session.get(Case, keep.id).status == "active"
    )
    assert len(labels_in(page(client_a.get("/cases")))) == 2


def test_caseload_is_sorted_by_most_recent_session(client_a, counselor_a):
    early = new_case(counselor_a, "Early", ("E",))
    never = new_case(counselor_a, "Never", ("N",))
    late = new_case(counselor_a, "Late", ("L",))
    _session(early, date(2026, 1, 10))
    _session(late, date(2026, 3, 1))
    _session(early, date(2025, 12, 1))  # an older session does not move the case up
    assert labels_in(page(client_a.get("/cases"))) == ["Late", "Early", "Never"]
    _session(never, date(2026, 5, 5))
    assert labels_in(page(client_a.get("/cases"))) == ["Never", "Late", "Early"]
    assert "Last session 5 May 2026" in page(client_a.get("/cases"))


def test_caseload_calls_a_session_booked_ahead_booked_not_last(client_a, counselor_a):
    case = new_case(counselor_a, "Ahead", ("A",))
    _session(case, date.today() - timedelta(days=7))
    assert "Last session" in page(client_a.get("/cases"))
    ahead = date.today() + timedelta(days=10)
    _session(case, ahead)
    html = page(client_a.get("/cases"))
    assert f"Session booked for {ahead.day} {ahead:%b %Y}" in html
    assert "Last session" not in html


# --- deleting a case ----------------------------------------------------------------------


def test_delete_needs_the_exact_label_and_then_erases_every_row(client_a, counselor_a):
    case = new_case(counselor_a, "Sam & Alex", ("Sam Rivera", "Alex Novak"))
    _session(case, date(2026, 2, 2))
    _session(case, date(2026, 2, 9))
    other = new_case(counselor_a, "Other", ("Kim",))
    _session(other, date(2026, 2, 3))
    case_id = case.id
    assert "Sam &amp; Alex" in page(client_a.get(f"/cases/{case_id}/delete"))

    for typed in ("sam & alex", "Sam & Alex!", "Sam &amp; Alex"):
        r = client_a.post(f"/cases/{case_id}/delete", data={"confirm_label": typed})
        assert r.status_code == 400
        assert error_next_to(
            page(r), "confirm_label", "does not match this case; nothing was deleted"
        )
    assert count(Partner, Partner.case_id == case_id) == 2
    assert count(CounselingSession, CounselingSession.case_id == case_id) == 2

    r = client_a.post(f"/cases/{case_id}/delete", data={"confirm_label": "Sam & Alex"})
    assert r.status_code == 302
    assert count(Case, Case.id == case_id) == 0
    assert count(Partner, Partner.case_id == case_id) == 0
    assert count(CounselingSession, CounselingSession.case_id == case_id) == 0
    assert client_a.get(f"/cases/{case_id}").status_code == 404
    assert (count(Partner), count(CounselingSession)) == (1, 1), "the other case is untouched"


# --- counseling sessions -------------------------------------------------------------------


GOOD = {
    "date": "2026-04-01",
    "time": "09:30",
    "duration_minutes": "50",
    "agenda": "Pace",
    "notes": "Observed hesitation",
    "next_steps": "Inventory",
}


def test_session_create_edit_delete(client_a, counselor_a):
    case = new_case(counselor_a)
    r = client_a.post(f"/cases/{case.id}/sessions/new", data=GOOD)
    assert r.status_code == 302
    session_url = r.location
    html = page(client_a.get(session_url))
    assert "Observed hesitation" in html and "Pace" in html and "Wed 1 Apr 2026, 09:30" in html
    edit_form = page(client_a.get(session_url + "/edit"))
    assert "Observed hesitation" in edit_form and 'value="2026-04-01"' in edit_form

    r = client_a.post(
        session_url + "/edit", data={**GOOD, "notes": "Revised note", "time": "11:00"}
    )
    assert r.status_code == 302
    html = page(client_a.get(session_url))
    assert "Revised note" in html and "Observed hesitation" not in html and "11:00" in html
    assert count(CounselingSession) == 1

    r = client_a.post(session_url + "/delete")
    assert r.status_code == 302 and count(CounselingSession) == 0
    assert client_a.get(session_url).status_code == 404
    db.session.expire_all()
    assert db.session.get(Case, case.id).last_session_at is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("date", "2026-13-45", "Enter the date of the session."),
        ("date", "", "Enter the date of the session."),
        ("date", "0001-01-01", "Enter a date between 1900 and 2100."),
        ("date", "9999-12-31", "Enter a date between 1900 and 2100."),
        ("time", "25:99", "Enter the start time."),
        ("duration_minutes", "", "Enter the length in minutes."),
        ("duration_minutes", "0", "Between 5 and 600 minutes."),
        ("duration_minutes", "601", "Between 5 and 600 minutes."),
        ("duration_minutes", "fifty", "Not a valid integer value."),
        ("agenda", "x" * 50_001, "Field cannot be longer than 50000 characters."),
    ],
)
def test_bad_session_input_is_refused_next_to_the_field(
    client_a, counselor_a, field, value, message
):
    case = new_case(counselor_a)
    r = client_a.post(f"/cases/{case.id}/sessions/new", data={**GOOD, field: value})
    assert r.status_code == 400
    assert error_next_to(page(r), field, message), f"no {message!r} next to {field}"
    assert "nothing was saved" in page(r)
    assert count(CounselingSession) == 0

    _session(case, date(2026, 1, 1))
    session = db.session.scalar(select(CounselingSession))
    r = client_a.post(f"/cases/{case.id}/sessions/{session.id}/edit", data={**GOOD, field: value})
    assert r.status_code == 400 and error_next_to(page(r), field, message)
    db.session.expire_all()
    assert db.session.get(CounselingSession, session.id).notes is None


def test_extreme_dates_get_a_message_in_any_time_zone(make_app):
    """Year 1 in a zone east of UTC used to overflow while converting to UTC: a 500."""
    for zone in ("Europe/Berlin", "America/New_York"):
        app = make_app(COUNSELOR_TIMEZONE=zone)
        with app.app_context():
            account = make_account(f"{zone.split('/')[1].lower()}@example.org", zone)
            client = app.test_client()
            sign_in(client, account)
            case = new_case(account)
            for day in ("0001-01-01", "9999-12-31"):
                r = client.post(
                    f"/cases/{case.id}/sessions/new", data={**GOOD, "date": day, "time": "23:59"}
                )
                assert r.status_code == 400, (zone, day)
                assert error_next_to(page(r), "date", "Enter a date between 1900 and 2100.")
            assert count(CounselingSession) == 0


def test_nul_byte_in_case_fields_is_refused(client_a):
    # Refused once at the request boundary (core/web.py) with a page that says why.
    r = client_a.post("/cases/new", data={"label": "Bad\x00label", **partners_form(["Sam\x00"])})
    assert r.status_code == 400
    assert "invisible character that cannot be saved" in page(r)
    assert count(Case) == 0


def test_nul_byte_in_session_notes_is_refused(client_a, counselor_a):
    case = new_case(counselor_a)
    r = client_a.post(f"/cases/{case.id}/sessions/new", data={**GOOD, "notes": "before\x00after"})
    assert r.status_code == 400
    assert "invisible character that cannot be saved" in page(r)
    assert count(CounselingSession) == 0


def test_admin_sees_no_case(client_admin, counselor_a):
    case = new_case(counselor_a, "Private label", ("Secret Name",))
    for url in ("/cases", f"/cases/{case.id}", f"/cases/{case.id}/edit", "/cases/new"):
        r = client_admin.get(url)
        assert r.status_code == 403, url
        assert "Private label" not in page(r) and "Secret Name" not in page(r)
    assert "Private label" not in page(client_admin.get("/admin/counselors"))


# --- the demo account ------------------------------------------------------------------------


def _demo_login(output: str) -> tuple[str, str]:
    m = re.search(r"Demo login: (\S+) / (\S+)", output)
    assert m, output
    return m.group(1), m.group(2)


def test_flask_demo_creates_a_working_login_and_two_cases(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    email, password = _demo_login(result.output)
    client = app.test_client()
    r = client.post("/login", data={"email": email, "password": password}, follow_redirects=True)
    assert r.status_code == 200 and r.request.path == "/cases"
    # the couple has an open screening alert: it comes first
    assert labels_in(page(r)) == ["Sam &amp; Alex", "Maya (individual)"]
    assert count(Case) == 2 and count(CounselingSession) == 4

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "password unchanged" in again.output
    assert password not in again.output and count(Case) == 2
    assert client.post("/logout").status_code == 302
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302

    reset = runner.invoke(args=["demo", "--reset-password"])
    assert reset.exit_code == 0, reset.output
    _, fresh = _demo_login(reset.output)
    assert fresh != password
    assert client.get("/account/password").status_code == 302, "resetting ends the demo's sessions"
    other = app.test_client()
    assert other.post("/login", data={"email": email, "password": password}).status_code == 401
    assert other.post("/login", data={"email": email, "password": fresh}).status_code == 302


def test_flask_demo_refuses_to_reset_the_password_in_production(make_app):
    prod = make_app(PRODUCTION=True)
    with prod.app_context():
        runner = prod.test_cli_runner()
        created = runner.invoke(args=["demo"])
        _, password = _demo_login(created.output)
        refused = runner.invoke(args=["demo", "--reset-password"])
        assert refused.exit_code != 0
        assert "Refusing to reset the demo password in production." in refused.output
        assert "Demo login" not in refused.output
        client = prod.test_client()
        assert (
            client.post(
                "/login", data={"email": "demo@example.org", "password": password}
            ).status_code
            == 302
        )


# --- markup typed as text ----------------------------------------------------------------------

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&'


def test_markup_typed_into_cases_and_notes_renders_as_text(client_a):
    r = client_a.post(
        "/cases/new",
        data={"label": "L" + XSS, **partners_form(["N" + XSS]), "partners-0-pronouns": "<b>x</b>"},
    )
    assert r.status_code == 302, page(r)
    case_url = r.location
    r = client_a.post(
        case_url + "/sessions/new",
        data={**GOOD, "agenda": "A" + XSS, "notes": "O" + XSS, "next_steps": "S" + XSS},
    )
    assert r.status_code == 302
    session_url = r.location
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    for url in (
        "/cases",
        case_url,
        case_url + "/edit",
        case_url + "/delete",
        session_url,
        session_url + "/edit",
        "/cases?q=%3Cscript%3E",
    ):
        html = page(client_a.get(url))
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert escaped in html, url
        assert "<b>x</b>" not in html, url
    # Stored exactly as typed: the text round-trips.
    case = the_case(case_url)
    assert case.label == "L" + XSS and case.partners[0].display_name == "N" + XSS
    assert db.session.scalar(select(CounselingSession)).notes == "O" + XSS
