"""HL7 FHIR R4 ``Questionnaire`` → definition, on plain data (no Flask, no database): the
inverse of ``fhir.to_fhir`` (whose docstring describes the extensions), and the reading of
Questionnaires made elsewhere.

Supported item types and ``enableWhen`` map to the format; anything that cannot be carried
over is named, with its path: an error when the questionnaire cannot be asked without it (an
unknown item type, an ``answerValueSet``, a modifier extension), otherwise a note the
counselor must accept.
"""

from __future__ import annotations

import re
from typing import Any

from counselor.questionnaires.fhir import EXT, ITEM_CONTROL, SDC_MAX, SDC_MIN, URL_PREFIX, FhirError
from counselor.questionnaires.fhir_reader import Reader, value_of
from counselor.questionnaires.parsing import MAX_NESTING

#: FHIR item types read as they are
NATIVE_TYPES = (
    "group",
    "display",
    "boolean",
    "decimal",
    "integer",
    "date",
    "string",
    "text",
    "choice",
    "open-choice",
)
#: FHIR item types asked as free text (the answer keeps its words, not its kind)
AS_STRING = {"url": "a web address", "time": "a time of day", "dateTime": "a date and time"}
#: top-level elements of a Questionnaire that carry nothing a definition keeps
_METADATA = frozenset({"resourceType", "id", "meta", "url", "version", "name", "status", "text"})


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")
    return slug if len(slug) >= 2 else "imported"


def _codes(ext: dict) -> list[str]:
    concept = ext.get("valueCodeableConcept")
    coding = concept.get("coding") if isinstance(concept, dict) else None
    if not isinstance(coding, list):
        return []
    return [c["code"] for c in coding if isinstance(c, dict) and isinstance(c.get("code"), str)]


def _ours(url: Any) -> str | None:
    return url[len(EXT) :] if isinstance(url, str) and url.startswith(EXT) else None


def _list(value: Any) -> list:
    """A list element of the resource, or nothing (a wrong type is reported elsewhere)."""
    return value if isinstance(value, list) else []


def from_fhir(resource: Any) -> tuple[dict, list[str]]:
    """The definition a FHIR R4 Questionnaire holds, and notes on what it could not keep.

    Raises FhirError with every problem that stops the conversion, each naming its path
    (``Questionnaire.item[2].type: …``). The definition still has to pass
    ``validate_definition`` (conditions on earlier questions only, the size limits, …).
    """
    if not isinstance(resource, dict):
        raise FhirError(["$: a FHIR resource is a JSON object"])
    kind = resource.get("resourceType")
    if kind != "Questionnaire":
        shown = f"'{str(kind)[:40]}'" if kind is not None else "missing"
        raise FhirError([f"resourceType: {shown}; a FHIR Questionnaire is needed"])
    reader = Reader()
    doc: dict[str, Any] = {}
    url = resource.get("url")
    if isinstance(url, str) and url.startswith(URL_PREFIX):
        doc["slug"] = url[len(URL_PREFIX) :]
    else:
        doc["slug"] = _slug(str(resource.get("name") or resource.get("title") or "imported"))
    for key, field, default in (("title", "title", None), ("purpose", "purpose", None)):
        value = resource.get(field)
        if isinstance(value, str) and value.strip():
            doc[key] = value
        elif default is not None:
            doc[key] = default
    if "title" not in doc:
        name = resource.get("name")
        doc["title"] = (
            str(name)[:200] if isinstance(name, str) and name else "Imported questionnaire"
        )
        reader.notes.append(f"Questionnaire.title: missing; it is called '{doc['title']}'")
    if "purpose" not in doc:
        doc["purpose"] = "Imported from a FHIR Questionnaire."
        reader.notes.append("Questionnaire.purpose: missing; a purpose line was written for it")
    description = resource.get("description")
    if isinstance(description, str) and description:
        doc["intro"] = description
    _top_extensions(resource, doc, reader)
    for key in resource:
        if key in _METADATA or key in ("title", "purpose", "description", "extension", "item"):
            continue
        if key == "modifierExtension":
            reader.errors.append(
                "Questionnaire.modifierExtension: a modifier extension changes what the "
                "questionnaire means and cannot be read here"
            )
        elif not key.startswith("_"):
            reader.notes.append(f"Questionnaire.{key}: not kept")
    items = resource.get("item")
    if not isinstance(items, list) or not items:
        reader.errors.append("Questionnaire.item: the questionnaire has no items")
    else:
        doc["items"] = _items(items, "Questionnaire.item", reader, 1)
    if reader.errors:
        raise FhirError(reader.errors)
    if reader.ids:
        _rename_conditions(doc, reader)
    return doc, reader.notes


