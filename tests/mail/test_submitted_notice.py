"""The counselor's "homework submitted" notice is the worker's: a partner's submit marks its
response and writes no mail, outbox row or drain flag; beat's sweep (the real task, on the
real database) claims the mark and makes one mail, or a digest notice, or nothing, exactly
once (counselor.mail.submitted)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from counselor.auth.models import Counselor
from counselor.cases import services as cases
from counselor.core.audit import AuditEvent
from counselor.extensions import db
from counselor.mail import drain, notify, submitted
from counselor.mail.models import MailDrain, Message, Notice
from counselor.questionnaires.models import Response
from tests.support import PG_URL, make_account, new_case, service_unavailable
from tests.support.library import assign, load_own
from tests.support.mail import definition, homework, smtp_config, submit, tell_counselors
from tests.support.portal import open_link
from tests.support.races import in_app_contexts
from tests.support.services import REDIS_URL

ANSWERS = {"one.feel": "Calm", "one.rate": 8}


def _submitted_mails(case_id=None) -> int:
    where = [Message.kind == "notify.submitted"]
    if case_id is not None:
        where.append(Message.case_id == case_id)
    return db.session.scalar(select(func.count()).select_from(Message).where(*where))


def _due() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Response).where(Response.notice_due))


def _drain_flag_set(app) -> bool:
    """Whether the outbox's drain flag is set (a Redis key, or the mail_drain table's row)."""
    flag = drain._flag(app)
    if isinstance(flag, drain.RedisFlag):
        return bool(flag._command("EXISTS", flag.key))
    return db.session.scalar(select(func.count()).select_from(MailDrain)) > 0


@pytest.mark.parametrize("store", ["table", "redis"])
def test_a_submit_queues_no_mail_and_the_sweep_makes_one(make_app, smtp_server, smtp, store):
    config = smtp_config(smtp_server.port)
    if store == "redis":
        if not REDIS_URL:
            service_unavailable("Redis (COUNSELOR_TEST_REDIS_URL)")
        config["CELERY_BROKER_URL"] = REDIS_URL
    app = make_app(**config)
    with app.app_context():
        drain.clear()  # a flag another test left
        alice = make_account("alice@example.org", "Alice Counselor")
        case, _, tokens = homework(alice)
        submit(app, tokens["Sam Rivera"], ANSWERS, sweep=False)
        db.session.expire_all()
        # the request wrote the response (marked) and its audit event, nothing for the outbox
        assert db.session.scalar(select(func.count()).select_from(Message)) == 0
        assert not _drain_flag_set(app)
        assert _due() == 1
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "portal.submit" in actions and "mail.queue" not in actions
        # beat's sweep: the mark cleared, one mail, its audit event by the system, the drain
        # woken as for any worker-queued mail
        assert tell_counselors() == 1
        assert _due() == 0
        [mail] = db.session.scalars(select(Message)).all()
        assert (mail.kind, mail.case_id, mail.counselor_id) == (
            "notify.submitted",
            case.id,
            alice.id,
        )
        assert mail.recipient == "alice@example.org"
        assert "Sam" not in mail.body and "Calm" not in mail.body  # nothing of the partner
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.queue"))
        assert (event.actor_kind, event.object_id) == ("system", str(mail.id))
        assert _drain_flag_set(app)
        # a second sweep finds nothing left
        assert tell_counselors() == 0
        assert _submitted_mails() == 1
        drain.clear()


def test_the_sweep_makes_a_digest_notice_for_a_counselor_who_chose_the_digest(mail_app, alice):
    notify.save_settings(alice.id, submitted=True, alert=True, undeliverable=True, digest=True)
    db.session.commit()
    case, _, tokens = homework(alice)
    submit(mail_app, tokens["Sam Rivera"], ANSWERS)
    assert _submitted_mails() == 0
    notices = db.session.scalars(select(Notice)).all()
    assert [(n.kind, n.case_id, n.counselor_id) for n in notices] == [
        ("submitted", case.id, alice.id)
    ]
    assert _due() == 0


@pytest.mark.parametrize("why", ["not wanted", "inactive"])
def test_the_sweep_tells_nobody_who_asked_for_nothing(mail_app, alice, why):
    if why == "inactive":
        db.session.execute(update(Counselor).values(active=False))
    else:
        notify.save_settings(alice.id, submitted=False, alert=True, undeliverable=True)
    db.session.commit()
    _, _, tokens = homework(alice)
    submit(mail_app, tokens["Sam Rivera"], ANSWERS)
    assert _submitted_mails() == 0 and _due() == 0
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 0


def _reopen(browser) -> None:
    page = browser.get("/p/")
    r = browser.client.post("/p/reopen", data={"csrf_token": _csrf(page)})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]


def _csrf(page: str) -> str:
    from tests.support.portal import portal_csrf

    return portal_csrf(page)


def test_a_response_reopened_before_the_sweep_is_not_told_and_a_resubmit_is_told_once(
    mail_app, alice
):
    case, _, tokens = homework(alice)
    browser = open_link(mail_app.test_client(), tokens["Sam Rivera"])
    browser.answer_and_submit(ANSWERS)
    _reopen(browser)
    assert _due() == 0  # the reopen cleared the mark
    assert tell_counselors() == 0
    assert _submitted_mails() == 0
    # sent, changed, sent again, all before a sweep: one mail
    browser.submit()
    _reopen(browser)
    browser.submit()
    assert _due() == 1
    assert tell_counselors() == 1
    assert _submitted_mails(case.id) == 1


def test_a_response_marked_but_not_submitted_is_cleared_without_a_mail(mail_app, alice):
    """A mark left on a draft (a status changed by another path) is claimed and cleared,
    and tells nobody: the claim tells submitted responses only."""
    _, assignment, tokens = homework(alice)
    submit(mail_app, tokens["Sam Rivera"], ANSWERS, sweep=False)
    db.session.execute(update(Response).values(status="draft"))
    db.session.commit()
    assert tell_counselors() == 1  # claimed
    assert _due() == 0 and _submitted_mails() == 0


def test_a_case_removed_before_the_sweep_gets_no_mail(mail_app, alice):
    case, _, tokens = homework(alice)
    submit(mail_app, tokens["Sam Rivera"], ANSWERS, sweep=False)
    db.session.expire_all()  # as the counselor's request would load it
    fresh = db.session.get(type(case), case.id)
    cases.delete_case(fresh, fresh.label)
    db.session.commit()
    assert tell_counselors() == 0
    assert _submitted_mails() == 0


def test_a_sweep_that_fails_after_its_claim_leaves_the_mark_due_and_the_next_mails_once(
    mail_app, alice, monkeypatch
):
    case, _, tokens = homework(alice)
    submit(mail_app, tokens["Sam Rivera"], ANSWERS, sweep=False)
    submit(mail_app, tokens["Alex Novak"], ANSWERS, sweep=False)
    made = []

    def fail_on_the_second(case_id, told):
        notify.submitted(case_id, told)  # the first one's mail is written, then undone
        made.append(case_id)
        if len(made) == 2:
            raise RuntimeError("the worker died mid-sweep")

    monkeypatch.setattr(submitted.notify, "submitted", fail_on_the_second)
    with pytest.raises(RuntimeError):
        tell_counselors()
    monkeypatch.undo()
    assert _due() == 2
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0
    assert tell_counselors() == 2
    assert _submitted_mails(case.id) == 2 and _due() == 0


#: rounds of the race (the security promise asks for at least 50 tries)
ROUNDS = 50


def test_two_sweeps_at_once_make_one_mail_per_submit(app, counselor_a):
    """PostgreSQL: two workers run the sweep at the same moment, again and again, over
    submits marked between rounds (the submit's own UPDATE, as a real submit writes it)."""
    if not PG_URL:
        service_unavailable("PostgreSQL (COUNSELOR_TEST_DATABASE_URL) for the race test")
    q = load_own(counselor_a, definition())
    cases_ = [new_case(counselor_a, f"Race {n}") for n in range(3)]
    for case in cases_:
        assign(case, q)
    db.session.commit()
    first = db.session.scalars(select(Response.id)).all()
    # the two partners of the first case submit through the portal, the rest are marked as
    # the submit's UPDATE marks them
    tokens = assign(cases_[0], q)[1]
    for token in tokens.values():
        submit(app, token, ANSWERS, sweep=False)
    violations = []
    per_round = len(first) + len(tokens)
    for n in range(ROUNDS):
        db.session.execute(
            update(Response).values(status="submitted", notice_due=True, submitted_at=func.now())
        )
        db.session.commit()
        got = in_app_contexts(app, submitted.sweep, submitted.sweep)
        if sum(got) != per_round:
            violations.append(f"round {n}: the sweeps claimed {got} of {per_round}")
        for case in cases_:
            made = _submitted_mails(case.id)
            expected = (n + 1) * len(case.partners) * (2 if case is cases_[0] else 1)
            if made != expected:
                violations.append(f"round {n}: {made} mails for {case.label}, not {expected}")
        if _due():
            violations.append(f"round {n}: marks left due")
    assert violations == []


def test_beat_runs_the_sweep_on_its_setting(make_app):
    app = make_app(COUNSELOR_NOTICE_SWEEP_SECONDS=3)
    schedule = app.extensions["celery"].conf.beat_schedule
    entry = schedule["counselor.mail.tasks.send_submitted_notices"]
    assert entry["schedule"].total_seconds() == 3
    assert "counselor.mail.tasks.send_submitted_notices" in app.extensions["celery"].tasks
