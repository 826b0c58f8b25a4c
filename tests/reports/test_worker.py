"""Exports through a real worker and a real broker: nothing lost, nothing made twice.

Embedded SQLite broker by default, Redis in CI (COUNSELOR_TEST_REDIS_URL).
"""

from __future__ import annotations

import io
import time
import uuid
from datetime import date
from datetime import time as clock
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, update

from counselor.core.audit import AuditEvent
from counselor.extensions import db
from counselor.reports.models import Export
from counselor.reports.services import RENDER_TASK
from tests.support import new_case, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def setup(make_app, celery_env, counselor_a):
    """An app publishing to the test broker, a case with a session, and A signed in."""
    app = make_app(CELERY_BROKER_URL=celery_env.broker)
    with app.app_context():
        from counselor.cases.services import save_session

        case = new_case(counselor_a, "Łukasz & Ольга", ("Łukasz Nowak", "Ольга Петрова"))
        session = save_session(
            case,
            {
                "date": date(2026, 11, 20),
                "time": clock(14, 0),
                "duration_minutes": 50,
                "agenda": "Pace and pause signal",
                "notes": "Worker test private note",
                "next_steps": "Try the aftercare plan",
            },
        )
        db.session.commit()
        client = app.test_client()
        sign_in(client, counselor_a)
        yield app, client, case.id, session.id


def _request(client, case_id, session_id, kind="clinical"):
    r = client.post(f"/cases/{case_id}/sessions/{session_id}/exports", data={"kind": kind})
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    export_id = uuid.UUID(r.headers["Location"].rstrip("/").split("/")[-1])
    return export_id, r


def _wait(client, case_id, export_id, want: str, timeout: float, harness) -> dict:
    deadline = time.monotonic() + timeout
    data = {}
    while time.monotonic() < deadline:
        data = client.get(f"/cases/{case_id}/exports/{export_id}/status.json").get_json()
        if data["status"] == want:
            return data
        time.sleep(0.3)
    pytest.fail(
        f"export stayed {data.get('status')} (wanted {want}) after {timeout}s\n{harness.logs()}"
    )


def _ready_events(export_id) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "export.ready", AuditEvent.object_id == str(export_id))
    )


def test_export_over_http_through_a_real_worker(setup, celery_env):
    app, client, case_id, session_id = setup
    celery_env.start("worker")
    export_id, _ = _request(client, case_id, session_id)
    page = client.get(f"/cases/{case_id}/exports/{export_id}").get_data(as_text=True)
    assert "Queued" in page and "Rendering" in page
    data = _wait(client, case_id, export_id, "ready", 60, celery_env)
    r = client.get(data["download_url"])
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert (
        "attachment" in r.headers["Content-Disposition"]
        and r.headers["Cache-Control"] == "no-store"
    )
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.data)).pages)
    assert "Łukasz & Ольга" in text and "Worker test private note" in text
    with app.app_context():
        assert _ready_events(export_id) == 1
    # What the worker logs holds no clinical text (canary: the session's private note).
    full_logs = celery_env.full_logs()
    assert "Worker test private note" not in full_logs and "Ольга" not in full_logs
    # Nor does the broker: messages carry export ids only (checked on Redis, CI's broker).
    assert b"Worker test private note" not in _broker_bytes(celery_env.broker)


def _broker_bytes(broker: str) -> bytes:
    """Everything a Redis broker holds (keys and values), or the embedded broker's file."""
    if broker.startswith("sqla+sqlite:///"):
        return Path(broker[len("sqla+sqlite:///") :]).read_bytes()
    import redis

    client = redis.Redis.from_url(broker)
    out = b""
    for key in client.scan_iter():
        out += key + (client.dump(key) or b"")
    return out


