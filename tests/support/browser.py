"""Browser tests (Playwright driving Debian's Chromium): the phone's viewport, signing in."""

from __future__ import annotations

import re

#: a phone's viewport for ``new_context(server, **PHONE)``
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}


def sign_in_page(page, account) -> None:
    """Sign in through the login page as a counselor would."""
    from playwright.sync_api import expect

    page.goto("/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/cases$"))
