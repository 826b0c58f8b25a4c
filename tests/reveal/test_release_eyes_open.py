"""Release only with eyes open (issue 9 §2): open screening alerts of the case need a second
confirmation that names them, and the compare page links, per partner, to a preview of exactly
what the partner's shared page will show after release (the same partner filter builds both).
"""

from __future__ import annotations

import re

from counselor.alerts.models import Alert
from counselor.extensions import db
from counselor.reveal import shared_pages
from tests.reveal import test_release as _release_tests
from tests.reveal.test_release import (
    ITEM_TEXT,
    NOT_MATCHED,
    answer_everything,
    own_canaries,
    release,
    released_at,
)

scenario = _release_tests.scenario  # the same two partners, inventory and intake

PRESSURE = "Reports some pressure (or is unsure) about taking part"


def open_alert_ids(s) -> list[str]:
    db.session.expire_all()
    return [
        str(a.id)
        for a in db.session.query(Alert).filter_by(case_id=s.case.id, acknowledged_at=None)
    ]


def shared_items(html: str) -> list[str]:
    """The items of a partner view as text, in order (tags and spacing dropped)."""
    blocks = re.findall(
        r'<section class="card shadow-sm mb-3 shared-item">(.*?)</section>', html, re.S
    )
    return [" ".join(re.sub(r"<[^>]+>", " ", b).split()) for b in blocks]


def previews_linked(page: str) -> dict[str, str]:
    """The release panel's link to each partner's preview, by partner name."""
    panel = page[
        page.index('id="release-h"') : page.index("</section>", page.index('id="release-h"'))
    ]
    return {
        name: href.replace("&amp;", "&")
        for href, name in re.findall(r'href="([^"]+/preview)">What (.+?) will see</a>', panel)
    }


def test_release_with_open_alerts_needs_a_second_confirmation_naming_them(scenario):
    s = scenario
    answer_everything(s)
    (alert_id,) = open_alert_ids(s)

    page = s.counselor.get(s.base + "/compare").get_data(as_text=True)
    panel = page[
        page.index("Sharing with the partners") : page.index(
            "</form>", page.index("Sharing with the partners")
        )
    ]
    assert "open screening alert" in panel and f"Sam Rivera: {PRESSURE}" in panel
    assert 'name="confirm_alerts"' in panel and f'value="{alert_id}"' in panel

    # the first box alone is not enough; the refusal names the alert
    r = release(s, alerts=False)
    assert r.status_code == 409
    assert PRESSURE in r.get_data(as_text=True) and "Sam Rivera" in r.get_data(as_text=True)
    assert released_at(s.inventory) is None
    # ticking the second box without the alert it was shown for does not cover it
    r = s.counselor.post(s.base + "/release", data={"confirm": "y", "confirm_alerts": "y"})
    assert r.status_code == 409 and released_at(s.inventory) is None
    # the named alerts without the tick do not either
    r = s.counselor.post(s.base + "/release", data={"confirm": "y", "alert_id": alert_id})
    assert r.status_code == 409 and released_at(s.inventory) is None
    # a malformed id is a clear 400
    r = s.counselor.post(
        s.base + "/release", data={"confirm": "y", "confirm_alerts": "y", "alert_id": "nope"}
    )
    assert r.status_code == 400 and "not understood" in r.get_data(as_text=True)

    r = s.counselor.post(
        s.base + "/release", data={"confirm": "y", "confirm_alerts": "y", "alert_id": alert_id}
    )
    assert r.status_code == 302 and released_at(s.inventory) is not None


def test_release_after_the_alerts_are_closed_needs_only_the_first_confirmation(scenario):
    s = scenario
    answer_everything(s)
    (alert_id,) = open_alert_ids(s)
    r = s.counselor.post(
        f"/cases/{s.case.id}/alerts/{alert_id}/acknowledge", data={"note": "Talked with Sam."}
    )
    assert r.status_code == 302
    page = s.counselor.get(s.base + "/compare").get_data(as_text=True)
    assert 'name="confirm_alerts"' not in page
    assert release(s, alerts=False).status_code == 302


