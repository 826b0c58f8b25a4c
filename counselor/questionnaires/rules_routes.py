"""The builder's plain forms, which work without JavaScript: one item's rules (show when…,
stop, alert) and one scoring rule. Each save is a new draft version through
``authoring.save_draft`` and the one validator, as the builder's own saves are; every problem
is named at its field. Editing is the owner's alone (others get 404)."""

from __future__ import annotations

import copy
import re
import uuid

from flask import render_template, request
from wtforms.fields.choices import SelectChoice

from counselor.core.ownership import counselor_required
from counselor.extensions import db
from counselor.questionnaires import authoring, builder, services
from counselor.questionnaires.blueprint import bp
from counselor.questionnaires.builder_routes import saved, to_editor
from counselor.questionnaires.parsing import MAX_CONDITIONS
from counselor.questionnaires.rules_forms import ItemRulesForm, ScoreRuleForm
from counselor.questionnaires.schema import validate_definition
from counselor.questionnaires.values import as_number

#: item types a stop or an alert can watch (the validator's list)
WATCHABLE = ("boolean", "choice", "scale", "integer", "decimal")
#: the form's names of an item's stop and alert
_SHORT = {"stop_if": "stop", "alert": "alert"}
_PART = re.compile(r"^([a-z_]+)(?:\[(\d+)\])?\.?(.*)$")


def _editable(questionnaire_id: uuid.UUID):
    """The counselor's own questionnaire, its newest version, and a copy of that version's
    definition to change."""
    questionnaire = authoring.get_own_or_404(questionnaire_id)
    version = questionnaire.newest
    return questionnaire, version, copy.deepcopy(version.definition.doc)


def _add(field, message: str) -> None:
    field.errors = [*field.errors, message]


def _route(problems: list[str], place, general: list[str]) -> None:
    """Put each "part[n].rest: reason" of the validator at the field ``place(part, n, rest)``
    names, else among the general problems."""
    for line in problems:
        where, _, reason = line.partition(": ")
        found = _PART.match(where) if reason else None
        field = place(found.group(1), found.group(2), found.group(3)) if found else None
        if field is None:
            general.append(line)
        else:
            _add(field, reason)


def _save(questionnaire, doc: dict, base: int | None, general: list[str]):
    """Store the edited definition as a new draft: the redirect to return, or the status of
    the page that names what stopped it (in ``general``)."""
    try:
        version = authoring.save_draft(questionnaire, doc, base)
    except services.DefinitionError as exc:
        db.session.rollback()
        general.extend(exc.errors)
        return 400
    except authoring.ConflictError as exc:
        db.session.rollback()
        general.append(str(exc))
        return 409
    db.session.commit()
    return saved(questionnaire, version)


def _check_and_save(questionnaire, doc: dict, base, where: tuple[str, str], place, general):
    """Validate the edited definition: the problems of the edited part (``where``: its group
    in ``problems_by_place`` and its path) go to their fields through ``place``, the rest
    into ``general``; without any, save. A redirect, or the page's status."""
    errors = validate_definition({**doc, "slug": questionnaire.slug})
    if not errors:
        return _save(questionnaire, doc, base, general)
    found = builder.problems_by_place(errors)
    group, path = where
    _route(found[group].pop(path, []), place, general)
    general += found["general"]
    general += [p for kind in ("items", "scores") for ps in found[kind].values() for p in ps]
    return 400


def _rule_data(item: dict, key: str) -> dict:
    rule = item.get(key)
    if not rule:
        return {}
    short = _SHORT[key]
    out = {
        short: True,
        f"{short}_operator": rule["operator"],
        f"{short}_answer": builder.answer_as_text(item, rule.get("answer")),
        f"{short}_message": rule["message"],
    }
    if key == "alert":
        out["alert_severity"] = rule.get("severity", "review")
    return out


def _read_rule(form: ItemRulesForm, item: dict, key: str) -> bool:
    """The stop (``stop_if``) or alert the form holds, into ``item``; False on a problem."""
    short = _SHORT[key]
    if not getattr(form, short).data:
        item.pop(key, None)
        return True
    answer = getattr(form, f"{short}_answer")
    rule = {
        "operator": getattr(form, f"{short}_operator").data,
        "message": (getattr(form, f"{short}_message").data or "").strip(),
    }
    try:
        rule["answer"] = builder.answer_from_text(item, answer.data or "")
    except ValueError as exc:
        _add(answer, str(exc))
        return False
    if key == "alert":
        rule["severity"] = form.alert_severity.data
    item[key] = rule
    return True


