"""Demo data for `flask demo`: one case that shows every stage of the loop at once.

Times are chosen in the practice's time zone at hours a practice keeps (sessions in the
afternoon, homework sent in the evening), and a case is opened before its first session.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from counselor.core.models import combine_local, practice_zone, utcnow

SAM_INVENTORY = {
    "communication.fantasy_talk": ({"together": "yes"}, [], ""),
    "communication.instructions": ({"give": "yes", "receive": "no"}, [], ""),
    "power.lead_follow": ({"lead": "want_to_try"}, [], "Slowly, with a lot of checking in."),
    "sensation.spanking": ({"give": "yes"}, [], ""),
    "restraint.rope": ({"give": "yes", "receive": "want_to_try"}, [], ""),
    "care.cuddling": ({"together": "yes"}, [], ""),
}
ALEX_INVENTORY = {
    "communication.fantasy_talk": ({"together": "want_to_try"}, [], ""),
    "communication.instructions": ({"give": "no", "receive": "yes"}, [], ""),
    "power.lead_follow": ({"follow": "yes"}, [], ""),
    "sensation.spanking": ({"receive": "no"}, [], "Not for me, but I am glad we talked."),
    "restraint.rope": ({"give": "no", "receive": "no"}, ["give", "receive"], ""),
    "care.cuddling": ({"together": "yes"}, [], ""),
}
INTAKE = {
    "about.adult": True,
    "goals.main": "Talk more openly about what we want.",
    "screening.pressure": "no",
    "screening.fear_guilt": "never",
    "screening.safe_home": "yes",
    "screening.harm": "no",
    "screening.afraid": "no",
    "screening.physical": "no",
    "screening.forced_sex": "no",
    "screening.put_down": "no",
    "mood.asq_wish": "no",
    "mood.asq_better_off": "no",
    "mood.asq_thoughts": "no",
    "mood.asq_attempt": "no",
    "mood.self_harm": "no",
    "substances.audit_c1": "0",
    "substances.drugs": "never",
    "substances.with_sex": "never",
    "substances.worry": "no",
    "screening.alone": False,
}


PAUSE_SIGNAL = {
    "Sam Rivera": {
        "signal.word": "Pineapple",
        "signal.nonverbal": "Two taps on the arm",
        "after.what": "We stop, sit up, and check in with words.",
    },
    "Alex Novak": {
        "signal.word": "Pineapple",
        "signal.nonverbal": "Two taps on the arm",
        "lights.yellow": "Slow down and check in",
    },
}
#: the demo agreement's first version; the second changes one clause and adds one
AGREEMENT_V1 = [
    {
        "kind": "pause_signal",
        "text": "Either of us can call it at any time; everything stops at once.",
        "signal": {
            "word": "Pineapple",
            "nonverbal": "Two taps on the arm",
            "checkin": "Yellow: slow down and check in",
            "after": "We stop, sit up, and check in with words.",
        },
    },
    {
        "kind": "activity",
        "text": "Giving and receiving instructions during intimacy",
        "where": "At home",
        "when": "When we both have the evening free",
        "off_table": "Instructions in front of other people",
    },
    {"kind": "aftercare", "text": "A blanket, water, and ten quiet minutes together."},
]


def _agreement(case, at: datetime):
    """An agreement with two versions: both agreed to the first; Sam has agreed to the
    second, which waits for Alex."""
    from sqlalchemy import update

    from counselor.agreements import drafting, queries, services
    from counselor.agreements.models import AgreementAck, AgreementVersion
    from counselor.extensions import db

    sam, alex = case.partners
    agreement = drafting.create(case, "Our agreement", [sam.id, alex.id])
    agreement.created_at = at
    first = queries.draft_of(agreement)
    drafting.save_draft(agreement, first, "Our agreement", AGREEMENT_V1, None)
    services.publish(agreement, first.id)
    for partner in (sam, alex):
        services.answer(agreement, partner, first.id, "agree", None)
    clauses = [dict(c) for c in first.clauses]
    clauses[1]["text"] = "Giving and receiving instructions during intimacy, one at a time"
    clauses.append({"kind": "conduct", "text": "We check in the morning after, every time."})
    second = drafting.start_draft(agreement)
    drafting.save_draft(agreement, second, "Our agreement", clauses, None)
    services.publish(agreement, second.id)
    services.answer(agreement, sam, second.id, "agree", None)
    db.session.flush()
    # the story's times (published versions never change through the ORM)
    for version, published in ((first, at), (second, at + timedelta(days=9, hours=4))):
        db.session.execute(
            update(AgreementVersion)
            .where(AgreementVersion.id == version.id)
            .values(
                published_at=published,
                created_at=published,
                review_on=(published + timedelta(weeks=8)).date(),
            )
        )
    for n, ack in enumerate(
        db.session.scalars(
            db.select(AgreementAck)
            .where(AgreementAck.agreement_id == agreement.id)
            .order_by(AgreementAck.at)
        )
    ):
        db.session.execute(
            update(AgreementAck)
            .where(AgreementAck.id == ack.id)
            .values(at=at + timedelta(days=[1, 2, 10][n], hours=20))
        )
    db.session.expire_all()
    return agreement


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return combine_local(day, time(hour, minute))


def _desires(answers: dict) -> dict:
    return {
        lid: {"roles": roles, "limits": limits, "note": note}
        for lid, (roles, limits, note) in answers.items()
    }


def _weekday(day: date) -> date:
    """The Friday before a weekend day (a practice sees clients on weekdays)."""
    return day - timedelta(days=max(0, day.weekday() - 4))


def _session(case, day: date, hour: int, agenda: str = "", notes: str = "", steps: str = ""):
    from counselor.cases.services import save_session

    day = _weekday(day)
    return save_session(
        case,
        {
            "date": day,
            "time": time(hour, 0),
            "duration_minutes": 50,
            "agenda": agenda,
            "notes": notes,
            "next_steps": steps,
        },
    )


def _homework(case, slug: str, given: datetime, sent: dict[str, tuple[dict, datetime]]):
    """Assign a built-in questionnaire and record each partner's submitted answers."""
    from counselor.alerts.services import evaluate_alerts
    from counselor.extensions import db
    from counselor.questionnaires.models import Questionnaire
    from counselor.questionnaires.services import assign

    q = db.session.query(Questionnaire).filter_by(slug=slug, owner_id=None).one()
    assignment, _ = assign(case, q.latest, [], due_on=None, instructions=None, ttl_days=30)
    assignment.created_at = given
    db.session.flush()
    for response in assignment.responses:
        answers, at = sent[response.partner.display_name]
        response.answers = answers
        response.status = "submitted"
        response.saved_at = response.submitted_at = at
        for alert in evaluate_alerts(assignment, response):
            alert.triggered_at = at
    db.session.flush()
    return assignment


