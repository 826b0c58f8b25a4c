"""The shared log's reveal rules (issue 13), crawled over every page a partner can open.

A case of three partners, an agreement between two of them with a ladder under its clause. For
random debrief answers (a unique canary in every written reflection), random choices of what to
share and a random order of sending, after every event each partner's pages (home, steps, log)
are crawled:
- a reflection a partner did not choose to share never reaches another partner, before or
  after every debrief is in;
- a shared reflection reaches the other partner only once every partner of the step has sent;
- the partner outside the agreement sees nothing of the steps, the log or the agreement.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from counselor.extensions import db
from counselor.questionnaires.models import Response
from counselor.steps import services
from counselor.steps.models import Step
from tests.support import canary
from tests.support.steps import CALM, ladder_case, phone

REFLECTIONS = ("step.what", "looking_back.exciting", "looking_back.doubt", "next.refine")
PAGES = ("/p/home", "/p/steps", "/p/steps/log")


def _crawl(client) -> str:
    return "\n".join(client.get(p).get_data(as_text=True) for p in PAGES)


def test_property_the_log_shows_only_what_was_shared_after_everyone_sent(app, counselor_a):
    lc = ladder_case(
        counselor_a,
        names=("Sam Rivera", "Alex Novak", "Kai Moreau"),
        partners=lambda case: case.partners[:2],
    )
    kai = lc.case.partners[2]
    members = (lc.sam, lc.alex)
    phones = {p.id: phone(app, p)[0] for p in (*members, kai)}
    examples: Counter = Counter()

    @settings(
        max_examples=10,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        shares=st.tuples(*[st.sets(st.sampled_from(REFLECTIONS)) for _ in members]),
        first=st.integers(0, 1),
    )
    def check(shares, first):
        ladder = db.session.get(type(lc.ladder), lc.ladder.id)
        for step in ladder.steps:
            if step.status in ("open", "paused"):
                step.status = "skipped"
        step = services.add_step(ladder, canary("stepwhat"), "small")
        services.mark(ladder, lc.sam, step.id, "done")
        db.session.commit()
        written = {}
        for partner in members:
            debrief = services.debrief_of(step, partner)
            answers = {k: canary(f"{k}-{partner.display_name[:3]}") for k in REFLECTIONS}
            response = db.session.scalar(
                select(Response).where(
                    Response.assignment_id == debrief.assignment_id,
                    Response.partner_id == partner.id,
                )
            )
            response.answers = {**CALM, **answers}
            response.status = "submitted"
            written[partner.id] = answers
        db.session.commit()
        order = members if first == 0 else members[::-1]
        chosen = dict(zip((p.id for p in members), shares, strict=True))
        sent: set = set()
        for partner in order:
            services.share(
                db.session.get(type(lc.ladder), lc.ladder.id),
                partner,
                step.id,
                sorted(chosen[partner.id]),
            )
            db.session.commit()
            sent.add(partner.id)
            everyone = len(sent) == len(members)
            for viewer in (*members, kai):
                page = _crawl(phones[viewer.id])
                for author in members:
                    if author.id == viewer.id:
                        continue
                    for key, text in written[author.id].items():
                        may = viewer in members and everyone and key in chosen[author.id]
                        assert (text in page) == may, (
                            f"{viewer.display_name} {'misses' if may else 'sees'} {key} "
                            f"of {author.display_name} (sent: {len(sent)})"
                        )
                if viewer is kai:
                    assert step.what not in page and "Our agreement" not in page
        examples[(len(shares[0]), len(shares[1]))] += 1
        db.session.expire_all()
        assert db.session.get(Step, step.id).status == "done"

    check()
    print(f"\nstep log property: {sum(examples.values())} examples, shares {dict(examples)}")
