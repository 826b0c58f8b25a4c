"""Counselor sign-in: sessions, timeouts, throttling, CSRF, cookies, accounts from the CLI."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update

from counselor.auth.models import Counselor, LoginSession
from counselor.core.audit import AuditEvent
from counselor.core.models import utcnow
from counselor.extensions import db
from tests.support import PASSWORD, csrf_token_from, make_account, new_case, sign_in
from tests.sweep import (
    UnknownArgument,
    build_url,
    make_objects,
    methods_of,
    snapshot,
    sweep_rules,
    variants,
)

COOKIE = "counselor_session"
BAD_LOGIN = "That email and password do not match an active account."
THROTTLED = "Too many attempts in a short time."
CSRF_MESSAGE = "This form was open too long or came from another page, so it was not saved."


def signed_in(client) -> bool:
    """Whether this browser is signed in (a page behind login answers 200)."""
    r = client.get("/account/password")
    assert r.status_code in (200, 302)
    return r.status_code == 200


def cookie_value(client) -> str | None:
    c = client.get_cookie(COOKIE, domain="counselor.test")
    return c.value if c else None


def browser_with_cookie(app, value: str):
    """A new browser that presents a copied session cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, value, domain="counselor.test")
    return other


def attempt(client, email, password, addr="127.0.0.1"):
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": addr}
    )


def login_sessions(account) -> list[LoginSession]:
    db.session.expire_all()
    return db.session.scalars(
        select(LoginSession).where(LoginSession.counselor_id == account.id)
    ).all()


# --- signing in and out ------------------------------------------------------------------


def test_counselor_signs_in_and_lands_on_the_caseload(app, counselor_a):
    client = app.test_client()
    page = client.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)
    r = client.post(
        "/login", data={"email": counselor_a.email, "password": PASSWORD}, follow_redirects=True
    )
    assert r.status_code == 200 and r.request.path == "/cases"
    assert "Counselor A" in r.get_data(as_text=True)
    assert db.session.get(Counselor, counselor_a.id).last_login_at is not None


def test_admin_signs_in_and_lands_on_the_account_list(app, admin):
    r = app.test_client().post(
        "/login", data={"email": admin.email, "password": PASSWORD}, follow_redirects=True
    )
    assert r.status_code == 200 and r.request.path == "/admin/counselors"


def test_email_is_case_insensitive_at_login(app, counselor_a):
    client = app.test_client()
    r = client.post("/login", data={"email": "  A@EXAMPLE.ORG ", "password": PASSWORD})
    assert r.status_code == 302 and signed_in(client)


def test_wrong_password_is_refused_with_a_message_and_audited(app, counselor_a):
    client = app.test_client()
    wrong = client.post("/login", data={"email": counselor_a.email, "password": "not the password"})
    unknown = client.post(
        "/login", data={"email": "nobody@example.org", "password": "whatever pass"}
    )
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert BAD_LOGIN in r.get_data(as_text=True)
        assert "not the password" not in r.get_data(as_text=True)
    assert not signed_in(client)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
    ).all()
    assert [(e.actor_kind, e.actor_id) for e in events] == [("anonymous", ""), ("anonymous", "")]


def test_disabled_account_cannot_sign_in(app, counselor_a):
    db.session.execute(update(Counselor).where(Counselor.id == counselor_a.id).values(active=False))
    db.session.commit()
    r = app.test_client().post("/login", data={"email": counselor_a.email, "password": PASSWORD})
    assert r.status_code == 401 and BAD_LOGIN in r.get_data(as_text=True)


def test_session_identifier_changes_at_login(app, counselor_a):
    """Nothing from a cookie made before login (or planted by someone else) carries over,
    and the cookie made before login does not become a signed-in cookie."""
    client = app.test_client()
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    before = cookie_value(client)
    sign_in(client, counselor_a)
    after = cookie_value(client)
    assert before and after and before != after
    with client.session_transaction() as s:
        assert "planted" not in s
        token = s["_user_id"]
    assert token != str(counselor_a.id), "the cookie names a login session, not the account"
    stored = [ls.token_hash for ls in login_sessions(counselor_a)]
    assert stored == [hashlib.sha256(token.encode()).hexdigest()], "only a hash is stored"
    assert not signed_in(browser_with_cookie(app, before))

    second = app.test_client()
    sign_in(second, counselor_a)
    with second.session_transaction() as s:
        assert s["_user_id"] != token, "every login gets its own identifier"
    assert signed_in(client) and signed_in(second)


