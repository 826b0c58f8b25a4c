"""The questionnaire builder in a real browser (issue 15, "Done means"): clone the intake, add
a section with three items including a condition, a stop and an alert, and a score with a
reverse-scored item; try the preview at phone width as a partner would; publish, assign, answer
as a partner, see the alert; export FHIR and import it again."""

from __future__ import annotations

import json
import os
import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from counselor.questionnaires import fhir_import
from tests.browser.test_accessibility import DESK, axe_violations
from tests.support import new_case, questionnaire, sync
from tests.support.browser import PHONE, sign_in_page

#: where to keep screenshots of the builder (1280 px) and its preview and the builder at 390 px,
#: to look at (COUNSELOR_SCREENSHOTS, as the demo page test does); else the test's tmp_path
SHOTS_ENV = "COUNSELOR_SCREENSHOTS"
#: the live check asks the server about the whole definition (the intake: 0.2 s of validation
#: on a quiet machine); a loaded one may take seconds, so waits on its result allow 30 s
CHECK_MS = 30_000


def section_card(page, title: str):
    """The builder card of the section whose title field holds ``title``."""
    return page.locator(".b-section").filter(has=page.locator(f'input[value="{title}"]')).last


def newest_item(section):
    return section.locator(".b-list .b-item").last


def build_the_section(page) -> None:
    """Add the section the issue describes, by mouse and keyboard as a counselor would."""
    page.get_by_role("button", name="Add a section").click()
    section = page.locator(".b-section").last
    title = section.get_by_label("Section title")
    title.fill("How this week went")
    # 1. a yes/no question that raises an urgent alert on "Yes"
    first = newest_item(section)
    first.get_by_label("Kind of question").select_option("boolean")
    first = newest_item(section)
    first.get_by_label("Question", exact=True).fill("Did anything feel pressured this week?")
    first.get_by_label("Raise an alert when the answer meets a rule").check()
    first = newest_item(section)
    first.get_by_label("Value").select_option("true")
    first.get_by_label("Severity").select_option("urgent")
    first.get_by_label("Message on the case page").fill("Pressure this week: please ask")
    # 2. a follow-up, shown only after "Yes", built from the picker
    section.get_by_role("button", name="Add a question to this section").click()
    second = newest_item(section)
    second.get_by_label("Question", exact=True).fill("What happened? Only if you want to say.")
    second.get_by_role("button", name="Add a condition").click()
    second = newest_item(section)
    expect(second.get_by_label("Question", exact=True).last).to_have_value(re.compile(r"item-\d+"))
    second.locator("select").filter(has_text="Did anything feel pressured").select_option(
        label="Did anything feel pressured this week?"
    )
    second = newest_item(section)
    second.get_by_label("Value").select_option("true")
    # 3. a 0-10 scale
    section.get_by_role("button", name="Add a question to this section").click()
    third = newest_item(section)
    third.get_by_label("Kind of question").select_option("scale")
    third = newest_item(section)
    third.get_by_label("Question", exact=True).fill("How close did you feel this week?")
    # ... which stops the questionnaire at 0, with a kind word
    third.get_by_label(re.compile("^Stop the questionnaire after a given answer")).check()
    third = newest_item(section)
    stop = third.locator(".b-stop")
    stop.get_by_label("When the answer").select_option("<=")
    stop.get_by_label("Value").select_option("0")
    stop.get_by_label("What the partner reads instead of the next page").fill(
        "Thank you for saying so. Let's talk about it together at your next session."
    )
    # 4. a score over the scale, reverse-scored (feeling close counts low)
    page.get_by_role("button", name="Add a score").click()
    score = page.locator("[data-path^='$.scores']").last
    score.get_by_label("Title").fill("Distance this week")
    score.get_by_label("How close did you feel this week?").check()
    score = page.locator("[data-path^='$.scores']").last
    score.get_by_label("Reverse-scored (a high answer counts low)").check()
    score = page.locator("[data-path^='$.scores']").last
    expect(score.get_by_label("Highest answer")).to_have_value("10")


