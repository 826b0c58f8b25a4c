"""Mail tests: settings that send to the test SMTP server, the outbox, homework to mail about."""

from __future__ import annotations

from sqlalchemy import select

from counselor.extensions import db
from tests.support.library import assign, load_own, small_definition
from tests.support.portal import open_link
from tests.support.records import new_case

#: comfort 2 of 10 meets this alert rule
ALERT_RULE = {"operator": "<=", "answer": 3, "message": "Low comfort: follow up privately."}


def smtp_config(port: int, **extra) -> dict:
    """Settings that send plain SMTP to 127.0.0.1:port, retrying at once (no backoff wait)."""
    return {
        "COUNSELOR_SMTP_HOST": "127.0.0.1",
        "COUNSELOR_SMTP_PORT": port,
        "COUNSELOR_SMTP_SECURITY": "none",
        "COUNSELOR_SMTP_TIMEOUT_SECONDS": 5,
        "COUNSELOR_MAIL_SENDER": "Practice <mail@example.org>",
        "COUNSELOR_MAIL_RETRY_SECONDS": 0,
        "COUNSELOR_MAIL_MAX_ATTEMPTS": 3,
        "COUNSELOR_BASE_URL": "https://counselor.example.org",
        **extra,
    }


def messages():
    """Every outbox row, oldest first, read fresh."""
    from counselor.mail.models import Message

    db.session.expire_all()
    return list(db.session.scalars(select(Message).order_by(Message.created_at)))


def definition(title: str = "Small check", slug: str = "mail-check", alert: dict | None = None):
    """The small test questionnaire, with an alert rule on its comfort scale if given."""
    doc = small_definition(slug, title=title)
    if alert:
        rate = doc["items"][0]["items"][3]
        assert rate["link_id"] == "one.rate"
        rate["alert"] = alert
    return doc


def homework(account, label="Sam & Alex", names=("Sam Rivera", "Alex Novak"), doc=None):
    """A case of ``account`` with the small questionnaire assigned; (case, assignment, tokens)."""
    case = new_case(account, label, names)
    q = load_own(account, doc or definition())
    assignment, tokens = assign(case, q)
    return case, assignment, tokens


def submit(app, token: str, answers: dict, sweep: bool = True) -> None:
    """A partner opens their link, answers and submits, as in a browser; then (``sweep``) the
    worker's sweep tells the counselor, as beat runs it (the submit only marks its response)."""
    open_link(app.test_client(), token).answer_and_submit(answers)
    if sweep:
        tell_counselors()


def tell_counselors() -> int:
    """Run the worker's task that tells counselors of marked submits, as beat runs it."""
    from counselor.mail.tasks import send_submitted_notices

    return send_submitted_notices.run()
