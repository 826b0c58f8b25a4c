"""The partner portal in a real browser: autosave on a phone, conditional questions, two tabs.

Nothing here presses a form's submit button: what is stored got there through portal.js.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from counselor.questionnaires.models import Response
from tests.support import assign, fresh_row, load_own, new_case
from tests.support.browser import PHONE

WORDS = "More slow evenings — and saying “pause” out loud: ça va?"

PHONE_DOC = {
    "slug": "browser-talking",
    "title": "Talking together",
    "purpose": "A short desire check for the browser tests.",
    "kind": "exercise",
    "items": [
        {
            "link_id": "talk",
            "type": "group",
            "text": "Talking",
            "items": [
                {
                    "link_id": "talk.fantasies",
                    "type": "desire",
                    "text": "Talking about fantasies",
                    "roles": [{"key": "together", "label": "Together"}],
                },
                {
                    "link_id": "talk.instructions",
                    "type": "desire",
                    "text": "Giving and receiving instructions",
                    "roles": [
                        {"key": "give", "label": "Give", "counterpart": "receive"},
                        {"key": "receive", "label": "Receive", "counterpart": "give"},
                    ],
                },
                {
                    "link_id": "talk.words",
                    "type": "text",
                    "text": "In your own words: what would you like more of?",
                },
            ],
        }
    ],
}

CONDITIONAL_DOC = {
    "slug": "browser-pace",
    "title": "Pace check",
    "purpose": "Conditional questions for the browser tests.",
    "kind": "check-in",
    "items": [
        {
            "link_id": "pace",
            "type": "group",
            "text": "Pace",
            "items": [
                {
                    "link_id": "pace.talk",
                    "type": "boolean",
                    "text": "Would you like to talk about the pace?",
                },
                {
                    "link_id": "pace.what",
                    "type": "text",
                    "text": "What would you change about the pace?",
                    "enable_when": [{"question": "pace.talk", "operator": "=", "answer": True}],
                },
                {
                    "link_id": "pace.hard",
                    "type": "text",
                    "text": "Is something making it hard to talk about?",
                    "enable_when": [{"question": "pace.talk", "operator": "=", "answer": False}],
                },
            ],
        }
    ],
}


def item(page, link_id: str):
    return page.locator(f'[id="item-{link_id}"]')


def choose(page, link_id: str, answer: str, role: str | None = None, *, tap: bool = False):
    """Press one of an item's answer buttons (tapped on a touch screen)."""
    scope = item(page, link_id)
    if role:
        scope = scope.get_by_role("radiogroup", name=role)
    button = scope.locator("label").filter(has_text=re.compile(f"^{re.escape(answer)}$"))
    button.tap() if tap else button.click()


def radio(page, link_id: str, role: str, value: str):
    return page.locator(f'[id="a-{link_id}-role-{role}-{value}"]')


def open_section_one(context, token: str):
    """Open the personal link in a new tab and go to the first section."""
    page = context.new_page()
    page.goto(f"/l/{token}")
    page.get_by_role("button", name="Open my homework").click()
    expect(page).to_have_url(re.compile(r"/p/$"))
    page.get_by_role("link", name=re.compile(r"^(Start|Continue)$")).click()
    expect(page).to_have_url(re.compile(r"/p/s/1$"))
    # the URL changes before the page's scripts run: wait for them, as a person would see them
    page.wait_for_load_state("load")
    return page


def autosave_with(text: str):
    """Predicate for the autosave response whose request carried ``text``."""

    def match(response) -> bool:
        return response.url.endswith("/p/autosave") and text in (response.request.post_data or "")

    return match


