"""A long "What you share" page a section at a time (issue 16): six partners' desire inventory
would be some 1,700 lines on a phone. The partner's page and the counselor's preview of it
open with the sections that have shared items, then show one section a page; each section's
page holds exactly the whole view's items of that section, the preview's the same as the
partner's; a section without shared items, or a bad value, is a clear 404."""

from __future__ import annotations

import html
import re

import pytest

from counselor.core.audit import AuditEvent
from counselor.extensions import db
from counselor.questionnaires.services import reissue
from counselor.reveal import services
from tests.reveal.test_release_eyes_open import shared_items
from tests.support import INVENTORY, inventory_answers, new_case, open_link, submitted, sync

SIX = ("Ana", "Ben", "Cas", "Dee", "Eli", "Fay")


@pytest.fixture
def six(app, counselor_a, client_a):
    """Six partners' submitted inventory, released; Ana's portal open."""
    sync()
    case = new_case(counselor_a, "Six", SIX)
    assignment = submitted(app, case, INVENTORY, inventory_answers())
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    assert client_a.post(base + "/release", data={"confirm": "y"}).status_code == 302
    db.session.expire_all()
    ana = case.partners[0]
    issued = reissue(assignment, ana.id)
    db.session.commit()
    browser = open_link(app.test_client(), issued.token, name="Ana")
    return assignment, ana, browser, f"{base}/partners/{ana.id}/preview"


def listed(page: str, url: str) -> list[tuple[int, int]]:
    """The contents' sections: (number, count of items), in order."""
    found = re.findall(
        re.escape(url) + r'\?section=(\d+)">[^<]+</a>\s*<span[^>]*>(\d+) items?</span>', page
    )
    return [(int(n), int(c)) for n, c in found]


def test_the_partner_reads_a_long_result_one_section_at_a_time(six, client_a):
    assignment, ana, browser, preview = six
    whole = services.view_for_partner(services.load_assignment(assignment.id), ana.id)
    defn = assignment.definition
    first = browser.get("/p/shared")
    assert "Section by section" in first and shared_items(first) == []
    sections = listed(first, "/p/shared")
    by_section: dict[int, list[str]] = {}
    for item in whole.items:
        by_section.setdefault(defn.section_of(item.link_id).index + 1, []).append(item.text)
    # every section with shared items is listed with its count, and no other
    assert sections == [(n, len(texts)) for n, texts in sorted(by_section.items())]
    assert sum(c for _, c in sections) == len(whole.items) > 80
    numbers = [n for n, _ in sections]
    seen = []
    for at, n in enumerate(numbers):
        page = browser.get(f"/p/shared?section={n}")
        items = [html.unescape(i) for i in shared_items(page)]
        # exactly the whole view's items of this section, in order, and nothing else
        assert len(items) == len(by_section[n])
        assert all(shown.startswith(text) for shown, text in zip(items, by_section[n], strict=True))
        seen += items
        if at + 1 < len(numbers):
            assert f'href="/p/shared?section={numbers[at + 1]}"' in page
        else:
            assert "Back to all sections" in page
        if at:
            assert f'href="/p/shared?section={numbers[at - 1]}"' in page
    assert len(seen) == len(whole.items)
    # a section without shared items (the closing questions: nobody marked one to share) is
    # neither listed nor reachable
    empty = [s.index + 1 for s in defn.sections if s.index + 1 not in by_section]
    assert empty
    for who, url in ((browser.client, "/p/shared"), (client_a, preview)):
        for bad in (*empty, 0, 99, "two", "-1", "1.5", "%C2%B9"):
            r = who.get(f"{url}?section={bad}")
            assert r.status_code == 404, (url, bad)
            assert "choose" in r.get_data(as_text=True).lower(), (url, bad)
        assert who.get(f"{url}?section=1%00").status_code == 400  # refused before the page


def test_the_preview_shows_the_partner_exactly_their_page_section_by_section(six, client_a):
    assignment, ana, browser, preview = six
    first = client_a.get(preview).get_data(as_text=True)
    theirs = browser.get("/p/shared")
    assert listed(first, preview) == listed(theirs, "/p/shared") != []
    assert shared_items(first) == []
    for n, _ in listed(theirs, "/p/shared"):
        counselor_sees = client_a.get(f"{preview}?section={n}").get_data(as_text=True)
        assert shared_items(counselor_sees) == shared_items(browser.get(f"/p/shared?section={n}"))
        assert "What Ana sees" in counselor_sees


def test_each_page_is_audited_as_the_whole_page_was(six, client_a):
    assignment, ana, browser, preview = six
    since = db.session.query(db.func.max(AuditEvent.id)).scalar() or 0
    n = listed(browser.get("/p/shared"), "/p/shared")[0][0]
    browser.get(f"/p/shared?section={n}")
    client_a.get(preview)
    client_a.get(f"{preview}?section={n}")
    db.session.expire_all()
    response = next(r for r in assignment.responses if r.partner_id == ana.id)
    events = [
        (e.action, e.object_kind, e.object_id)
        for e in db.session.query(AuditEvent).filter(AuditEvent.id > since).order_by(AuditEvent.id)
        if e.action in ("portal.shared_view", "assignment.preview")
    ]
    assert events == [
        ("portal.shared_view", "assignment", str(assignment.id)),
        ("portal.shared_view", "assignment", str(assignment.id)),
        ("assignment.preview", "response", str(response.id)),
        ("assignment.preview", "response", str(response.id)),
    ]