def test_clone_build_preview_publish_assign_answer_alert_and_fhir_round_trip(
    app, live_server, new_context, counselor_a, tmp_path
):
    shots = os.environ.get(SHOTS_ENV) or str(tmp_path)
    sync()
    case = new_case(counselor_a)
    context, rec = new_context(live_server, **DESK, accept_downloads=True)
    page = context.new_page()
    sign_in_page(page, counselor_a)
    page.goto("/questionnaires")
    page.get_by_role("link", name="Getting started: intake").first.click()
    page.get_by_role("button", name="Copy and edit").click()
    expect(page).to_have_url(re.compile(r"/questionnaires/[0-9a-f-]+/edit$"))
    expect(page.get_by_text("This is your copy")).to_be_visible()
    expect(page.locator("#builder-check")).to_have_text(
        "No problems: ready to save.", timeout=CHECK_MS
    )
    page.screenshot(path=f"{shots}/builder-1280-top.png")
    build_the_section(page)
    section = page.locator(".b-section").last

    # reorder by keyboard: the scale moves up above the follow-up, and back down
    scale_up = section.locator(".b-item").last.get_by_role("button", name=re.compile("up$"))
    scale_up.focus()
    page.keyboard.press("Enter")
    texts = section.locator(".b-list .b-toggle")
    expect(texts.nth(1)).to_have_text("How close did you feel this week?")
    # focus stayed on the moved item's button: press again with the keyboard to move it back
    down = page.locator(":focus")
    expect(down).to_have_attribute("aria-label", re.compile("How close.*up$"))
    page.keyboard.press("Tab")  # to its "down" button
    page.keyboard.press("Enter")
    expect(texts.nth(2)).to_have_text("How close did you feel this week?")

    # a problem is named beside its item while editing, then fixed
    first = section.locator(".b-list .b-item").first
    first.get_by_label("Message on the case page").fill("")
    expect(first.locator(".b-problem")).to_contain_text("alert.message", timeout=CHECK_MS)
    expect(page.locator("#builder-check")).to_contain_text("1 problem", timeout=CHECK_MS)
    first.get_by_label("Message on the case page").fill("Pressure this week: please ask")
    expect(page.locator("#builder-check")).to_have_text(
        "No problems: ready to save.", timeout=CHECK_MS
    )

    # the live preview: the partner's view at phone width, answered as a partner would
    preview = page.locator("#builder-preview")
    expect(preview).to_contain_text("How close did you feel this week?", timeout=CHECK_MS)
    box = preview.bounding_box()
    assert box["width"] <= 390
    shown = preview.get_by_label("What happened? Only if you want to say.")
    expect(shown).to_be_hidden()
    asked = preview.locator("fieldset").filter(has_text="Did anything feel pressured")
    asked.locator("label").filter(has_text=re.compile("^Yes$")).click()
    expect(shown).to_be_visible()
    asked.locator("label").filter(has_text=re.compile("^No$")).click()
    expect(shown).to_be_hidden()
    stop_note = preview.get_by_text("Let's talk about it together at your next session.")
    expect(stop_note).to_be_hidden()
    closeness = preview.locator("fieldset").filter(has_text="How close did you feel")
    closeness.locator(".scale-btn").filter(has_text=re.compile("^0")).click()
    expect(stop_note).to_be_visible()
    page.screenshot(path=f"{shots}/builder-1280.png", full_page=False)
    preview.locator(".preview-section").last.scroll_into_view_if_needed()
    preview.screenshot(path=f"{shots}/preview-390.png")
    assert axe_violations(page) == []
    assert not rec.errors, rec.errors
    assert rec.csp_messages() == [] and page.evaluate("window.__cspViolations") == []

    page.get_by_role("button", name="Save and publish").click()
    expect(page.get_by_text("Published version 2: you can assign it now.")).to_be_visible()
    copy = questionnaire("intake-copy", counselor_a.id)
    assert copy.latest.number == 2
    saved = copy.latest.definition.doc
    scale = saved["items"][-1]["items"][2]
    assert scale["stop_if"]["operator"] == "<=" and scale["stop_if"]["answer"] == 0
    assert saved["scores"][-1]["reverse"] == [{"item": scale["link_id"], "min": 0, "max": 10}]

    # assign only the new section to Sam
    page.goto(f"/cases/{case.id}/assign")
    page.get_by_label("Questionnaire").select_option(label="Getting started: intake (copy)")
    sections = page.locator(f'[data-questionnaire="{copy.id}"]')
    for box in sections.locator("input[type=checkbox]").all():
        box.uncheck()
    sections.get_by_label(re.compile("How this week went")).check()
    page.get_by_label("Alex Novak").uncheck()
    page.get_by_role("button", name="Assign").click()
    # Sam has no home yet: the page gives their home link once
    link = page.locator('input[value*="/h/"]').first.input_value()

    partner, _ = new_context(live_server, **PHONE)
    phone = partner.new_page()
    phone.goto(urlsplit(link).path)  # the link names COUNSELOR_BASE_URL; this is the live app
    phone.get_by_role("button", name="Open my homework").click()
    phone.wait_for_load_state("load")
    # an intake asks for informed consent first: Sam gives it as a partner would
    phone.goto("/p/consent")
    phone.get_by_label("Type your name").fill("Sam Rivera")
    phone.get_by_role("button", name="I have read this and agree").click()
    phone.wait_for_load_state("load")
    phone.goto("/p/home")
    phone.get_by_role("link", name=re.compile(r"intake \(copy\)")).first.click()
    phone.wait_for_load_state("load")
    homework = urlsplit(phone.url).path.rstrip("/")  # /p/a/<assignment id>
    phone.goto(f"{homework}/s/1")
    expect(phone.get_by_role("heading", name="How this week went")).to_be_visible()
    follow_up = phone.get_by_label("What happened? Only if you want to say.")
    expect(follow_up).to_be_hidden()
    phone.locator("label").filter(has_text=re.compile("^Yes$")).first.tap()
    expect(follow_up).to_be_visible()
    follow_up.fill("We rushed.")
    phone.locator(".scale-btn").filter(has_text=re.compile("^7$")).tap()
    expect(phone.locator("#autosave-status")).to_contain_text("Saved")
    phone.goto(f"{homework}/review")
    phone.get_by_role("button", name="Send to my counselor").click()
    expect(phone.get_by_text("If you need support")).to_be_visible()

    page.goto(f"/cases/{case.id}")
    expect(page.get_by_text("Pressure this week: please ask")).to_be_visible()

    # export FHIR, then import the file again: the identical questionnaire
    page.goto(f"/questionnaires/{copy.id}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export FHIR").click()
    saved = tmp_path / "exported.fhir.json"
    download.value.save_as(saved)
    resource = json.loads(saved.read_text())
    assert resource["resourceType"] == "Questionnaire" and resource["version"] == "2"
    back, notes = fhir_import.from_fhir(resource)
    assert notes == [] and back == copy.latest.definition.doc
    assert axe_violations(page) == []  # the preview page with its builder actions
    page.goto("/questionnaires/import-fhir")
    assert axe_violations(page) == []
    page.get_by_label("FHIR Questionnaire file (.json)").set_input_files(str(saved))
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_text("Identical to the newest version")).to_be_visible()
    assert len(questionnaire("intake-copy", counselor_a.id).versions) == 2
    assert not rec.errors, rec.errors