def test_preview_as_partner_shows_exactly_the_shared_page_after_release(scenario, monkeypatch):
    s = scenario
    answer_everything(s)
    # the release controls link to one preview page per partner
    page = s.counselor.get(s.base + "/compare").get_data(as_text=True)
    links = previews_linked(page)
    assert sorted(links) == ["Alex Novak", "Sam Rivera"]
    previews = {name: s.counselor.get(url).get_data(as_text=True) for name, url in links.items()}
    before = {name: shared_items(p) for name, p in previews.items()}
    sam_preview = previews["Sam Rivera"]
    assert "What Sam Rivera will see" in sam_preview
    assert ITEM_TEXT["mutual"] in sam_preview and ITEM_TEXT["complementary"] in sam_preview
    for text in NOT_MATCHED:
        assert text not in sam_preview, text
    # nothing private of either partner in a preview (notes, limits, counselor-only answers)
    for name, preview in previews.items():
        for who in ("sam", "alex"):
            assert [c for c in own_canaries(s, who) if c in preview] == [], (name, who)
    assert "You: Giving · Alex Novak: Receiving" in sam_preview
    # what the other marked to be shared is there, the viewer's own is not shown back
    assert s.c["alex-shared"] in sam_preview and s.c["sam-shared"] not in sam_preview

    assert release(s).status_code == 302
    assert shared_items(s.sam.get("/p/shared")) == before["Sam Rivera"]
    assert shared_items(s.alex.get("/p/shared")) == before["Alex Novak"]
    assert before["Sam Rivera"] and before["Alex Novak"]
    # after release the same page says it is what the partner sees now
    now = s.counselor.get(links["Sam Rivera"]).get_data(as_text=True)
    assert "What Sam Rivera sees" in now and shared_items(now) == before["Sam Rivera"]

    # paged a section at a time (as a long result is), the preview is still the partner's
    # page: the same sections with the same counts, and section by section the same items
    monkeypatch.setattr(shared_pages, "PAGE_LINES", 1)
    for name, browser in (("Sam Rivera", s.sam), ("Alex Novak", s.alex)):
        theirs, ours = browser.get("/p/shared"), s.counselor.get(links[name]).get_data(as_text=True)
        sections = re.findall(
            r'href="/p/shared\?section=(\d+)">([^<]+)</a>\s*<span[^>]*>([^<]+)<', theirs
        )
        assert len(sections) >= 2 and shared_items(theirs) == shared_items(ours) == []
        assert [
            (n, title, count)
            for n, title, count in re.findall(
                r'href="[^"]+/preview\?section=(\d+)">([^<]+)</a>\s*<span[^>]*>([^<]+)<', ours
            )
        ] == sections
        together = []
        for n, _, _ in sections:
            part = shared_items(browser.get(f"/p/shared?section={n}"))
            preview = s.counselor.get(f"{links[name]}?section={n}").get_data(as_text=True)
            assert part and shared_items(preview) == part, (name, n)
            together += part
        # the sections together are the whole page (less each card's section name)
        assert len(together) == len(before[name])
        assert all(whole.endswith(one) for whole, one in zip(before[name], together, strict=True))


def test_preview_waits_for_every_submission(scenario):
    s = scenario
    s.sam.answer_and_submit({"care.cuddling": {"roles": {"together": "yes"}}})
    page = s.counselor.get(s.base + "/compare").get_data(as_text=True)
    assert "can be previewed once all have submitted" in page and not previews_linked(page)
    sam = s.partners["Sam Rivera"]
    preview = s.counselor.get(f"{s.base}/partners/{sam.id}/preview").get_data(as_text=True)
    assert "the preview appears once every assigned partner has submitted" in preview
    assert shared_items(preview) == []
