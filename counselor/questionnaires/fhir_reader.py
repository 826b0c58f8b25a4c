"""One FHIR Questionnaire → definition conversion's state (see ``fhir_import``): the errors
that stop it, the notes the counselor must accept, and the linkIds it renamed."""

from __future__ import annotations

import re
from typing import Any

from counselor.questionnaires.schema import LINK_ID

#: keys of scoring rules that hold lists (a one-element list is still a list)
_LIST_KEYS = frozenset({"items", "reverse", "cutoffs"})
_VALUE = re.compile(r"^value[A-Z]")


def value_of(ext: dict) -> tuple[bool, Any]:
    """(found, value) of an extension's value[x]."""
    for key, value in ext.items():
        if _VALUE.match(key):
            return True, value
    return False, None


class Reader:
    """One conversion: the errors that stop it and the notes the counselor must accept."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.notes: list[str] = []
        #: foreign linkId → the link_id it became
        self.ids: dict[str, str] = {}
        #: link_id → {answerOption string or code: option value}
        self.option_values: dict[str, dict[str, str]] = {}
        self.count = 0

    def link_id(self, raw: Any, path: str) -> str | None:
        if not isinstance(raw, str) or not raw:
            self.errors.append(f"{path}.linkId: every item needs a linkId")
            return None
        if raw in self.ids:
            return self.ids[raw]
        new = raw if re.match(LINK_ID, raw) else clean_id(raw)
        self.ids[raw] = new
        return new

    def complex_obj(self, ext: dict, path: str, depth: int = 0) -> dict:
        """A complex extension as a dict (the inverse of ``_complex``)."""
        out: dict[str, Any] = {}
        subs = ext.get("extension")
        if not isinstance(subs, list) or depth > 3:
            self.errors.append(f"{path}: expected sub-extensions")
            return out
        for n, sub in enumerate(subs):
            if not isinstance(sub, dict) or not isinstance(sub.get("url"), str):
                self.errors.append(f"{path}.extension[{n}]: an extension needs a url")
                continue
            key = sub["url"]
            if "extension" in sub:
                value = self.complex_obj(sub, f"{path}.extension[{n}]", depth + 1)
            else:
                found, value = value_of(sub)
                if not found:
                    self.errors.append(f"{path}.extension[{n}]: '{key}' has no value")
                    continue
            if key in _LIST_KEYS:
                out.setdefault(key, []).append(value)
            elif key in out:
                self.errors.append(f"{path}.extension[{n}]: '{key}' is given twice")
            else:
                out[key] = value
        return out


def clean_id(raw: str) -> str:
    text = re.sub(r"[^a-z0-9_.-]+", "-", raw.lower()).strip("-._") or "item"
    return text[:64]
