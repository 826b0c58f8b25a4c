"""Canaries: what a counselor types about clients is nowhere in the database in plain text.

A partner name and a private note are typed through the pages, read back through the pages
(so the canary really was stored), and then looked for in the raw database: the SQLite file
bytes, or a ``pg_dump`` of the PostgreSQL database.
"""

from __future__ import annotations

import uuid

from tests.support import database_bytes, leaks


def test_partner_name_and_note_typed_in_the_ui_are_not_in_the_database(
    app, client_a, counselor_a, database_url
):
    tag = uuid.uuid4().hex[:10]
    name = f"Quetzal Canary-{tag}"
    pronouns = f"xe/canary{tag}"
    label = f"Label-Canary-{tag}"
    note = f"Private note canary {tag}: hesitant about the pace"
    agenda = f"Agenda canary {tag}"

    r = client_a.post(
        "/cases/new",
        data={
            "label": label,
            "partners-0-display_name": name,
            "partners-0-pronouns": pronouns,
            "partners-0-email": f"canary{tag}@example.net",
            "partners-1-display_name": "Second Partner",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    case_url = r.location
    r = client_a.post(
        case_url + "/sessions/new",
        data={
            "date": "2026-02-03",
            "time": "10:30",
            "duration_minutes": "50",
            "agenda": agenda,
            "notes": note,
            "next_steps": f"Steps canary {tag}",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    # Searching for the name must not store it anywhere either (the audit trail, say).
    assert name in client_a.get("/cases", query_string={"q": name}).get_data(as_text=True)

    # Readable back through the pages: the canaries were stored.
    assert name in client_a.get(case_url).get_data(as_text=True)
    session_page = client_a.get(r.location).get_data(as_text=True)
    assert note in session_page and agenda in session_page

    dump = database_bytes(database_url)
    # The scan sees the database's plain columns (so it would see a leak) ...
    assert counselor_a.email.encode() in dump
    # ... and none of what was typed about the clients.
    found = leaks(dump, name, pronouns, label, note, agenda, f"canary{tag}@example.net", tag)
    assert found == [], f"plain text in the database: {found}"


def test_the_scan_finds_a_plain_text_canary(app, counselor_a, database_url):
    """The scanner itself can fail: a canary written in plain text (here into the audit
    trail's free-text column) is found."""
    from counselor.core import audit
    from counselor.extensions import db

    tag = f"visible-canary-{uuid.uuid4().hex[:10]}"
    audit.record("test.canary", "case", tag)
    db.session.commit()
    assert leaks(database_bytes(database_url), tag) == [tag]


def test_agreement_text_and_notes_typed_in_the_pages_are_not_in_the_database(
    app, client_a, counselor_a, database_url
):
    """An agreement's title and clauses (typed by the counselor), and a partner's note to an
    answer and to a pause (typed on the portal): readable back, nowhere in plain text."""
    import re

    from counselor.agreements import queries
    from counselor.extensions import db
    from tests.support.agreements import portal, released_case

    tag = uuid.uuid4().hex[:10]
    title, clause = f"Title canary {tag}", f"Clause canary {tag}: blindfold only at home"
    where, answer_note = f"Where canary {tag}", f"Answer note canary {tag}"
    pause_note = f"Pause note canary {tag}"
    r = released_case(counselor_a)
    created = client_a.post(
        f"/cases/{r.case.id}/agreements/new",
        data={"title": title, "partners": [str(r.sam.id), str(r.alex.id)]},
    )
    draft_url = created.location
    saved = client_a.post(
        draft_url,
        data={"title": title, "c-0-kind": "activity", "c-0-text": clause, "c-0-where": where},
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    page = client_a.get(draft_url).get_data(as_text=True)
    version_id = re.search(r'name="version_id" value="([^"]+)"', page).group(1)
    assert client_a.post(draft_url.replace("/draft", "/publish"), data={"version_id": version_id})
    agreement = queries.agreements_of_partner(r.sam)[0]
    sam, alex = app.test_client(), app.test_client()
    sam_csrf, alex_csrf = portal(sam, r.tokens["Sam Rivera"]), portal(alex, r.tokens["Alex Novak"])
    url = f"/p/agreements/{agreement.id}"
    sam.post(
        url + "/answer",
        data={
            "csrf_token": sam_csrf,
            "version_id": version_id,
            "answer": "agree",
            "note": answer_note,
        },
    )
    alex.post(
        url + "/answer", data={"csrf_token": alex_csrf, "version_id": version_id, "answer": "agree"}
    )
    db.session.expire_all()
    key = queries.in_force(queries.for_partner(r.sam, agreement.id)).clauses[0]["key"]
    paused = sam.post(url + "/pause", data={"csrf_token": sam_csrf, "clause": key})
    pause_id = re.search(r"paused=([0-9a-f-]+)", paused.location).group(1)
    sam.post(
        url + "/pause-note", data={"csrf_token": sam_csrf, "pause": pause_id, "note": pause_note}
    )

    shown = client_a.get(f"/cases/{r.case.id}/agreements/{agreement.id}").get_data(as_text=True)
    for text in (title, clause, where, answer_note, pause_note):
        assert text in shown, text
    assert clause in alex.get(url).get_data(as_text=True)

    found = leaks(database_bytes(database_url), title, clause, where, answer_note, pause_note, tag)
    assert found == [], f"plain text in the database: {found}"
