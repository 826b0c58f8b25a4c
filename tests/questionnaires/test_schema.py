"""The definition format, the built-in library, versions and their immutability."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import func, select

from counselor.extensions import db
from counselor.questionnaires import services
from counselor.questionnaires.engine import Definition, share_of, walk
from counselor.questionnaires.models import Questionnaire, QuestionnaireVersion
from counselor.questionnaires.schema import validate_definition
from tests.support import assign, links_from, new_case, questionnaire, small_definition, sync

INVENTORY_CATEGORIES = {
    "communication": "communication and role play",
    "power": "power exchange and rules",
    "sensation": "sensation and touch",
    "restraint": "restraint and control",
    "care": "emotional needs and aftercare",
}


#: the desire items of the inventory's first version, whose answers later versions keep
FIRST_INVENTORY_DESIRES = (
    "communication.fantasy_talk communication.describe_in_moment communication.instructions "
    "communication.praise communication.teasing communication.firm_voice communication.scenario "
    "communication.names communication.outfits power.lead_follow power.decide_next "
    "power.permission power.rules_evening power.daily_ritual power.service power.rewards "
    "power.consequences power.switching sensation.massage sensation.light_touch "
    "sensation.scratching sensation.biting sensation.hair sensation.spanking "
    "sensation.temperature sensation.impact_tools sensation.marks restraint.blindfold "
    "restraint.held_by_hands restraint.stay_still restraint.soft_wrist restraint.rope "
    "restraint.senses restraint.climax_control restraint.check_in care.cuddling "
    "care.reassurance care.comforts care.talk_same_day care.next_day_message "
    "care.strong_emotions care.time_apart care.closing_ritual"
).split()


def _all_items(doc):
    return list(walk(doc["items"]))


@pytest.mark.parametrize(
    "name,doc", services.library_files(), ids=[n for n, _ in services.library_files()]
)
def test_every_builtin_definition_validates(name, doc):
    assert validate_definition(doc) == [], name
    defn = Definition(doc)
    assert defn.sections, name
    assert doc["purpose"].strip() and len(doc["purpose"]) <= 400
    # every answerable item has a share level a reader can rely on
    for item in defn.questions():
        assert share_of(item) in ("counselor_only", "mutual", "shared")


def test_library_has_the_ten_exercises_of_the_issue():
    slugs = {doc["slug"] for _, doc in services.library_files()}
    assert slugs >= {
        "intake",
        "desires-boundaries",
        "pause-signal",
        "aftercare-plan",
        "debrief",
        "consent-check-in",
        "repair-reflection",
        "everyday-power",
        "safety-planning",
        "learning-together",
    }


def _desires_per_section(doc) -> dict[str, int]:
    return {
        section["link_id"]: sum(1 for i in walk(section["items"]) if i["type"] == "desire")
        for section in doc["items"]
        if section["type"] == "group"
    }


def test_inventory_has_150_desire_items_in_named_sections_each_with_roles():
    doc = dict(services.library_files())["desires-boundaries.json"]
    for d in (i for i in _all_items(doc) if i["type"] == "desire"):
        assert d["roles"], d["link_id"]
        assert all(r["label"].strip() for r in d["roles"])
    per_section = _desires_per_section(doc)
    print(f"inventory: {sum(per_section.values())} desire items in sections {per_section}")
    assert sum(per_section.values()) >= 150
    for key in INVENTORY_CATEGORIES:
        assert per_section.get(key, 0) >= 1, (
            f"no desire items in the {INVENTORY_CATEGORIES[key]} category"
        )
    # some items offer two complementary roles (give/receive, lead/follow)
    complementary = [
        i
        for i in _all_items(doc)
        if i["type"] == "desire" and any("counterpart" in r for r in i["roles"])
    ]
    assert complementary


def test_inventory_keeps_every_link_id_of_its_first_version():
    """Answers given to earlier versions keep their meaning: no item of version 1 disappears."""
    doc = dict(services.library_files())["desires-boundaries.json"]
    have = {i["link_id"]: i["type"] for i in _all_items(doc)}
    for lid in FIRST_INVENTORY_DESIRES:
        assert have.get(lid) == "desire", lid


def test_high_risk_items_carry_an_advisory_and_sensitive_sections_a_note():
    doc = dict(services.library_files())["desires-boundaries.json"]
    sections = {s["link_id"]: s for s in doc["items"] if s["type"] == "group"}
    high = [i for i in walk(sections["high_risk"]["items"]) if i["type"] == "desire"]
    assert len(high) >= 8
    assert all(i.get("advisory") for i in high), [i["link_id"] for i in high]
    texts = " ".join(i["text"].lower() for i in high)
    assert "breath" in texts and "neck" in texts
    for key in ("cnc", "high_risk", "recording", "others", "degradation", "body"):
        first = sections[key]["items"][0]
        assert first["type"] == "display", key
    # the body map asks about touch per area, and the words partners should use are shared
    body = list(walk(sections["body"]["items"]))
    assert sum(1 for i in body if i["type"] == "desire") >= 12
    words = [
        i for i in body if i["type"] in ("string", "text") and i["link_id"].startswith("body.words")
    ]
    assert words and all(share_of(i) == "shared" for i in words)


def test_intake_has_counselor_only_screening_items():
    doc = dict(services.library_files())["intake.json"]
    screening = next(i for i in doc["items"] if i["link_id"] == "screening")
    questions = [i for i in walk(screening["items"]) if i["type"] not in ("group", "display")]
    assert len(questions) >= 3
    assert all(share_of(i) == "counselor_only" for i in questions)
    texts = " ".join(i["text"].lower() for i in questions)
    assert "pressure" in texts and "safe" in texts


# ---- invalid definitions: every error, with its path and reason ----


def _broken() -> dict:
    return {
        "slug": "broken-one",
        "title": "Broken",
        "purpose": "Has many problems at once.",
        "kind": "exercise",
        "items": [
            {
                "link_id": "first",
                "type": "boolean",
                "text": "First",
                "enable_when": [{"question": "later", "operator": "exists"}],
            },
            {"link_id": "later", "type": "boolean", "text": "Later"},
            {"link_id": "later", "type": "string", "text": "Same id again"},
            {
                "link_id": "rate",
                "type": "scale",
                "text": "Rate",
                "min": 0,
                "max": 7,
                "min_label": "a",
                "max_label": "b",
            },
            {"link_id": "pick", "type": "choice", "text": "Pick one"},
            {"link_id": "odd", "type": "wibble", "text": "Unknown type"},
        ],
    }


def test_invalid_definition_reports_every_error_with_path_and_reason():
    errors = validate_definition(_broken())
    print("\n".join(errors))
    joined = "\n".join(errors)
    # schema errors
    assert any(e.startswith("$.items[3].max:") and "7" in e for e in errors), joined
    assert any(e.startswith("$.items[4]") and "options" in e for e in errors), joined
    assert any(e.startswith("$.items[5].type:") and "wibble" in e for e in errors), joined
    # rules a schema cannot express, reported in the same answer
    assert any(e.startswith("$.items[2].link_id:") and "twice" in e for e in errors), joined
    assert any(e.startswith("$.items[0].enable_when:") and "earlier" in e for e in errors), joined
    assert len(errors) >= 5


def test_loading_an_invalid_definition_stores_nothing(app):
    with pytest.raises(services.DefinitionError) as exc:
        services.load_definition(_broken(), None)
    assert len(exc.value.errors) >= 5
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Questionnaire)) == 0


@pytest.mark.parametrize(
    "mutate,expect",
    [
        (lambda d: d["items"][0]["items"][1].update(type="group"), "items"),  # group without items
        (
            lambda d: d["items"][0]["items"][1].update(type="desire"),
            "roles",
        ),  # desire without roles
        (
            lambda d: (
                d["items"][0]["items"][3].update(min=1, max=5, min_label="a")
                or d["items"][0]["items"][3].pop("max_label")
            ),
            "max_label",
        ),
        (lambda d: d["items"][0]["items"][4].update(min=10, max=5), "min must be below max"),
        (
            lambda d: d["items"][0]["items"][2]["options"].append(
                {"value": "slow", "label": "Again"}
            ),
            "unique",
        ),
        (
            lambda d: d["items"][0]["items"][1].update(
                enable_when=[{"question": "one.feel", "operator": ">"}]
            ),
            "needs an answer",
        ),
        (
            lambda d: d["items"][0]["items"][1].update(
                enable_when=[{"question": "one", "operator": "exists"}]
            ),
            "not a question",
        ),
        (lambda d: d["items"][0].update(required=True), "no share or required"),
        (lambda d: d["items"][0]["items"][1].update(share="everyone"), "everyone"),
        (lambda d: d.update(extra_field=1), "extra_field"),
        (
            lambda d: d["items"][1]["items"][1]["roles"].append(
                {"key": "give", "label": "Give", "counterpart": "take"}
            ),
            "counterpart",
        ),
        (
            lambda d: d["items"][1]["items"][0].update(
                alert={"operator": "=", "answer": "x", "message": "m"}
            ),
            "alert",
        ),
        (
            lambda d: d["items"][0]["items"][1].update(
                alert={"operator": "=", "answer": True, "message": "m", "severity": "panic"}
            ),
            "panic",
        ),
        (lambda d: d["items"][1]["items"][0].update(advisory="Risky."), "only desire items"),
        (lambda d: d.update(sources=[{"citation": "Someone (2020)."}]), "licence"),
    ],
)
def test_each_kind_of_mistake_is_refused_with_its_path(mutate, expect):
    doc = small_definition()
    mutate(doc)
    errors = validate_definition(doc)
    assert errors, "a broken definition was accepted"
    assert any(expect in e for e in errors), errors
    assert all(e.startswith("$") and ": " in e for e in errors), errors


def test_severity_advisory_and_sources_are_accepted_where_they_belong():
    doc = small_definition(
        sources=[{"citation": "A. Author (2020). A scale.", "licence": "Free clinical use."}]
    )
    doc["items"][0]["items"][1]["alert"] = {
        "operator": "=",
        "answer": False,
        "message": "Pace is not fine.",
        "severity": "urgent",
    }
    doc["items"][1]["items"][1]["advisory"] = "This can hurt; it is listed so you can say no."
    assert validate_definition(doc) == []


@pytest.mark.parametrize(
    "doc", [None, [], "text", 7, {"items": "nope"}, {"slug": "x", "items": [1, "a", None]}]
)
def test_definitions_of_the_wrong_shape_are_refused_not_crashing(doc):
    errors = validate_definition(doc)
    assert errors and all(e.startswith("$") for e in errors)


def test_deeply_nested_definition_is_refused_with_a_message():
    item = {"link_id": "leaf", "type": "string", "text": "x"}
    for n in range(300):
        item = {"link_id": f"g{n}", "type": "group", "text": "g", "items": [item]}
    doc = {"slug": "deep", "title": "Deep", "purpose": "p", "kind": "exercise", "items": [item]}
    errors = validate_definition(doc)
    assert errors and any("deep" in e or "nest" in e for e in errors), errors[:3]


# ---- flask library sync ----


def test_library_sync_command_is_idempotent(runner):
    first = runner.invoke(args=["library", "sync"])
    assert first.exit_code == 0, first.output
    files = len(services.library_files())
    assert f"{files} definitions checked, {files} new versions" in first.output
    second = runner.invoke(args=["library", "sync"])
    assert second.exit_code == 0, second.output
    assert "0 new versions" in second.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(QuestionnaireVersion)) == files
    assert db.session.scalar(select(func.count()).select_from(Questionnaire)) == files


def test_changed_library_file_becomes_version_2_and_version_1_is_unchanged(runner, monkeypatch):
    assert runner.invoke(args=["library", "sync"]).exit_code == 0
    q = questionnaire("debrief")
    v1_json, v1_id, v1_checksum = (
        q.versions[0].definition_json,
        q.versions[0].id,
        q.versions[0].checksum,
    )
    original = services.library_files

    def changed():
        out = []
        for name, doc in original():
            if doc["slug"] == "debrief":
                doc = copy.deepcopy(doc)
                doc["items"][0]["text"] = "The step you took (reworded)"
            out.append((name, doc))
        return out

    monkeypatch.setattr(services, "library_files", changed)
    result = runner.invoke(args=["library", "sync"])
    assert result.exit_code == 0, result.output
    assert "1 new versions" in result.output
    db.session.expire_all()
    q = questionnaire("debrief")
    assert [v.number for v in q.versions] == [1, 2]
    v1 = q.versions[0]
    assert (v1.id, v1.definition_json, v1.checksum) == (v1_id, v1_json, v1_checksum)
    assert (
        json.loads(q.latest.definition_json)["items"][0]["text"] == "The step you took (reworded)"
    )
    # running it again with the changed file adds nothing more
    assert "0 new versions" in runner.invoke(args=["library", "sync"]).output


def test_an_invalid_library_file_fails_sync_with_its_name(runner, monkeypatch):
    monkeypatch.setattr(services, "library_files", lambda: [("broken.json", _broken())])
    result = runner.invoke(args=["library", "sync"])
    assert result.exit_code != 0
    assert "broken.json" in result.output and "$.items[5].type" in result.output


def test_a_version_in_use_cannot_change(app, counselor_a):
    sync()
    case = new_case(counselor_a)
    assignment, _ = assign(case, "pause-signal")
    version = db.session.get(QuestionnaireVersion, assignment.version_id)
    before = version.definition_json
    version.definition_json = before.replace("pause", "stop")
    with pytest.raises(RuntimeError, match="immutable"):
        db.session.flush()
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(QuestionnaireVersion, assignment.version_id).definition_json == before


def test_answers_render_against_the_version_they_were_given_for(app, client_a, counselor_a):
    """Assign v1, load v2 with changed text: the assignment page still shows v1's text."""
    sync()
    case = new_case(counselor_a)
    q = questionnaire("consent-check-in")
    r = client_a.post(
        f"/cases/{case.id}/assign",
        data={
            "questionnaire": str(q.id),
            "partners": [str(p.id) for p in case.partners],
            "ttl_days": "30",
            "request_key": "k-version-test",
        },
    )
    assert r.status_code == 200
    assert len(links_from(r.get_data(as_text=True))) == 2
    doc = json.loads(q.latest.definition_json)
    old_text = doc["items"][0]["items"][0]["text"]
    new_doc = copy.deepcopy(doc)
    new_doc["items"][0]["items"][0]["text"] = "A completely new wording of the first question"
    _, v2 = services.load_definition(new_doc, None)
    db.session.commit()
    assert v2 is not None and v2.number == 2

    from counselor.questionnaires.models import Assignment

    assignment = db.session.scalar(select(Assignment))
    page = client_a.get(f"/cases/{case.id}/assignments/{assignment.id}").get_data(as_text=True)
    assert "version 1" in page
    assert old_text.replace("'", "&#39;") in page or old_text in page
    assert "A completely new wording" not in page
    # the partner sees version 1 as well
    from tests.support import open_link, section

    partner = app.test_client()
    token = links_from(r.get_data(as_text=True))[case.partners[0].display_name]
    open_link(partner, token)
    html, _, _ = section(partner, 1)
    assert "A completely new wording" not in html
    # new assignments use version 2
    r2 = client_a.post(
        f"/cases/{case.id}/assign",
        data={
            "questionnaire": str(q.id),
            "partners": [str(case.partners[0].id)],
            "ttl_days": "30",
            "request_key": "k-version-test-2",
        },
    )
    assert r2.status_code == 200
    newest = db.session.scalars(select(Assignment).order_by(Assignment.created_at.desc())).first()
    assert db.session.get(QuestionnaireVersion, newest.version_id).number == 2


