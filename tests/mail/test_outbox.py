"""The outbox against a real SMTP server (aiosmtpd): sent once, retried, failed in words.

The task function runs in this process (a worker adds nothing to these checks; see
test_worker.py for the real worker), but every send goes over TCP to the aiosmtpd server.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from counselor.core import practice
from counselor.core.audit import AuditEvent
from counselor.core.models import aware, utcnow
from counselor.extensions import db
from counselor.mail import compose, services
from counselor.mail.models import Message
from counselor.mail.tasks import send_message
from tests.support import (
    PG_URL,
    free_port,
    make_account,
    new_case,
    service_unavailable,
    sign_in,
)
from tests.support.mail import ALERT_RULE, definition, homework, messages, smtp_config, submit
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # kombu's own use of SA


def _run(message_id) -> str:
    """What a worker does with one delivery of the task, in this process."""
    return send_message.run(str(message_id))


def _audits(action: str, message_id) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == action, AuditEvent.object_id == str(message_id))
    )


def _queue(recipient="alice@example.org", **refs) -> uuid.UUID:
    mail = compose.notice("submitted", "https://counselor.test/cases/x", "https://counselor.test/n")
    message = services.queue(mail, recipient, **refs)
    db.session.commit()
    return message.id


def test_a_submit_mails_the_counselor_once_over_smtp(mail_app, alice, smtp):
    case, assignment, tokens = homework(alice)
    submit(mail_app, tokens["Sam Rivera"], {"one.feel": "Calm", "one.rate": 8})
    [message] = messages()
    assert (message.kind, message.status, message.case_id) == (
        "notify.submitted",
        "queued",
        case.id,
    )
    assert _run(message.id) == "sent"
    [mail] = smtp.mails()
    assert mail["To"] == "alice@example.org" and mail["From"] == "Practice <mail@example.org>"
    assert mail["Subject"] == "Counselor: homework was submitted"
    assert mail["Message-ID"] == f"<{message.id}@example.org>"
    body = mail.get_body().get_content()
    assert f"https://counselor.example.org/cases/{case.id}" in body
    assert "https://counselor.example.org/account/notifications" in body
    [done] = messages()
    assert done.status == "sent" and done.sent_at is not None and done.attempts == 1
    assert _audits("mail.sent", done.id) == 1
    # The task delivered again: nothing more goes out.
    assert _run(message.id) == "skipped"
    assert len(smtp.received) == 1


def test_a_screening_alert_mails_its_kind_and_no_answer(mail_app, alice, smtp):
    case, _, tokens = homework(alice, doc=definition(alert=ALERT_RULE))
    submit(mail_app, tokens["Sam Rivera"], {"one.feel": "Tense today", "one.rate": 2})
    kinds = {m.kind: m for m in messages()}
    assert set(kinds) == {"notify.submitted", "notify.alert"}
    assert _run(kinds["notify.alert"].id) == "sent"
    [mail] = smtp.mails()
    body = mail.get_body().get_content()
    assert mail["Subject"] == "Counselor: a screening alert needs your attention"
    assert "screening alert (severity: review) was raised in one of your cases" in body
    assert f"/cases/{case.id}" in body
    for private in ("Tense today", "Low comfort", "Comfort", "Sam", "Small check"):
        assert private not in mail.as_string()


@pytest.mark.parametrize("severity, mailed", [("urgent", True), ("info", False)])
def test_an_alert_is_mailed_when_urgent_or_review_not_info(mail_app, alice, smtp, severity, mailed):
    rule = {**ALERT_RULE, "severity": severity}
    _, _, tokens = homework(alice, doc=definition(alert=rule))
    submit(mail_app, tokens["Sam Rivera"], {"one.feel": "Tense today", "one.rate": 2})
    alerts = [m for m in messages() if m.kind == "notify.alert"]
    assert len(alerts) == int(mailed)
    if mailed:
        assert f"screening alert (severity: {severity})" in alerts[0].body


def test_smtp_down_leaves_the_row_queued_then_it_is_sent_once_when_up(make_app, smtp):
    port = free_port()  # nothing listens here yet: connection refused
    from tests.support.mail import smtp_config

    app = make_app(**smtp_config(port))
    with app.app_context():
        from tests.support import make_account

        make_account("alice@example.org", "Alice")
        mid = _queue()
        assert _run(mid) == "queued"
        [row] = messages()
        assert row.status == "queued" and row.attempts == 1 and row.claim is None
        assert row.error == "The mail server could not be reached. Counselor will try again."
        assert services.due_messages() == [mid], "beat publishes it again"
        assert _audits("mail.retry", mid) == 1
        server = SmtpServer(port).start()
        try:
            assert _run(mid) == "sent"
            assert _run(mid) == "skipped"
            assert len(server.recorder.wait_for(1)) == 1
        finally:
            server.stop()
        [row] = messages()
        assert row.status == "sent" and row.attempts == 2 and services.due_messages() == []


def test_a_4xx_reply_is_retried_and_then_sent(mail_app, alice, smtp):
    smtp.reply = "451 4.3.0 Mailbox busy, try again later"
    mid = _queue()
    assert _run(mid) == "queued"
    [row] = messages()
    assert row.status == "queued" and "reply 451" in row.error and smtp.refused == 1
    smtp.reply = None
    assert _run(mid) == "sent"
    assert len(smtp.received) == 1


def test_temporary_failures_end_as_failed_after_the_last_try(mail_app, alice, smtp):
    smtp.reply = "421 4.7.0 Too busy"
    mid = _queue()
    outcomes = [_run(mid) for _ in range(4)]
    assert outcomes == ["queued", "queued", "failed", "skipped"]
    [row] = messages()
    assert row.status == "failed" and row.attempts == 3
    assert "gave up after 3 tries" in row.error and "421" in row.error
    assert smtp.received == []


def test_backoff_doubles_from_the_base_and_stops_at_an_hour():
    assert [services.backoff_seconds(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert services.backoff_seconds(20, 30) == 3600


def test_a_retry_waits_for_its_backoff(mail_app, alice, smtp):
    mail_app.config["COUNSELOR_MAIL_RETRY_SECONDS"] = 300
    smtp.reply = "450 4.2.1 Try later"
    mid = _queue()
    assert _run(mid) == "queued"
    [row] = messages()
    assert aware(row.next_attempt_at) - utcnow() > timedelta(seconds=200)
    # Neither beat nor an early duplicate delivery sends it before then.
    assert services.due_messages() == [] and _run(mid) == "skipped"


def test_a_5xx_reply_fails_with_a_sentence_the_counselor_sees(mail_app, alice, smtp):
    case = new_case(alice, "Jo & Lee", ("Jo", "Lee"))
    smtp.reply = "550 5.1.1 <jo@example.net>: Recipient address rejected: User unknown"
    partner = case.partners[0]
    partner.email = "jo@example.net"
    practice.update_mail("", None, 0, 0)  # no quiet hours: the partner mail goes at any hour
    db.session.commit()
    sent_for_partner = services.queue(
        compose.partner("Hello", mail_app.config["COUNSELOR_MAIL_SUBJECT"]),
        "jo@example.net",
        case_id=case.id,
        partner_id=partner.id,
        counselor_id=alice.id,
    )
    db.session.commit()
    assert _run(sent_for_partner.id) == "failed"
    row = db.session.get(Message, sent_for_partner.id)
    db.session.refresh(row)
    assert row.status == "failed" and row.attempts == 1
    assert row.error.startswith("The mail server refused this mail for good (reply 550)")
    assert "jo@example.net" not in row.error, "the server's words (the address) are not kept"
    assert _audits("mail.failed", row.id) == 1
    # The counselor is told by mail (their own notification) and sees the sentence.
    notice = next(m for m in messages() if m.kind == "notify.undeliverable")
    smtp.reply = None
    assert _run(notice.id) == "sent"
    assert "could not be delivered" in smtp.mails()[0].get_body().get_content()
    browser = mail_app.test_client()
    sign_in(browser, alice)
    page = browser.get("/account/notifications").get_data(as_text=True)
    assert "The mail server refused this mail for good (reply 550)" in page
    assert f"/cases/{case.id}" in page


def test_a_message_for_an_erased_case_or_removed_partner_is_not_sent(mail_app, alice, smtp):
    from counselor.cases.models import Case

    case = new_case(alice, "Erased", ("Kim", "Lou"))
    kim, lou = case.partners
    kim.email, lou.email = "kim@example.net", "lou@example.net"
    db.session.commit()
    about_case = _queue(case_id=case.id, counselor_id=alice.id)
    to_lou = _queue("lou@example.net", case_id=case.id, partner_id=lou.id)
    to_kim = _queue("kim@example.net", case_id=case.id, partner_id=kim.id)
    kim.email = None  # Kim's address was removed: the mail waiting for Kim is dropped
    db.session.commit()
    assert _run(to_kim) == "cancelled"
    assert db.session.get(Message, to_kim).status == "cancelled"
    db.session.delete(db.session.get(Case, case.id))
    db.session.commit()
    assert _run(about_case) == "skipped" and _run(to_lou) == "skipped"
    assert messages() == [] and smtp.received == []


def test_the_same_task_delivered_twice_at_once_sends_one_mail(mail_app, alice, smtp):
    mid = _queue()
    results, barrier = [], threading.Barrier(2)

    def deliver():
        with mail_app.app_context():
            barrier.wait()
            results.append(_run(mid))
            db.session.remove()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["sent", "skipped"]
    assert len(smtp.wait_for(1)) == 1


@pytest.mark.postgres
def test_claims_racing_on_postgres_give_one_sender(mail_app, alice):
    """Two connections claim the same message at once, 50 times: exactly one wins each time."""
    if not PG_URL or mail_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        service_unavailable("PostgreSQL (COUNSELOR_TEST_DATABASE_URL)")
    ids = [_queue() for _ in range(50)]
    violations = 0
    for mid in ids:
        won, barrier = [], threading.Barrier(2)

        def claim(mid=mid, won=won, barrier=barrier):
            with mail_app.app_context():
                barrier.wait()
                won.append(services.claim(mid))
                db.session.remove()

        threads = [threading.Thread(target=claim) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        violations += sum(1 for token in won if token) != 1
    assert violations == 0


def test_beat_republishes_due_messages_and_a_second_run_finds_none(mail_app, alice):
    mid = _queue()
    db.session.execute(update(Message).values(published_at=None))
    db.session.commit()
    assert services.due_messages() == [mid]
    assert services.republish_due() == 1
    assert services.due_messages() == [], "published now: a second run publishes nothing"
    # A send whose worker died (lease over) is handed out again.
    token = services.claim(mid)
    assert token and services.due_messages() == []
    db.session.execute(update(Message).values(lease_expires_at=utcnow().replace(year=2000)))
    db.session.commit()
    assert services.due_messages() == [mid]


def test_links_in_mails_never_follow_the_request_host(make_app):
    app = make_app(COUNSELOR_BASE_URL="https://counselor.example.org")
    with app.test_request_context("/p/submit", base_url="http://evil.example"):
        assert services.external_url("cases.show", case_id=uuid.UUID(int=1)) == (
            f"https://counselor.example.org/cases/{uuid.UUID(int=1)}"
        )
    with app.app_context():  # beat's digests: no request at all
        assert services.external_url("mail.notifications") == (
            "https://counselor.example.org/account/notifications"
        )


def test_an_alert_mail_takes_the_severity_stored_on_the_alert_row(mail_app, alice):
    from counselor.alerts.models import Alert
    from counselor.mail import notify

    # the rule says info (no mail), but the row says urgent: the row is what the case page,
    # the caseload and the PDFs show, so the mail follows the row, not a re-read definition
    rule = {**ALERT_RULE, "severity": "info"}
    _, assignment, tokens = homework(alice, doc=definition(alert=rule))
    submit(mail_app, tokens["Sam Rivera"], {"one.feel": "Tense today", "one.rate": 2})
    assert [m for m in messages() if m.kind == "notify.alert"] == []
    [alert] = db.session.scalars(select(Alert).where(Alert.assignment_id == assignment.id))
    assert alert.severity == "info"
    alert.severity = "urgent"
    notify.alerts_raised(assignment, [alert])
    db.session.commit()
    [mailed] = [m for m in messages() if m.kind == "notify.alert"]
    assert "screening alert (severity: urgent)" in mailed.body


def test_a_submit_with_the_broker_down_answers_and_beat_publishes_its_mail(
    make_app, smtp_server, smtp
):
    # Redis on a port where nothing listens: the hand-off after the commit fails at once
    app = make_app(
        CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0",
        COUNSELOR_MAIL_REPUBLISH_SECONDS=0,
        **smtp_config(smtp_server.port),
    )
    with app.app_context():
        alice = make_account("alice@example.org", "Alice Counselor")
        case, _, tokens = homework(alice, doc=definition(alert=ALERT_RULE))
        submit(app, tokens["Sam Rivera"], {"one.feel": "Tense today", "one.rate": 2})
        # the submit went through; its mail and its alert's mail wait in the outbox
        waiting = [m for m in messages() if m.case_id == case.id]
        assert sorted(m.kind for m in waiting) == ["notify.alert", "notify.submitted"]
        assert {m.status for m in waiting} == {"queued"}
        assert sorted(services.due_messages()) == sorted(m.id for m in waiting)
        # beat's sweep tries again (the broker still down: both stay due)
        assert services.republish_due() == 2 and len(services.due_messages()) == 2
        # a worker that gets the tasks sends each mail once
        assert {_run(m.id) for m in waiting} == {"sent"} and len(smtp.received) == 2