#: the couple's weekly consent check-ins so far, oldest first: (Sam, Alex) answers; Sam's
#: anxiety rises 3 points over the last two, which raises the check-in's trend alert
CHECK_INS = (
    ({"anxiety": 2, "fatigue": 3, "comfort": 8}, {"anxiety": 3, "fatigue": 5, "comfort": 7}),
    ({"anxiety": 3, "fatigue": 4, "comfort": 7}, {"anxiety": 3, "fatigue": 4, "comfort": 8}),
    ({"anxiety": 5, "fatigue": 4, "comfort": 6}, {"anxiety": 2, "fatigue": 3, "comfort": 8}),
)


def _check_in_answers(values: dict) -> dict:
    return {
        "agreements.comfort": values["comfort"],
        "wellbeing.pressure": 0,
        "wellbeing.fatigue": values["fatigue"],
        "wellbeing.anxiety": values["anxiety"],
    }


def _check_ins(case, today: date) -> None:
    """A weekly check-in schedule that began three weeks ago: three check-ins answered (a
    chart on the trends page), the next one tomorrow."""
    from counselor.checkins import services
    from counselor.checkins.models import Occurrence
    from counselor.extensions import db
    from counselor.questionnaires.models import Questionnaire

    q = db.session.query(Questionnaire).filter_by(slug="consent-check-in", owner_id=None).one()
    schedule = services.create(
        case, q, [p.id for p in case.partners], every=1, unit="weeks", starts_on=today
    )
    schedule.starts_on = today - timedelta(days=20)
    schedule.created_at = _at(schedule.starts_on - timedelta(days=1), 17)
    for n, (sam, alex) in enumerate(CHECK_INS):
        day = schedule.starts_on + timedelta(weeks=n)
        assignment = _homework(
            case,
            "consent-check-in",
            _at(day, 7),
            {
                "Sam Rivera": (_check_in_answers(sam), _at(day + timedelta(days=1), 21, 5)),
                "Alex Novak": (_check_in_answers(alex), _at(day + timedelta(days=2), 20, 30)),
            },
        )
        db.session.add(
            Occurrence(
                schedule_id=schedule.id, number=n + 1, falls_on=day, assignment_id=assignment.id
            )
        )
    schedule.made = len(CHECK_INS)
    schedule.next_on = schedule.starts_on + timedelta(weeks=len(CHECK_INS))
    db.session.flush()