# ---- import through the page: every error shown, bad input never a 500 ----


def test_import_page_shows_every_error_and_stores_nothing(client_a):
    r = client_a.post("/questionnaires/import", data={"definition": json.dumps(_broken())})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    for path in (
        "$.items[0].enable_when",
        "$.items[2].link_id",
        "$.items[3].max",
        "$.items[4]",
        "$.items[5].type",
    ):
        assert f"<code>{path}" in page, path
    assert db.session.scalar(select(func.count()).select_from(Questionnaire)) == 0


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[" * 150_000,  # nesting deeper than any parser's recursion limit
        json.dumps(
            {
                "slug": "deep",
                "title": "t",
                "purpose": "p",
                "kind": "exercise",
                "items": [
                    json.loads(
                        '{"link_id": "g", "type": "group", "text": "g", "items": ' * 1 + "[]}"
                    )
                ],
            }
        ),
        "null",
        '"just a string"',
        json.dumps([small_definition()]),
    ],
    ids=["malformed", "deep-json", "empty-group", "null", "string", "list"],
)
def test_import_of_bad_input_is_a_4xx_with_a_message(client_a, text):
    r = client_a.post("/questionnaires/import", data={"definition": text})
    assert r.status_code == 400, r.status_code
    assert "definition-errors" in r.get_data(as_text=True)


