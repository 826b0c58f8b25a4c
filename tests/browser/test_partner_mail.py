"""The whole mail flow in a real browser and a real SMTP server (aiosmtpd): the counselor
assigns homework to both partners of a case, the partner's mail arrives, its sign-in link
opens the partner's home on a phone, the partner answers and sends, and the counselor's
"submitted" mail arrives.

The worker's task runs in this process (tests/mail/test_worker.py covers the real worker);
every mail goes over TCP to the aiosmtpd server.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from counselor.core import practice
from counselor.extensions import db
from counselor.mail.models import Message
from counselor.mail.tasks import send_message, send_submitted_notices
from counselor.questionnaires.services import load_definition
from tests.support import new_case
from tests.support.browser import PHONE, sign_in_page
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # kombu's own use of SA

DOC = {
    "slug": "browser-mail-check",
    "title": "Between sessions",
    "purpose": "A short check-in for the mail browser test.",
    "kind": "check-in",
    "items": [
        {
            "link_id": "week",
            "type": "group",
            "text": "This week",
            "items": [
                {
                    "link_id": "week.words",
                    "type": "text",
                    "text": "What went well between you this week?",
                    "required": True,
                }
            ],
        }
    ],
}
SIGN_IN = re.compile(r"(http://127\.0\.0\.1:\d+/in/[A-Za-z0-9_\-]+)")


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


def _deliver(app) -> None:
    """What the worker and beat do: make the counselors' notices of marked submits, then send
    every queued mail (in the live app, which has SMTP)."""
    with app.app_context():
        send_submitted_notices.run()
        queued = db.session.scalars(db.select(Message.id).where(Message.status == "queued"))
        for message_id in list(queued):
            send_message.run(str(message_id))
        db.session.remove()


def test_assign_mail_sign_in_answer_on_a_phone_and_the_counselor_is_told(
    app, serve, new_context, counselor_a, smtp
):
    server = serve(
        COUNSELOR_SMTP_HOST="127.0.0.1",
        COUNSELOR_SMTP_PORT=smtp.port,
        COUNSELOR_SMTP_SECURITY="none",
        COUNSELOR_MAIL_SENDER="Practice <mail@example.org>",
        COUNSELOR_MAIL_RETRY_SECONDS=0,
    )
    # links in mails point where this server listens (its port is known only now)
    server.app.config["COUNSELOR_BASE_URL"] = server.url
    case = new_case(counselor_a)
    for partner, address in zip(
        case.partners, ("sam@example.net", "alex@example.net"), strict=True
    ):
        partner.email = address
    load_definition(DOC, counselor_a.id)
    practice.update_mail("", None, 0, 0)  # no quiet hours: the test runs at any hour
    db.session.commit()

    # The counselor assigns from the case page, to both partners.
    desk, _ = new_context(server)
    page = desk.new_page()
    sign_in_page(page, counselor_a)
    page.get_by_role("link", name="Sam & Alex").click()
    page.get_by_role("link", name="Assign homework").click()
    page.get_by_label("Questionnaire or exercise").select_option(label="Between sessions")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_text("Their home: one link for all their homework").first).to_be_visible()

    # Both partner mails arrive; Sam's carries a sign-in link, not the home link.
    _deliver(server.app)
    smtp.recorder.wait_for(2)
    mails = {m["To"]: m for m in smtp.recorder.mails()}
    assert set(mails) == {"sam@example.net", "alex@example.net"}
    sam_mail = mails["sam@example.net"]
    assert sam_mail["Subject"] == "A message from your counselor's practice"
    body = sam_mail.get_body(preferencelist=("plain",)).get_content()
    assert "Between sessions" not in body and "Sam" not in body and "/h/" not in body
    link = SIGN_IN.search(body).group(1)

    # Sam follows it on a phone, answers and sends.
    phone_context, rec = new_context(server, **PHONE)
    phone = phone_context.new_page()
    phone.goto(link)
    phone.get_by_role("button", name="Open my homework").tap()
    expect(phone).to_have_url(re.compile(r"/p/home$"))
    expect(phone.get_by_role("heading", name="Your page")).to_be_visible()
    phone.get_by_role("link", name="Between sessions").tap()
    phone.get_by_role("link", name="Start").tap()
    phone.get_by_label("What went well between you this week?").fill("Slow evenings, talking.")
    phone.get_by_role("button", name="Save and review").tap()
    phone.get_by_role("button", name="Send to my counselor").tap()
    expect(
        phone.get_by_text("Thank you, your answers were sent to your counselor.")
    ).to_be_visible()
    assert not rec.errors and not rec.csp_messages()

    # The counselor's "submitted" mail arrives, naming neither the case nor the homework.
    _deliver(server.app)
    smtp.recorder.wait_for(3)
    told = [m for m in smtp.recorder.mails() if m["To"] == counselor_a.email]
    assert [m["Subject"] for m in told] == ["Counselor: homework was submitted"]
    text = told[0].get_body(preferencelist=("plain",)).get_content()
    assert "Sam & Alex" not in text and "Between sessions" not in text
