"""The counselor's preview of one partner's shared page (one partner a page): only the case's
own counselor reaches it, reading it is audited, and it shows only what the reveal rules let
that partner see, before and after everyone has submitted."""

from __future__ import annotations

import uuid

from counselor.core.audit import AuditEvent
from counselor.extensions import db
from tests.reveal import test_release as _release_tests
from tests.reveal import test_roles_and_relationships as _relationship_tests
from tests.reveal.test_release import inventory_answers, own_canaries, release
from tests.reveal.test_release_eyes_open import shared_items

scenario = _release_tests.scenario  # Sam and Alex, the inventory with a canary in every note
polycule = _relationship_tests.polycule  # Jordan with Riley and with Casey, not Riley with Casey


def preview_url(s, name: str) -> str:
    return f"{s.base}/partners/{s.partners[name].id}/preview"


def test_another_counselor_gets_the_same_404_as_for_nothing(scenario, client_b):
    s = scenario
    s.sam.answer_and_submit(inventory_answers("sam", s.c))
    s.alex.answer_and_submit(inventory_answers("alex", s.c))
    theirs = client_b.get(preview_url(s, "Sam Rivera"))
    missing = s.counselor.get(f"{s.base}/partners/{uuid.uuid4()}/preview")
    assert theirs.status_code == missing.status_code == 404
    assert s.c["alex-shared"] not in theirs.get_data(as_text=True)
    # nor under another case's id
    other_case = f"/cases/{uuid.uuid4()}/assignments/{s.inventory.id}/partners/"
    assert s.counselor.get(other_case + f"{s.partners['Sam Rivera'].id}/preview").status_code == 404


def test_reading_a_preview_is_audited_with_the_partners_response(scenario):
    s = scenario
    s.sam.answer_and_submit(inventory_answers("sam", s.c))
    s.alex.answer_and_submit(inventory_answers("alex", s.c))
    assert s.counselor.get(preview_url(s, "Alex Novak")).status_code == 200
    db.session.expire_all()
    response = next(r for r in s.inventory.responses if r.partner_id == s.partners["Alex Novak"].id)
    events = db.session.query(AuditEvent).filter_by(action="assignment.preview").all()
    assert [(e.actor_kind, e.object_kind, e.object_id) for e in events] == [
        ("counselor", "response", str(response.id))
    ]


def test_a_draft_shows_nothing_of_anyone_in_either_preview(scenario):
    """Until every partner has submitted, no preview shows anything of another partner: not
    the submitted answers, and not a draft's."""
    s = scenario
    s.sam.answer_and_submit(inventory_answers("sam", s.c))
    s.alex.autosave(inventory_answers("alex", s.c))
    for name in ("Sam Rivera", "Alex Novak"):
        page = s.counselor.get(preview_url(s, name)).get_data(as_text=True)
        assert "the preview appears once every assigned partner has submitted" in page
        assert shared_items(page) == []
        for who in ("sam", "alex"):
            assert [c for c in own_canaries(s, who) if c in page] == [], (name, who)
        assert s.c["alex-shared"] not in page and s.c["sam-shared"] not in page


def test_a_preview_never_shows_a_partner_outside_the_viewers_relationships(polycule, client_a):
    """Riley and Casey are both with Jordan but not with each other: Riley's preview names
    Jordan's matches and never Casey, and Jordan's shows both."""
    case, assignment, _, base = polycule
    ids = {p.display_name: p.id for p in case.partners}
    riley = client_a.get(f"{base}/partners/{ids['Riley']}/preview").get_data(as_text=True)
    jordan = client_a.get(f"{base}/partners/{ids['Jordan']}/preview").get_data(as_text=True)
    items = shared_items(riley)
    assert items and all("Casey" not in i for i in items)
    assert any("Jordan" in i for i in items)
    assert any("Riley" in i for i in shared_items(jordan))
    assert any("Casey" in i for i in shared_items(jordan))
    # the notes and the experience stay with the counselor
    assert "JORDAN-LEAD-NOTE" not in riley and "RILEY-LEAD-NOTE" not in jordan


def test_the_release_still_needs_its_confirmation_after_reading_the_previews(scenario):
    s = scenario
    s.sam.answer_and_submit(inventory_answers("sam", s.c))
    s.alex.answer_and_submit(inventory_answers("alex", s.c))
    page = s.counselor.get(preview_url(s, "Alex Novak")).get_data(as_text=True)
    assert f'href="{s.base}/compare#release-h"' in page
    assert release(s, confirm=False).status_code == 400
    assert release(s).status_code == 302