def test_import_of_deeply_nested_groups_is_a_4xx(client_a):
    item = {"link_id": "leaf", "type": "string", "text": "x"}
    for n in range(400):
        item = {"link_id": f"g{n}", "type": "group", "text": "g", "items": [item]}
    doc = {"slug": "deep", "title": "Deep", "purpose": "p", "kind": "exercise", "items": [item]}
    r = client_a.post("/questionnaires/import", data={"definition": json.dumps(doc)})
    assert r.status_code == 400
    assert "nested too deeply" in r.get_data(as_text=True)


def test_import_makes_a_new_version_and_an_unchanged_import_makes_none(client_a, counselor_a):
    doc = small_definition()
    r = client_a.post("/questionnaires/import", data={"definition": json.dumps(doc)})
    assert r.status_code == 302
    assert "Saved as version 1" in client_a.get(r.headers["Location"]).get_data(as_text=True)
    r = client_a.post("/questionnaires/import", data={"definition": json.dumps(doc)})
    assert "unchanged" in client_a.get(r.headers["Location"]).get_data(as_text=True)
    doc["title"] = "Small check, second wording"
    r = client_a.post("/questionnaires/import", data={"definition": json.dumps(doc)})
    assert "Saved as version 2" in client_a.get(r.headers["Location"]).get_data(as_text=True)
    q = questionnaire("small-check", counselor_a.id)
    assert [v.number for v in q.versions] == [1, 2]