def _top_extensions(resource: dict, doc: dict, reader: Reader) -> None:
    exts = resource.get("extension")
    if exts is None:
        doc["kind"] = "exercise"
        return
    if not isinstance(exts, list):
        reader.errors.append("Questionnaire.extension: must be a list")
        return
    for n, ext in enumerate(exts):
        path = f"Questionnaire.extension[{n}]"
        name = _ours(ext.get("url", "")) if isinstance(ext, dict) else None
        if name == "kind":
            doc["kind"] = ext.get("valueCode")
        elif name == "estimated-minutes":
            doc["estimated_minutes"] = ext.get("valueInteger")
        elif name in ("source", "score"):
            doc.setdefault(name + "s", []).append(reader.complex_obj(ext, path))
        else:
            url = ext.get("url") if isinstance(ext, dict) else None
            reader.notes.append(f"{path}: extension '{str(url)[:120]}' is not kept")
    doc.setdefault("kind", "exercise")


def _items(items: list, path: str, reader: Reader, level: int) -> list[dict]:
    if level > MAX_NESTING:
        reader.errors.append(f"{path}: items are nested too deeply (at most {MAX_NESTING} levels)")
        return []
    out = []
    for n, raw in enumerate(items):
        here = f"{path}[{n}]"
        reader.count += 1
        if reader.count > 5_000:  # the validator's item limit is 1,000; stop reading early
            reader.errors.append(f"{here}: far too many items")
            return out
        if not isinstance(raw, dict):
            reader.errors.append(f"{here}: an item is a JSON object")
            continue
        item = _item(raw, here, reader, level)
        if item is not None:
            out.append(item)
    return out