def _consents(case, when: datetime) -> None:
    """Each partner acknowledged the practice's informed consent (typed name and date) before
    starting the intake, as the portal asks."""
    from counselor.consent import services as consent
    from counselor.consent.models import ConsentAck
    from counselor.extensions import db

    text = consent.current_text()
    for n, partner in enumerate(case.partners):
        at = when + timedelta(hours=n)
        db.session.add(
            ConsentAck(
                case_id=case.id,
                partner_id=partner.id,
                text_id=text.id,
                text_hash=text.text_hash,
                typed_name=partner.display_name,
                signed_on=at.date(),
                acknowledged_at=at,
            )
        )


def create_demo_cases(account) -> None:
    """A couple with every stage (homework, released comparison, open alert, ready PDF), and
    an individual case with one session."""
    from counselor.cases.services import create_case
    from counselor.extensions import db
    from counselor.reports import builders
    from counselor.reports import services as reports

    today = datetime.now(practice_zone()).date()
    couple = create_case(
        account,
        "Sam & Alex",
        [
            {"display_name": "Sam Rivera", "pronouns": "they/them", "email": None},
            {"display_name": "Alex Novak", "pronouns": "he/him", "email": None},
        ],
    )
    couple.created_at = _at(today - timedelta(days=31), 9, 40)
    first = _session(
        couple,
        today - timedelta(days=28),
        16,
        "First session: goals, pace, how each prefers to talk about desire.",
        "Both keen; Alex more hesitant to name wishes aloud. Agreed on written homework first.",
        "Each fills in the intake and the inventory privately. Agree on a pause signal.",
    )
    given = first.starts_at + timedelta(hours=1)
    _consents(couple, given + timedelta(hours=2))
    _homework(
        couple,
        "intake",
        given,
        {
            "Sam Rivera": (
                {**INTAKE, "screening.pressure": "a_little"},
                _at(today - timedelta(days=25), 20, 40),
            ),
            "Alex Novak": (INTAKE, _at(today - timedelta(days=24), 21, 15)),
        },
    )
    inventory = _homework(
        couple,
        "desires-boundaries",
        given,
        {
            "Sam Rivera": (_desires(SAM_INVENTORY), _at(today - timedelta(days=20), 19, 5)),
            "Alex Novak": (_desires(ALEX_INVENTORY), _at(today - timedelta(days=18), 21, 30)),
        },
    )
    second = _session(
        couple,
        today - timedelta(days=14),
        16,
        "Go through the inventory together.",
        "Sam wants more structure in play; Alex curious about following. Discussed aftercare.",
        "One small step together, then a debrief.",
    )
    inventory.released_at = second.starts_at + timedelta(minutes=45)
    pause = _homework(
        couple,
        "pause-signal",
        given,
        {
            "Sam Rivera": (PAUSE_SIGNAL["Sam Rivera"], _at(today - timedelta(days=19), 20, 10)),
            "Alex Novak": (PAUSE_SIGNAL["Alex Novak"], _at(today - timedelta(days=17), 19, 45)),
        },
    )
    pause.released_at = second.starts_at + timedelta(minutes=45)
    db.session.flush()
    agreement = _agreement(couple, second.starts_at + timedelta(minutes=50))
    from counselor.steps.demo import create_demo_ladder

    create_demo_ladder(couple, agreement, second.starts_at + timedelta(hours=1))
    # Addresses only now: the seeded history sends no mail, and the homework a new user
    # assigns reaches both partners in the development mailbox (/dev/mail), where its
    # sign-in link can be followed. (example.org is reserved: nothing leaves the machine.)
    addresses = ("sam@example.org", "alex@example.org")
    for partner, address in zip(couple.partners, addresses, strict=True):
        partner.email = address
    _check_ins(couple, today)
    _session(couple, today + timedelta(days=7), 16, "Debrief of the first step.")
    db.session.flush()
    export = reports.request_export(couple, "clinical", second, None)
    export.requested_at = second.starts_at + timedelta(hours=2)
    export.pdf = builders.render(export)
    export.size_bytes = len(export.pdf)
    export.status = "ready"
    export.finished_at = utcnow()

    single = create_case(
        account,
        "Maya (individual)",
        [{"display_name": "Maya Lindqvist", "pronouns": "she/her", "email": None}],
    )
    single.created_at = _at(today - timedelta(days=8), 11, 20)
    _session(
        single,
        today - timedelta(days=5),
        11,
        "Intake conversation.",
        "Wants language for boundaries with a new partner.",
        "Reading: a chapter on consent conversations.",
    )
