"""The first things a counselor does: sign in, open a case, record a session."""

from tests.support import new_case


def test_counselor_creates_case_and_session(client_a, counselor_a):
    r = client_a.post(
        "/cases/new",
        data={
            "label": "Robin & Kim",
            "partners-0-display_name": "Robin",
            "partners-0-pronouns": "she/her",
            "partners-1-display_name": "Kim",
        },
    )
    assert r.status_code == 302
    case_url = r.headers["Location"]
    page = client_a.get(case_url).get_data(as_text=True)
    assert "Robin &amp; Kim" in page and "Kim" in page and "she/her" in page

    r = client_a.post(
        case_url + "/sessions/new",
        data={
            "date": "2026-11-20",
            "time": "14:00",
            "duration_minutes": "50",
            "agenda": "Talk about pace",
            "notes": "Private observation",
            "next_steps": "Intake",
        },
    )
    assert r.status_code == 302
    session_page = client_a.get(r.headers["Location"]).get_data(as_text=True)
    assert "Private observation" in session_page and "Talk about pace" in session_page
    caseload = client_a.get("/cases").get_data(as_text=True)
    assert "Robin &amp; Kim" in caseload and "Last session 20 Nov 2026" in caseload


def test_other_counselor_gets_404(client_b, counselor_a):
    case = new_case(counselor_a)
    assert client_b.get(f"/cases/{case.id}").status_code == 404


def test_celery_settings_live_in_app_config_and_a_given_key_wins(make_app):
    """Flask's Celery pattern: app.config["CELERY"] is what the Celery app is configured from."""
    app = make_app(CELERY_BROKER_URL="redis://127.0.0.1:1/3", CELERY={"task_always_eager": True})
    celery = app.extensions["celery"]
    assert app.config["CELERY"]["broker_url"] == celery.conf.broker_url == "redis://127.0.0.1:1/3"
    assert celery.conf.task_always_eager is True  # given in CELERY
    assert celery.conf.task_acks_late is True  # computed default kept