def _item(raw: dict, here: str, reader: Reader, level: int) -> dict | None:
    fhir_type = raw.get("type") if isinstance(raw.get("type"), str) else repr(raw.get("type"))[:40]
    ext_by_name: dict[str, list[tuple[int, dict]]] = {}
    sdc: dict[str, Any] = {}
    controls: list[str] = []
    exts = raw.get("extension", [])
    if not isinstance(exts, list):
        reader.errors.append(f"{here}.extension: must be a list")
        exts = []
    for n, ext in enumerate(exts):
        url = ext.get("url") if isinstance(ext, dict) else None
        if not isinstance(url, str):
            reader.errors.append(f"{here}.extension[{n}]: an extension needs a url")
        elif _ours(url):
            ext_by_name.setdefault(_ours(url), []).append((n, ext))
        elif url in (SDC_MIN, SDC_MAX):
            sdc["min" if url == SDC_MIN else "max"] = value_of(ext)[1]
        elif url == ITEM_CONTROL:
            controls += _codes(ext)
        else:
            reader.notes.append(f"{here}.extension[{n}]: extension '{url[:120]}' is not kept")
    if "modifierExtension" in raw:
        reader.errors.append(
            f"{here}.modifierExtension: a modifier extension changes what the item means and "
            "cannot be read here"
        )
    ours = {name: found[0][1] for name, found in ext_by_name.items()}
    marked = ours.get("item-type", {}).get("valueString")
    if marked in ("scale", "desire"):
        kind = marked
    elif fhir_type in NATIVE_TYPES:
        kind = fhir_type
    elif fhir_type in AS_STRING:
        kind = "string"
        reader.notes.append(
            f"{here}.type: '{fhir_type}' is asked as free text (the answer is not checked to "
            f"be {AS_STRING[fhir_type]})"
        )
    else:
        shown = f"'{str(fhir_type)[:40]}'" if fhir_type is not None else "missing"
        reader.errors.append(
            f"{here}.type: {shown} cannot be asked here (supported: "
            + ", ".join(NATIVE_TYPES + tuple(AS_STRING))
            + ")"
        )
        return None
    lid = reader.link_id(raw.get("linkId"), here)
    item: dict[str, Any] = {"link_id": lid or "item", "type": kind}
    text = raw.get("text")
    if isinstance(text, str) and text.strip():
        item["text"] = text
    elif kind == "group":
        item["text"] = "Section"
        reader.notes.append(f"{here}.text: a group without text is called 'Section'")
    else:
        reader.errors.append(f"{here}.text: every question needs its text")
    children = raw.get("item")
    if children is not None and not isinstance(children, list):
        reader.errors.append(f"{here}.item: must be a list")
        children = []
    children = list(children or ())
    # help: a display child with the help (or flyover) item control, FHIR SDC's way
    for child in list(children):
        if (
            isinstance(child, dict)
            and child.get("type") == "display"
            and any(
                isinstance(e, dict)
                and e.get("url") == ITEM_CONTROL
                and set(_codes(e)) & {"help", "flyover"}
                for e in _list(child.get("extension"))
            )
            and "help" not in item
            and isinstance(child.get("text"), str)
        ):
            item["help"] = child["text"]
            children.remove(child)
    if "help" in ours:
        item["help"] = ours["help"].get("valueString")
    if kind == "scale":
        item.update(
            {
                "min": sdc.get("min"),
                "max": sdc.get("max"),
                "min_label": ours.get("min-label", {}).get("valueString"),
                "max_label": ours.get("max-label", {}).get("valueString"),
            }
        )
    else:
        for bound in ("min", "max"):
            if bound in sdc:
                item[bound] = sdc[bound]
        for key in ("min-label", "max-label"):
            if key in ours:
                item[key.replace("-", "_")] = ours[key].get("valueString")
    if kind == "desire":
        item["roles"] = [
            reader.complex_obj(ext, f"{here}.extension[{n}]")
            for n, ext in ext_by_name.get("role", ())
        ]
        children = []  # the per-role answers are made from the roles, as the export made them
    if "share" in ours:
        item["share"] = ours["share"].get("valueCode")
    if "advisory" in ours:
        item["advisory"] = ours["advisory"].get("valueString")
    for name, key in (("alert", "alert"), ("stop-if", "stop_if"), ("trend", "trend")):
        if name in ours:
            n, ext = ext_by_name[name][0]
            item[key] = reader.complex_obj(ext, f"{here}.extension[{n}]")
    for name in ext_by_name:
        if name not in (
            "item-type",
            "help",
            "min-label",
            "max-label",
            "role",
            "share",
            "advisory",
            "alert",
            "stop-if",
            "trend",
        ):
            reader.notes.append(f"{here}.extension: 'urn:counselor:extension:{name}' is not kept")
    for code in controls:
        if code not in ("slider", "help", "flyover") and code:
            reader.notes.append(f"{here}.extension: the display hint '{code}' is not kept")
    _answers_and_flags(raw, item, here, reader, kind)
    if kind == "group":
        nested = _items(children, f"{here}.item", reader, level + 1)
        if nested:
            item["items"] = nested
        else:
            reader.errors.append(f"{here}.item: a group needs at least one item")
    elif children:
        reader.errors.append(
            f"{here}.item: questions nested under a {kind} item cannot be asked here; "
            "put them in a group"
        )
    return item


def _answers_and_flags(raw: dict, item: dict, here: str, reader: Reader, kind: str) -> None:
    if isinstance(raw.get("required"), bool):
        if kind in ("group", "display"):
            if raw["required"]:
                reader.notes.append(f"{here}.required: a {kind} item has no answer to require")
        else:
            item["required"] = raw["required"]
    if "repeats" in raw:
        if kind == "choice":
            item["multiple"] = bool(raw["repeats"])
        elif raw["repeats"]:
            reader.notes.append(f"{here}.repeats: only a choice item takes several answers here")
    if "maxLength" in raw:
        if kind in ("string", "text"):
            item["max_length"] = raw["maxLength"]
        else:
            reader.notes.append(f"{here}.maxLength: not kept for a {kind} item")
    if "answerValueSet" in raw:
        reader.errors.append(
            f"{here}.answerValueSet: a value set cannot be looked up here; list the answers "
            "as answerOption"
        )
    options = raw.get("answerOption")
    if options is not None:
        if kind not in ("choice", "open-choice"):
            reader.notes.append(f"{here}.answerOption: not kept for a {kind} item")
        elif not isinstance(options, list):
            reader.errors.append(f"{here}.answerOption: must be a list")
        else:
            item["options"] = _options(options, f"{here}.answerOption", item, reader)
    elif kind in ("choice", "open-choice") and "answerValueSet" not in raw:
        reader.errors.append(f"{here}.answerOption: a {kind} item needs its answers listed")
    conditions = raw.get("enableWhen")
    if conditions is not None:
        if not isinstance(conditions, list) or not conditions:
            reader.errors.append(f"{here}.enableWhen: must be a list of conditions")
        else:
            item["enable_when"] = [
                _condition(c, f"{here}.enableWhen[{n}]", reader)
                for n, c in enumerate(conditions[:50])
            ]
    behavior = raw.get("enableBehavior")
    if behavior == "any":  # "all" is the default and is not written
        item["enable_behavior"] = "any"
    elif behavior not in (None, "all"):
        reader.errors.append(f"{here}.enableBehavior: '{str(behavior)[:20]}' is not all or any")
    for key in ("initial", "prefix", "readOnly", "code", "definition"):
        if key in raw:
            reader.notes.append(f"{here}.{key}: not kept")