def _read_conditions(form: ItemRulesForm, by_id: dict) -> tuple[list[dict], list, bool]:
    """The conditions the form's rows hold (a row without a question is none), the rows
    they came from, and whether every row was readable (problems are at their fields)."""
    ok, used, conditions = True, [], []
    for row in form.conditions:
        if not row.form.question.data:
            continue
        question = by_id.get(row.form.question.data)
        if question is None:
            _add(row.form.question, "Choose a question that comes before this one.")
            ok = False
            continue
        cond = {"question": question["link_id"], "operator": row.form.operator.data}
        if cond["operator"] != "exists":
            try:
                cond["answer"] = builder.answer_from_text(question, row.form.answer.data or "")
            except ValueError as exc:
                _add(row.form.answer, str(exc))
                ok = False
                continue
        conditions.append(cond)
        used.append(row.form)
    return conditions, used, ok


@bp.route("/questionnaires/<uuid:questionnaire_id>/rules", methods=["GET", "POST"])
@counselor_required
def item_rules(questionnaire_id: uuid.UUID):
    """One item's conditions, stop and alert as a plain form (``?item=<link_id>``)."""
    questionnaire, version, doc = _editable(questionnaire_id)
    link_id = request.args.get("item", "")
    found = [(p, i) for p, i in builder.items_with_paths(doc) if i["link_id"] == link_id]
    if not found:
        return to_editor(questionnaire.id, "That item is not in the newest version.")
    path, item = found[0]
    earlier = builder.earlier_questions(doc, link_id)
    by_id = {q["link_id"]: q for q in earlier}
    if request.method == "GET":
        rows = [
            {
                "question": c["question"],
                "operator": c["operator"],
                "answer": builder.answer_as_text(by_id.get(c["question"]), c.get("answer")),
            }
            for c in item.get("enable_when") or ()
        ]
        form = ItemRulesForm(
            data={
                "base": version.number,
                "conditions": [*rows, {"operator": "="}][:MAX_CONDITIONS],
                "behavior": item.get("enable_behavior", "all"),
                **_rule_data(item, "stop_if"),
                **_rule_data(item, "alert"),
            }
        )
    else:
        form = ItemRulesForm()
    choices = [SelectChoice("", "(no condition)")] + [
        SelectChoice(q["link_id"], builder.shorten(q["text"])) for q in earlier
    ]
    for row in form.conditions:
        row.form.question.choices = choices
    general: list[str] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            conditions, used, ok = _read_conditions(form, by_id)
            item.pop("enable_when", None)
            item.pop("enable_behavior", None)
            if conditions:
                item["enable_when"] = conditions
                if form.behavior.data == "any" and len(conditions) > 1:
                    item["enable_behavior"] = "any"
            if item["type"] in WATCHABLE:
                ok = _read_rule(form, item, "stop_if") and ok
                ok = _read_rule(form, item, "alert") and ok
            if ok:

                def place(part: str, n: str | None, rest: str):
                    short = _SHORT.get(part)
                    if part == "enable_when":
                        row = used[int(n)] if n is not None and int(n) < len(used) else None
                        return getattr(row, rest, None) or (row.question if row else None)
                    if part == "enable_behavior":
                        return form.behavior
                    if short:
                        return getattr(form, f"{short}_{rest}", None) or getattr(form, short)
                    return None

                done = _check_and_save(
                    questionnaire, doc, form.base.data, ("items", path), place, general
                )
                if not isinstance(done, int):
                    return done
                status = done
    return render_template(
        "questionnaires/item_rules.html",
        questionnaire=questionnaire,
        item=item,
        form=form,
        watchable=item["type"] in WATCHABLE,
        earlier=earlier,
        general=general,
    ), status


def _score_data(rule: dict, number: int) -> dict:
    reverse = [r["item"] for r in rule.get("reverse") or ()]
    cutoffs = [
        {"at_least": str(c["at_least"]), "text": c["text"]} for c in rule.get("cutoffs") or ()
    ]
    return {
        "base": number,
        "title": rule.get("title", ""),
        "method": rule.get("method", "sum"),
        "items": list(rule.get("items") or ()),
        "reverse": reverse,
        "max_missing": rule.get("max_missing", 0),
        "hidden_as": str(rule["hidden_as"]) if "hidden_as" in rule else "",
        "cutoffs": [*cutoffs, {}][:20],
        "source": rule.get("source", "Practice-defined; not a validated instrument."),
        "share": rule.get("share", "counselor_only"),
    }


