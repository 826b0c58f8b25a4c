"""Answers as plain text: one line per answer, option values as their labels (pure).

Shared by the counselor's CSV export, the alert cards and the PDF records, so that an answer
reads the same wherever the counselor meets it.
"""

from __future__ import annotations

from counselor.questionnaires import engine
from counselor.questionnaires.schema import DESIRE_LABELS, EXPERIENCE_LABELS


def option_labels(item: dict) -> dict:
    """A choice item's option values mapped to the labels partners saw."""
    return {o["value"]: o["label"] for o in item["options"]}


def answer_plain(item: dict, value) -> str:
    """An answer as one line of plain text (CSV and PDF)."""
    if not engine.has_answer(value):
        return ""
    kind = item["type"]
    if kind == "boolean":
        return "Yes" if value else "No"
    if kind in ("choice", "open-choice"):
        labels = option_labels(item)
        values = value if isinstance(value, list) else [value]
        return "; ".join(labels.get(v, v) for v in values)
    if kind == "desire":
        value = engine.desire_value(item, value)
        several = len(item["roles"]) > 1
        parts = []
        for role in item["roles"]:
            label = DESIRE_LABELS.get(value["roles"].get(role["key"]), "not answered")
            if role["key"] in value["limits"]:
                label += " (HARD LIMIT)"
            parts.append(f"{role['label']}: {label}" if several else label)
        if value["fantasy"]:
            parts.append("fantasy only, not to act on")
        if value["experience"]:
            parts.append(EXPERIENCE_LABELS[value["experience"]])
        if value["note"]:
            parts.append(f"Note: {value['note']}")
        return "; ".join(parts)
    return str(value)
