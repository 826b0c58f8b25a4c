"""The export status page in a real browser, with a real Celery worker and broker."""

from __future__ import annotations

import re
from datetime import date
from datetime import time as clock

import pytest
from playwright.sync_api import expect

from counselor.extensions import db
from tests.support import new_case
from tests.support.browser import sign_in_page

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_export_page_moves_to_ready_without_reload(
    app, serve, celery_env, new_context, counselor_a
):
    from counselor.cases.services import save_session

    live = serve(CELERY_BROKER_URL=celery_env.broker)
    case = new_case(counselor_a)
    save_session(
        case,
        {
            "date": date(2026, 11, 20),
            "time": clock(14, 0),
            "duration_minutes": 50,
            "agenda": "Pace and pause signal",
            "notes": "Browser export note",
            "next_steps": "Try the aftercare plan",
        },
    )
    db.session.commit()

    context, rec = new_context(live, accept_downloads=True)
    page = context.new_page()
    sign_in_page(page, counselor_a)
    page.get_by_role("link", name="Sam & Alex").click()
    page.get_by_role("link", name=re.compile("Fri 20 Nov 2026")).click()
    page.get_by_role("button", name="Export PDF").click()
    expect(page).to_have_url(re.compile(r"/exports/[0-9a-f-]+$"))

    card = page.locator("#export-status")
    download = page.get_by_role("link", name="Download PDF")
    expect(card).to_have_attribute("data-status", "queued")
    expect(page.locator(".export-step.current")).to_have_text("Queued")
    expect(download).to_be_hidden()
    expect(page.get_by_text("background worker cannot be reached")).to_have_count(0)

    navigations = []
    page.on("framenavigated", lambda f: navigations.append(f.url) if f == page.main_frame else None)
    page.evaluate("window.__sameDocument = true")
    celery_env.start("worker")

    try:
        expect(download).to_be_visible(timeout=60_000)
    except AssertionError:
        pytest.fail(f"the page never showed the download button\n{celery_env.logs()}")
    expect(card).to_have_attribute("data-status", "ready")
    expect(page.locator(".export-step.current")).to_have_text("Ready")
    expect(page.locator("#export-text")).to_have_text("Ready to download.")
    expect(page.get_by_role("link", name="Refresh")).to_be_hidden()
    assert page.evaluate("window.__sameDocument") is True and navigations == []

    with page.expect_download() as got:
        download.click()
    pdf = got.value
    assert pdf.suggested_filename.endswith(".pdf")
    with open(pdf.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    assert not rec.errors and rec.csp_messages() == []


def test_export_page_polls_soon_after_the_click_then_backs_off(
    app, serve, celery_env, new_context, counselor_a
):
    from counselor.cases.services import save_session

    live = serve(CELERY_BROKER_URL=celery_env.broker)  # no worker: the export stays queued
    case = new_case(counselor_a)
    save_session(case, {"date": date(2026, 11, 20), "time": clock(14, 0), "duration_minutes": 50})
    db.session.commit()

    context, rec = new_context(live)
    # Record every timer the page sets: its pause and when it was set (ms since navigation).
    context.add_init_script(
        "window.__pauses = []; var __st = window.setTimeout;"
        "window.setTimeout = function (f, ms) {"
        "  window.__pauses.push([ms, performance.now()]); return __st(f, ms); };"
    )
    page = context.new_page()
    sign_in_page(page, counselor_a)
    page.get_by_role("link", name="Sam & Alex").click()
    page.get_by_role("link", name=re.compile("Fri 20 Nov 2026")).click()
    page.get_by_role("button", name="Export PDF").click()
    expect(page).to_have_url(re.compile(r"/exports/[0-9a-f-]+$"))
    status_url = page.locator("#export-status").get_attribute("data-status-url")
    for _ in range(8):  # each poll asks the status endpoint once
        with page.expect_response(lambda r: r.url.endswith(status_url)):
            pass
    polls = [(ms, at) for ms, at in page.evaluate("window.__pauses") if ms >= 150][:8]
    pauses = [ms for ms, _ in polls]
    # the pause grows with the wait and is never more than a quarter of it (or 150 ms, the
    # first pauses): a user sees "ready" at most a quarter of their wait after it happened
    assert all(ms <= max(150, at / 4) + 1 for ms, at in polls), polls
    assert pauses == sorted(pauses) and pauses[-1] > 150, polls
    assert not rec.errors and rec.csp_messages() == []