def test_given_answers_keep_their_version_when_the_questionnaire_changes(
    app, client_a, counselor_a
):
    """Answered under v1; v2 rewords the question and an option: readers still see v1's words."""
    from tests.support import assign_http, autosave, load_own, open_link, revision_of, section

    case = new_case(counselor_a)
    q = load_own(counselor_a)
    r, tokens = assign_http(client_a, case, q.id)
    partner = app.test_client()
    open_link(partner, tokens["Sam Rivera"])
    _, csrf, rev = section(partner, 1)
    assert autosave(partner, csrf, rev, {"one.pace": "slow", "one.feel": "Fine"}).status_code == 200
    review = partner.get("/p/review").get_data(as_text=True)
    assert (
        partner.post("/p/submit", data={"csrf_token": csrf, "revision": revision_of(review)})
    ).status_code == 302

    v2 = small_definition()
    pace = v2["items"][0]["items"][2]
    pace["text"], pace["options"][0]["label"] = "Tempo, reworded in v2", "Much slower (v2)"
    _, version = services.load_definition(v2, counselor_a.id)
    db.session.commit()
    assert version.number == 2

    from counselor.questionnaires.models import Assignment

    assignment = db.session.scalar(select(Assignment))
    page = client_a.get(f"/cases/{case.id}/assignments/{assignment.id}").get_data(as_text=True)
    own = partner.get("/p/").get_data(as_text=True)
    assert "Pace" in page and "Slower" in page
    # (one.pace is counselor-only: after submit the partner's page no longer shows it at all)
    for html in (page, own):
        assert "reworded in v2" not in html and "Much slower" not in html


