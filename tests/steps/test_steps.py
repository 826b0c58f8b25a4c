"""Steps (issue 13): a ladder under an agreement's clause, partners marking steps, debriefs,
what each chooses to share, the shared log after every debrief is in, and a debrief that
asks to slow down pausing the next step and alerting the counselor."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from counselor.alerts.models import Alert
from counselor.core.audit import AuditEvent
from counselor.extensions import db
from counselor.mail.models import Message
from counselor.steps.models import Step, StepDebrief
from tests.support import canary, csrf_token_from, fresh
from tests.support.steps import CALM, answer_debrief, ladder_case, phone


@pytest.fixture
def lc(app, counselor_a):
    return ladder_case(counselor_a)


def _mark(client, csrf, lc, step, action):
    return client.post(
        f"/p/steps/{lc.ladder.id}/mark",
        data={"csrf_token": csrf, "step": str(step.id), "action": action},
    )


def _debrief(partner_id, step_id) -> StepDebrief:
    db.session.expire_all()
    return db.session.scalar(
        select(StepDebrief).where(
            StepDebrief.step_id == step_id, StepDebrief.partner_id == partner_id
        )
    )


def _share(client, csrf, lc, step, keys):
    return client.post(
        f"/p/steps/{lc.ladder.id}/share",
        data={"csrf_token": csrf, "step": str(step.id), "share": keys},
    )


def test_a_done_step_gives_each_partner_a_debrief_and_the_log_waits_for_both(app, lc):
    sam, sam_csrf = phone(app, lc.sam)
    alex, alex_csrf = phone(app, lc.alex)
    page = sam.get("/p/steps").get_data(as_text=True)
    assert "Hold hands while talking about the day" in page and "We did it" in page
    # the agreement's clause is named, and its partners' names are theirs to see
    assert "Under: Activity" in page

    mails_before = db.session.scalar(select(db.func.count(Message.id)))
    r = _mark(sam, sam_csrf, lc, lc.steps[0], "done")
    assert r.status_code == 302
    assert fresh(lc.steps[0]).status == "done"
    sam_d, alex_d = _debrief(lc.sam.id, lc.steps[0].id), _debrief(lc.alex.id, lc.steps[0].id)
    assert sam_d and alex_d and sam_d.assignment_id == alex_d.assignment_id
    # one content-free mail each (new_case gives both partners an address)
    mails = db.session.scalars(select(Message)).all()
    assert len(mails) - mails_before == 2
    # the debrief is on each home, and Alex's page now offers to write it
    home = alex.get("/p/home").get_data(as_text=True)
    assert "A short debrief is waiting for you" in home
    assert f"/p/a/{alex_d.assignment_id}/" in alex.get("/p/steps").get_data(as_text=True)

    secret = {who: canary(f"doubt-{who}") for who in ("sam", "alex")}
    shared = {who: canary(f"exciting-{who}") for who in ("sam", "alex")}
    for who, client, debrief in (("sam", sam, sam_d), ("alex", alex, alex_d)):
        answer_debrief(
            client,
            debrief.assignment_id,
            {**CALM, "looking_back.exciting": shared[who], "looking_back.doubt": secret[who]},
        )
    # Sam chooses: the exciting part only
    page = sam.get("/p/steps").get_data(as_text=True)
    assert "what goes into your shared log" in page and secret["sam"] in page
    assert _share(sam, sam_csrf, lc, lc.steps[0], ["looking_back.exciting"]).status_code == 302
    # before Alex sends, nobody's log shows the step, and nothing of Sam reaches Alex
    for client in (sam, alex):
        log = client.get("/p/steps/log").get_data(as_text=True)
        assert "Nothing here yet" in log
    for path in ("/p/steps", "/p/steps/log", "/p/home"):
        body = alex.get(path).get_data(as_text=True)
        assert shared["sam"] not in body and secret["sam"] not in body
    # sending twice is refused, and nothing changes
    assert _share(sam, sam_csrf, lc, lc.steps[0], ["looking_back.doubt"]).status_code == 409

    assert _share(alex, alex_csrf, lc, lc.steps[0], ["looking_back.exciting"]).status_code == 302
    for client in (sam, alex):
        log = client.get("/p/steps/log").get_data(as_text=True)
        assert shared["sam"] in log and shared["alex"] in log
        assert secret["sam"] not in log and secret["alex"] not in log
    for path in ("/p/steps", "/p/home"):
        assert secret["sam"] not in alex.get(path).get_data(as_text=True)
        assert secret["alex"] not in sam.get(path).get_data(as_text=True)
    assert "Your shared log" in sam.get("/p/home").get_data(as_text=True)
    kinds = set(db.session.scalars(select(AuditEvent.action)))
    assert {"steps.done", "steps.share", "portal.steps", "portal.steps_log"} <= kinds


def test_a_tense_debrief_pauses_the_next_step_and_alerts_the_counselor(app, lc, client_a):
    sam, sam_csrf = phone(app, lc.sam)
    assert _mark(sam, sam_csrf, lc, lc.steps[0], "done").status_code == 302
    debrief = _debrief(lc.sam.id, lc.steps[0].id)
    answer_debrief(sam, debrief.assignment_id, {**CALM, "now.anxiety": 8})
    assert fresh(lc.steps[1]).status == "paused"
    alert = db.session.scalar(select(Alert).where(Alert.link_id == "steps.pace"))
    assert alert is not None and alert.severity == "review"
    # a partner cannot go on past the pause; the page says why, kindly
    r = _mark(sam, sam_csrf, lc, lc.steps[1], "done")
    assert r.status_code == 409 and "Your counselor will go through it" in r.get_data(as_text=True)
    # the counselor sees the alert and the pause, and resumes the step
    case_page = client_a.get(f"/cases/{lc.case.id}").get_data(as_text=True)
    assert "the next step is paused" in case_page
    page = client_a.get(f"/cases/{lc.case.id}/steps").get_data(as_text=True)
    assert "Paused because a debrief asked to slow down" in page
    r = client_a.post(
        f"/cases/{lc.case.id}/steps/{lc.steps[1].id}/resume",
        data={"csrf_token": csrf_token_from(page)},
    )
    assert r.status_code == 302 and fresh(lc.steps[1]).status == "open"


@pytest.mark.parametrize(
    "answers", [{"next.pace": "pause"}, {"next.pace": "gentler"}, {"now.fatigue": 7}]
)
def test_slowing_down_or_fatigue_also_pauses(app, lc, answers):
    sam, sam_csrf = phone(app, lc.sam)
    _mark(sam, sam_csrf, lc, lc.steps[0], "done")
    answer_debrief(sam, _debrief(lc.sam.id, lc.steps[0].id).assignment_id, {**CALM, **answers})
    assert fresh(lc.steps[1]).status == "paused"


def test_a_calm_debrief_leaves_the_next_step_open(app, lc):
    sam, sam_csrf = phone(app, lc.sam)
    _mark(sam, sam_csrf, lc, lc.steps[0], "done")
    answer_debrief(sam, _debrief(lc.sam.id, lc.steps[0].id).assignment_id, CALM)
    assert fresh(lc.steps[1]).status == "open"


def test_skip_and_pause_and_a_stale_page(app, lc):
    sam, sam_csrf = phone(app, lc.sam)
    alex, alex_csrf = phone(app, lc.alex)
    assert _mark(sam, sam_csrf, lc, lc.steps[0], "skip").status_code == 302
    assert _debrief(lc.sam.id, lc.steps[0].id) is None
    # Alex's page still showed step 1: told what happened, nothing recorded
    r = _mark(alex, alex_csrf, lc, lc.steps[0], "done")
    assert r.status_code == 409 and "already marked this step" in r.get_data(as_text=True)
    assert _mark(alex, alex_csrf, lc, lc.steps[1], "pause").status_code == 302
    assert fresh(lc.steps[1]).status == "paused"
    assert "paused for now" in sam.get("/p/home").get_data(as_text=True)


@pytest.mark.parametrize(
    "data",
    [
        {"step": "nope", "action": "done"},
        {"action": "done"},
        {"step": "STEP", "action": "explode"},
    ],
)
def test_bad_marks_are_refused_plainly(app, lc, data):
    sam, sam_csrf = phone(app, lc.sam)
    data = {k: (str(lc.steps[0].id) if v == "STEP" else v) for k, v in data.items()}
    r = sam.post(f"/p/steps/{lc.ladder.id}/mark", data={"csrf_token": sam_csrf, **data})
    assert r.status_code == 400
    assert fresh(lc.steps[0]).status == "open"


def test_a_partner_outside_the_agreement_sees_nothing_of_its_steps(app, counselor_a):
    lc = ladder_case(
        counselor_a,
        names=("Sam Rivera", "Alex Novak", "Kai Moreau"),
        partners=lambda case: case.partners[:2],
    )
    kai = lc.case.partners[2]
    client, csrf = phone(app, kai)
    for path in ("/p/steps", "/p/steps/log", "/p/home"):
        body = client.get(path).get_data(as_text=True)
        assert "Hold hands" not in body and "Our agreement" not in body
    r = client.post(
        f"/p/steps/{lc.ladder.id}/mark",
        data={"csrf_token": csrf, "step": str(lc.steps[0].id), "action": "done"},
    )
    assert r.status_code == 404
    assert fresh(lc.steps[0]).status == "open"


def test_the_counselor_writes_orders_and_answers_proposals(app, lc, client_a):
    page = client_a.get(f"/cases/{lc.case.id}/steps").get_data(as_text=True)
    place = f"{lc.agreement.id}:{lc.ladder.clause_key}"
    assert f'<option value="{place}"' in page
    r = client_a.post(
        f"/cases/{lc.case.id}/steps",
        data={
            "csrf_token": csrf_token_from(page),
            "place": place,
            "what": "Read a chapter together",
            "size": "One evening",
        },
    )
    assert r.status_code == 302
    new = db.session.scalar(select(Step).where(Step.position == 4))
    assert new is not None and new.what == "Read a chapter together"
    # empty "what": a clear message, 400
    r = client_a.post(
        f"/cases/{lc.case.id}/steps",
        data={"csrf_token": csrf_token_from(page), "place": place, "what": " "},
    )
    assert r.status_code == 400 and "Say what the step is" in r.get_data(as_text=True)
    # move step 3 up
    r = client_a.post(
        f"/cases/{lc.case.id}/steps/{lc.steps[2].id}/move",
        data={"csrf_token": csrf_token_from(page), "direction": "up"},
    )
    assert r.status_code == 302
    assert fresh(lc.steps[2]).position < fresh(lc.steps[1]).position
    # edit
    r = client_a.post(
        f"/cases/{lc.case.id}/steps/{lc.steps[0].id}/edit",
        data={"csrf_token": csrf_token_from(page), "what": "Hold hands", "size": "Two minutes"},
    )
    assert r.status_code == 302 and fresh(lc.steps[0]).size == "Two minutes"

    # a partner proposes; the counselor accepts one, declines another
    sam, sam_csrf = phone(app, lc.sam)
    for what in ("A massage with words", "Something else"):
        r = sam.post(
            f"/p/steps/{lc.ladder.id}/propose", data={"csrf_token": sam_csrf, "what": what}
        )
        assert r.status_code == 302
    proposals = db.session.scalars(select(Step).where(Step.status == "proposed")).all()
    assert len(proposals) == 2
    page = client_a.get(f"/cases/{lc.case.id}/steps").get_data(as_text=True)
    assert "Proposed by a partner" in page and "A massage with words" in page
    for step, decision in zip(
        sorted(proposals, key=lambda s: s.what), ("accept", "decline"), strict=True
    ):
        r = client_a.post(
            f"/cases/{lc.case.id}/steps/{step.id}/decide",
            data={"csrf_token": csrf_token_from(page), "decision": decision},
        )
        assert r.status_code == 302
    assert {s.what: s.status for s in db.session.scalars(select(Step))}[
        "A massage with words"
    ] == "open"
    mine = sam.get("/p/steps").get_data(as_text=True)
    assert "talk it through with you first" in mine
    # Alex never sees Sam's declined idea
    alex, _ = phone(app, lc.alex)
    assert "Something else" not in alex.get("/p/steps").get_data(as_text=True)


def test_steps_and_the_log_are_not_in_the_database_in_plain_text(app, lc, database_url):
    """A step's words and the reflections in the shared log: readable back on the pages,
    nowhere in plain text at rest."""
    from counselor.steps import services
    from tests.support import database_bytes, leaks

    what, size, conditions = canary("stepwhat"), canary("stepsize"), canary("stepcond")
    ladder = db.session.get(type(lc.ladder), lc.ladder.id)
    step = services.add_step(ladder, what, size, conditions)
    db.session.commit()
    sam, sam_csrf = phone(app, lc.sam)
    for s in lc.steps:
        assert _mark(sam, sam_csrf, lc, fresh(s), "skip").status_code == 302
    assert _mark(sam, sam_csrf, lc, step, "done").status_code == 302
    shared = canary("sharedreflection")
    answer_debrief(sam, _debrief(lc.sam.id, step.id).assignment_id, {**CALM, "next.refine": shared})
    assert _share(sam, sam_csrf, lc, step, ["next.refine"]).status_code == 302
    page = sam.get("/p/steps").get_data(as_text=True)
    assert what in page and size in page and conditions in page
    found = leaks(database_bytes(database_url), what, size, conditions, shared)
    assert found == [], f"plain text in the database: {found}"


def test_a_paused_clause_holds_its_steps_until_the_pause_is_lifted(app, lc):
    from counselor.agreements import services as agreements

    sam, sam_csrf = phone(app, lc.sam)
    paused = agreements.pause(lc.agreement, lc.alex, lc.ladder.clause_key)
    db.session.commit()
    page = sam.get("/p/steps").get_data(as_text=True)
    assert "This part of your agreement is paused" in page
    assert "We did it" not in page and "Skip it" not in page
    for action in ("done", "skip"):
        r = _mark(sam, sam_csrf, lc, lc.steps[0], action)
        assert r.status_code == 409
        assert "its steps wait until the pause is lifted" in r.get_data(as_text=True)
        assert fresh(lc.steps[0]).status == "open", "nothing moved on"
    agreements.lift(lc.agreement, lc.alex, paused.id)
    db.session.commit()
    assert "We did it" in sam.get("/p/steps").get_data(as_text=True)
    assert _mark(sam, sam_csrf, lc, lc.steps[0], "done").status_code == 302
    assert fresh(lc.steps[0]).status == "done"


def test_a_step_can_be_paused_while_its_clause_is_paused(app, lc):
    from counselor.agreements import services as agreements

    sam, sam_csrf = phone(app, lc.sam)
    agreements.pause(lc.agreement, lc.alex, lc.ladder.clause_key)
    db.session.commit()
    assert _mark(sam, sam_csrf, lc, lc.steps[0], "pause").status_code == 302
    assert fresh(lc.steps[0]).status == "paused"


def test_partner_posts_need_the_portal_csrf_token(app, lc):
    """Marking, sharing and proposing are exempt from Flask-WTF (the counselor's token):
    without the portal's own token, or with a forged one, each is refused and changes nothing."""
    sam, csrf = phone(app, lc.sam)
    base = f"/p/steps/{lc.ladder.id}"
    step = str(lc.steps[0].id)
    forms = {
        "/mark": {"step": step, "action": "done"},
        "/share": {"step": step, "share": ["x"]},
        "/propose": {"what": "A walk together", "size": "Ten minutes"},
    }
    for path, data in forms.items():
        for token in (None, "forged"):
            sent = dict(data, **({"csrf_token": token} if token else {}))
            got = sam.post(base + path, data=sent)
            assert got.status_code == 400, (path, token)
            assert "came from elsewhere" in got.get_data(as_text=True), "refused for the token"
    assert fresh(lc.steps[0]).status == "open"
    assert db.session.scalar(select(db.func.count(Step.id))) == 3, "no step was proposed"
    assert _mark(sam, csrf, lc, lc.steps[0], "done").status_code == 302  # the token was why


def test_a_partner_pausing_a_step_is_told_to_the_counselor_without_what(app, lc):
    sam, sam_csrf = phone(app, lc.sam)
    before = {m.id for m in db.session.scalars(select(Message))}
    assert _mark(sam, sam_csrf, lc, lc.steps[0], "pause").status_code == 302
    mails = db.session.scalars(select(Message).where(Message.id.not_in(before))).all()
    [mail] = [m for m in mails if m.kind == "notify.paused"]
    assert mail.recipient == "a@example.org" and "urgent" in mail.body
    assert "Hold hands" not in mail.body and "Sam" not in mail.body + mail.subject


def test_the_records_show_each_ladder_as_it_stands_and_the_handout_does_not(app, lc):
    """The case record lists each ladder's steps in order, who marked each and why one waits;
    a partner's handout carries no ladder."""
    from datetime import date, time, timedelta

    from counselor.cases.services import save_session
    from counselor.reports import builders
    from counselor.reports import services as reports
    from counselor.reports.models import Export
    from tests.reports.test_summary import pages

    sam, sam_csrf = phone(app, lc.sam)
    alex, alex_csrf = phone(app, lc.alex)
    assert _mark(sam, sam_csrf, lc, lc.steps[0], "done").status_code == 302
    assert _mark(alex, alex_csrf, lc, lc.steps[1], "pause").status_code == 302
    proposal = sam.post(
        f"/p/steps/{lc.ladder.id}/propose",
        data={"csrf_token": sam_csrf, "what": "Breakfast in bed, no plans after"},
    )
    assert proposal.status_code == 302
    db.session.expire_all()  # the partners' marks came through other sessions
    session = save_session(
        lc.case,
        {"date": date.today() - timedelta(days=1), "time": time(10), "duration_minutes": 50},
    )
    db.session.commit()
    export = reports.request_export(lc.case, "case_record", None, None)
    db.session.commit()
    text = " ".join(pages(builders.render(db.session.get(Export, export.id))))
    steps = text[text.index("Gradual steps") :]
    assert "Partners: Sam Rivera, Alex Novak" in steps
    assert "1. Hold hands while talking about the day — Done on" in steps
    assert "marked by Sam Rivera" in steps
    assert "2. One instruction, then a check-in — Paused since" in steps
    assert "a partner pressed Pause" in steps
    assert "3. A longer scene with the pause word at hand — Not started." in steps
    assert "Breakfast in bed, no plans after (suggested by Sam Rivera)" in steps
    handout = reports.request_export(lc.case, "handout", session, lc.sam.id)
    db.session.commit()
    text = " ".join(pages(builders.render(db.session.get(Export, handout.id))))
    assert "Gradual steps" not in text and "Hold hands" not in text


def test_only_a_pace_fatigue_or_anxiety_answer_asks_to_slow(app):
    """Keys are read by their last dotted part: one that only ends in the same letters
    ("outpace", "a.mypace") asks nothing, whatever its value."""
    from counselor.steps.services import asks_to_slow

    with app.app_context():
        high = app.config["COUNSELOR_STEP_PAUSE_AT"]
        answers = {
            "pace": "pause",
            "d.pace": "gentler",
            "d.fatigue": high,
            "anxiety": high + 1,
            "outpace": "pause",
            "a.mypace": "gentler",
            "d.nofatigue": high,
            "d.calm_anxiety": 10,
            "d.anxiety_note": 10,
            "e.fatigue": high - 1,
            "e.anxiety": True,
            "e.pace": "steady",
        }
        assert asks_to_slow(answers) == ["pace", "d.pace", "d.fatigue", "anxiety"]