def test_worker_killed_mid_render_completes_exactly_once(setup, celery_env):
    app, client, case_id, session_id = setup
    slow = celery_env.start("worker", render_delay=30)
    export_id, _ = _request(client, case_id, session_id)
    _wait(client, case_id, export_id, "rendering", 30, celery_env)
    slow.kill()  # SIGKILL the worker and its pool child in the middle of the render
    celery_env.start("worker")
    celery_env.start("beat")
    _wait(client, case_id, export_id, "ready", 90, celery_env)
    with app.app_context():
        export = db.session.get(Export, export_id)
        assert export.attempts == 2 and export.pdf.startswith(b"%PDF")
        assert _ready_events(export_id) == 1
        assert db.session.scalar(select(func.count()).select_from(Export)) == 1


def test_broker_down_answers_with_a_queued_status_and_completes_when_back(
    make_app, setup, celery_env, counselor_a
):
    """The request succeeds and says the export waits; how fast it answers is measured by
    bench/broker_down.py, not asserted here."""
    app, _, case_id, session_id = setup
    # Nothing listens on port 1: a broker that is down, not a mock.
    down = make_app(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    with down.app_context():
        client = down.test_client()
        sign_in(client, counselor_a)
        export_id, r = _request(client, case_id, session_id)
        page = client.get(r.headers["Location"]).get_data(as_text=True)
        assert "cannot be reached right now" in page and "Queued" in page
        assert db.session.get(Export, export_id).published_at is None
    # The broker is back: beat republishes the queued export and a worker makes it.
    celery_env.start("worker")
    celery_env.start("beat")
    with app.app_context():
        c = app.test_client()
        sign_in(c, counselor_a)
        _wait(c, case_id, export_id, "ready", 60, celery_env)
        assert _ready_events(export_id) == 1


def test_a_task_delivered_twice_makes_one_pdf(setup, celery_env):
    app, client, case_id, session_id = setup
    export_id, _ = _request(client, case_id, session_id)
    with app.app_context():
        from counselor.reports import services

        assert services.publish(export_id) and services.publish(export_id)  # two more copies
    celery_env.start("worker")
    _wait(client, case_id, export_id, "ready", 60, celery_env)
    # all three deliveries ran: one made the PDF, the two copies found it claimed
    celery_env.wait_for_log(f"{RENDER_TASK}[", 3 * 2, 60)  # "Received" and "succeeded" each
    log = celery_env.full_logs()
    assert log.count("succeeded in") == 3, celery_env.logs()
    assert log.count(": 'ready'") == 1 and log.count(": 'skipped'") == 2, celery_env.logs()
    with app.app_context():
        assert _ready_events(export_id) == 1
        assert db.session.get(Export, export_id).attempts == 1


def test_poison_export_fails_with_a_sentence_after_bounded_tries(setup, celery_env):
    app, client, case_id, session_id = setup
    with app.app_context():
        from counselor.cases.models import CounselingSession

        # Notes that no key can open: every render of this session fails.
        db.session.execute(
            update(CounselingSession)
            .where(CounselingSession.id == session_id)
            .values(notes_sealed=b"\x01garbage-not-a-ciphertext")
        )
        db.session.commit()
    celery_env.start("worker")
    export_id, _ = _request(client, case_id, session_id)
    data = _wait(client, case_id, export_id, "failed", 60, celery_env)
    assert "could not be made after 2 tries" in data["text"]
    page = client.get(f"/cases/{case_id}/exports/{export_id}").get_data(as_text=True)
    assert "Try again" in page
    with app.app_context():
        assert db.session.get(Export, export_id).attempts == 2


def test_missing_fonts_fail_at_once_with_the_reason(setup, celery_env, tmp_path):
    """No retry can bring fonts back: the counselor reads why, after one try."""
    app, client, case_id, session_id = setup
    celery_env.start("worker", COUNSELOR_PDF_FONT_DIR=tmp_path / "no-fonts-here")
    export_id, _ = _request(client, case_id, session_id)
    data = _wait(client, case_id, export_id, "failed", 60, celery_env)
    assert "COUNSELOR_PDF_FONT_DIR" in data["text"] and "fonts-dejavu-core" in data["text"]
    with app.app_context():
        assert db.session.get(Export, export_id).attempts == 1
