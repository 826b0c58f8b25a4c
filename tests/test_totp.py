"""Optional TOTP (RFC 6238): enrolment, the second login step, throttling, replay, drift."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import select

from counselor.auth import services
from counselor.auth.models import Counselor
from counselor.core.audit import AuditEvent
from counselor.extensions import db
from tests.support import PASSWORD, database_bytes, leaks, sign_in

THROTTLED = "Too many attempts in a short time."
STEP = services.TOTP_STEP_SECONDS


def account(acc) -> Counselor:
    db.session.expire_all()
    return db.session.get(Counselor, acc.id)


def enable(acc, *, at: float | None = None) -> str:
    """Switch TOTP on through the services, confirmed with a code of time ``at`` (default:
    a few steps ago, so that the current code is still unused); returns the secret."""
    at = time.time() - 4 * STEP if at is None else at
    c = account(acc)
    secret = services.begin_totp_enrolment(c)
    services.confirm_totp(c, pyotp.TOTP(secret).at(at), now=at)
    db.session.commit()
    return secret


def actions(acc) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == str(acc.id))
            .order_by(AuditEvent.at)
        )
    )


def password_step(client, acc, password=PASSWORD, **kw):
    return client.post("/login", data={"email": acc.email, "password": password}, **kw)


def code_step(client, code: str, **kw):
    return client.post("/login/code", data={"code": code}, **kw)


def signed_in(client) -> bool:
    return client.get("/account/password").status_code == 200


# --- enrolment ---------------------------------------------------------------------------


def test_enrol_shows_qr_and_secret_and_switches_on_only_with_a_right_code(client_a, counselor_a):
    page = client_a.get("/account/totp")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html and 'class="qr-code"' in html
    secret = account(counselor_a).totp_secret
    assert secret and secret in html, "the key is shown in text too"
    assert client_a.get("/account/totp").status_code == 200
    assert account(counselor_a).totp_secret == secret, "a reload keeps the same secret"

    wrong = client_a.post("/account/totp", data={"code": "000000"})
    if pyotp.TOTP(secret).verify("000000", valid_window=1):  # pragma: no cover - 1 in 10^5
        pytest.skip("000000 happens to be the current code")
    assert wrong.status_code == 400 and "not right" in wrong.get_data(as_text=True)
    assert not account(counselor_a).totp_on

    ok = client_a.post("/account/totp", data={"code": pyotp.TOTP(secret).now()})
    assert ok.status_code == 302
    c = account(counselor_a)
    assert c.totp_on and c.totp_last_step is not None
    assert "auth.totp_enabled" in actions(counselor_a)
    page = client_a.get("/account/totp").get_data(as_text=True)
    assert "is <strong>on</strong>" in page and secret not in page, "the secret is shown once on"


def test_enrolment_for_the_admin_too(client_admin, admin):
    assert client_admin.get("/account/totp").status_code == 200
    secret = account(admin).totp_secret
    r = client_admin.post("/account/totp", data={"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302 and account(admin).totp_on


# --- signing in --------------------------------------------------------------------------


def test_login_with_totp_needs_the_code_before_signing_in(app, counselor_a):
    secret = enable(counselor_a)
    client = app.test_client()
    r = password_step(client, counselor_a, query_string={"next": "/cases"})
    assert r.status_code == 302 and r.location.endswith("/login/code")
    assert not signed_in(client), "the password alone signs nobody in"
    page = client.get("/login/code")
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    r = code_step(client, pyotp.TOTP(secret).now())
    assert r.status_code == 302 and r.location.endswith("/cases")
    assert signed_in(client)


def test_login_without_totp_is_unchanged(app, counselor_a):
    client = app.test_client()
    sign_in(client, counselor_a)
    assert signed_in(client)


def test_code_step_without_a_password_step_goes_back_to_login(app, counselor_a):
    enable(counselor_a)
    client = app.test_client()
    r = code_step(client, "123456")
    assert r.status_code == 302 and r.location.endswith("/login")
    assert not signed_in(client)


def test_wrong_code_is_401_audited_and_counts_against_the_account(app, counselor_a):
    secret = enable(counselor_a)
    client = app.test_client()
    limit = int(app.config["COUNSELOR_LOGIN_LIMIT_ACCOUNT"].split()[0])
    right = pyotp.TOTP(secret).now()
    wrong = "111111" if right != "111111" else "222222"
    # Wrong passwords and wrong codes share the per-account budget.
    assert password_step(client, counselor_a, "not the password").status_code == 401
    assert password_step(client, counselor_a).status_code == 302
    for _ in range(limit - 1):
        r = code_step(client, wrong)
        assert r.status_code == 401
        assert "not right" in r.get_data(as_text=True)
    assert not signed_in(client)
    assert actions(counselor_a).count("auth.totp_failed") == limit - 1
    events = db.session.scalars(select(AuditEvent)).all()
    assert all(secret not in repr(vars(e)) and wrong not in repr(vars(e)) for e in events)
    blocked = code_step(client, right)
    assert blocked.status_code == 429 and THROTTLED in blocked.get_data(as_text=True)
    other = app.test_client()
    r = password_step(other, counselor_a)
    assert r.status_code == 429, "the account is throttled for the password step as well"
    assert not signed_in(client) and not signed_in(other)


def test_a_code_is_single_use(app, counselor_a):
    secret = enable(counselor_a)
    code = pyotp.TOTP(secret).now()
    first = app.test_client()
    password_step(first, counselor_a)
    assert code_step(first, code).status_code == 302
    second = app.test_client()
    password_step(second, counselor_a)
    r = code_step(second, code)
    assert r.status_code == 401
    assert "already used" in r.get_data(as_text=True)
    assert not signed_in(second)


def test_pending_code_step_expires_after_five_minutes(app, counselor_a):
    secret = enable(counselor_a)
    client = app.test_client()
    password_step(client, counselor_a)
    with client.session_transaction() as sess:
        sess["totp_pending"]["at"] -= services.TOTP_PENDING_SECONDS + 1
        sess.modified = True
    r = code_step(client, pyotp.TOTP(secret).now())
    assert r.status_code == 302 and r.location.endswith("/login")
    assert not signed_in(client)
    assert account(counselor_a).totp_last_step < int(time.time()) // STEP - 1, "code unused"


# --- the verify rule, at chosen times ----------------------------------------------------


T = 1_900_000_000  # a fixed moment; codes are made for it and around it


@pytest.mark.parametrize(
    ("offset_steps", "accepted"), [(0, True), (-1, True), (1, True), (-2, False), (2, False)]
)
def test_clock_drift_of_one_step_is_accepted_two_is_not(app, counselor_a, offset_steps, accepted):
    secret = enable(counselor_a, at=T - 10 * STEP)
    c = account(counselor_a)
    code = pyotp.TOTP(secret).at(T + offset_steps * STEP)
    if accepted:
        services.verify_totp(c, code, now=T)
        assert c.totp_last_step == T // STEP + offset_steps
    else:
        with pytest.raises(services.TotpError) as err:
            services.verify_totp(c, code, now=T)
        assert not err.value.replay


def test_same_or_older_step_is_a_replay(app, counselor_a):
    secret = enable(counselor_a, at=T - 10 * STEP)
    c = account(counselor_a)
    totp = pyotp.TOTP(secret)
    services.verify_totp(c, totp.at(T), now=T)
    for code in (totp.at(T), totp.at(T - STEP)):
        with pytest.raises(services.TotpError) as err:
            services.verify_totp(c, code, now=T + 1)
        assert err.value.replay and "already used" in str(err.value)
    services.verify_totp(c, totp.at(T + STEP), now=T + STEP)  # the next code works


def test_malformed_codes_are_refused(app, counselor_a):
    enable(counselor_a, at=T - 10 * STEP)
    c = account(counselor_a)
    for code in ("", "12345", "1234567", "abcdef", None):
        with pytest.raises(services.TotpError):
            services.verify_totp(c, code, now=T)


# --- switching off -----------------------------------------------------------------------


def test_disable_needs_password_and_a_current_code(app, client_a, counselor_a):
    secret = enable(counselor_a)
    code = pyotp.TOTP(secret).now()
    r = client_a.post("/account/totp", data={"password": "wrong password", "code": code})
    assert r.status_code == 400 and account(counselor_a).totp_on
    r = client_a.post("/account/totp", data={"password": PASSWORD})
    assert r.status_code == 400 and account(counselor_a).totp_on
    wrong = "111111" if code != "111111" else "222222"
    r = client_a.post("/account/totp", data={"password": PASSWORD, "code": wrong})
    assert r.status_code == 400 and account(counselor_a).totp_on
    assert "auth.totp_failed" in actions(counselor_a)
    r = client_a.post("/account/totp", data={"password": PASSWORD, "code": code})
    assert r.status_code == 302
    c = account(counselor_a)
    assert not c.totp_on and c.totp_secret is None
    assert "auth.totp_disabled" in actions(counselor_a)
    # Signing in needs the password only again.
    assert password_step(app.test_client(), counselor_a).location.endswith("/")


def test_disable_refuses_a_replayed_code(app, counselor_a):
    at = time.time() - 4 * STEP
    secret = enable(counselor_a, at=at)
    c = account(counselor_a)
    with pytest.raises(services.TotpError):
        services.disable_totp(c, PASSWORD, pyotp.TOTP(secret).at(at), now=at)
    db.session.rollback()
    assert account(counselor_a).totp_on


# --- at rest -----------------------------------------------------------------------------


def test_the_secret_is_not_in_the_database_in_plain_text(app, counselor_a, database_url):
    secret = enable(counselor_a)
    assert account(counselor_a).totp_secret == secret, "stored and readable through the model"
    db.session.remove()
    assert not leaks(database_bytes(database_url), secret)


def test_operator_resets_totp_for_a_lost_phone(app, runner, counselor_a):
    """`flask counselors reset-totp` switches it off and signs the account out everywhere."""
    enable(counselor_a)
    browser = app.test_client()
    password_step(browser, counselor_a)
    code_step(browser, pyotp.TOTP(account(counselor_a).totp_secret).at(time.time() + 30))
    assert signed_in(browser)

    result = runner.invoke(args=["counselors", "reset-totp", counselor_a.email])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert not account(counselor_a).totp_on and not signed_in(browser)
    assert "auth.totp_disabled" in actions(counselor_a)
    # the password alone signs in again; a second reset says there is nothing to reset
    fresh = app.test_client()
    sign_in(fresh, counselor_a)
    again = runner.invoke(args=["counselors", "reset-totp", counselor_a.email])
    assert again.exit_code == 1 and "not on" in again.output
