"""Living agreements: drafting from what partners already share, publishing, answering,
pausing, and what each person sees (issue 12)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from counselor.agreements import clauses as cl
from counselor.agreements import drafting, queries, services, views
from counselor.agreements.models import AgreementAck, AgreementVersion, ClausePause
from counselor.extensions import db
from counselor.mail.models import Message
from tests.support import fresh, fresh_row, new_case
from tests.support.agreements import (
    agree_all,
    portal,
    published_agreement,
    released_case,
    revise,
)
from tests.sweep import stable_body

# ---- material: only what every partner of the agreement may already see ----------------------


def test_material_offers_matches_and_shared_pause_answers_never_private_ones(app, counselor_a):
    r = released_case(counselor_a)
    agreement = drafting.create(r.case, "Ours", [r.sam.id, r.alex.id])
    offered = drafting.material_for(agreement)
    labels = " | ".join(m.label for m in offered)
    assert "Giving or receiving instructions" in labels  # complementary: Sam gives, Alex receives
    assert "Talking through a fantasy" in labels  # mutual
    assert "Pineapple" in labels and "A blanket and water" in labels
    # never a maybe, a no, a hard limit, a note or a counselor-only answer
    assert "Words of praise" not in labels
    assert "Saying out loud" not in labels
    for secret in r.private:
        assert secret not in labels
    # pulled in, they become clauses: one activity per match, one pause signal clause
    draft = queries.draft_of(agreement)
    added = drafting.add_material(agreement, draft, [m.key for m in offered])
    kinds = [c["kind"] for c in draft.clauses]
    assert added == len(kinds) and kinds.count("pause_signal") == 1
    signal = next(c for c in draft.clauses if c["kind"] == "pause_signal")["signal"]
    assert "Pineapple" in signal["word"] and "Two taps" in signal["nonverbal"]
    giving = next(c for c in draft.clauses if "instructions" in c["text"])
    assert (giving["leads"], giving["follows"]) == (str(r.sam.id), str(r.alex.id))


def test_material_refuses_keys_not_on_offer(app, counselor_a):
    r = released_case(counselor_a)
    agreement = drafting.create(r.case, "Ours", [r.sam.id, r.alex.id])
    forged = f"{r.case.id}:communication.praise:{r.sam.id}"
    with pytest.raises(services.AgreementError):
        drafting.add_material(agreement, queries.draft_of(agreement), [forged])


def test_a_match_between_two_partners_is_no_material_for_an_agreement_of_three(app, counselor_a):
    from counselor.cases.services import set_relationships

    r = released_case(counselor_a, names=("Sam Rivera", "Alex Novak", "Kai Ito"), label="Triad")
    kai = r.case.partners[2]
    # Kai was not given the homework: no match involving Kai exists; Sam & Alex's matches are
    # theirs alone and must not be offered for an agreement Kai is in
    set_relationships(r.case, {frozenset((r.sam.id, r.alex.id)), frozenset((r.sam.id, kai.id))})
    db.session.commit()
    three = drafting.create(r.case, "All of us", [r.sam.id, r.alex.id, kai.id])
    assert drafting.material_for(three) == []
    two = drafting.create(r.case, "Sam and Alex", [r.sam.id, r.alex.id])
    assert drafting.material_for(two)


def test_a_metamour_pair_offers_nothing(app, counselor_a):
    from counselor.cases.services import set_relationships

    r = released_case(counselor_a)
    set_relationships(r.case, set())  # not in a relationship with each other
    db.session.commit()
    agreement = drafting.create(r.case, "Ours", [r.sam.id, r.alex.id])
    assert not [m for m in drafting.material_for(agreement) if m.kind == "activity"]


def test_a_new_agreement_in_a_polycule_starts_from_one_relationship(app, client_a, counselor_a):
    from counselor.cases.services import set_relationships

    case = new_case(counselor_a, "Triad", ("Sam Rivera", "Alex Novak", "Kai Ito"))
    sam, alex, kai = case.partners
    set_relationships(case, {frozenset((sam.id, alex.id)), frozenset((alex.id, kai.id))})
    db.session.commit()
    assert drafting.default_members(case) == [sam, alex]
    assert drafting.default_members(case, 1) == [alex, kai]
    url = f"/cases/{case.id}/agreements/new"

    def ticked(page: str) -> set[str]:
        boxes = re.findall(r"<input[^>]*>", page)
        return {re.search(r'value="([^"]+)"', b).group(1) for b in boxes if "checked" in b}

    page = client_a.get(url).get_data(as_text=True)
    assert ticked(page) == {str(sam.id), str(alex.id)}
    assert "Alex Novak &amp; Kai Ito" in page
    other = client_a.get(url + "?pair=1").get_data(as_text=True)
    assert ticked(other) == {str(alex.id), str(kai.id)}
    # a pair the map does not have falls back to the first; a word instead of a number too
    assert ticked(client_a.get(url + "?pair=9").get_data(as_text=True)) == ticked(page)
    assert client_a.get(url + "?pair=x").status_code == 200
    set_relationships(case, set())
    db.session.commit()
    assert drafting.default_members(case) == []
    assert "no relationships yet" in client_a.get(url).get_data(as_text=True)


# ---- versions, answers, in force ------------------------------------------------------------


def test_a_published_version_never_changes(app, counselor_a):
    case = new_case(counselor_a)
    agreement = published_agreement(case)
    version = queries.published(agreement)[0]
    assert version.content_hash == cl.content_hash(version.title, version.clauses)
    version.content_json = cl.canonical("Changed", [])
    with pytest.raises(RuntimeError, match="immutable"):
        db.session.flush()
    db.session.rollback()


def test_in_force_only_when_everyone_agreed_and_the_previous_stays_until_then(app, counselor_a):
    case = new_case(counselor_a)
    sam, alex = case.partners
    agreement = published_agreement(case)
    v1 = queries.published(agreement)[0]
    services.answer(agreement, sam, v1.id, "agree", None)
    assert queries.in_force(agreement) is None
    services.answer(agreement, alex, v1.id, "talk", "not yet sure")
    assert queries.in_force(agreement) is None
    services.answer(agreement, alex, v1.id, "agree", None)
    assert queries.in_force(agreement) is v1
    db.session.commit()
    kept = [dict(c) for c in v1.clauses[:2]]
    kept[1]["text"] = "Giving instructions, gently"
    v2 = revise(agreement, kept + [{"kind": "conduct", "text": "We check in first"}])
    assert queries.in_force(agreement) is v1
    services.answer(agreement, sam, v2.id, "agree", None)
    assert queries.in_force(agreement) is v1
    services.answer(agreement, alex, v2.id, "agree", None)
    assert queries.in_force(agreement) is v2
    # the answer names the exact content it agreed to
    acks = db.session.scalars(select(AgreementAck).where(AgreementAck.version_id == v2.id)).all()
    assert {a.content_hash for a in acks} == {v2.content_hash}


def test_an_answer_to_a_version_no_longer_newest_is_refused(app, counselor_a):
    case = new_case(counselor_a)
    sam, _ = case.partners
    agreement = published_agreement(case)
    v1 = queries.published(agreement)[0]
    revise(agreement, v1.clauses)
    with pytest.raises(services.Stale):
        services.answer(agreement, sam, v1.id, "agree", None)


def test_the_diff_says_added_changed_and_removed(app, counselor_a):
    case = new_case(counselor_a)
    agreement = published_agreement(case)
    v1 = queries.published(agreement)[0]
    agree_all(agreement)
    changed = dict(v1.clauses[1], text="Giving instructions, gently", when="Weekends")
    revise(agreement, [v1.clauses[0], changed, {"kind": "safety", "text": "Water nearby"}])
    page = views.partner_page(agreement, case.partners[0])
    said = {(c.what, c.clause.get("text")) for c in page.changes}
    assert said == {
        ("changed", "Giving instructions, gently"),
        ("added", "Water nearby"),
        ("removed", "A blanket and water"),
    }
    change = next(c for c in page.changes if c.what == "changed")
    assert cl.fields_changed(change) == ["Wording", "When"]


# ---- pauses -------------------------------------------------------------------------------------


def test_a_pause_holds_a_clause_for_everyone_and_only_its_partner_lifts_it(app, counselor_a):
    case = new_case(counselor_a)
    sam, alex = case.partners
    sam.email, alex.email = "sam@example.net", "alex@example.net"
    agreement = published_agreement(case)
    agree_all(agreement)
    key = queries.in_force(agreement).clauses[1]["key"]
    asked_to_read = db.session.scalars(select(Message)).all()
    assert sorted(m.recipient for m in asked_to_read) == ["alex@example.net", "sam@example.net"]
    paused = services.pause(agreement, sam, key)
    db.session.commit()
    for who in (sam, alex):
        view = next(c for c in views.partner_page(agreement, who).clauses if c.key == key)
        assert view.paused
    with pytest.raises(services.AgreementError):
        services.lift(agreement, alex, paused.id)
    db.session.rollback()
    # the counselor is alerted (urgent), the other partner told; no mail carries the clause
    mails = db.session.scalars(
        select(Message).where(Message.id.not_in([m.id for m in asked_to_read]))
    ).all()
    assert {m.kind for m in mails} == {"notify.paused", "partner.agreement.paused"}
    paused_to = [m.recipient for m in mails if m.kind == "partner.agreement.paused"]
    assert paused_to == ["alex@example.net"]
    for m in mails + asked_to_read:
        for text in ("Giving instructions", "Our agreement", "Sam", "Marks", case.label):
            assert text not in m.subject + m.body
    assert "urgent" in next(m.body for m in mails if m.kind == "notify.paused")
    services.lift(agreement, sam, paused.id)
    db.session.commit()
    assert not any(c.paused for c in views.partner_page(agreement, alex).clauses)


def test_only_a_clause_in_force_can_be_paused(app, counselor_a):
    case = new_case(counselor_a)
    agreement = published_agreement(case)
    key = queries.published(agreement)[0].clauses[0]["key"]
    with pytest.raises(services.Stale):
        services.pause(agreement, case.partners[0], key)  # nothing in force yet


def test_pauses_and_answers_are_append_only(app, counselor_a):
    case = new_case(counselor_a)
    sam, _ = case.partners
    agreement = published_agreement(case)
    agree_all(agreement)
    paused = services.pause(agreement, sam, queries.in_force(agreement).clauses[0]["key"])
    services.note_pause(agreement, sam, paused.id, "I got scared")
    db.session.commit()
    with pytest.raises(services.AgreementError):
        services.note_pause(agreement, sam, paused.id, "another")
    db.session.rollback()
    paused = db.session.get(ClausePause, paused.id)
    paused.clause_key = "0" * 16
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    ack = db.session.scalars(select(AgreementAck)).first()
    ack.answer = "talk"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


# ---- pages --------------------------------------------------------------------------------------


def _agreement_url(agreement) -> str:
    return f"/p/agreements/{agreement.id}"


def test_partners_read_agree_pause_and_see_paused_by_a_partner(app, counselor_a):
    r = released_case(counselor_a)
    agreement = published_agreement(r.case)
    sam, alex = app.test_client(), app.test_client()
    sam_csrf = portal(sam, r.tokens["Sam Rivera"])
    alex_csrf = portal(alex, r.tokens["Alex Novak"])
    home = sam.get("/p/home").get_data(as_text=True)
    assert "Our agreement" in home and "There is a version for you to read" in home
    page = sam.get(_agreement_url(agreement)).get_data(as_text=True)
    version = queries.published(agreement)[0]
    assert "Pineapple" in page and "I agree" in page
    r1 = sam.post(
        _agreement_url(agreement) + "/answer",
        data={"csrf_token": sam_csrf, "version_id": version.id, "answer": "agree"},
    )
    assert r1.status_code == 302
    # Alex's page says nothing of whether Sam has agreed
    before = alex.get(_agreement_url(agreement))
    assert "Sam" not in re.sub(r"Between .*?</p>", "", before.get_data(as_text=True))
    alex.post(
        _agreement_url(agreement) + "/answer",
        data={"csrf_token": alex_csrf, "version_id": version.id, "answer": "agree"},
    )
    key = queries.in_force(fresh(agreement)).clauses[1]["key"]
    paused = sam.post(
        _agreement_url(agreement) + "/pause", data={"csrf_token": sam_csrf, "clause": key}
    )
    assert paused.status_code == 302
    sam_page = sam.get(paused.location).get_data(as_text=True)
    assert "You paused this" in sam_page and "a note for your counselor" in sam_page
    alex_page = alex.get(_agreement_url(agreement)).get_data(as_text=True)
    assert "Paused by a partner" in alex_page and "Lift my pause" not in alex_page
    # Alex cannot lift Sam's pause, even with its id
    pause_id = db.session.scalars(select(ClausePause)).one().id
    refused = alex.post(
        _agreement_url(agreement) + "/lift", data={"csrf_token": alex_csrf, "pause": pause_id}
    )
    assert refused.status_code == 400
    assert fresh_row(ClausePause, id=pause_id).lifted_at is None
    lifted = sam.post(
        _agreement_url(agreement) + "/lift", data={"csrf_token": sam_csrf, "pause": pause_id}
    )
    assert lifted.status_code == 302
    assert "Paused by a partner" not in alex.get(_agreement_url(agreement)).get_data(as_text=True)


def test_pending_status_is_the_same_whoever_has_agreed(app, counselor_a):
    r = released_case(counselor_a)
    agreement = published_agreement(r.case)
    agree_all(agreement)
    v1 = queries.published(agreement)[0]
    v2 = revise(agreement, v1.clauses + [{"kind": "conduct", "text": "We check in first"}])
    alex = app.test_client()
    alex_csrf = portal(alex, r.tokens["Alex Novak"])
    first = stable_body(alex.get(_agreement_url(agreement)))
    services.answer(agreement, r.sam, v2.id, "agree", "a note only the counselor reads")
    db.session.commit()
    second = stable_body(alex.get(_agreement_url(agreement)))
    assert first == second
    assert "a note only the counselor reads" not in second
    assert alex_csrf


def test_a_partner_outside_the_agreement_or_case_gets_the_missing_link_page(
    app, counselor_a, counselor_b
):
    r = released_case(counselor_a, names=("Sam Rivera", "Alex Novak", "Kai Ito"), label="Three")
    kai_token = None
    from tests.support import assign

    _, tokens = assign(r.case, "pause-signal", partners=[r.case.partners[2]])
    kai_token = tokens["Kai Ito"]
    agreement = published_agreement(r.case, partners=[r.sam, r.alex])
    other = released_case(counselor_b, label="B's case")
    b_agreement = published_agreement(other.case)
    kai, sam = app.test_client(), app.test_client()
    kai_csrf = portal(kai, kai_token)
    portal(sam, r.tokens["Sam Rivera"])
    missing = stable_body(kai.get("/p/agreements/00000000-0000-0000-0000-000000000000"))
    for client, agreement_id in ((kai, agreement.id), (sam, b_agreement.id)):
        for suffix in ("", "/pdf/00000000-0000-0000-0000-000000000000"):
            got = client.get(f"/p/agreements/{agreement_id}{suffix}")
            assert got.status_code == 404 and stable_body(got) == missing
    got = kai.post(
        f"/p/agreements/{agreement.id}/answer",
        data={"csrf_token": kai_csrf, "version_id": "x", "answer": "agree"},
    )
    assert got.status_code == 404 and stable_body(got) == missing
    assert "Our agreement" not in kai.get("/p/home").get_data(as_text=True)
    assert "Our agreement" not in kai.get("/p/agreements").get_data(as_text=True)
    assert not db.session.scalars(select(AgreementAck)).all()


def test_another_counselor_gets_the_missing_page(app, counselor_a, client_b):
    case = new_case(counselor_a)
    agreement = published_agreement(case)
    for path in ("", "/draft"):
        mine = client_b.get(f"/cases/{case.id}/agreements/{agreement.id}{path}")
        missing = client_b.get(f"/cases/{case.id}/agreements/{case.id}{path}")
        assert mine.status_code == missing.status_code == 404
        assert stable_body(mine) == stable_body(missing)


def test_the_counselor_drafts_from_material_publishes_and_sees_answers(app, client_a, counselor_a):
    r = released_case(counselor_a)
    created = client_a.post(
        f"/cases/{r.case.id}/agreements/new",
        data={"title": "How we play", "partners": [str(r.sam.id), str(r.alex.id)]},
    )
    assert created.status_code == 302
    draft_url = created.location
    page = client_a.get(draft_url).get_data(as_text=True)
    assert "Pineapple" in page and "Words of praise" not in page
    picks = re.findall(r'name="pick" value="([^"]+)"', page)
    assert (
        client_a.post(draft_url.replace("/draft", "/material"), data={"pick": picks}).status_code
        == 302
    )
    page = client_a.get(draft_url).get_data(as_text=True)
    assert "Pineapple" in page and 'name="c-0-kind"' in page
    agreement = queries.agreements_of_partner  # noqa: F841 - readability
    version_id = re.search(r'name="version_id" value="([^"]+)"', page).group(1)
    done = client_a.post(draft_url.replace("/draft", "/publish"), data={"version_id": version_id})
    assert done.status_code == 302
    shown = client_a.get(done.location).get_data(as_text=True)
    assert "Version 1 waits for everyone" in shown and "not answered yet" in shown
    case_page = client_a.get(f"/cases/{r.case.id}").get_data(as_text=True)
    assert "How we play" in case_page and "version 1 waiting: 0 of 2 agreed" in case_page
    # publishing again is refused: a published version never changes
    again = client_a.post(draft_url.replace("/draft", "/publish"), data={"version_id": version_id})
    assert again.status_code == 409


def test_a_draft_with_bad_input_keeps_what_was_typed(app, client_a, counselor_a):
    case = new_case(counselor_a)
    agreement = drafting.create(case, "Ours", [p.id for p in case.partners])
    db.session.commit()
    url = f"/cases/{case.id}/agreements/{agreement.id}/draft"
    got = client_a.post(
        url,
        data={
            "title": "Ours",
            "c-0-kind": "activity",
            "c-0-text": "x" * 5000,
            "c-1-kind": "nonsense",
            "c-1-text": "kept words",
        },
    )
    assert got.status_code == 400
    assert "kept words" in got.get_data(as_text=True)
    got = client_a.post(
        url,
        data={
            "title": "Ours",
            "c-0-kind": "activity",
            "c-0-text": "Hugs",
            "c-0-leads": "not-a-partner",
        },
    )
    assert got.status_code == 400 and "A role must name a partner" in got.get_data(as_text=True)
    assert fresh_row(AgreementVersion, id=queries.draft_of(agreement).id).clauses == []


def test_partner_posts_need_the_portal_csrf_token(make_app):
    """The partner's agreement forms are exempt from Flask-WTF (the counselor's token): each
    refuses a request without the portal's own token and changes nothing."""
    from counselor.auth.models import Counselor  # noqa: F401 - models loaded with the app
    from tests.support import make_account

    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        a = make_account("a@example.org", "Counselor A")
        r = released_case(a)
        agreement = published_agreement(r.case)
        agree_all(agreement)
        key = queries.in_force(agreement).clauses[0]["key"]
        sam = app.test_client()
        good = portal(sam, r.tokens["Sam Rivera"])
        base = f"/p/agreements/{agreement.id}"
        forms = {
            "/answer": {"version_id": queries.in_force(agreement).id, "answer": "talk"},
            "/pause": {"clause": key},
            "/pdf": {},
        }
        for path, data in forms.items():
            for token in (None, "forged"):
                sent = dict(data, **({"csrf_token": token} if token else {}))
                got = sam.post(base + path, data=sent)
                assert got.status_code == 400, (path, token, got.status_code)
        assert not db.session.scalars(select(ClausePause)).all()
        assert len(db.session.scalars(select(AgreementAck)).all()) == 2
        # with the portal's token the same pause works: the refusals were about the token
        assert (
            sam.post(base + "/pause", data={"clause": key, "csrf_token": good}).status_code == 302
        )
        paused = db.session.scalars(select(ClausePause)).one()
        for path in ("/pause-note", "/lift"):
            got = sam.post(base + path, data={"pause": paused.id, "note": "x"})
            assert got.status_code == 400
        db.session.expire_all()
        assert paused.note is None and paused.lifted_at is None


