"""Agreement state changes racing each other, as real concurrent HTTP requests on PostgreSQL
(issue 12; the pattern of tests/reveal/test_release_race.py).

Three races, each tried again and again on a fresh agreement:
- both partners agree to the pending version at the same moment: it must end in force (each
  answer sees the other's under the agreement's row lock);
- one partner pauses a clause in force while the other agrees to the pending version: the pause
  and the answer are both recorded, and "in force" is what the answers say;
- the counselor publishes a new version while a partner agrees to the old one: either the
  answer came first (recorded before the new version's publication) or it is refused (409);
  never an answer recorded to a version that was already superseded.
After every try the stored version in force equals the one the answers give. The last race is
tried until both orders have happened (bounded): on a loaded machine the publish's path to the
lock can be the shorter one every time, so the answer is then held back by page loads.
"""

from __future__ import annotations

from sqlalchemy import select

from counselor.agreements import drafting, queries, services
from counselor.agreements.models import Agreement, AgreementAck, ClausePause
from counselor.core.models import aware
from counselor.extensions import db
from tests.reveal.test_release_race import Browser, _csrf, server  # noqa: F401 - fixture
from tests.support import assign, landing_csrf, new_case, portal_csrf, sync
from tests.support.agreements import CLAUSES, agree_all, published_agreement, revise
from tests.support.races import after, at_once, until_both_orders

#: tries per race (the issue asks for at least 50)
TRIES = 50


def _fresh(case, *, pending: bool):
    """A new agreement: version 1 in force; with ``pending``, version 2 published as well."""
    agreement = published_agreement(case, CLAUSES)
    agree_all(agreement)
    if pending:
        revise(
            agreement, queries.published(agreement)[0].clauses + [{"kind": "free", "text": "More"}]
        )
    return agreement


def _consistent(agreement_id) -> str | None:
    db.session.expire_all()
    agreement = db.session.get(Agreement, agreement_id)
    acks = queries.acks_of(agreement)
    expected = queries.compute_in_force(agreement, acks)
    db.session.commit()
    if agreement.in_force_id != expected:
        return f"stored in force {agreement.in_force_id}, the answers give {expected}"
    return None


def _partner(server_url: str, token: str) -> tuple[Browser, str]:
    b = Browser(server_url)
    status, landing = b.request(f"/l/{token}")
    assert status == 200
    assert b.request(f"/l/{token}", {"csrf_token": landing_csrf(landing)})[0] == 302
    return b, portal_csrf(b.request("/p/")[1])


def test_agreement_races_end_in_a_defined_state(server, app, counselor_a, capsys):  # noqa: F811
    sync()
    case = new_case(counselor_a)
    _, tokens = assign(case, "pause-signal")
    sam, alex = case.partners
    sam_b, sam_csrf = _partner(server, tokens[sam.display_name])
    alex_b, alex_csrf = _partner(server, tokens[alex.display_name])
    counselor = Browser(server)
    page = counselor.request("/login")[1]
    assert (
        counselor.request(
            "/login",
            {
                "csrf_token": _csrf(page),
                "email": counselor_a.email,
                "password": counselor_a.password,
            },
        )[0]
        == 302
    )
    counselor_csrf = _csrf(counselor.request(f"/cases/{case.id}")[1])

    def agree(browser, csrf, agreement, version):
        return lambda: browser.request(
            f"/p/agreements/{agreement.id}/answer",
            {"csrf_token": csrf, "version_id": str(version.id), "answer": "agree"},
        )[0]

    violations: list[str] = []
    seen = {"both agree": set(), "pause and agree": set(), "publish and agree": set()}
    for _ in range(TRIES):
        # 1. both partners agree to the pending version at once
        agreement = _fresh(case, pending=True)
        v2 = queries.published(agreement)[-1]
        got = at_once(
            agree(sam_b, sam_csrf, agreement, v2), agree(alex_b, alex_csrf, agreement, v2)
        )
        seen["both agree"].add(tuple(got))
        db.session.expire_all()
        if db.session.get(Agreement, agreement.id).in_force_id != v2.id:
            violations.append(f"both agreed ({got}) but version 2 is not in force")
        violations += filter(None, [_consistent(agreement.id)])

        # 2. Sam pauses a clause in force while Alex agrees to the pending version (Sam agreed)
        agreement = _fresh(case, pending=True)
        v1, v2 = queries.published(agreement)
        services.answer(agreement, sam, v2.id, "agree", None)
        db.session.commit()
        key = v1.clauses[1]["key"]
        got = at_once(
            lambda a=agreement, k=key: sam_b.request(
                f"/p/agreements/{a.id}/pause", {"csrf_token": sam_csrf, "clause": k}
            )[0],
            agree(alex_b, alex_csrf, agreement, v2),
        )
        seen["pause and agree"].add(tuple(got))
        db.session.expire_all()
        pauses = db.session.scalars(
            select(ClausePause).where(ClausePause.agreement_id == agreement.id)
        ).all()
        if got != [302, 302] or len(pauses) != 1:
            violations.append(f"pause and agree: {got}, {len(pauses)} pauses")
        elif db.session.get(Agreement, agreement.id).in_force_id != v2.id:
            violations.append("pause and agree: version 2 not in force after both agreed")
        violations += filter(None, [_consistent(agreement.id)])
        db.session.commit()

    def publish_and_agree(publish_held: int, agree_held: int) -> int:
        """The counselor publishes version 3 while Alex agrees to version 2; Alex's answer."""
        agreement = _fresh(case, pending=True)
        v2 = queries.published(agreement)[-1]
        draft = drafting.start_draft(agreement)
        db.session.commit()
        got = at_once(
            after(
                lambda a=agreement: counselor.request(f"/cases/{case.id}/agreements/{a.id}"),
                publish_held,
                lambda a=agreement, d=draft: counselor.request(
                    f"/cases/{case.id}/agreements/{a.id}/publish",
                    {"csrf_token": counselor_csrf, "version_id": str(d.id)},
                )[0],
            ),
            after(
                lambda: alex_b.request("/p/agreements"),
                agree_held,
                agree(alex_b, alex_csrf, agreement, v2),
            ),
        )
        db.session.expire_all()
        acks = db.session.scalars(
            select(AgreementAck).where(
                AgreementAck.version_id == v2.id, AgreementAck.partner_id == alex.id
            )
        ).all()
        published_at = aware(
            queries.version_by_id(db.session.get(Agreement, agreement.id), draft.id).published_at
        )
        if got[0] != 302 or got[1] not in (302, 409):
            violations.append(f"publish and agree: {got}")
        elif got[1] == 302 and not (len(acks) == 1 and aware(acks[0].at) <= published_at):
            violations.append("an answer was recorded to a version already superseded")
        elif got[1] == 409 and acks:
            violations.append("a refused answer was recorded")
        violations.extend(filter(None, [_consistent(agreement.id)]))
        db.session.commit()
        return got[1]

    # 3. publish and agree: tried TRIES times, then more with one side held back by page loads
    # while either order has not happened yet (publish first: 409; the answer first: 302)
    seen["publish and agree"] = until_both_orders(publish_and_agree, 409, 302, tries=TRIES)

    with capsys.disabled():
        print(
            f"\nagreement races: {3 * TRIES} concurrent tries on PostgreSQL, "
            f"{len(violations)} invariant violations; outcomes {seen}"
        )
    assert violations == [], violations[:3]
    # both orders of publish and agree happened, so the lock was exercised from both sides
    assert seen["publish and agree"] == {302, 409}, seen