def _number(field) -> float | int | None:
    """A number field's value as the definition holds it; a message at the field if none."""
    value = as_number((field.data or "").strip().replace(",", "."))
    if value is None:
        _add(field, "Write a number, for example 2.5.")
        return None
    return builder.plain_number(value)


def _read_score(form: ScoreRuleForm, old: dict, scorable: list[dict]) -> tuple[dict, list, bool]:
    """The scoring rule the form holds (its key and each reversed item's range kept), the
    cut-off rows it used, and whether every field was readable."""
    by_id = {q["link_id"]: q for q in scorable}
    ticked = set(form.items.data or ())
    rule = {
        "key": old["key"],
        "title": form.title.data.strip(),
        "method": form.method.data,
        "items": [lid for lid in by_id if lid in ticked],
        "source": form.source.data.strip(),
    }
    ok = True
    kept = {r["item"]: r for r in old.get("reverse") or ()}
    reverse = []
    for lid in [lid for lid in by_id if lid in set(form.reverse.data or ())]:
        if lid not in ticked:
            _add(
                form.reverse,
                f"“{builder.shorten(by_id[lid]['text'])}” is reversed but not "
                "among the items it adds up; tick it there too.",
            )
            ok = False
        low, high = builder.answer_range(by_id[lid])
        reverse.append(kept.get(lid) or {"item": lid, "min": low, "max": high})
    if reverse:
        rule["reverse"] = reverse
    if form.max_missing.data:
        rule["max_missing"] = form.max_missing.data
    if (form.hidden_as.data or "").strip():
        hidden = _number(form.hidden_as)
        ok = ok and hidden is not None
        rule["hidden_as"] = hidden
    cutoffs, used = [], []
    for row in form.cutoffs:
        at, text = (row.form.at_least.data or "").strip(), (row.form.text.data or "").strip()
        if not at and not text:
            continue
        at_least = _number(row.form.at_least)
        if at_least is None:
            ok = False
            continue
        cutoffs.append({"at_least": at_least, "text": text})
        used.append(row.form)
    if cutoffs:
        rule["cutoffs"] = cutoffs
    if form.share.data == "shared":
        rule["share"] = "shared"
    return rule, used, ok


@bp.route("/questionnaires/<uuid:questionnaire_id>/score", methods=["GET", "POST"])
@counselor_required
def score_rule(questionnaire_id: uuid.UUID):
    """One scoring rule as a plain form (``?n=<its number>``, or ``?n=new`` to add one)."""
    questionnaire, version, doc = _editable(questionnaire_id)
    scores = doc.setdefault("scores", [])
    asked = request.args.get("n", "")
    if asked == "new" and len(scores) < 20:
        keys = {s["key"] for s in scores}
        key = next(f"score_{n}" for n in range(1, 99) if f"score_{n}" not in keys)
        n, old = len(scores), {"key": key, "title": "", "method": "sum", "items": []}
    elif asked.isdigit() and int(asked) < len(scores):
        n, old = int(asked), scores[int(asked)]
    else:
        return to_editor(questionnaire.id, "That score is not in the newest version.")
    scorable = builder.scorable(doc)
    form = (
        ScoreRuleForm()
        if request.method == "POST"
        else ScoreRuleForm(data=_score_data(old, version.number))
    )
    choices = [SelectChoice(q["link_id"], builder.shorten(q["text"], 90)) for q in scorable]
    form.items.choices = form.reverse.choices = choices
    general: list[str] = []
    status = 200
    if request.method == "POST":
        status = 400
        if request.form.get("action") == "remove" and n < len(scores):
            scores.pop(n)
            if not scores:
                del doc["scores"]
            done = _save(questionnaire, doc, form.base.data, general)
            if not isinstance(done, int):
                return done
            status = done
        elif form.validate_on_submit():
            rule, used, ok = _read_score(form, old, scorable)
            if ok:
                scores[n : n + 1] = [rule]

                def place(part: str, i: str | None, rest: str):
                    if part == "cutoffs" and i is not None and int(i) < len(used):
                        return getattr(used[int(i)], rest, None) or used[int(i)].text
                    return getattr(form, part, None) if part in ScoreRuleForm.__dict__ else None

                done = _check_and_save(
                    questionnaire, doc, form.base.data, ("scores", f"$.scores[{n}]"), place, general
                )
                if not isinstance(done, int):
                    return done
                status = done
    return render_template(
        "questionnaires/score_rule.html",
        questionnaire=questionnaire,
        form=form,
        new=asked == "new",
        n=asked,
        scorable=scorable,
        general=general,
    ), status
