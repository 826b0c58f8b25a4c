"""A stopping answer (the intake's "Are you 18 or older?" answered No) closes the rest of the
questionnaire with a kind message, and alerts the counselor at once, before any submit."""

from __future__ import annotations

from sqlalchemy import select

from counselor.alerts.models import Alert
from counselor.extensions import db
from counselor.questionnaires.models import Response
from tests.support import INTAKE, assign, new_case, open_link, portal_csrf, revision_of, sync


def _alerts(case_id) -> list[Alert]:
    db.session.expire_all()
    return list(db.session.scalars(select(Alert).where(Alert.case_id == case_id)))


def test_answering_under_18_stops_the_portal_and_alerts_at_once(app, counselor_a, client_a):
    sync()
    case = new_case(counselor_a, names=("Sam Rivera",))
    assignment, tokens = assign(case, INTAKE)
    sam = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    assert "the questions stop here" not in sam.get("/p/s/2").lower()

    sam.autosave({"about.adult": False})
    sam.autosave({"about.adult": False, "about.pronouns": "she/her"})
    alerts = _alerts(case.id)
    assert [a.link_id for a in alerts] == ["about.adult"], "raised once, on save, not on submit"
    case_page = client_a.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Says they are under 18" in case_page

    for path in ("/p/s/2", "/p/s/5", "/p/review"):
        page = sam.get(path)
        assert "The questions stop here" in page and "This service is for adults" in page, path
    assert "This service is for adults" in sam.get("/p/")
    assert "The questions stop here" not in sam.get("/p/s/1")  # the answer can be changed

    page = sam.get("/p/s/1")
    r = sam.client.post(
        "/p/submit", data={"csrf_token": portal_csrf(page), "revision": revision_of(page)}
    )
    assert r.status_code == 409 and "This service is for adults" in r.get_data(as_text=True)
    db.session.expire_all()
    status = db.session.scalars(
        select(Response.status).where(Response.assignment_id == assignment.id)
    ).one()
    assert status == "draft"

    sam.autosave({"about.adult": True})
    assert "The questions stop here" not in sam.get("/p/s/2")
    assert len(_alerts(case.id)) == 1