def test_phone_answers_survive_closing_the_tab(app, live_server, new_context, counselor_a):
    case = new_case(counselor_a)
    _, tokens = assign(case, load_own(counselor_a, PHONE_DOC))
    token = tokens["Sam Rivera"]

    context, rec = new_context(live_server, **PHONE)
    page = open_section_one(context, token)
    page.evaluate("window.__sameDocument = true")
    status = page.locator("#autosave-status")
    # the page fits the phone: nothing to scroll sideways to reach a button
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    choose(page, "talk.fantasies", "Yes", tap=True)
    choose(page, "talk.instructions", "Want to try", role="Give", tap=True)
    choose(page, "talk.instructions", "No", role="Receive", tap=True)
    # a hard limit on receiving only; fantasy only and experience behind "More about this"
    item(page, "talk.instructions").get_by_text("Receive is a hard limit for me").tap()
    more = item(page, "talk.fantasies").get_by_text("More about this")
    more.tap()
    item(page, "talk.fantasies").get_by_text("Fantasy only").tap()
    with page.expect_response(autosave_with('"experience":"never"')) as saved:
        item(page, "talk.fantasies").get_by_text("Never done it").tap()
    assert saved.value.status == 200
    expect(status).to_contain_text("Saved")

    words = page.get_by_label("In your own words: what would you like more of?")
    words.tap()
    # the text as it appears inside the JSON the script sends
    body = json.dumps(WORDS, ensure_ascii=False)[1:-1]
    with page.expect_response(autosave_with(body)) as saved:
        words.press_sequentially(WORDS)
    assert saved.value.status == 200
    expect(status).to_contain_text("Saved")
    expect(status).not_to_have_class(re.compile("text-danger"))
    # Only the script saved, in the background: the page was never posted or reloaded.
    assert page.evaluate("window.__sameDocument") is True
    posts = {url.split("/", 3)[-1] for method, url in rec.requests if method == "POST"}
    # (besides the landing's button, pressed once before the section opened)
    assert {p for p in posts if not p.startswith("l/")} == {"p/autosave"}
    assert not rec.errors, rec.errors
    page.close()
    context.close()

    again, rec2 = new_context(live_server, **PHONE)
    page = open_section_one(again, token)
    expect(radio(page, "talk.fantasies", "together", "yes")).to_be_checked()
    expect(radio(page, "talk.instructions", "give", "want_to_try")).to_be_checked()
    expect(radio(page, "talk.instructions", "receive", "no")).to_be_checked()
    expect(page.locator('[id="a-talk.instructions-limit-receive"]')).to_be_checked()
    expect(page.locator('[id="a-talk.instructions-limit-give"]')).not_to_be_checked()
    expect(page.locator('[id="a-talk.fantasies-fantasy"]')).to_be_checked()
    expect(page.locator('[id="a-talk.fantasies-experience-never"]')).to_be_checked()
    expect(page.get_by_label("In your own words: what would you like more of?")).to_have_value(
        WORDS
    )
    # nothing else got selected on the way
    expect(page.locator("input[type=radio]:checked")).to_have_count(4)


def test_conditional_questions_follow_the_answer_without_reload(
    app, live_server, new_context, counselor_a
):
    case = new_case(counselor_a)
    assignment, tokens = assign(case, load_own(counselor_a, CONDITIONAL_DOC))
    context, rec = new_context(live_server, **PHONE)
    page = open_section_one(context, tokens["Sam Rivera"])
    navigations = []
    page.on("framenavigated", lambda f: navigations.append(f.url) if f == page.main_frame else None)
    page.evaluate("window.__sameDocument = true")

    what = page.get_by_label("What would you change about the pace?")
    hard = page.get_by_label("Is something making it hard to talk about?")
    expect(what).to_be_hidden()
    expect(hard).to_be_hidden()

    choose(page, "pace.talk", "Yes", tap=True)
    expect(what).to_be_visible()
    expect(hard).to_be_hidden()
    what.fill("A bit slower on weekdays")

    choose(page, "pace.talk", "No", tap=True)
    expect(what).to_be_hidden()
    expect(hard).to_be_visible()

    choose(page, "pace.talk", "Yes", tap=True)
    expect(what).to_be_visible()
    expect(what).to_have_value("A bit slower on weekdays")  # hiding kept what was typed
    expect(hard).to_be_hidden()

    choose(page, "pace.talk", "No", tap=True)
    expect(hard).to_be_visible()
    # Saves run one at a time and read the page when they start, so a save answered after
    # this last tap that carries "No" means the last state is stored, whatever came before.
    saved = page.wait_for_event("response", autosave_with('"pace.talk":false'))
    assert saved.status == 200
    expect(page.locator("#autosave-status")).to_contain_text("Saved")
    assert navigations == [] and page.evaluate("window.__sameDocument") is True
    assert not rec.errors, rec.errors

    # The server draws the page the same way the script did.
    page.reload()
    expect(page.get_by_label("Is something making it hard to talk about?")).to_be_visible()
    expect(page.get_by_label("What would you change about the pace?")).to_be_hidden()
    partner = next(p for p in case.partners if p.display_name == "Sam Rivera")
    stored = fresh_row(Response, assignment_id=assignment.id, partner_id=partner.id).answers
    assert stored.get("pace.talk") is False


