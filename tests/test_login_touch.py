"""A login session's last-seen time is written at most once a minute; idle timeout still holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from counselor.auth import services as auth_services
from counselor.auth.models import LoginSession
from counselor.core.models import utcnow
from counselor.extensions import db
from tests.support import counting


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(auth_services, "utcnow", c)
    return c


def _touches(client) -> int:
    """How many times one caseload request wrote the login session."""
    with counting() as statements:
        assert client.get("/cases").status_code == 200
    return sum(s.lstrip().upper().startswith("UPDATE LOGIN_SESSION") for s in statements)


def _last_seen(counselor) -> object:
    db.session.expire_all()
    return db.session.query(LoginSession).filter_by(counselor_id=counselor.id).one().last_seen_at


def test_touch_is_written_at_most_once_a_minute(app, client_a, counselor_a, clock):
    clock.advance(minutes=2)
    assert _touches(client_a) == 1, "more than a minute since sign-in: written"
    for _ in range(5):
        clock.advance(seconds=10)
        assert _touches(client_a) == 0, "within the minute: not written again"
    clock.advance(seconds=11)
    assert _touches(client_a) == 1


def test_idle_timeout_counts_from_the_last_request_within_a_minute(
    app, client_a, counselor_a, clock
):
    idle = app.config["COUNSELOR_IDLE_TIMEOUT"]
    # A request every 50 seconds for longer than the idle limit keeps the counselor signed in.
    steps = int(idle / timedelta(seconds=50)) + 3
    for _ in range(steps):
        clock.advance(seconds=50)
        assert client_a.get("/cases").status_code == 200
    seen = _last_seen(counselor_a)
    assert clock.now - seen.replace(tzinfo=clock.now.tzinfo) <= timedelta(minutes=1)
    # Then silence: just inside the limit (counted from the last write) still signed in ...
    clock.advance(seconds=(idle - timedelta(minutes=1, seconds=1)).total_seconds())
    assert client_a.get("/cases").status_code == 200
    # ... and past it, signed out.
    clock.advance(seconds=(idle + timedelta(seconds=1)).total_seconds())
    r = client_a.get("/cases")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