def test_review_reminders_go_to_the_partners_once_per_version(app, counselor_a):
    from sqlalchemy import update

    from counselor.agreements.models import AgreementVersion
    from counselor.agreements.tasks import remind_reviews

    case = new_case(counselor_a)
    for partner, email in zip(case.partners, ("sam@example.net", "alex@example.net"), strict=True):
        partner.email = email
    agreement = published_agreement(case)
    agree_all(agreement)
    before = {m.id for m in db.session.scalars(select(Message))}
    assert remind_reviews() == 0  # not due yet
    db.session.execute(
        update(AgreementVersion)
        .where(AgreementVersion.id == agreement.in_force_id)
        .values(review_on=services.to_local(services.utcnow()).date())
    )
    db.session.commit()
    assert remind_reviews() == 1
    assert remind_reviews() == 0  # a second run sends nothing twice
    mails = db.session.scalars(select(Message).where(Message.id.not_in(before))).all()
    assert sorted(m.recipient for m in mails) == [
        "a@example.org",  # the counselor, told that a review is due
        "alex@example.net",
        "sam@example.net",
    ]
    assert all("Our agreement" not in m.body and "Pineapple" not in m.body for m in mails)
    assert "due for review" in next(m.subject for m in mails if m.kind == "notify.review")
    assert views.counselor_view(agreement).review_due  # and the case page says so


