"""Consent state changes racing each other, as real concurrent HTTP requests on PostgreSQL
(the pattern of tests/reveal/test_release_race.py).

- A partner's two tabs (one portal session) acknowledge the same version at the same moment:
  one acknowledgement, both requests answered without a 500.
- The admin saves a new text while a partner acknowledges the old one: either the
  acknowledgement names the old version (and does not count for the new one) or it is refused
  with a 409; never an acknowledgement of a text the partner did not see.
- Two admins save different texts at once: versions stay numbered 1, 2, 3 … without a gap or a
  duplicate, or the second is refused with a message.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select

from counselor.consent import services
from counselor.consent.models import ConsentAck, ConsentText
from counselor.extensions import db
from tests.reveal.test_release_race import Browser, _csrf, server  # noqa: F401 - fixture
from tests.support import assign, landing_csrf, make_account, new_case, portal_csrf, sync
from tests.support.races import at_once

TRIES = 50


def _partner(url: str, token: str) -> Browser:
    b = Browser(url)
    status, landing = b.request(f"/l/{token}")
    assert status == 200
    assert b.request(f"/l/{token}", {"csrf_token": landing_csrf(landing)})[0] == 302
    return b


def _form(b: Browser) -> dict:
    status, page = b.request("/p/consent")
    assert status == 200
    return {
        "csrf_token": portal_csrf(page),
        "text_id": re.search(r'name="text_id" value="([^"]+)"', page).group(1),
        "name": "Sam",
        "date": re.search(r'name="date" type="date" value="([^"]+)"', page).group(1),
    }


def _admin(url: str, account) -> tuple[Browser, str]:
    b = Browser(url)
    _, page = b.request("/login")
    fields = {"email": account.email, "password": account.password, "csrf_token": _csrf(page)}
    assert b.request("/login", fields)[0] == 302
    _, page = b.request("/admin/practice/consent")
    return b, _csrf(page)


def test_consent_races_end_in_a_defined_state(server, app, counselor_a):  # noqa: F811
    sync()
    admin = make_account("admin@example.org", "Admin", admin=True)
    case = new_case(counselor_a)
    _, tokens = assign(case, "intake")
    sam = case.partners[0]
    services.current_text()
    db.session.commit()
    problems = []
    # one browser, two tabs: the same portal session sends both requests
    tab = _partner(server, tokens["Sam Rivera"])
    boss, boss_csrf = _admin(server, admin)
    other, other_csrf = _admin(server, admin)
    for n in range(TRIES):
        db.session.execute(delete(ConsentAck))
        db.session.commit()
        # two tabs at once
        form = _form(tab)
        got = at_once(
            lambda f=form: tab.request("/p/consent", f), lambda f=form: tab.request("/p/consent", f)
        )
        db.session.expire_all()
        acks = db.session.scalar(select(func.count()).select_from(ConsentAck))
        if [g[0] for g in got] != [302, 302] or acks != 1:
            problems.append(f"two tabs: {[g[0] for g in got]}, {acks} acknowledgements")
        # a new version while the partner acknowledges the old one
        db.session.execute(delete(ConsentAck))
        db.session.commit()
        form = _form(tab)
        got = at_once(
            lambda f=form: tab.request("/p/consent", f),
            lambda n=n: boss.request(
                "/admin/practice/consent", {"text": f"Text {n}", "csrf_token": boss_csrf}
            ),
        )
        db.session.expire_all()
        ack = db.session.scalar(select(ConsentAck))
        if got[0][0] == 302:
            if ack is None or str(ack.text_id) != form["text_id"]:
                problems.append("an acknowledgement of a text the partner did not see")
        elif got[0][0] != 409 or ack is not None:
            problems.append(f"stale acknowledgement answered {got[0][0]}")
        if services.status_of(sam).done:
            problems.append("an old acknowledgement counted for the new version")
        # two admins at once
        got = at_once(
            lambda n=n: boss.request(
                "/admin/practice/consent", {"text": f"Boss {n}", "csrf_token": boss_csrf}
            ),
            lambda n=n: other.request(
                "/admin/practice/consent", {"text": f"Other {n}", "csrf_token": other_csrf}
            ),
        )
        if any(status >= 500 for status, _ in got):
            problems.append(f"two admins: {[g[0] for g in got]}")
        db.session.expire_all()
        numbers = list(db.session.scalars(select(ConsentText.number).order_by(ConsentText.number)))
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"version numbers {numbers[-5:]}")
        db.session.commit()
    print(f"\nconsent races: {TRIES * 3} tried, {len(problems)} violations")
    assert problems == []
