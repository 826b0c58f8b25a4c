"""Clauses as plain data: kinds, cleaning, the content hash and the diff between versions.

Pure: no Flask, no database. A version's content is a list of clause dicts; each clause keeps
its ``key`` from version to version, so a diff can say "changed" rather than "removed and
added", and a pause names the clause it holds.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

#: kind key -> what the counselor and partners read
KINDS = {
    "activity": "Activity",
    "pause_signal": "Pause signal",
    "aftercare": "Aftercare",
    "safety": "Safety",
    "conduct": "Code of conduct",
    "free": "In our own words",
}
#: the condition fields of every clause, in the order they are shown
CONDITIONS = {
    "where": "Where",
    "when": "When",
    "conditions": "Under what conditions",
    "off_table": "Off the table within this",
}
#: the pause signal's own fields
SIGNAL = {
    "word": "Pause word",
    "nonverbal": "Signal without words",
    "checkin": "Check-in words",
    "after": "What happens after a pause",
}
#: longest text of one field, and most clauses in one version
MAX_TEXT = 4000
MAX_CLAUSES = 60


class ClauseError(ValueError):
    """A clause cannot be kept like this; the message says why (shown to the counselor)."""


def new_key() -> str:
    """A clause key, stable across the versions that keep the clause."""
    return secrets.token_hex(8)


def _text(value: object) -> str:
    text = value if isinstance(value, str) else ""
    text = text.replace("\r\n", "\n").replace("\x00", "").strip()
    if len(text) > MAX_TEXT:
        raise ClauseError(f"A clause field may hold at most {MAX_TEXT:,} characters.")
    return text


def clean(raw: dict, partner_keys: set[str]) -> dict:
    """One clause from the counselor's form, checked; roles must name partners of the
    agreement (or nobody)."""
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ClauseError("Choose what kind of clause this is.")
    clause = {
        "key": raw.get("key") if _is_key(raw.get("key")) else new_key(),
        "kind": kind,
        "text": _text(raw.get("text")),
    }
    for field in CONDITIONS:
        clause[field] = _text(raw.get(field))
    if kind == "activity":
        for role in ("leads", "follows"):
            value = raw.get(role) or ""
            if value and value not in partner_keys:
                raise ClauseError("A role must name a partner of this agreement.")
            clause[role] = value
    if kind == "pause_signal":
        clause["signal"] = {f: _text((raw.get("signal") or {}).get(f)) for f in SIGNAL}
    if not clause["text"] and not any(clause.get("signal", {}).values()):
        raise ClauseError("A clause needs some words: write what is agreed.")
    return clause


def _is_key(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 16 and all(c in "0123456789abcdef" for c in value)
    )


def clean_all(raws: list[dict], partner_keys: set[str]) -> list[dict]:
    """Every clause of a draft, checked; keys stay unique."""
    if len(raws) > MAX_CLAUSES:
        raise ClauseError(f"A version may hold at most {MAX_CLAUSES} clauses.")
    out, seen = [], set()
    for raw in raws:
        clause = clean(raw, partner_keys)
        if clause["key"] in seen:
            clause["key"] = new_key()
        seen.add(clause["key"])
        out.append(clause)
    return out


def canonical(title: str, clauses: list[dict]) -> str:
    """The exact content of a version as one canonical JSON text (what the hash covers)."""
    return json.dumps(
        {"title": title, "clauses": clauses},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def content_hash(title: str, clauses: list[dict]) -> str:
    """SHA-256 (hex) of a version's exact content: an acknowledgement names what it agreed to."""
    return hashlib.sha256(canonical(title, clauses).encode()).hexdigest()


@dataclass(frozen=True)
class Change:
    """One difference between two versions: ``added``, ``changed`` or ``removed``."""

    what: str
    clause: dict
    before: dict | None = None


def _body(clause: dict) -> dict:
    return {k: v for k, v in clause.items() if k != "key"}


def diff(before: list[dict], after: list[dict]) -> list[Change]:
    """What changed from ``before`` to ``after``, in the order of ``after`` (removed last)."""
    old = {c["key"]: c for c in before}
    new_keys = {c["key"] for c in after}
    changes = []
    for clause in after:
        prior = old.get(clause["key"])
        if prior is None:
            changes.append(Change("added", clause))
        elif _body(prior) != _body(clause):
            changes.append(Change("changed", clause, prior))
    changes += [Change("removed", c) for c in before if c["key"] not in new_keys]
    return changes


def fields_changed(change: Change) -> list[str]:
    """The labels of the fields a changed clause changed (for a readable diff)."""
    if change.before is None:
        return []
    labels = {"kind": "Kind", "text": "Wording", "leads": "Roles", "follows": "Roles"}
    labels.update(CONDITIONS)
    out = []
    for field in ("kind", "text", "leads", "follows", *CONDITIONS):
        if (
            change.before.get(field, "") != change.clause.get(field, "")
            and labels[field] not in out
        ):
            out.append(labels[field])
    if change.before.get("signal") != change.clause.get("signal"):
        out.append("Pause signal")
    return out