def test_the_digest_tells_a_pause_and_a_review_apart_from_screening_alerts(app, counselor_a):
    from datetime import date

    from sqlalchemy import update

    from counselor.mail import notify

    notify.save_settings(counselor_a.id, alert=True, digest=True)
    case = new_case(counselor_a)
    sam, _ = case.partners
    agreement = published_agreement(case)
    agree_all(agreement)
    services.pause(agreement, sam, queries.in_force(agreement).clauses[0]["key"])
    db.session.execute(
        update(AgreementVersion)
        .where(AgreementVersion.id == agreement.in_force_id)
        .values(review_on=services.to_local(services.utcnow()).date())
    )
    db.session.commit()
    services.remind_reviews()
    db.session.commit()
    assert notify.send_digests(date(2026, 11, 29)) == 1
    digest = db.session.scalars(select(Message).where(Message.kind == "notify.digest")).one()
    assert "1 pause pressed by a partner (severity: urgent)" in digest.body
    assert "1 agreement due for review" in digest.body
    assert "screening alert" not in digest.body, "a pause is not a screening alert"


def test_switching_attention_mails_off_also_silences_pauses(app, counselor_a):
    from counselor.mail import notify

    notify.save_settings(counselor_a.id, submitted=True)  # alerts off, one mail per event
    case = new_case(counselor_a)
    sam, _ = case.partners
    agreement = published_agreement(case)
    agree_all(agreement)
    services.pause(agreement, sam, queries.in_force(agreement).clauses[0]["key"])
    db.session.commit()
    kinds = set(db.session.scalars(select(Message.kind)))
    assert "notify.paused" not in kinds