def _options(options: list, path: str, item: dict, reader: Reader) -> list[dict]:
    out, values = [], {}
    for n, option in enumerate(options[:500]):
        here = f"{path}[{n}]"
        if not isinstance(option, dict):
            reader.errors.append(f"{here}: an answer option is a JSON object")
            continue
        coding = option.get("valueCoding")
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            value, label = coding["code"], coding.get("display") or coding["code"]
        elif isinstance(option.get("valueString"), str):
            label = option["valueString"]
            value = label if len(label) <= 64 else f"option-{n + 1}"
        elif isinstance(option.get("valueInteger"), int):
            value = label = str(option["valueInteger"])
        elif isinstance(option.get("valueDate"), str):
            value = label = option["valueDate"]
        else:
            reader.errors.append(
                f"{here}: only coded, text, whole-number and date answers can be offered"
            )
            continue
        if "initialSelected" in option:
            reader.notes.append(f"{here}.initialSelected: not kept")
        for key in ("valueString", "valueInteger", "valueDate"):
            if isinstance(option.get(key), (str, int)):
                values[str(option[key])] = value
        values[value] = value
        out.append({"value": value, "label": label})
    reader.option_values[item["link_id"]] = values
    return out


_ANSWERS = ("answerBoolean", "answerDecimal", "answerInteger", "answerDate", "answerString")


def _condition(raw: Any, here: str, reader: Reader) -> dict:
    if not isinstance(raw, dict):
        reader.errors.append(f"{here}: a condition is a JSON object")
        return {}
    question, operator = raw.get("question"), raw.get("operator")
    if not isinstance(question, str) or not question:
        reader.errors.append(f"{here}.question: names no question")
        return {}
    if operator not in ("exists", "=", "!=", ">", "<", ">=", "<="):
        reader.errors.append(f"{here}.operator: '{str(operator)[:20]}' is not a FHIR operator")
        return {}
    cond: dict[str, Any] = {"question": question, "operator": operator}
    answer_keys = [k for k in raw if k.startswith("answer")]
    if operator == "exists":
        if raw.get("answerBoolean") is False:
            cond["answer"] = False
        return cond
    if len(answer_keys) != 1:
        reader.errors.append(f"{here}: a condition needs exactly one answer[x]")
        return cond
    key = answer_keys[0]
    if key in _ANSWERS:
        cond["answer"] = raw[key]
    elif key == "answerCoding" and isinstance(raw[key], dict) and "code" in raw[key]:
        cond["answer"] = raw[key]["code"]
        cond["_coded"] = True
    else:
        reader.errors.append(f"{here}.{key}: this kind of answer cannot be compared here")
    return cond


def _rename_conditions(doc: dict, reader: Reader) -> None:
    """Point conditions at the renamed link_ids and at option values, in one pass."""
    stack = list(doc["items"])
    while stack:
        item = stack.pop()
        stack.extend(item.get("items", ()))
        for cond in item.get("enable_when", ()):
            coded = cond.pop("_coded", False)
            if "question" not in cond:
                continue
            target = reader.ids.get(cond["question"], cond["question"])
            cond["question"] = target
            values = reader.option_values.get(target)
            if values and isinstance(cond.get("answer"), (str, int)) and not coded:
                cond["answer"] = values.get(str(cond["answer"]), cond["answer"])
