"""Each counselor chooses which mails they get, one per event or as one daily digest."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from counselor.extensions import db
from counselor.mail import notify
from counselor.mail.models import Digest, Notice
from counselor.mail.tasks import send_message
from tests.support import sign_in
from tests.support.mail import ALERT_RULE, definition, homework, messages, submit

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # kombu's own use of SA


def _choose(mail_app, account, **form):
    browser = mail_app.test_client()
    sign_in(browser, account)
    r = browser.post("/account/notifications", data=form)
    return browser, r


def test_the_settings_page_shows_and_saves_the_choices(mail_app, alice):
    browser = mail_app.test_client()
    sign_in(browser, alice)
    assert 'href="/account/notifications"' in browser.get("/account/password").get_data(
        as_text=True
    )
    page = browser.get("/account/notifications").get_data(as_text=True)
    assert page.count("checked") == 4, "every kind, one mail each, until chosen otherwise"
    r = browser.post("/account/notifications", data={"alert": "y", "delivery": "digest"})
    assert r.status_code == 302
    setting = notify.settings_for(alice.id)
    assert (setting.submitted, setting.alert, setting.undeliverable, setting.digest) == (
        False,
        True,
        False,
        True,
    )
    bad = browser.post("/account/notifications", data={"alert": "y", "delivery": "weekly"})
    assert bad.status_code == 400 and "Not a valid choice" in bad.get_data(as_text=True)
    assert notify.settings_for(alice.id).digest is True, "nothing saved"


def test_a_kind_switched_off_sends_nothing_from_the_next_event(mail_app, alice, smtp):
    _choose(mail_app, alice, alert="y", undeliverable="y", delivery="each")
    _, _, tokens = homework(alice)
    submit(mail_app, tokens["Sam Rivera"], {"one.feel": "Fine", "one.rate": 7})
    assert messages() == []


def test_the_digest_collects_the_day_and_is_sent_once(mail_app, alice, smtp):
    _choose(mail_app, alice, submitted="y", alert="y", undeliverable="y", delivery="digest")
    case, _, tokens = homework(alice, doc=definition(alert=ALERT_RULE))
    submit(mail_app, tokens["Sam Rivera"], {"one.feel": "Fine", "one.rate": 2})
    submit(mail_app, tokens["Alex Novak"], {"one.feel": "Fine", "one.rate": 9})
    assert messages() == [], "no mail per event"
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 3
    today = date(2026, 11, 29)
    assert notify.send_digests(today) == 1
    assert notify.send_digests(today) == 0, "a second run the same day sends nothing"
    [digest] = messages()
    assert digest.kind == "notify.digest"
    assert send_message.run(str(digest.id)) == "sent"
    [mail] = smtp.mails()
    body = mail.get_body().get_content()
    assert "1 screening alert" in body and "2 homework submissions" in body
    assert f"https://counselor.example.org/cases/{case.id}" in body
    # The next event waits for the next day's digest.
    _, _, more = homework(alice, label="Second", names=("Kai",))
    submit(mail_app, more["Kai"], {"one.feel": "Fine", "one.rate": 9})
    assert notify.send_digests(today) == 0
    assert notify.send_digests(date(2026, 11, 30)) == 1
    assert db.session.scalar(select(func.count()).select_from(Digest)) == 2


def test_no_digest_before_the_digest_hour(mail_app, alice):
    mail_app.config["COUNSELOR_MAIL_DIGEST_HOUR"] = 24  # never reached
    notify.save_settings(alice.id, submitted=True, digest=True)
    _, _, tokens = homework(alice)
    submit(mail_app, tokens["Sam Rivera"], {"one.feel": "Fine"})
    assert notify.send_digests() == 0 and messages() == []


def test_an_erased_case_leaves_nothing_for_the_digest(mail_app, alice):
    from counselor.cases.models import Case

    notify.save_settings(alice.id, submitted=True, digest=True)
    case, _, tokens = homework(alice)
    submit(mail_app, tokens["Sam Rivera"], {"one.feel": "Fine"})
    db.session.delete(db.session.get(Case, case.id))
    db.session.commit()
    assert notify.send_digests(date(2026, 11, 29)) == 0 and messages() == []


def test_a_disabled_account_gets_no_mail(mail_app, alice):
    from counselor.auth.models import Counselor

    _, _, tokens = homework(alice)
    db.session.get(Counselor, alice.id).active = False
    db.session.commit()
    submit(mail_app, tokens["Sam Rivera"], {"one.feel": "Fine"})
    assert messages() == []


def test_switching_a_kind_off_also_drops_its_mails_still_waiting(mail_app, alice, smtp):
    from counselor.mail.models import Message

    smtp.reply = "451 4.3.0 Try again later"
    _, _, tokens = homework(alice)
    submit(mail_app, tokens["Sam Rivera"], {"one.feel": "Fine"})
    [waiting] = messages()
    assert send_message.run(str(waiting.id)) == "queued"
    _choose(mail_app, alice, alert="y", undeliverable="y", delivery="each")
    smtp.reply = None
    assert send_message.run(str(waiting.id)) == "cancelled"
    db.session.expire_all()  # the task changed the row with an UPDATE; read it anew
    assert db.session.get(Message, waiting.id).status == "cancelled" and smtp.received == []