def test_a_pause_on_a_clause_taken_out_stays_liftable_by_its_partner(app, counselor_a):
    case = new_case(counselor_a)
    sam, _ = case.partners
    agreement = published_agreement(case)
    agree_all(agreement)
    v1 = queries.in_force(agreement)
    paused = services.pause(agreement, sam, v1.clauses[2]["key"])
    revise(agreement, v1.clauses[:2])
    agree_all(agreement)
    page = views.partner_page(agreement, sam)
    assert [p.id for p in page.my_other_pauses] == [paused.id]
    assert not any(c.paused for c in page.clauses)
    services.lift(agreement, sam, paused.id)
    db.session.commit()
    assert views.partner_page(agreement, sam).my_other_pauses == []


def test_erasing_the_case_erases_its_agreements(app, counselor_a):
    from counselor.agreements.models import Agreement, AgreementPartner
    from counselor.cases.services import delete_case

    case = new_case(counselor_a)
    agreement = published_agreement(case)
    agree_all(agreement)
    services.pause(agreement, case.partners[0], queries.in_force(agreement).clauses[0]["key"])
    db.session.commit()
    db.session.expunge_all()  # as the delete route does: a case loaded by itself
    case = db.session.get(type(case), case.id)
    delete_case(case, case.label)
    db.session.commit()
    for model in (Agreement, AgreementPartner, AgreementVersion, AgreementAck, ClausePause):
        assert db.session.scalars(select(model)).all() == [], model.__name__


def test_a_case_with_a_paused_clause_leads_the_caseload(app, client_a, counselor_a):
    quiet = new_case(counselor_a, "Quiet case")
    case = new_case(counselor_a, "Paused case")
    agreement = published_agreement(case)
    agree_all(agreement)
    services.pause(agreement, case.partners[0], queries.in_force(agreement).clauses[0]["key"])
    db.session.commit()
    page = client_a.get("/cases").get_data(as_text=True)
    assert page.index("Paused case") < page.index("Quiet case")
    assert "Paused by a partner" in page
    assert quiet
