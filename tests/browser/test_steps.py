"""Issue 13's steps, in a real browser: from an agreement in force, the counselor adds a
three-step ladder under a clause; a partner marks step 1 done on a phone; both debrief on a
phone, each choosing what to share; the log shows both shares only after the second debrief;
a high-anxiety debrief pauses step 2 and alerts the counselor; a weekly check-in schedule the
counselor sets from today makes its check-in and mails it at once (beat makes no second one),
and the partner finds it on their home. ``COUNSELOR_SCREENSHOT_DIR``
keeps screenshots of the partner pages (390 px) and the counselor pages (1280 px)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from counselor.cases import homes
from counselor.checkins import services as checkin_services
from counselor.checkins.tasks import run_schedules
from counselor.core import practice
from counselor.extensions import db
from counselor.mail.models import Message
from tests.support import new_case, sync
from tests.support.agreements import agree_all, published_agreement
from tests.support.browser import PHONE, sign_in_page

LADDER = [
    ("Hold hands while talking about the day", "Five minutes"),
    ("One instruction, then a check-in", "Ten minutes, clothes on"),
    ("A longer scene with the pause word at hand", "Half an hour"),
]


def _shot(page, name: str) -> None:
    where = os.environ.get("COUNSELOR_SCREENSHOT_DIR")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(where) / name), full_page=True)


def _phone(new_context, live_server, token: str):
    ctx, _ = new_context(live_server, **PHONE)
    page = ctx.new_page()
    page.goto(f"/h/{token}")
    page.get_by_role("button").filter(has_text=re.compile("^Open")).first.click()
    expect(page).to_have_url(re.compile(r"/p/home$"))
    return page


def _scale(page, link_id: str, value: int) -> None:
    page.locator(f'[id="item-{link_id}"]').locator("label").filter(
        has_text=re.compile(f"^{value}$")
    ).click()


def _debrief(page, what: str, exciting: str, doubt: str, anxiety: int) -> None:
    """Answer the built-in debrief from the steps page, section by section, and send it."""
    page.goto("/p/steps")
    page.get_by_role("link", name="Write your debrief").click()
    page.get_by_role("link", name=re.compile(r"^(Start|Continue)$")).click()
    page.wait_for_load_state("load")
    page.get_by_label("Briefly, what did you try?").fill(what)
    page.get_by_role("button", name="Save and continue", exact=True).click()
    page.get_by_label("What felt exciting, good or connecting?").fill(exciting)
    page.get_by_label("What raised doubt, discomfort or questions for you?").fill(doubt)
    page.get_by_role("button", name="Save and continue", exact=True).click()
    page.get_by_role("button", name="Save and continue", exact=True).click()  # the pause signal
    _scale(page, "now.feeling", 6)
    _scale(page, "now.fatigue", 3)
    _scale(page, "now.anxiety", anxiety)
    page.get_by_role("button", name="Save and continue", exact=True).click()
    page.get_by_role("button", name="Save and review").click()
    page.get_by_role("button", name="Send to my counselor").click()
    page.wait_for_load_state("load")


def _share(page, exciting: str) -> None:
    page.goto("/p/steps")
    expect(page.get_by_text("what goes into your shared log?")).to_be_visible()
    page.get_by_label(re.compile(re.escape(exciting))).check()
    page.get_by_role("button", name="Send to our shared log").click()
    expect(page.get_by_text("Sent. Your shared log shows it")).to_be_visible()


def test_ladder_debriefs_shared_log_and_a_pause(app, live_server, new_context, counselor_a):
    sync()
    case = new_case(counselor_a, "Sam & Alex", ("Sam Rivera", "Alex Novak"))
    sam_p, alex_p = case.partners
    sam_p.email, alex_p.email = "sam@example.org", "alex@example.org"
    agreement = published_agreement(case)
    agree_all(agreement)
    tokens = {p.display_name: homes.issue_home_link(p) for p in case.partners}
    db.session.commit()

    # the counselor adds a three-step ladder under the agreement's activity clause
    cctx, _ = new_context(live_server, viewport={"width": 1280, "height": 900})
    counselor = cctx.new_page()
    sign_in_page(counselor, counselor_a)
    counselor.goto(f"/cases/{case.id}/agreements/{agreement.id}")
    counselor.get_by_role("link", name="Plan steps under this clause").nth(1).click()
    for what, size in LADDER:
        counselor.get_by_label("The step").fill(what)
        counselor.get_by_label("How small").fill(size)
        counselor.get_by_role("button", name="Add the step").click()
        expect(counselor.get_by_text("Step added.")).to_be_visible()
    expect(counselor.locator(".step-row")).to_have_count(3)

    sam = _phone(new_context, live_server, tokens["Sam Rivera"])
    alex = _phone(new_context, live_server, tokens["Alex Novak"])
    sam.get_by_role("link", name="Open your steps").click()
    expect(sam.get_by_text(LADDER[0][0])).to_be_visible()
    _shot(sam, "steps-partner-ladder-390.png")
    sam.get_by_role("button", name="We did it").click()
    expect(sam.get_by_text("Marked as done.")).to_be_visible()

    # both debrief; Sam shares only what felt exciting, and the log waits for Alex
    _debrief(sam, "We held hands", "SAM-shared: it felt close", "SAM-private: felt shy", 2)
    _share(sam, "SAM-shared: it felt close")
    _shot(sam, "steps-partner-after-share-390.png")
    for page in (sam, alex):
        page.goto("/p/steps/log")
        expect(page.get_by_text("Nothing here yet")).to_be_visible()
        expect(page.get_by_text("SAM-shared")).to_have_count(0)
    alex.goto("/p/home")
    expect(alex.get_by_text("A short debrief is waiting for you")).to_be_visible()
    _shot(alex, "steps-partner-home-390.png")
    _debrief(alex, "Hands and talk", "ALEX-shared: calm", "ALEX-private: anxious after", 9)
    alex.goto("/p/steps")
    _shot(alex, "steps-partner-share-390.png")
    _share(alex, "ALEX-shared: calm")

    for page in (sam, alex):
        page.goto("/p/steps/log")
        expect(page.get_by_text("SAM-shared: it felt close")).to_be_visible()
        expect(page.get_by_text("ALEX-shared: calm")).to_be_visible()
        expect(page.get_by_text(re.compile("private"))).to_have_count(0)
    _shot(sam, "steps-partner-log-390.png")

    # Alex's anxiety paused step 2 for everyone, and the counselor is alerted
    sam.goto("/p/steps")
    expect(sam.get_by_text("Paused for now.")).to_be_visible()
    expect(sam.get_by_role("button", name="We did it")).to_have_count(0)
    counselor.goto(f"/cases/{case.id}")
    expect(
        counselor.get_by_text(re.compile("the next step is paused for everyone"))
    ).to_be_visible()
    _shot(counselor, "steps-counselor-case-1280.png")
    counselor.get_by_role("link", name="Open the steps").click()
    expect(counselor.get_by_text("Paused because a debrief asked to slow down")).to_be_visible()
    _shot(counselor, "steps-counselor-steps-1280.png")

    # a weekly check-in starting today: made and mailed as the counselor schedules it, once,
    # and waiting on each partner's home
    practice.update_mail("", None, 0, 0)  # no quiet hours: the mails go whatever the time
    db.session.commit()
    counselor.goto(f"/cases/{case.id}/schedules/new")
    counselor.get_by_label("Every (number)").fill("1")
    counselor.get_by_label("First check-in on").fill(checkin_services.today().isoformat())
    mailed_before = {m.id for m in db.session.scalars(select(Message))}
    counselor.get_by_role("button", name="Schedule").click()
    # its first day is today: made at once, not at beat's next run
    expect(counselor.get_by_text("the first is on the partners' homes now")).to_be_visible()
    expect(counselor.locator(".case-checkins")).to_contain_text("every week from")
    assert run_schedules.run() == 0, "beat makes no second check-in the same day"
    mailed = db.session.scalars(select(Message).where(Message.id.not_in(mailed_before))).all()
    assert sorted(m.recipient for m in mailed) == ["alex@example.org", "sam@example.org"]
    for page in (sam, alex):
        page.goto("/p/home")
        expect(page.get_by_text("Consent check-in")).to_be_visible()
    _shot(sam, "steps-partner-home-check-in-390.png")
