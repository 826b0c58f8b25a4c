"""Counselor pages in a real browser: stored XSS stays inert, nothing is loaded from elsewhere."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.browser.test_portal import PHONE_DOC, choose, item, open_section_one
from tests.support import assign, load_own, new_case
from tests.support.browser import PHONE, sign_in_page

PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    '"><svg onload=window.__xss=1>',
]
TYPED = "\n".join(PAYLOADS)


def assert_inert(page, rec, where: str) -> None:
    """No payload ran or became markup; each is shown as the text that was typed."""
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.__xss") == "undefined", where
    # A payload that became markup is blocked by the CSP, and the browser reports it.
    assert page.evaluate("window.__cspViolations") == [], where
    assert rec.csp_messages() == [], f"{where}: {rec.csp_messages()}"
    assert not rec.errors, f"{where}: {rec.errors}"
    assert [t for kind, t in rec.console if kind == "error"] == [], where
    main = page.locator("main")
    assert main.locator("script, svg[onload], img[onerror]").count() == 0, where
    text = main.inner_text()
    for payload in PAYLOADS:
        assert payload in text, f"{where}: {payload!r} is not shown literally"


def test_stored_xss_in_answers_and_notes_renders_inert(app, live_server, new_context, counselor_a):
    case = new_case(counselor_a)
    _, tokens = assign(case, load_own(counselor_a, PHONE_DOC))

    # The partner types the payloads as a text answer and a note; autosave stores them.
    partner, partner_rec = new_context(live_server, **PHONE)
    page = open_section_one(partner, tokens["Sam Rivera"])
    choose(page, "talk.fantasies", "Yes", tap=True)
    page.get_by_label("In your own words: what would you like more of?").fill(TYPED)
    note_toggle = item(page, "talk.fantasies").get_by_text("More about this")
    note_toggle.tap()
    expected = json.dumps(TYPED, ensure_ascii=False)[1:-1]
    with page.expect_response(
        lambda r: r.url.endswith("/p/autosave") and (r.request.post_data or "").count(expected) == 2
    ) as saved:
        item(page, "talk.fantasies").locator("textarea").fill(TYPED)
    assert saved.value.status == 200
    expect(page.locator("#autosave-status")).to_contain_text("Saved")
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert partner_rec.csp_messages() == []
    partner.close()

    # The counselor writes them into a session's private notes and agenda.
    counselor, rec = new_context(live_server)
    page = counselor.new_page()
    sign_in_page(page, counselor_a)
    page.get_by_role("link", name="Sam & Alex").click()
    page.get_by_role("link", name="Record a session").first.click()
    page.get_by_label("Agenda").fill(TYPED)
    page.get_by_label("Private notes").fill(TYPED)
    page.get_by_role("button", name="Save session").click()
    expect(page.get_by_text("Session saved.")).to_be_visible()
    assert_inert(page, rec, "session page")

    page.get_by_role("link", name="Sam & Alex").click()
    page.get_by_role("link", name=re.compile("Talking together")).click()
    expect(page).to_have_url(re.compile(r"/assignments/[0-9a-f-]+$"))
    assert_inert(page, rec, "assignment page")

    page.get_by_role("link", name="Compare and release").click()
    expect(page).to_have_url(re.compile(r"/compare$"))
    assert_inert(page, rec, "comparison page")


def test_no_request_leaves_the_server(app, live_server, new_context, counselor_a):
    case = new_case(counselor_a)
    _, tokens = assign(case, load_own(counselor_a, PHONE_DOC))
    origin = live_server.url + "/"

    counselor, rec = new_context(live_server)
    page = counselor.new_page()
    page.goto("/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    sign_in_page(page, counselor_a)  # the caseload
    expect(page.get_by_role("link", name="Sam & Alex")).to_be_visible()
    page.get_by_role("link", name="Sam & Alex").click()
    expect(page.get_by_role("link", name="Record a session")).to_be_visible()
    page.wait_for_load_state("networkidle")

    partner, partner_rec = new_context(live_server, **PHONE)
    page = open_section_one(partner, tokens["Alex Novak"])
    choose(page, "talk.fantasies", "Maybe", tap=True)
    expect(page.locator("#autosave-status")).to_contain_text("Saved")
    page.goto("/p/review")
    page.get_by_role("button", name="Send to my counselor").tap()
    expect(page).to_have_url(re.compile(r"/p/\?submitted=1$"))
    page.wait_for_load_state("networkidle")

    urls = rec.urls + partner_rec.urls
    paths = {url[len(origin) - 1 :].split("?")[0] for url in urls if url.startswith(origin)}
    # the pages themselves were seen, with their scripts and styles
    for path in (
        "/login",
        "/cases",
        f"/cases/{case.id}",
        "/p/",
        "/p/s/1",
        "/p/autosave",
        "/p/review",
        "/p/submit",
        "/static/js/portal.js",
        "/static/js/counselor.js",
    ):
        assert path in paths, f"{path} was not requested: {sorted(paths)}"
    elsewhere = [url for url in urls if not url.startswith(origin)]
    assert elsewhere == [], elsewhere