def test_logout_is_a_post_and_a_replayed_cookie_is_signed_out(app, client_a, counselor_a):
    assert client_a.get("/logout").status_code == 405
    assert signed_in(client_a)
    old = cookie_value(client_a)
    r = client_a.post("/logout")
    assert r.status_code == 302 and urlsplit(r.location).path == "/login"
    assert not signed_in(client_a)
    assert not signed_in(browser_with_cookie(app, old))
    assert all(ls.ended_at is not None for ls in login_sessions(counselor_a))


# --- timeouts ------------------------------------------------------------------------------


def _age_sessions(account, **ago: timedelta) -> None:
    now = utcnow()
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.counselor_id == account.id)
        .values({column: now - delta for column, delta in ago.items()})
    )
    db.session.commit()


def test_idle_timeout_signs_out(app, client_a, counselor_a):
    idle = app.config["COUNSELOR_IDLE_TIMEOUT"]
    _age_sessions(counselor_a, last_seen_at=idle - timedelta(minutes=1))
    assert signed_in(client_a), "still inside the idle limit"
    _age_sessions(counselor_a, last_seen_at=idle + timedelta(minutes=1))
    assert not signed_in(client_a)
    _age_sessions(counselor_a, last_seen_at=timedelta(0))
    assert not signed_in(client_a), "an expired login session stays ended"


def test_absolute_timeout_signs_out_even_when_active(app, client_a, counselor_a):
    absolute = app.config["COUNSELOR_ABSOLUTE_TIMEOUT"]
    _age_sessions(
        counselor_a, created_at=absolute - timedelta(minutes=1), last_seen_at=timedelta(0)
    )
    assert signed_in(client_a), "still inside the absolute limit"
    _age_sessions(
        counselor_a, created_at=absolute + timedelta(minutes=1), last_seen_at=timedelta(0)
    )
    assert not signed_in(client_a)


# --- password change and disabling ------------------------------------------------------


NEW_PASSWORD = "a brand new passphrase"  # noqa: S105