def test_a_one_way_counterpart_is_refused():
    """give→receive without receive→give would let two "receive only" partners match."""
    from counselor.questionnaires.schema import validate_definition

    doc = {
        "slug": "one-way",
        "title": "t",
        "purpose": "p",
        "kind": "exercise",
        "items": [
            {
                "link_id": "d",
                "type": "desire",
                "text": "Massage",
                "roles": [
                    {"key": "give", "label": "Giving", "counterpart": "receive"},
                    {"key": "receive", "label": "Receiving"},
                ],
            }
        ],
    }
    errors = validate_definition(doc)
    assert any("must name 'give' back" in e for e in errors), errors


# ---- content the clinical review asked for ----


def _intake():
    return dict(services.library_files())["intake.json"]


def test_intake_asks_adults_only_with_an_urgent_alert_on_no():
    items = {i["link_id"]: i for i in _all_items(_intake())}
    adult = items["about.adult"]
    assert adult["type"] == "boolean" and adult["required"] is True
    assert share_of(adult) == "counselor_only"
    assert adult["alert"]["answer"] is False and adult["alert"]["severity"] == "urgent"
    # it comes first, before anything sexual is asked
    assert next(i for i in _all_items(_intake()) if i["type"] not in ("group", "display")) == adult


def test_intake_identity_function_and_health_answers_stay_with_the_counselor():
    items = {i["link_id"]: i for i in _all_items(_intake())}
    for lid in (
        "about.pronouns about.gender about.gender_history about.orientation about.structure "
        "about.partners about.values about.access function.concerns function.how_long "
        "function.distress sexual_health.contraception sexual_health.sti_test "
        "sexual_health.medication"
    ).split():
        assert share_of(items[lid]) == "counselor_only", lid
    concerns = " ".join(o["label"].lower() for o in items["function.concerns"]["options"])
    for word in ("desire", "pain", "arous", "erection", "orgasm", "ejaculat"):
        assert word in concerns, word
    assert not any(
        share_of(i) != "counselor_only"
        for i in _all_items(_intake())
        if i["type"] not in ("group", "display")
    )


