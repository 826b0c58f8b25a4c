"""The demo case's ladder (``flask demo``): three steps in, with debriefs and a shared log."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from counselor.agreements import queries as agreement_queries
from counselor.extensions import db
from counselor.questionnaires.models import Response
from counselor.steps import services
from counselor.steps.models import Step

LADDER = [
    ("Talk through one instruction you would enjoy, without trying it", "Ten minutes, on the sofa"),
    ("One gentle instruction, then a check-in", "Five minutes, clothes on"),
    ("A short evening of instructions, the pause word at hand", "Half an hour"),
    ("A longer scene with aftercare planned", "An evening, aftercare for as long as needed"),
]
#: (Sam's answers, Alex's answers, what each shares) per done step; None: not answered yet
DEBRIEFS = [
    (
        {
            "step.what": "We each said one instruction we would like to hear.",
            "looking_back.exciting": "Hearing Alex say it out loud felt close.",
            "looking_back.doubt": "I worried I sounded silly.",
            "next.refine": "Say it slower next time.",
        },
        {
            "step.what": "We talked about instructions on the sofa.",
            "looking_back.exciting": "It was easier than I thought to say what I like.",
            "looking_back.doubt": "I was not sure Sam meant it.",
            "next.refine": "More time at the start.",
        },
        (["looking_back.exciting", "next.refine"], ["looking_back.exciting"]),
    ),
    (
        {
            "step.what": "One instruction and a check-in.",
            "looking_back.exciting": "The check-in made me feel safe to go on.",
            "next.refine": "Agree on the instruction beforehand.",
        },
        {
            "step.what": "One instruction, then we checked in.",
            "looking_back.exciting": "Following felt playful, not serious.",
            "looking_back.doubt": "I froze a moment before answering.",
            "next.refine": "A softer voice.",
        },
        (["looking_back.exciting"], ["looking_back.exciting", "next.refine"]),
    ),
    (
        {
            "step.what": "A short evening of instructions.",
            "looking_back.exciting": "We laughed a lot.",
            "looking_back.doubt": "Afterwards I felt uneasy and tired.",
        },
        None,
        None,
    ),
]
CALM = {"now.feeling": 7, "now.fatigue": 2, "now.anxiety": 2, "next.pace": "further"}


def create_demo_ladder(case, agreement, at: datetime) -> None:
    """Four steps under the agreement's activity clause: the first two done, debriefed and in
    the shared log; the third done, Sam's debrief asking to slow down (the fourth paused, a
    review alert), Alex's debrief still to write."""
    key = agreement_queries.in_force(agreement).clauses[1]["key"]
    ladder = services.ladder_at(case, f"{agreement.id}:{key}")
    ladder.created_at = at
    steps = [services.add_step(ladder, what, size) for what, size in LADDER]
    sam, alex = case.partners
    for n, (sam_answers, alex_answers, shares) in enumerate(DEBRIEFS):
        done_at = at + timedelta(days=2 + 3 * n, hours=3)
        services.mark(ladder, (sam, alex)[n % 2], steps[n].id, "done")
        steps[n].marked_at = done_at
        debriefs = {d.partner_id: d for d in steps[n].debriefs}
        for partner, answers, keys in (
            (sam, sam_answers, shares[0] if shares else None),
            (alex, alex_answers, shares[1] if shares else None),
        ):
            if answers is None:
                continue
            debrief = debriefs[partner.id]
            response = db.session.scalar(
                select(Response).where(
                    Response.assignment_id == debrief.assignment_id,
                    Response.partner_id == partner.id,
                )
            )
            tense = keys is None
            response.answers = {
                **CALM,
                **({"now.anxiety": 8, "next.pace": "gentler"} if tense else {}),
                **answers,
            }
            response.status = "submitted"
            response.saved_at = response.submitted_at = done_at + timedelta(hours=15)
            db.session.flush()
            for alert in services.debrief_sent(response.assignment, response):
                alert.triggered_at = response.submitted_at
            if keys is not None:
                services.share(ladder, partner, steps[n].id, keys)
                debrief.sent_at = response.submitted_at
    db.session.flush()
    assert db.session.get(Step, steps[3].id).status == "paused"
