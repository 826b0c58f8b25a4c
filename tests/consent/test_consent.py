"""Informed consent in the intake (issue 14): the practice's versioned text, acknowledged by
typed name and date, stored with the exact version; a new version is never counted as
acknowledged by an older acknowledgement."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from counselor.consent import services
from counselor.consent.models import ConsentAck, ConsentText, text_hash
from counselor.core.audit import AuditEvent
from counselor.extensions import db
from tests.support import (
    acknowledge_consent,
    assign,
    canary,
    database_bytes,
    leaks,
    new_case,
    open_portal,
    portal_csrf,
    practice_today,
    sync,
)
from tests.sweep import stable_body


def _intake_case(account):
    sync()
    case = new_case(account)
    assignment, tokens = assign(case, "intake")
    return case, assignment, tokens


def _open(client, token: str) -> None:
    assert open_portal(client, token).status_code == 302


def _form(client) -> dict:
    page = client.get("/p/consent").get_data(as_text=True)
    return {
        "csrf_token": portal_csrf(page),
        "text_id": re.search(r'name="text_id" value="([^"]+)"', page).group(1),
        "date": practice_today().isoformat(),
        "name": "Sam Rivera",
    }


def _audits(action: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


def test_the_default_text_is_stored_once_as_version_1_and_says_what_matters(app):
    first = services.current_text()
    db.session.commit()
    assert first.number == 1 and services.current_text().id == first.id
    for words in (
        "confidential",
        "Mandated reporting",
        "on your own",
        "will not repeat it to your partner",
        "stop the counseling whenever you wish",
    ):
        assert words in first.text
    assert first.text_hash == text_hash(first.text)


def test_the_intake_asks_for_consent_first_and_stores_the_exact_version(app, counselor_a, client):
    case, assignment, tokens = _intake_case(counselor_a)
    _open(client, tokens["Sam Rivera"])
    gated = client.get("/p/")
    assert gated.status_code == 302 and gated.location.endswith("/p/consent")
    home = client.get("/p/home").get_data(as_text=True)
    assert "Before you begin: how we work together" in home
    page = client.get("/p/consent").get_data(as_text=True)
    assert "Mandated reporting" in page and "I have read this and agree" in page
    # the submit is gated too (answers may be saved meanwhile: nothing typed is lost)
    submit = client.post(f"/p/a/{assignment.id}/submit", data={"csrf_token": portal_csrf(page)})
    assert submit.status_code == 302 and submit.location.endswith("/p/consent")
    typed = canary("typedname")
    form = {**_form(client), "name": typed}
    done = client.post("/p/consent", data=form)
    assert done.status_code == 302 and done.location.endswith("/p/")
    assert client.get("/p/").status_code == 200  # the intake opens now
    ack = db.session.scalar(select(ConsentAck))
    version = services.current_text()
    assert (ack.text_id, ack.text_hash, ack.typed_name) == (version.id, version.text_hash, typed)
    assert ack.signed_on == practice_today() and ack.case_id == case.id
    # the typed name is sealed at rest like other clinical text
    assert not leaks(database_bytes(app.config["SQLALCHEMY_DATABASE_URI"]), typed)
    assert _audits("consent.acknowledge") == 1
    again = client.get("/p/consent").get_data(as_text=True)
    assert "You read this and agreed on" in again and typed in again
    assert "How we work together" in client.get("/p/home").get_data(as_text=True)


def test_a_new_version_is_not_counted_as_acknowledged(app, counselor_a, admin, client):
    case, assignment, tokens = _intake_case(counselor_a)
    _open(client, tokens["Sam Rivera"])
    acknowledge_consent(client, "Sam Rivera")
    first = services.current_text()
    second = services.save_text(first.text + "\n\nWe also offer sessions by video.", admin.id)
    db.session.commit()
    assert second.number == 2
    assert services.save_text(second.text, admin.id) is None  # unchanged: no new version
    status = services.case_status(case)[0]
    assert status.older and not status.done and status.latest.text_id == first.id
    # the unsent intake asks again; the home says the text changed
    assert client.get("/p/").location.endswith("/p/consent")
    assert "has updated" in client.get("/p/home").get_data(as_text=True)
    page = client.get("/p/consent").get_data(as_text=True)
    assert "sessions by video" in page and "agreed to an earlier version" in page
    # a form still naming version 1 (read in another tab) is refused, nothing saved
    stale = client.post("/p/consent", data={**_form(client), "text_id": str(first.id)})
    assert stale.status_code == 409 and "just updated" in stale.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ConsentAck)) == 1
    acknowledge_consent(client, "Sam R.")
    assert services.case_status(case)[0].done
    assert [a.version.number for a in services.history(case)] == [2, 1]


def test_the_counselor_sees_who_acknowledged_which_version_and_when(
    app, counselor_a, client_a, client_b, admin, client
):
    case, _, tokens = _intake_case(counselor_a)
    _open(client, tokens["Sam Rivera"])
    acknowledge_consent(client, "Samantha Rivera")
    services.save_text("A shorter text of the practice.", admin.id)
    db.session.commit()
    shown = client_a.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Consent: version 1 only" in shown  # Sam, who read version 1
    assert "Consent not yet acknowledged" in shown  # Alex
    record = client_a.get(f"/cases/{case.id}/consent")
    body = record.get_data(as_text=True)
    assert record.status_code == 200
    assert "Samantha Rivera" in body and "The exact text of version 1" in body
    assert "Mandated reporting" in body  # the exact text acknowledged, word for word
    assert _audits("consent.view") == 1
    # another counselor: the very page of a case that does not exist
    mine = client_b.get(f"/cases/{case.id}/consent")
    missing = client_b.get(f"/cases/{counselor_a.id}/consent")
    assert mine.status_code == missing.status_code == 404
    assert stable_body(mine) == stable_body(missing)


def test_a_partner_never_learns_whether_another_partner_acknowledged(app, counselor_a, client):

    case, _, tokens = _intake_case(counselor_a)
    _open(client, tokens["Sam Rivera"])
    secret = canary("samsname")
    acknowledge_consent(client, secret)
    alex = app.test_client()
    _open(alex, tokens["Alex Novak"])
    for path in ("/p/home", "/p/consent"):
        page = alex.get(path).get_data(as_text=True)
        assert secret not in page and "You read this and agreed" not in page


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"name": "   "}, 400, "Type your name"),
        ({"name": "Sam\x00"}, 400, None),
        ({"name": "S" * 201}, 400, "at most 200"),
        ({"date": "not a date"}, 400, "today"),
        ({"date": "2001-01-01"}, 400, "today"),
        ({"text_id": "nonsense"}, 400, "Reload"),
        ({"text_id": ""}, 400, "Reload"),
    ],
)
def test_bad_input_is_refused_with_a_message(app, counselor_a, client, change, status, message):
    _, _, tokens = _intake_case(counselor_a)
    _open(client, tokens["Sam Rivera"])
    r = client.post("/p/consent", data={**_form(client), **change})
    assert r.status_code == status
    if message:
        assert message in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ConsentAck)) == 0


def test_a_date_a_day_off_is_accepted_for_partners_in_other_time_zones(app, counselor_a, client):
    _, _, tokens = _intake_case(counselor_a)
    _open(client, tokens["Sam Rivera"])
    tomorrow = (practice_today() + timedelta(days=1)).isoformat()
    assert client.post("/p/consent", data={**_form(client), "date": tomorrow}).status_code == 302


def test_a_double_submit_keeps_one_acknowledgement(app, counselor_a, client):
    _, _, tokens = _intake_case(counselor_a)
    _open(client, tokens["Sam Rivera"])
    form = _form(client)
    assert client.post("/p/consent", data=form).status_code == 302
    assert client.post("/p/consent", data=form).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ConsentAck)) == 1


def test_the_admin_edits_the_text_in_practice_settings(app, client_admin, client_a):
    page = client_admin.get("/admin/practice/consent").get_data(as_text=True)
    assert "version 1" in page and "secrets policy" in page
    saved = client_admin.post("/admin/practice/consent", data={"text": "Our own words."})
    assert saved.status_code == 302
    assert services.current_text().text == "Our own words."
    assert services.current_text().number == 2 and _audits("consent.text_saved") == 1
    empty = client_admin.post("/admin/practice/consent", data={"text": "  "})
    assert empty.status_code == 400 and services.current_text().number == 2
    assert "consent" in client_admin.get("/admin/practice").get_data(as_text=True)
    assert client_a.get("/admin/practice/consent").status_code == 403


def test_versions_and_acknowledgements_never_change(app, counselor_a):
    case = new_case(counselor_a)
    version = services.current_text()
    services.acknowledge(case.partners[0], version.id, "Sam", practice_today())
    db.session.commit()
    version.text = "Changed words"
    with pytest.raises(RuntimeError, match="immutable"):
        db.session.flush()
    db.session.rollback()
    ack = db.session.scalar(select(ConsentAck))
    ack.typed_name = "Someone else"
    with pytest.raises(RuntimeError, match="never change"):
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(ConsentText.number)) == 1


def test_key_rotation_rewraps_consent_rows_without_changing_them(make_app):
    from counselor.config import new_encryption_key
    from counselor.core.crypto import rotate_all
    from tests.support import make_account

    k1, k2 = new_encryption_key(), new_encryption_key()
    with make_app(COUNSELOR_ENCRYPTION_KEYS=k1).app_context():
        case = new_case(make_account("a@example.org", "Counselor A"))
        version = services.current_text()
        services.acknowledge(case.partners[0], version.id, "Sam Typed", practice_today())
        db.session.commit()
    with make_app(COUNSELOR_ENCRYPTION_KEYS=f"{k2},{k1}").app_context():
        checked, rewritten = rotate_all(db.session)
        db.session.commit()
        assert rewritten >= 2  # the text and the typed name, among the case's own
    with make_app(COUNSELOR_ENCRYPTION_KEYS=k2).app_context():
        db.session.expire_all()
        assert db.session.scalar(select(ConsentAck)).typed_name == "Sam Typed"
        assert "Mandated reporting" in db.session.scalar(select(ConsentText)).text


def test_the_text_shows_as_headed_paragraphs_with_lists_in_order():
    found = services.blocks("Intro line.\n\nWhen we share\nWe share when:\n- one;\n- two.\nThen.")
    assert found[0].heading == "" and found[0].parts == [("text", ["Intro line."])]
    assert found[1].heading == "When we share"
    assert found[1].parts == [
        ("text", ["We share when:"]),
        ("list", ["one;", "two."]),
        ("text", ["Then."]),
    ]


def test_erasing_a_case_erases_its_acknowledgements_and_resource_attachments(
    app, counselor_a, client_a
):
    from counselor.learning import services as learning
    from counselor.learning.models import ResourceAttachment

    sync()
    case, assignment, _ = _intake_case(counselor_a)
    typed = canary("erasedname")
    services.acknowledge(case.partners[0], services.current_text().id, typed, practice_today())
    learning.seed_starter(counselor_a.id)
    homework, _ = assign(case, "learning-together")
    learning.set_attached(
        case, "assignment", homework.id, [learning.library_of(counselor_a.id)[0].id]
    )
    db.session.commit()
    erased = client_a.post(f"/cases/{case.id}/delete", data={"confirm_label": case.label})
    assert erased.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ConsentAck)) == 0
    assert db.session.scalar(select(func.count()).select_from(ResourceAttachment)) == 0
    assert services.current_text().number == 1  # the practice's text stays


def test_the_consent_form_needs_the_portal_csrf_token(app, counselor_a, client):
    """The consent form is exempt from Flask-WTF (the counselor's token): without the portal's
    own token, or with a forged one, it is refused and nothing is stored."""
    _, _, tokens = _intake_case(counselor_a)
    _open(client, tokens["Sam Rivera"])
    form = _form(client)
    for token in (None, "forged"):
        sent = {k: v for k, v in form.items() if k != "csrf_token"}
        if token:
            sent["csrf_token"] = token
        got = client.post("/p/consent", data=sent)
        assert got.status_code == 400 and "came from elsewhere" in got.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ConsentAck)) == 0
    assert client.post("/p/consent", data=form).status_code == 302  # the token was the reason


def test_the_records_carry_who_acknowledged_which_version_and_the_handout_does_not(
    app, counselor_a, admin, client
):
    """The clinical and case records say, per partner, which version of the practice's text
    they acknowledged, when, and the name and date they typed; a partner's handout names no
    one's acknowledgement."""
    from datetime import time

    from counselor.cases.services import save_session
    from counselor.reports import builders
    from counselor.reports import services as reports
    from counselor.reports.models import Export
    from tests.reports.test_summary import pages

    case, _, tokens = _intake_case(counselor_a)
    _open(client, tokens["Sam Rivera"])
    acknowledge_consent(client, "Samantha Rivera")
    services.save_text("A shorter text of the practice.", admin.id)
    session = save_session(
        case,
        {"date": practice_today() - timedelta(days=1), "time": time(10), "duration_minutes": 50},
    )
    db.session.commit()
    first = services.versions()[-1]
    for kind in ("clinical", "case_record"):
        export = reports.request_export(case, kind, session if kind == "clinical" else None, None)
        db.session.commit()
        text = " ".join(pages(builders.render(db.session.get(Export, export.id))))
        assert "Informed consent" in text
        assert "The practice's current text: Version 2" in text
        assert (
            "Sam Rivera: Acknowledged an earlier version on" in text
            and "typing “Samantha Rivera” and the date" in text
            and f"(version 1, SHA-256 {first.text_hash[:12]}…). Not yet the current one." in text
        ), text
        assert "Alex Novak: Not acknowledged yet." in text
    acknowledge_consent(client, "Sam R.")
    export = reports.request_export(case, "clinical", session, None)
    db.session.commit()
    text = " ".join(pages(builders.render(db.session.get(Export, export.id))))
    assert "Sam Rivera: Acknowledged the current version on" in text and "typing “Sam R.”" in text
    sam = case.partners[0]
    handout = reports.request_export(case, "handout", session, sam.id)
    db.session.commit()
    text = " ".join(pages(builders.render(db.session.get(Export, handout.id))))
    assert "Informed consent" not in text and "Sam R." not in text and "Samantha" not in text