def test_every_risk_item_offers_talking_in_person_and_alerts_by_severity():
    doc = _intake()
    screening = next(i for i in doc["items"] if i["link_id"] == "screening")
    risk = [
        i
        for i in walk(screening["items"])
        if i["type"] == "choice" and i["link_id"] != "substances.audit_c2"
    ]
    assert len(risk) >= 15
    for item in risk:
        values = [o["value"] for o in item["options"]]
        assert "rather_talk" in values, item["link_id"]
        assert "alert" in item, item["link_id"]
    severity = {i["link_id"]: i["alert"]["severity"] for i in risk}
    for lid in (
        "mood.asq_wish mood.asq_better_off mood.asq_thoughts mood.asq_attempt mood.asq_now "
        "screening.harm screening.afraid screening.physical screening.forced_sex"
    ).split():
        assert severity[lid] == "urgent", lid
    assert severity["screening.fear_guilt"] == "review"  # a single "once" is not urgent
    assert severity["screening.fear_guilt_now"] == "urgent"


def test_adapted_instruments_are_cited_with_their_licence():
    doc = _intake()
    cited = " ".join(s["citation"] + " " + s["licence"] for s in doc["sources"])
    assert (
        "ASQ" in cited
        and "AUDIT-C" in cited
        and "HITS" in " ".join(s.get("use", "") for s in doc["sources"])
    )
    assert all(s["licence"].strip() for s in doc["sources"])


@pytest.mark.parametrize(
    "name,link_id,answer",
    [
        ("safety-planning.json", "equipment.learned", "not_yet"),
        ("safety-planning.json", "medical.substances", "talk"),
        ("repair-reflection.json", "needs.pause", "pause_all"),
        ("consent-check-in.json", "wellbeing.life_changes", "yes"),
    ],
)
def test_the_alerts_the_clinical_review_asked_for(name, link_id, answer):
    from counselor.questionnaires.engine import compare_values

    item = next(
        i for i in _all_items(dict(services.library_files())[name]) if i["link_id"] == link_id
    )
    rule = item["alert"]
    assert compare_values(rule["operator"], answer, rule["answer"])
    assert rule.get("severity", "review") == "review"


def test_starter_resources_parse_as_references():
    entries = services.starter_resources()
    assert len(entries) >= 12
    titles = [e["title"] for e in entries]
    assert len(set(titles)) == len(titles)
    for e in entries:
        assert e["title"].strip() and e["authors"] and all(a.strip() for a in e["authors"])
        assert e["note"].strip() and "url" not in e
    assert ("Come As You Are", ["Emily Nagoski"]) in [(e["title"], e["authors"]) for e in entries]
