"""No mail carries clinical content: canaries planted everywhere a mail could take them from
(case label, partner names, questionnaire title and item texts, alert message, answers,
session notes) appear in no message kind Counselor builds: not in the subject, body or
headers, not in what the SMTP server received and not in the .eml files."""

from __future__ import annotations

from datetime import date, timedelta
from datetime import time as clock
from email import policy
from email.parser import BytesParser

import pytest

from counselor.extensions import db
from counselor.mail import compose, notify, services
from counselor.mail.tasks import send_message
from tests.support import canary, make_account
from tests.support.mail import definition, homework, messages, smtp_config, submit

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # kombu's own use of SA

KINDS = {
    "notify.submitted",
    "notify.alert",
    "notify.undeliverable",
    "notify.digest",
    "partner",
    "partner.homework",
    "partner.reminder",
    "partner.due",
    "partner.released",
}


@pytest.fixture(params=["smtp", "eml"])
def sending_app(request, make_app, smtp_server, smtp, tmp_path):
    """An app sending to the aiosmtpd server, or writing .eml files (no SMTP settings)."""
    if request.param == "smtp":
        app = make_app(**smtp_config(smtp_server.port))
    else:
        app = make_app(INSTANCE_PATH=str(tmp_path / "instance"), COUNSELOR_MAIL_MAX_ATTEMPTS=1)
    with app.app_context():
        yield request.param, app


def test_no_canary_in_any_mail(sending_app, smtp):
    how, app = sending_app
    from counselor.cases.services import save_session

    c = {k: canary(k) for k in ("label", "one", "two", "title", "item", "alert", "answer")}
    c["note"] = canary("note")
    account = make_account("alice@example.org", "Alice")
    doc = definition(
        title=c["title"],
        slug="canary-check",
        alert={"operator": "<=", "answer": 3, "message": c["alert"]},
    )
    doc["items"][0]["items"][0]["text"] = c["item"]
    case, _, tokens = homework(account, label=c["label"], names=(c["one"], c["two"]), doc=doc)
    save_session(
        case,
        {
            "date": date(2026, 11, 20),
            "time": clock(10, 0),
            "duration_minutes": 50,
            "agenda": c["note"],
            "notes": c["note"],
            "next_steps": c["note"],
        },
    )
    db.session.commit()
    submit(app, tokens[c["one"]], {"one.feel": c["answer"], "one.rate": 1})  # submitted + alert
    # A partner mail the server refuses for good (or, with .eml files, that cannot be written
    # there) tells the counselor it was not delivered.
    partner = case.partners[0]
    partner.email = "one@example.net"
    db.session.commit()
    services.queue(
        compose.partner(
            "Your counselor has something for you.", app.config["COUNSELOR_MAIL_SUBJECT"]
        ),
        "one@example.net",
        case_id=case.id,
        partner_id=partner.id,
        counselor_id=account.id,
    )
    db.session.commit()
    from counselor.core import practice

    practice.update_mail("", None, 0, 0)  # no quiet hours: the partner mail goes at any hour
    if how == "smtp":
        smtp.reply = "550 5.1.1 User unknown"
        send_message.run(str(messages()[-1].id))
        smtp.reply = None
    else:
        notify.undeliverable(account.id, case.id)
        db.session.commit()
    # Every partner mail, about homework whose title and items are canaries: new homework
    # (through the assign signal), a reminder, the due-day mail and results released.
    from counselor.core import practice
    from counselor.mail import partner as partner_mail
    from tests.support import assign

    practice.update_mail("", None, 0, 0)  # no quiet hours: the mails go out at once
    for p, address in zip(case.partners, ("one@example.net", "two@example.net"), strict=True):
        p.email = address
    db.session.commit()
    second, _ = assign(case, "canary-check", owner_id=account.id)
    second.due_on = date.today() + timedelta(days=3)
    for kind in ("reminder", "due", "released"):
        partner_mail.queue_once(kind, second, case.partners[1])
    db.session.commit()
    # The same events once more, for a counselor who chose the daily digest.
    notify.save_settings(account.id, submitted=True, alert=True, undeliverable=True, digest=True)
    db.session.commit()
    submit(app, tokens[c["two"]], {"one.feel": c["answer"], "one.rate": 2})
    notify.undeliverable(account.id, case.id)
    notify.send_digests(date(2026, 11, 29))
    db.session.commit()

    built = messages()
    assert {m.kind for m in built} == KINDS, "every kind of mail was built"
    for message in built:
        if message.status == "queued":
            assert send_message.run(str(message.id)) == "sent"
    texts = {f"{m.kind} row": f"{m.recipient}\n{m.subject}\n{m.body}\n{m.error}" for m in built}
    sent = sum(1 for m in messages() if m.status == "sent")
    if how == "smtp":
        raw = smtp.received
        assert len(raw) == sent  # the refused partner mail never arrived
    else:
        raw = [p.read_bytes() for p in services.mailbox().glob("*.eml")]
        assert len(raw) == sent
    assert sent >= len(KINDS) - 1
    for n, r in enumerate(raw):
        # Raw bytes, and decoded too: a long line may be quoted-printable on the wire.
        mail = BytesParser(policy=policy.default).parsebytes(r)
        decoded = "\n".join(f"{k}: {v}" for k, v in mail.items())
        texts[f"received mail {n}"] = r.decode("utf-8", "replace") + decoded
        texts[f"received mail {n}"] += mail.get_body(preferencelist=("plain",)).get_content()
    found = [
        f"{what} carries {name}"
        for what, text in texts.items()
        for name, v in c.items()
        if v in text
    ]
    assert found == []
