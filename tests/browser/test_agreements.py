"""Issue 12's "Done means", in a real browser: after a released inventory and pause-signal
exercise, the counselor drafts an agreement from the matches and the pause signal, both
partners agree on a phone, one pauses a clause, the other sees it paused, the counselor is
alerted and publishes a revised version, both agree again, and the partner's PDF shows the
history. ``COUNSELOR_SCREENSHOT_DIR`` keeps screenshots of both agreement pages."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from counselor.agreements.models import AgreementVersion
from counselor.extensions import db
from counselor.mail.models import Message
from counselor.reports.models import Export
from tests.support.agreements import released_case
from tests.support.browser import PHONE, sign_in_page


def _shot(page, name: str) -> None:
    where = os.environ.get("COUNSELOR_SCREENSHOT_DIR")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(where) / name), full_page=True)


def _open_agreement(page, token: str) -> None:
    page.goto(f"/l/{token}")
    page.get_by_role("button", name="Open my homework").click()
    # a per-assignment link opens that homework; the agreement's card is on the partner's home
    page.wait_for_load_state("load")
    page.goto("/p/home")
    card = page.locator("section.home-card").filter(
        has=page.get_by_role("heading", name="Our agreement")
    )
    card.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Our agreement")).to_be_visible()


def test_draft_agree_pause_revise_agree_and_the_pdf(app, live_server, new_context, counselor_a):
    from counselor.reports.tasks import render_export

    r = released_case(counselor_a)
    db.session.commit()
    counselor_ctx, crec = new_context(live_server, viewport={"width": 1280, "height": 900})
    counselor = counselor_ctx.new_page()
    sign_in_page(counselor, counselor_a)
    counselor.goto(f"/cases/{r.case.id}")
    counselor.get_by_role("link", name="New agreement").click()
    counselor.get_by_label("Title the partners will see").fill("Our agreement")
    counselor.get_by_role("button", name=re.compile("Open the agreement")).click()
    # from the matches and the pause signal: what both partners may already see
    counselor.get_by_label(re.compile("Giving or receiving instructions")).check()
    counselor.get_by_label(re.compile("Sam Rivera: Pineapple")).check()
    counselor.get_by_label(re.compile("Alex Novak: Pineapple")).check()
    counselor.get_by_role("button", name="Add the ticked to the draft").click()
    expect(counselor.get_by_text("Added 2 clauses to the draft")).to_be_visible()
    counselor.get_by_role("button", name="Publish version 1").click()
    expect(counselor.get_by_text("Version 1 is published")).to_be_visible()

    partners = {}
    for name in ("Sam Rivera", "Alex Novak"):
        ctx, _ = new_context(live_server, **PHONE)
        page = ctx.new_page()
        _open_agreement(page, r.tokens[name])
        expect(page.get_by_text("Pineapple").first).to_be_visible()
        page.get_by_role("button", name="I agree").click()
        expect(page.get_by_text("Your counselor can see that you agree")).to_be_visible()
        partners[name] = page
    sam, alex = partners["Sam Rivera"], partners["Alex Novak"]
    expect(alex.get_by_role("heading", name="In force now")).to_be_visible()

    # Sam pauses one clause: one tap, no reason asked
    sam.reload()
    sam.get_by_role("button", name="Pause this").last.click()
    expect(sam.get_by_role("heading", name="Paused")).to_be_visible()
    sam.get_by_label(re.compile("a note for your counselor")).fill("Too fast for me right now.")
    sam.get_by_role("button", name="Send the note to my counselor").click()
    expect(sam.get_by_text("Your note went to your counselor only")).to_be_visible()
    _shot(sam, "partner-agreement-390.png")
    alex.reload()
    expect(alex.get_by_text("Paused by a partner.")).to_be_visible()
    expect(alex.get_by_text("Too fast for me")).to_have_count(0)

    # the counselor is alerted (urgent) and sees the pause and its note
    db.session.expire_all()
    kinds = {m.kind for m in db.session.scalars(select(Message))}
    assert "notify.paused" in kinds
    counselor.goto(f"/cases/{r.case.id}")
    expect(counselor.get_by_text(re.compile("paused by a partner"))).to_be_visible()
    counselor.get_by_role("link", name="Our agreement").click()
    expect(counselor.locator(".pause-note")).to_contain_text("Too fast for me right now.")
    _shot(counselor, "counselor-agreement-1280.png")
    counselor.get_by_role("button", name="Draft a new version").click()
    text = counselor.locator("textarea[name='c-0-text']")
    text.fill(text.input_value() + " One instruction at a time, and we check in after each.")
    # publishing saves what is typed first
    counselor.get_by_role("button", name="Publish version 2").click()
    expect(counselor.get_by_text("Version 2 is published")).to_be_visible()

    for page in (sam, alex):
        page.reload()
        expect(page.get_by_text("A new version to read")).to_be_visible()
        expect(page.get_by_text("Changed").first).to_be_visible()
        page.get_by_role("button", name="I agree").click()
        expect(page.get_by_text("Your counselor can see that you agree")).to_be_visible()

    # Sam's PDF, made by the export worker's task
    sam.get_by_role("button", name="Make a PDF").click()
    expect(sam.get_by_text("being made")).to_be_visible()
    db.session.expire_all()
    export = db.session.scalars(select(Export).where(Export.kind == "agreement")).one()
    assert render_export(str(export.id)) == "ready"
    sam.get_by_role("link", name="Check again").click()
    with sam.expect_download() as got:
        sam.get_by_role("link", name="Download the PDF").click()
    pdf = Path(got.value.path()).read_bytes()
    text = " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    hashes = [v.content_hash for v in db.session.scalars(select(AgreementVersion))]
    assert len(hashes) == 2 and all(h in text.replace(" ", "") for h in hashes)
    assert "You paused a part" in text and "You agreed to version 2" in text
    assert "Too fast for me" not in text and r.case.label not in text
    assert not crec.errors


def test_axe_finds_no_wcag_violation_on_agreement_pages(app, live_server, new_context, counselor_a):
    from counselor.agreements import drafting, queries, services
    from tests.browser.test_accessibility import SCREENS, axe_violations
    from tests.support.agreements import agree_all, published_agreement, revise

    r = released_case(counselor_a)
    agreement = published_agreement(r.case)
    agree_all(agreement)
    v1 = queries.published(agreement)[0]
    paused = services.pause(agreement, r.sam, v1.clauses[1]["key"])
    services.note_pause(agreement, r.sam, paused.id, "A note")
    changed = dict(v1.clauses[2], text="A blanket, water and quiet")
    revise(agreement, [v1.clauses[0], v1.clauses[1], changed, {"kind": "safety", "text": "Water"}])
    drafting.start_draft(agreement)
    db.session.commit()
    base = f"/cases/{r.case.id}/agreements/{agreement.id}"
    seen: dict[str, list[str]] = {}
    for options, label in SCREENS:
        context, _ = new_context(live_server, **options)
        page = context.new_page()
        sign_in_page(page, counselor_a)
        for where, path in (
            ("case", f"/cases/{r.case.id}"),
            ("agreement", base),
            ("draft", base + "/draft"),
            ("new", f"/cases/{r.case.id}/agreements/new"),
        ):
            page.goto(path)
            seen[f"{label} {where}"] = axe_violations(page)
        for name in ("Sam Rivera", "Alex Novak"):
            ctx, _ = new_context(live_server, **options)
            p = ctx.new_page()
            _open_agreement(p, r.tokens[name])
            seen[f"{label} partner {name}"] = axe_violations(p)
            if name == "Alex Novak" and label == "phone":
                _shot(p, "partner-to-read-390.png")
            p.goto("/p/agreements")
            seen[f"{label} partner list {name}"] = axe_violations(p)
        if label == "desk":
            page.goto(base + "/draft")
            _shot(page, "counselor-draft-1280.png")
    assert {w: v for w, v in seen.items() if v} == {}
