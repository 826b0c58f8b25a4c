"""Mails to partners, against the real SMTP server (aiosmtpd) and the real database: new
homework, reminders before and on the due date, results released; each with a fresh
single-use sign-in link and an opt-out link; quiet hours; one mail per kind however often the
reminder job runs."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from counselor.cases import homes
from counselor.cases.models import PartnerHome, SignInLink
from counselor.core import practice
from counselor.core.audit import AuditEvent
from counselor.core.models import aware, to_local, utcnow
from counselor.core.tokens import token_hash
from counselor.extensions import db
from counselor.mail import partner as partner_mail
from counselor.mail import services
from counselor.mail.models import Message, PartnerMail
from counselor.mail.tasks import send_message
from counselor.questionnaires.models import Assignment
from tests.support import (
    PG_URL,
    assign,
    landing_csrf,
    load_own,
    new_case,
    service_unavailable,
    signed_in_client,
)
from tests.support.mail import definition, messages, submit

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # kombu's own use of SA

SIGN_IN = re.compile(r"https://counselor\.example\.org/in/([A-Za-z0-9_\-]+)")
OPT_OUT = re.compile(r"https://counselor\.example\.org(/mail/opt-out/\S+)")


@pytest.fixture
def daytime(mail_app):
    """No quiet hours (from and until the same hour), so a test sends whatever the time."""
    practice.update_mail("", None, 0, 0)
    db.session.commit()


def _couple(account, emails=("sam@example.net", None)):
    case = new_case(account)
    for partner, email in zip(case.partners, emails, strict=True):
        partner.email = email
    db.session.commit()
    return case


def _assign(account, case, due_in: int | None = None, title="Small check"):
    q = load_own(account, definition(title=title, slug=f"pm-{title.lower().replace(' ', '-')}"))
    due = to_local(utcnow()).date() + timedelta(days=due_in) if due_in is not None else None
    assignment, tokens = assign(case, q, due_on=due)
    return assignment, tokens


def _send_all() -> list[str]:
    return [send_message.run(str(m.id)) for m in messages() if m.status == "queued"]


def _body(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def test_assigning_mails_each_partner_with_an_address_a_fresh_single_use_sign_in_link(
    mail_app, alice, smtp, daytime
):
    case = _couple(alice)
    _assign(alice, case)
    [message] = messages()  # Alex has no address: nothing for Alex
    sam = case.partners[0]
    assert (message.kind, message.partner_id, message.status) == (
        "partner.homework",
        sam.id,
        "queued",
    )
    assert "/in/" not in message.body  # the outbox never holds the link: it is minted at send
    assert _send_all() == ["sent"]
    [mail] = smtp.mails()
    assert mail["To"] == "sam@example.net"
    assert mail["Subject"] == "A message from your counselor's practice"
    body = _body(mail)
    token = SIGN_IN.search(body).group(1)
    assert "/h/" not in body and "/l/" not in body  # never the standing link
    # only its hash is stored; it lives 7 days
    link = db.session.scalar(select(SignInLink).where(SignInLink.token_hash == token_hash(token)))
    assert link is not None and link.partner_id == sam.id
    assert timedelta(days=7) - timedelta(minutes=5) < aware(link.expires_at) - utcnow()
    assert token not in "".join(m.body for m in messages())

    phone = mail_app.test_client()
    page = phone.get(f"/in/{token}")  # a mail scanner's preview: nothing is spent
    assert page.status_code == 200 and db.session.get(SignInLink, link.id).used_at is None
    r = phone.post(f"/in/{token}", data={"csrf_token": landing_csrf(page.get_data(as_text=True))})
    assert r.status_code == 302 and r.headers["Location"].endswith("/p/home")
    home = phone.get("/p/home").get_data(as_text=True)
    assert "Small check" in home and "For Sam Rivera" in home
    # single use: the same link in another browser (or again) is the bad-link page
    again = mail_app.test_client()
    assert again.post(f"/in/{token}", data={"csrf_token": "x"}).status_code == 404
    assert again.get(f"/in/{token}").status_code == 404


def test_a_sign_in_link_is_refused_once_its_days_are_over(mail_app, alice, daytime):
    case = _couple(alice)
    token = homes.mint_sign_in(case.partners[0].id, now=utcnow() - timedelta(days=7, seconds=1))
    db.session.commit()
    assert mail_app.test_client().get(f"/in/{token}").status_code == 404
    fresh = homes.mint_sign_in(case.partners[0].id, now=utcnow() - timedelta(days=6, hours=23))
    db.session.commit()
    assert mail_app.test_client().get(f"/in/{fresh}").status_code == 200


def test_revoking_the_home_link_also_ends_mail_sign_in_links(mail_app, alice, daytime):
    case = _couple(alice)
    sam = case.partners[0]
    homes.issue_home_link(sam)
    token = homes.mint_sign_in(sam.id)
    db.session.commit()
    assert homes.revoke_home_link(sam)
    db.session.commit()
    assert mail_app.test_client().get(f"/in/{token}").status_code == 404


def test_the_opt_out_link_is_honoured_at_once_and_the_counselor_sees_it(
    mail_app, alice, smtp, daytime
):
    case = _couple(alice, ("sam@example.net", "alex@example.net"))
    _assign(alice, case)
    assert len(messages()) == 2
    send_message.run(str(messages()[0].id))
    [mail] = smtp.mails()
    path = OPT_OUT.search(_body(mail)).group(1)
    sam = next(p for p in case.partners if p.email == mail["To"])
    browser = mail_app.test_client()
    page = browser.get(path)
    assert page.status_code == 200 and "Send me no more mail" in page.get_data(as_text=True)
    assert db.session.get(PartnerHome, sam.id) is None or not (
        db.session.get(PartnerHome, sam.id).mail_opted_out_at
    )  # a GET (a mail scanner) changes nothing
    done = browser.post(path)
    assert done.status_code == 200 and 'id="opted-out"' in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PartnerHome, sam.id).mail_opted_out_at is not None
    assert db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "mail.opt_out", AuditEvent.object_id == str(sam.id))
    )
    # a mail to Sam still waiting is dropped at its turn; new homework makes none for Sam
    waiting = services.queue(
        partner_mail._compose("homework", db.session.scalars(select(Assignment)).first(), sam),
        sam.email,
        case_id=case.id,
        partner_id=sam.id,
    )
    db.session.commit()
    assert send_message.run(str(waiting.id)) == "cancelled"
    before = {m.id for m in messages()}
    _assign(alice, case, title="Second check")
    new = [m for m in messages() if m.id not in before]
    assert [m.partner_id for m in new] == [next(p.id for p in case.partners if p.id != sam.id)]
    # the counselor sees it on the case page
    client = signed_in_client(mail_app, alice)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Asked for no mail" in page
    # a forged opt-out token is the bad-link page and opts nobody out
    assert mail_app.test_client().post("/mail/opt-out/forged.token").status_code == 404


def test_quiet_hours_end_at_eight_in_the_practice_zone(mail_app):
    zone = ZoneInfo(mail_app.config["COUNSELOR_TIMEZONE"])

    def at(day, hour, minute=0):
        return datetime(2026, 12, day, hour, minute, tzinfo=zone).astimezone(UTC)

    assert practice.quiet_until(at(3, 22, 30)) == at(4, 8)
    assert practice.quiet_until(at(4, 7, 59)) == at(4, 8)
    assert practice.quiet_until(at(4, 21)) == at(5, 8)
    assert practice.quiet_until(at(4, 8)) is None
    assert practice.quiet_until(at(4, 20, 59)) is None
    assert practice.quiet_until(at(4, 13), (12, 14)) == at(4, 14)  # a practice's own hours
    assert practice.quiet_until(at(4, 3), (0, 0)) is None  # equal hours: none at all


def test_a_mail_made_at_night_waits_in_the_outbox_until_morning(mail_app, alice, smtp):
    zone = ZoneInfo(mail_app.config["COUNSELOR_TIMEZONE"])
    night = datetime(2026, 12, 3, 23, 15, tzinfo=zone).astimezone(UTC)
    case = _couple(alice)
    assignment, _ = _assign(alice, case)
    message = partner_mail.queue_once("released", assignment, case.partners[0], now=night)
    db.session.commit()
    assert aware(message.next_attempt_at) == datetime(2026, 12, 4, 8, tzinfo=zone)
    assert message.published_at is None  # beat publishes it once it is due


def test_a_send_inside_quiet_hours_puts_the_mail_back_to_wait(mail_app, alice, smtp, daytime):
    case = _couple(alice)
    _assign(alice, case)  # made in the day; by the time the worker has it, it is night
    hour = to_local(utcnow()).hour
    practice.update_mail("", None, hour, (hour + 2) % 24)  # quiet right now
    db.session.commit()
    [message] = messages()
    assert send_message.run(str(message.id)) == "waiting"
    [message] = messages()
    assert message.status == "queued" and message.attempts == 0
    assert aware(message.next_attempt_at) > utcnow()
    assert smtp.received == []


def test_the_reminder_job_run_twice_sends_each_reminder_once(mail_app, alice, smtp, daytime):
    case = _couple(alice, ("sam@example.net", "alex@example.net"))
    assignment, tokens = _assign(alice, case, due_in=5)
    homework_mails = len(messages())
    now = utcnow()
    assert partner_mail.send_reminders(now) == 0  # five days ahead: not yet
    assert partner_mail.send_reminders(now + timedelta(days=3)) == 2  # two days before
    assert partner_mail.send_reminders(now + timedelta(days=3)) == 0
    assert partner_mail.send_reminders(now + timedelta(days=4)) == 0  # one reminder, not one a day
    # Alex sends their answers; on the due day only Sam is reminded
    submit(mail_app, tokens["Alex Novak"], {"one.feel": "Fine", "one.rate": 7})
    due_day = datetime.combine(assignment.due_on, datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=12
    )
    assert partner_mail.send_reminders(due_day) == 1
    assert partner_mail.send_reminders(due_day) == 0
    kinds = sorted(
        (m.kind, m.partner_id == case.partners[0].id)
        for m in messages()[homework_mails:]
        if m.kind.startswith("partner.")
    )
    assert kinds == [("partner.due", True), ("partner.reminder", False), ("partner.reminder", True)]
    # Alex's reminder, still waiting, is not sent now that Alex has sent the homework
    alex_reminder = next(
        m
        for m in messages()
        if m.kind == "partner.reminder" and m.partner_id != case.partners[0].id
    )
    assert send_message.run(str(alex_reminder.id)) == "cancelled"


def test_reminder_jobs_racing_on_postgres_make_each_reminder_once(mail_app, alice, daytime):
    """Two beat processes run the reminder job at the same moment, 20 times over."""
    if not PG_URL or mail_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        service_unavailable("PostgreSQL (COUNSELOR_TEST_DATABASE_URL)")
    case = _couple(alice, ("sam@example.net", "alex@example.net"))
    assignments = [_assign(alice, case, due_in=5, title=f"Check {n}")[0] for n in range(20)]
    later = utcnow() + timedelta(days=3)
    made = []
    barrier = threading.Barrier(2)

    def run():
        with mail_app.app_context():
            barrier.wait()
            made.append(partner_mail.send_reminders(later))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(made) == 2 * len(assignments)
    counted = db.session.scalar(
        select(func.count()).select_from(Message).where(Message.kind == "partner.reminder")
    )
    assert counted == 2 * len(assignments)
    assert db.session.scalar(select(func.count()).select_from(PartnerMail)) == 4 * len(assignments)


def test_releasing_results_mails_the_partners(mail_app, alice, smtp, daytime):
    from counselor.reveal.services import release

    case = _couple(alice)
    assignment, tokens = _assign(alice, case)
    for name in tokens:
        submit(mail_app, tokens[name], {"one.feel": "Fine", "one.rate": 7})
    before = {m.id for m in messages()}
    release(db.session.get(Assignment, assignment.id))
    db.session.commit()
    new = [m for m in messages() if m.id not in before]
    assert [(m.kind, m.partner_id) for m in new] == [("partner.released", case.partners[0].id)]


def test_a_mail_for_a_removed_partner_or_an_erased_case_is_not_sent(mail_app, alice, daytime):
    from counselor.cases.services import delete_case, update_case

    case = _couple(alice, ("sam@example.net", "alex@example.net"))
    _assign(alice, case)
    assert len(messages()) == 2
    sam, alex = case.partners
    update_case(
        case,
        case.label,
        [{"id": str(alex.id), "display_name": alex.display_name, "email": alex.email}],
    )
    db.session.commit()
    assert [m.partner_id for m in messages()] == [alex.id]
    delete_case(case, case.label)
    db.session.commit()
    assert messages() == []


def test_an_invalid_partner_address_is_refused_where_it_is_typed(mail_app, alice):
    client = signed_in_client(mail_app, alice)
    page = client.get("/cases/new").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    r = client.post(
        "/cases/new",
        data={
            "label": "Typo case",
            "partners-0-display_name": "Sam",
            "partners-0-email": "sam@@example",
            **({"csrf_token": csrf.group(1)} if csrf else {}),
        },
    )
    assert r.status_code == 400
    assert "email" in r.get_data(as_text=True).lower()
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0
