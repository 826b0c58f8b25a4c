"""One answer as read-only HTML, the same on every page that shows answers (pure).

Was the ``answer_text`` macro of ``templates/questionnaires/_items.html``; a comparison shows
one answer per partner and row (126 on the six partners' largest section page, 202 on a
partner's page of the desire inventory), and a macro call with its escaping cost about ten
times this function. Its output is byte for byte the macro's: every text from a definition
or an answer is escaped here, the constant markup is not.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from counselor.questionnaires.values import desire_value

try:  # markupsafe's escaping of a str as a str: ``escape`` without making a Markup of it
    from markupsafe._speedups import _escape_inner as escaped
except ImportError:  # pragma: no cover - markupsafe without its C speedups

    def escaped(s: str, /) -> str:
        """``escape`` of a str, as a str."""
        return str(escape(s))


#: the desire answers as the partner's buttons name them (the portal's form)
DESIRE_BUTTONS = {
    "yes": "Yes",
    "want_to_try": "Want to try",
    "if_partner": "If my partner wants",
    "maybe": "Maybe",
    "no": "No",
}
EXPERIENCE_BUTTONS = {
    "liked": "Done it, liked it",
    "disliked": "Done it, did not like it",
    "never": "Never done it",
}

NO_ANSWER = Markup('<span class="text-body-secondary fst-italic">No answer</span>')


def _built(html: str) -> Markup:
    """Markup assembled in this module: constant tags and text passed through ``escape``."""
    return Markup(html)  # noqa: S704 - every text in it was escaped by the caller


def _field(item: dict, key: str) -> str:
    """An item's field as the template printed it: absent as nothing."""
    return escape(item[key]) if key in item else ""


def _labels(item: dict) -> dict:
    return {o["value"]: o["label"] for o in item.get("options") or ()}


def answer_html(item: dict, value: Any) -> Markup:
    """One partner's answer to one item, for reading (option values as their labels, a desire
    answer as chips per role, its hard limits, marks and note)."""
    if value is None or value == "" or value == []:
        return NO_ANSWER
    kind = item["type"]
    if kind == "boolean":
        return _built("Yes" if value is True else "No")
    if kind == "choice":
        labels = _labels(item)
        if isinstance(value, str):
            return escape(labels.get(value, value))
        return Markup("; ").join(escape(labels.get(v, v)) for v in value)
    if kind == "open-choice":
        shown = escape(_labels(item).get(value, value))
        return _built(f'<span class="prewrap">{shown}</span>')
    if kind == "scale":
        low, high = _field(item, "min"), _field(item, "max")
        return _built(
            f'<span class="scale-value">{escape(value)}</span> <span class="text-body-secondary'
            f' small">of {high} ({low} {_field(item, "min_label")} – {high}'
            f" {_field(item, 'max_label')})</span>"
        )
    if kind == "desire":
        return _desire(item, desire_value(item, value))
    return _built(f'<span class="prewrap">{escape(value)}</span>')


def _desire(item: dict, value: dict) -> Markup:
    roles = item["roles"]
    several = len(roles) > 1
    out = ['<span class="desire-answer">']
    # a desire answer is a few chips (126 on the six partners' largest section page): the
    # labels of the definition and the constant button labels are plain text, escaped as str
    for role in roles:
        key = role["key"]
        answer = value["roles"].get(key)
        limited = key in value["limits"]
        named = f"{escaped(role['label'])}: " if several else ""
        if answer or not limited:
            label = escaped(DESIRE_BUTTONS.get(answer, "not answered"))
            out.append(
                f'\n    <span class="desire-chip desire-{escape(answer or "none")}">{named}'
                f"{label}</span>"
            )
        if limited:
            out.append(f' <span class="desire-chip desire-limit">{named}Hard limit</span>')
    if value["fantasy"]:
        out.append(' <span class="desire-chip desire-fantasy">Fantasy only</span>')
    if value["experience"]:
        experience = escape(EXPERIENCE_BUTTONS.get(value["experience"], ""))
        out.append(f' <span class="desire-chip desire-experience">{experience}</span>')
    out.append("\n  </span>")
    if value["note"]:
        out.append(
            f'<div class="small prewrap mt-1 desire-note-text">Note: {escape(value["note"])}</div>'
        )
    return _built("".join(out))
