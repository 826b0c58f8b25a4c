"""What an autosave answers on a phone that a counselor also signed in on: the answer the
page's script reads, the security headers of every answer, and nothing of the counselor's
session (the portal neither reads nor writes the counselor's cookie)."""

from __future__ import annotations

from tests.support import assign, autosave, new_case, open_link, section, sync
from tests.support.accounts import sign_in
from tests.test_errors import NOT_A_PAGE_CSP


def test_an_autosave_on_a_shared_phone_answers_with_its_headers_and_leaves_the_counselor_be(
    app, counselor_a
):
    sync()
    case = new_case(counselor_a)
    _, tokens = assign(case, "intake")
    phone = app.test_client()
    sign_in(phone, counselor_a)  # the counselor signed in on this phone before handing it over
    counselor_cookie = phone.get_cookie("counselor_session", domain="counselor.test")
    assert counselor_cookie is not None
    browser = open_link(phone, tokens["Sam Rivera"], name="Sam")
    _, csrf, revision = section(browser.client, 1)

    r = autosave(browser.client, csrf, revision, {"goals.main": "first words"})

    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "application/json"
    assert r.get_json()["revision"] == revision + 1 and r.get_json()["saved_at"]
    h = r.headers
    assert h["Content-Security-Policy"] == NOT_A_PAGE_CSP  # JSON: the strict one, no nonce
    assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
    assert h["Cache-Control"] == "no-store" and h["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in h  # neither the counselor's cookie nor the portal's rewritten
    assert (
        phone.get_cookie("counselor_session", domain="counselor.test").value
        == counselor_cookie.value
    )
    # the counselor is still signed in on the phone, as before the partner saved
    assert phone.get("/cases").status_code == 200

    # the portal's own token is still checked: a save without it is refused, nothing saved
    r = autosave(browser.client, "not-the-token", revision + 1, {"goals.main": "forged"})
    assert r.status_code == 400
    r = autosave(browser.client, csrf, revision + 1, {"goals.main": "second words"})
    assert r.status_code == 200 and r.get_json()["revision"] == revision + 2