def test_the_builder_and_its_preview_fit_a_phone(
    app, live_server, new_context, counselor_a, tmp_path
):
    sync()
    context, rec = new_context(live_server, **PHONE)
    page = context.new_page()
    sign_in_page(page, counselor_a)
    page.goto("/questionnaires")
    page.get_by_role("button", name="New questionnaire").click()
    expect(page.locator("#builder-check")).to_have_text(
        "No problems: ready to save.", timeout=CHECK_MS
    )
    expect(page.locator("#builder-preview")).to_contain_text(
        "Your first question", timeout=CHECK_MS
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=f"{os.environ.get(SHOTS_ENV) or tmp_path}/builder-390.png", full_page=True)
    assert axe_violations(page) == []
    assert not rec.errors, rec.errors


def test_without_javascript_conditions_and_scores_are_edited_in_plain_forms(
    app, live_server, new_context, counselor_a, tmp_path
):
    shots = os.environ.get(SHOTS_ENV) or str(tmp_path)
    sync()
    context, rec = new_context(live_server, **DESK, java_script_enabled=False)
    page = context.new_page()
    sign_in_page(page, counselor_a)
    page.goto("/questionnaires")
    page.get_by_role("link", name="Getting started: intake").first.click()
    page.get_by_role("button", name="Copy and edit").click()
    expect(page.get_by_text("This page needs JavaScript to edit the questions")).to_be_visible()
    page.screenshot(path=f"{shots}/builder-nojs-1280.png")
    # the last question of the intake, shown only when an earlier one is answered "Yes"
    page.locator(".builder-outline a").last.click()
    expect(page.get_by_role("heading", name=re.compile("^When to show it"))).to_be_visible()
    page.screenshot(path=f"{shots}/rules-nojs-1280.png", full_page=True)
    row = page.locator(".rules-row").last
    row.get_by_label("Question").select_option(index=1)
    row.get_by_label("Answer").select_option("exists")
    page.get_by_role("button", name="Save as a draft version").click()
    expect(page.get_by_text(re.compile("Saved as draft version 2"))).to_be_visible()
    # a score: problems at their fields, then saved with a reverse-scored item
    page.get_by_role("link", name="Add a score").click()
    page.get_by_label("Title").fill("Comfort")
    page.get_by_role("button", name="Save as a draft version").click()
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    assert page.locator(".is-invalid, .invalid-feedback").count() > 0
    page.set_viewport_size({"width": 390, "height": 900})
    page.screenshot(path=f"{shots}/score-nojs-390.png", full_page=True)
    wish = "How much does taking part feel like your own wish?"
    page.get_by_label(f"Adds up: {wish}").check()
    page.get_by_label(f"Reverse-scored: {wish}").check()
    page.get_by_role("button", name="Save as a draft version").click()
    expect(page.get_by_text(re.compile("Saved as draft version 3"))).to_be_visible()
    doc = questionnaire("intake-copy", counselor_a.id).newest.definition.doc
    assert doc["scores"][-1]["reverse"][0]["item"] == doc["scores"][-1]["items"][0]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not rec.errors, rec.errors
