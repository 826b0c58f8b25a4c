"""A weekly check-in schedule, against the real SMTP server (aiosmtpd): when beat's task
runs, the check-in lands on each partner's home and each partner with an address gets one
mail with a fresh sign-in link; beat running again sends nothing twice."""

from __future__ import annotations

import re

import pytest

from counselor.checkins.tasks import run_schedules
from counselor.core import practice
from counselor.extensions import db
from counselor.mail.tasks import send_message
from tests.support import landing_csrf, new_case
from tests.support.checkins import weekly
from tests.support.mail import messages

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # kombu's own use of SA

SIGN_IN = re.compile(r"https://counselor\.example\.org/in/([A-Za-z0-9_\-]+)")


def _send_all() -> list[str]:
    return [send_message.run(str(m.id)) for m in messages() if m.status == "queued"]


def test_a_weekly_check_in_is_made_and_mailed_when_beat_runs(mail_app, alice, smtp):
    practice.update_mail("", None, 0, 0)  # no quiet hours: the mail goes whatever the time
    case = new_case(alice)
    sam, alex = case.partners
    sam.email, alex.email = "sam@example.net", "alex@example.net"
    db.session.commit()
    weekly(case)
    beat = mail_app.extensions["celery"].conf.beat_schedule
    assert any(job["task"] == run_schedules.name for job in beat.values())
    assert run_schedules.run() == 1
    assert _send_all() == ["sent", "sent"]
    assert run_schedules.run() == 0  # beat again: no second check-in, no second mail
    assert _send_all() == []
    mails = {m["To"]: m for m in smtp.mails()}
    assert set(mails) == {"sam@example.net", "alex@example.net"}
    body = mails["sam@example.net"].get_body(preferencelist=("plain",)).get_content()
    assert "Consent" not in body and "check-in" not in body.lower()  # no title in any mail
    token = SIGN_IN.search(body).group(1)
    phone = mail_app.test_client()
    page = phone.get(f"/in/{token}")
    phone.post(f"/in/{token}", data={"csrf_token": landing_csrf(page.get_data(as_text=True))})
    home = phone.get("/p/home").get_data(as_text=True)
    assert "Consent check-in" in home