def test_password_change_ends_other_sessions_but_keeps_this_one(app, counselor_a):
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, counselor_a)
    sign_in(elsewhere, counselor_a)
    r = here.post(
        "/account/password",
        data={"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert r.status_code == 302
    assert signed_in(here)
    assert not signed_in(elsewhere)
    assert attempt(app.test_client(), counselor_a.email, PASSWORD).status_code == 401
    assert attempt(app.test_client(), counselor_a.email, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "form, message",
    [
        (
            {"current": "wrong current pw", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            "The current password is not right.",
        ),
        (
            {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"},
            "The two new passwords differ.",
        ),
        ({"current": PASSWORD, "new": "short", "confirm": "short"}, "at least 12 characters"),
    ],
)
def test_password_change_refusals_change_nothing(app, client_a, counselor_a, form, message):
    elsewhere = app.test_client()
    sign_in(elsewhere, counselor_a)
    before = db.session.get(Counselor, counselor_a.id).password_hash
    r = client_a.post("/account/password", data=form)
    assert r.status_code == 400
    assert message.lower() in r.get_data(as_text=True).lower()
    db.session.expire_all()
    assert db.session.get(Counselor, counselor_a.id).password_hash == before
    assert signed_in(elsewhere)


def test_admin_disabling_a_counselor_ends_their_session_at_the_next_request(
    app, client_a, client_admin, counselor_a
):
    assert signed_in(client_a)
    r = client_admin.post(f"/admin/counselors/{counselor_a.id}/disable")
    assert r.status_code == 302
    assert not signed_in(client_a)
    assert attempt(app.test_client(), counselor_a.email, PASSWORD).status_code == 401
    # Enabling again lets them sign in anew; the old session stays ended.
    assert client_admin.post(f"/admin/counselors/{counselor_a.id}/enable").status_code == 302
    assert not signed_in(client_a)
    assert attempt(app.test_client(), counselor_a.email, PASSWORD).status_code == 302


def test_admin_cannot_disable_themselves(app, client_admin, admin):
    r = client_admin.post(f"/admin/counselors/{admin.id}/disable", follow_redirects=True)
    assert "You cannot disable your own account." in r.get_data(as_text=True)
    assert signed_in(client_admin)


def test_cli_disable_ends_sessions_at_the_next_request(app, runner, client_a, counselor_a):
    result = runner.invoke(args=["counselors", "disable", "A@Example.ORG"])
    assert result.exit_code == 0, result.output
    assert not signed_in(client_a)
    missing = runner.invoke(args=["counselors", "disable", "nobody@example.org"])
    assert missing.exit_code != 0 and "No account with email nobody@example.org" in missing.output


# --- throttling ------------------------------------------------------------------------------


def test_failed_logins_are_throttled_per_account_across_addresses(app, counselor_a, counselor_b):
    client = app.test_client()
    for n, email in enumerate(
        ["a@example.org", "A@example.org", "a@EXAMPLE.org", "a@example.org", "A@EXAMPLE.ORG"]
    ):
        assert attempt(client, email, "wrong password", f"10.1.0.{n}").status_code == 401
    blocked = attempt(client, counselor_a.email, PASSWORD, "10.1.0.99")
    assert blocked.status_code == 429, "the 6th attempt is refused, even with the right password"
    assert THROTTLED in blocked.get_data(as_text=True)
    assert not signed_in(client)
    # Another account from the same addresses is not affected.
    assert attempt(client, counselor_b.email, PASSWORD, "10.1.0.1").status_code == 302


def test_failed_logins_are_throttled_per_address(app, counselor_b):
    client = app.test_client()
    limit = int(app.config["COUNSELOR_LOGIN_LIMIT_ADDRESS"].split()[0])
    for n in range(limit):
        assert (
            attempt(client, f"probe{n}@example.org", "wrong password", "10.2.0.1").status_code
            == 401
        )
    blocked = attempt(client, counselor_b.email, PASSWORD, "10.2.0.1")
    assert blocked.status_code == 429 and THROTTLED in blocked.get_data(as_text=True)
    assert attempt(client, counselor_b.email, PASSWORD, "10.2.0.2").status_code == 302


def test_a_successful_login_does_not_count_as_a_failure(app, counselor_a):
    client = app.test_client()
    for _ in range(4):
        assert attempt(client, counselor_a.email, "wrong password").status_code == 401
    assert attempt(client, counselor_a.email, PASSWORD).status_code == 302
    # (another browser: this one is now a known device with a limit of its own)
    stranger = app.test_client()
    assert attempt(stranger, counselor_a.email, "wrong password").status_code == 401, (
        "only 5 failures so far"
    )
    assert attempt(stranger, counselor_a.email, "wrong password").status_code == 429


DEVICE = "counselor_device"


def test_a_stranger_cannot_lock_the_owner_out_of_a_known_browser(app, counselor_a, counselor_b):
    """OWASP's device cookie: the owner's browser keeps signing in while strangers fail."""
    owner = app.test_client()
    first = attempt(owner, counselor_a.email, PASSWORD, "10.3.0.1")
    assert first.status_code == 302
    cookie = next(h for h in first.headers.getlist("Set-Cookie") if h.startswith(DEVICE + "="))
    attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "max-age", "path"} <= attrs
    owner.post("/logout")

    stranger = app.test_client()
    for n in range(5):
        assert attempt(stranger, counselor_a.email, "wrong", f"10.4.0.{n}").status_code == 401
    # the account is locked for every browser that never signed in to it...
    new_browser = app.test_client()
    assert attempt(new_browser, counselor_a.email, PASSWORD, "10.5.0.1").status_code == 429
    assert not signed_in(new_browser)
    # ...and for a browser whose device cookie belongs to another account
    b_browser = app.test_client()
    assert attempt(b_browser, counselor_b.email, PASSWORD, "10.6.0.1").status_code == 302
    b_browser.post("/logout")
    assert attempt(b_browser, counselor_a.email, PASSWORD, "10.6.0.1").status_code == 429
    # a forged device cookie does not pass either
    forged = app.test_client()
    forged.set_cookie(DEVICE, "eyJhIjoiMSIsImQiOiIyIn0.forged.sig", domain="counselor.test")
    assert attempt(forged, counselor_a.email, PASSWORD, "10.7.0.1").status_code == 429
    # the owner's known browser passes the account limit with the right password
    assert attempt(owner, counselor_a.email, PASSWORD, "10.3.0.1").status_code == 302
    assert signed_in(owner)


def test_a_known_browser_is_still_limited_per_address_and_on_its_own(app, counselor_a):
    owner = app.test_client()
    assert attempt(owner, counselor_a.email, PASSWORD, "10.8.0.1").status_code == 302
    owner.post("/logout")
    for n in range(5):
        assert attempt(owner, counselor_a.email, "wrong", f"10.8.1.{n}").status_code == 401
    # five failures from the known browser lock that browser, whatever its address
    assert attempt(owner, counselor_a.email, PASSWORD, "10.8.2.1").status_code == 429


# --- CSRF --------------------------------------------------------------------------------


def csrf_login(client, account) -> None:
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    r = client.post(
        "/login", data={"email": account.email, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:300]


#: routes exempt from Flask-WTF's CSRF check, each with the test that proves its own check.
#: The partner portal is exempt as a whole: Flask-WTF's token lives in the counselor's session
#: cookie, which portal pages never read or write; the portal checks its own token, bound to
#: the portal session (missing, empty, forged, another partner's or truncated: 400).
_PORTAL_CSRF_TEST = (
    "tests/questionnaires/test_portal.py::test_portal_posts_need_the_portal_csrf_token"
)
_AGREEMENT_CSRF_TEST = (
    "tests/agreements/test_agreements.py::test_partner_posts_need_the_portal_csrf_token"
)
_STEPS_CSRF_TEST = "tests/steps/test_steps.py::test_partner_posts_need_the_portal_csrf_token"
CSRF_CHECKED_ELSEWHERE: dict[str, str] = {
    "agreements.portal_answer": _AGREEMENT_CSRF_TEST,
    "agreements.portal_pause": _AGREEMENT_CSRF_TEST,
    "agreements.portal_pause_note": _AGREEMENT_CSRF_TEST,
    "agreements.portal_lift": _AGREEMENT_CSRF_TEST,
    "agreements.portal_pdf": _AGREEMENT_CSRF_TEST,
    "steps.portal_mark": _STEPS_CSRF_TEST,
    "steps.portal_share": _STEPS_CSRF_TEST,
    "steps.portal_propose": _STEPS_CSRF_TEST,
    "consent.portal_consent": (
        "tests/consent/test_consent.py::test_the_consent_form_needs_the_portal_csrf_token"
    ),
    "portal.section": _PORTAL_CSRF_TEST,
    "portal.autosave": _PORTAL_CSRF_TEST,
    "portal.submit": _PORTAL_CSRF_TEST,
    "portal.reopen": _PORTAL_CSRF_TEST,
    "portal.leave": _PORTAL_CSRF_TEST,
    "portal.pin": "tests/portal/test_safety.py::test_pin_posts_need_the_portal_csrf_token",
    "portal.pin_set": "tests/portal/test_safety.py::test_pin_posts_need_the_portal_csrf_token",
    "portal.quick_exit": (
        "tests/portal/test_safety.py::test_quick_exit_without_the_token_leaves_but_ends_nothing"
    ),
    "portal.landing": (
        "tests/questionnaires/test_link_sessions.py::"
        "test_the_landing_button_needs_its_csrf_token_and_a_same_site_page"
    ),
    # the home and sign-in landings are the same landing (portal.routes._landing)
    "portal.home_landing": (
        "tests/portal/test_home.py::test_the_home_and_sign_in_buttons_need_their_csrf_token"
    ),
    "portal.sign_in": (
        "tests/portal/test_home.py::test_the_home_and_sign_in_buttons_need_their_csrf_token"
    ),
    # the signed token in the URL is the credential; a forged one changes nothing
    "mail.opt_out": (
        "tests/mail/test_partner_mail.py::"
        "test_the_opt_out_link_is_honoured_at_once_and_the_counselor_sees_it"
    ),
}


def _names_a_test(node_id: str) -> bool:
    """Whether ``path::function`` names a test function that exists."""
    import importlib

    path, _, name = node_id.partition("::")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return name.startswith("test_") and callable(getattr(module, name, None))


def csrf_exempt(app, rule) -> bool:
    """Whether Flask-WTF skips the CSRF check for this rule (view or blueprint exempted)."""
    from counselor.extensions import csrf

    if app.blueprints.get(rule.endpoint.rpartition(".")[0]) in csrf._exempt_blueprints:
        return True
    view = app.view_functions[rule.endpoint]
    return f"{view.__module__}.{view.__name__}" in csrf._exempt_views


def test_every_state_changing_route_requires_the_csrf_token(make_app):
    """Every POST rule (classified in the sweep's POLICY; unclassified ones fail there) refuses
    a request without a valid token with a 400 and a friendly message, and changes nothing."""
    from tests.access_policy import POLICY

    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        a = make_account("a@example.org", "Counselor A")
        b = make_account("b@example.org", "Counselor B")
        adm = make_account("admin@example.org", "Practice Admin", admin=True)
        anonymous, client_a, client_admin = app.test_client(), app.test_client(), app.test_client()
        r = anonymous.post("/login", data={"email": a.email, "password": PASSWORD})
        assert r.status_code == 400 and CSRF_MESSAGE in r.get_data(as_text=True)
        csrf_login(client_a, a)
        csrf_login(client_admin, adm)

        posts = [
            rule
            for rule in sweep_rules(app)
            if "POST" in methods_of(rule) and rule.endpoint in POLICY
        ]
        swept = {rule.endpoint for rule in posts}
        assert {"cases.archive", "questionnaires.lock", "reveal.release", "reports.delete"} <= swept
        assert set(CSRF_CHECKED_ELSEWHERE) <= swept, "CSRF_CHECKED_ELSEWHERE names no route"
        objects = make_objects(a, b)
        before = snapshot(objects)
        failures = []
        for rule in posts:
            if csrf_exempt(app, rule):
                if rule.endpoint not in CSRF_CHECKED_ELSEWHERE:
                    failures.append(
                        f"{rule.endpoint} is exempt from the CSRF check: add it to "
                        "CSRF_CHECKED_ELSEWHERE in tests/test_auth.py, naming the test that "
                        "proves its own check."
                    )
                elif not _names_a_test(CSRF_CHECKED_ELSEWHERE[rule.endpoint]):
                    failures.append(
                        f"{rule.endpoint}: CSRF_CHECKED_ELSEWHERE names no existing test "
                        f"({CSRF_CHECKED_ELSEWHERE[rule.endpoint]})."
                    )
                continue
            if rule.endpoint in CSRF_CHECKED_ELSEWHERE:
                failures.append(
                    f"{rule.endpoint} is in CSRF_CHECKED_ELSEWHERE but Flask-WTF checks it: "
                    "remove it there."
                )
            try:
                url = build_url(rule, variants(rule, objects)["own"])
            except UnknownArgument as exc:
                failures.append(str(exc))
                continue
            for who, client in (
                ("anonymous", anonymous),
                ("counselor A", client_a),
                ("admin", client_admin),
            ):
                for data in ({}, {"csrf_token": "forged"}):
                    r = client.post(url, data=data)
                    if r.status_code != 400 or CSRF_MESSAGE not in r.get_data(as_text=True):
                        failures.append(f"{who} POST {url} {data}: {r.status_code}")
        assert not failures, "CSRF problems:\n" + "\n".join(failures)
        assert snapshot(objects) == before
        assert signed_in(client_a) and signed_in(client_admin), "logout without a token did nothing"

        # With the page's token the same request works: the refusals above were about the token.
        page = client_a.get(f"/cases/{objects['case_id']}").get_data(as_text=True)
        r = client_a.post(
            f"/cases/{objects['case_id']}/archive", data={"csrf_token": csrf_token_from(page)}
        )
        assert r.status_code == 302
        assert snapshot(objects)[0][1] == "archived"


# --- cookies -------------------------------------------------------------------------------


def _set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_session_cookie_is_httponly_lax_and_not_long_lived(app, counselor_a):
    r = app.test_client().post(
        "/login", data={"email": counselor_a.email, "password": PASSWORD, "remember": "y"}
    )
    assert r.status_code == 302
    # Besides the login cookie only the device cookie (auth/device.py), which signs no one in:
    # it only lets this browser pass the per-account login limit later.
    cookies = {c.split("=", 1)[0]: c for c in _set_cookies(r)}
    assert set(cookies) == {COOKIE, "counselor_device"}, "no remember-me cookie"
    attrs = [a.strip().lower() for a in cookies[COOKIE].split(";")[1:]]
    assert "httponly" in attrs and "samesite=lax" in attrs
    assert not any(a.startswith(("expires", "max-age")) for a in attrs), "a browser-session cookie"
    assert "secure" not in attrs, "development serves plain http"


def test_session_cookie_is_secure_in_production(make_app, monkeypatch, database_url, counselor_a):
    from counselor.config import new_encryption_key

    monkeypatch.setenv("COUNSELOR_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "production-secret-for-this-test-of-32-bytes")
    monkeypatch.setenv("COUNSELOR_BASE_URL", "https://counselor.test")
    monkeypatch.setenv("COUNSELOR_ENCRYPTION_KEYS", new_encryption_key())
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COUNSELOR_SMTP_HOST", "smtp.invalid")
    monkeypatch.setenv("COUNSELOR_MAIL_SENDER", "mail@example.org")
    prod = make_app()
    assert prod.config["PRODUCTION"] is True and prod.config["SESSION_COOKIE_SECURE"] is True
    r = prod.test_client().post(
        "/login",
        data={"email": counselor_a.email, "password": PASSWORD},
        base_url="https://counselor.test",
    )
    assert r.status_code == 302
    for cookie in _set_cookies(r):  # the login cookie and the device cookie
        attrs = [a.strip().lower() for a in cookie.split(";")[1:]]
        assert "secure" in attrs and "httponly" in attrs and "samesite=lax" in attrs


# --- accounts from the command line and the admin page -----------------------------------


def test_cli_creates_a_counselor_reading_the_password_from_stdin(app, runner):
    result = runner.invoke(
        args=["counselors", "create", "New.Person@Example.org", "--name", "New Person"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created counselor account new.person@example.org." in result.output
    account = db.session.scalar(
        select(Counselor).where(Counselor.email == "new.person@example.org")
    )
    assert account.role == "counselor" and account.name == "New Person"
    assert "a long enough password" not in account.password_hash
    client = app.test_client()
    assert attempt(client, "new.person@example.org", "a long enough password").status_code == 302


def test_cli_creates_an_admin(app, runner):
    result = runner.invoke(
        args=["counselors", "create", "boss@example.org", "--name", "Boss", "--admin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin account boss@example.org." in result.output
    r = app.test_client().post(
        "/login",
        data={"email": "boss@example.org", "password": "a long enough password"},
        follow_redirects=True,
    )
    assert r.request.path == "/admin/counselors"


GOOD_STDIN = "a long enough password\n"


@pytest.mark.parametrize(
    "email, name, stdin, message",
    [
        ("a@example.org", "X", GOOD_STDIN, "An account with this email already exists."),
        ("A@Example.org", "X", GOOD_STDIN, "An account with this email already exists."),
        ("new@example.org", "X", "short\n", "Use at least 12 characters."),
        ("new@example.org", "X", "", "No password on standard input."),
        ("not-an-email", "X", GOOD_STDIN, "'not-an-email' is not a valid email address."),
        ("new@example.org", "N" * 121, GOOD_STDIN, "Give a name of 1 to 120 characters."),
        ("new@example.org", "  ", GOOD_STDIN, "Give a name of 1 to 120 characters."),
    ],
)
def test_cli_create_refuses_with_a_message(app, runner, counselor_a, email, name, stdin, message):
    result = runner.invoke(args=["counselors", "create", email, "--name", name], input=stdin)
    assert result.exit_code == 1, result.exception
    assert message in result.output
    assert "Traceback" not in result.output
    assert db.session.scalar(select(func.count()).select_from(Counselor)) == 1


def test_admin_page_creates_accounts_and_refuses_a_duplicate_in_any_case(
    app, client_admin, counselor_a
):
    form = {
        "name": "Nia Brook",
        "email": "Nia.Brook@Example.org",
        "password": "a long enough password",
        "confirm": "a long enough password",
    }
    r = client_admin.post("/admin/counselors", data=form)
    assert r.status_code == 302
    assert (
        db.session.scalar(select(Counselor).where(Counselor.email == "nia.brook@example.org")).role
        == "counselor"
    )
    for email in ("NIA.BROOK@example.org", "A@EXAMPLE.ORG"):
        r = client_admin.post("/admin/counselors", data={**form, "email": email})
        assert r.status_code == 400
        assert "An account with this email already exists." in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Counselor)) == 3


def test_two_counselors_in_one_test_do_not_share_a_session(
    app, client_a, client_b, counselor_a, counselor_b
):
    """The fixtures themselves: each browser is its own counselor (see IsolatedClient)."""
    case = new_case(counselor_a)
    assert client_a.get(f"/cases/{case.id}").status_code == 200
    assert client_b.get(f"/cases/{case.id}").status_code == 404
    assert app.test_client().get(f"/cases/{case.id}").status_code == 302