def test_second_tab_is_told_and_does_not_overwrite_the_first(
    app, live_server, new_context, counselor_a
):
    case = new_case(counselor_a)
    assignment, tokens = assign(case, load_own(counselor_a, PHONE_DOC))
    partner = next(p for p in case.partners if p.display_name == "Sam Rivera")
    context, rec = new_context(live_server)
    tab1 = open_section_one(context, tokens["Sam Rivera"])
    tab2 = context.new_page()
    tab2.goto("/p/s/1")
    expect(tab2.locator("#portal-form")).to_be_visible()

    choose(tab1, "talk.fantasies", "Yes")
    expect(tab1.locator("#autosave-status")).to_contain_text("Saved")

    choose(tab2, "talk.fantasies", "No")
    tab2.get_by_label("In your own words: what would you like more of?").fill("typed in tab 2")
    status2 = tab2.locator("#autosave-status")
    expect(status2).to_contain_text("changed in another tab")
    expect(status2).to_have_class(re.compile("text-danger"))
    # What tab 2 shows was not lost from the page: the partner can still copy it.
    expect(tab2.get_by_label("In your own words: what would you like more of?")).to_have_value(
        "typed in tab 2"
    )

    answers = fresh_row(Response, assignment_id=assignment.id, partner_id=partner.id).answers
    assert answers["talk.fantasies"]["roles"]["together"] == "yes"
    assert not answers.get("talk.words")

    # Tab 2 stopped saving: a further change does not try again and cannot overwrite.
    saves = [u for u in rec.urls if u.endswith("/p/autosave")]
    choose(tab2, "talk.instructions", "Maybe", role="Give")
    tab2.wait_for_timeout(1200)
    assert [u for u in rec.urls if u.endswith("/p/autosave")] == saves
    answers = fresh_row(Response, assignment_id=assignment.id, partner_id=partner.id).answers
    assert answers["talk.fantasies"]["roles"]["together"] == "yes"


def test_the_script_compares_numbers_and_text_as_the_server_does(
    app, live_server, new_context, counselor_a
):
    from tests.questionnaires.test_numbers import DEFINITION

    case = new_case(counselor_a)
    _, tokens = assign(case, load_own(counselor_a, DEFINITION))
    context, rec = new_context(live_server, **PHONE)
    page = open_section_one(context, tokens["Sam Rivera"])
    feel = page.get_by_label("How many, in words or digits?")
    amount = page.get_by_label("An amount")
    more = page.get_by_label("QUESTION-more-than-five")
    exact = page.get_by_label("QUESTION-exactly-two-and-a-half")

    for typed, shown in (("NaN", False), ("Infinity", False), ("7", True), ("10", True)):
        feel.fill(typed)  # "10" > 5 by value; "NaN" and "Infinity" are text, with no order
        expect(more).to_be_visible() if shown else expect(more).to_be_hidden()
    for typed, shown in (("2.6", False), ("2,50", True)):
        amount.fill(typed)  # a decimal "2.50" equals the wanted 2.5
        expect(exact).to_be_visible() if shown else expect(exact).to_be_hidden()
    saved = page.wait_for_event("response", autosave_with('"n.amount":"2.50"'))
    assert saved.status == 200

    page.reload()  # the server draws the same
    expect(page.get_by_label("QUESTION-more-than-five")).to_be_visible()
    expect(page.get_by_label("QUESTION-exactly-two-and-a-half")).to_be_visible()
    assert not rec.errors, rec.errors


def test_a_lock_while_the_page_is_open_is_told_in_the_counselors_words(
    app, live_server, new_context, counselor_a
):
    from counselor.extensions import db
    from counselor.portal.services import LOCKED
    from counselor.questionnaires.models import Assignment
    from counselor.questionnaires.services import set_locked

    case = new_case(counselor_a)
    assignment, tokens = assign(case, load_own(counselor_a, PHONE_DOC))
    partner = next(p for p in case.partners if p.display_name == "Sam Rivera")
    context, rec = new_context(live_server, **PHONE)
    page = open_section_one(context, tokens["Sam Rivera"])
    choose(page, "talk.fantasies", "Yes", tap=True)
    expect(page.locator("#autosave-status")).to_contain_text("Saved")

    set_locked(db.session.get(Assignment, assignment.id), True)
    db.session.commit()
    page.get_by_label("In your own words: what would you like more of?").fill("after the lock")
    status = page.locator("#autosave-status")
    expect(status).to_have_text(LOCKED)
    expect(status).to_have_class(re.compile("text-danger"))
    answers = fresh_row(Response, assignment_id=assignment.id, partner_id=partner.id).answers
    assert answers["talk.fantasies"]["roles"]["together"] == "yes"
    assert not answers.get("talk.words")
