"""What a counselor may pull into an agreement: only what EVERY partner of it may already see.

Pure: no Flask, no database. It asks the partner filter (``reveal.views.partner_view``, the
same call as the partners' own pages) what each partner of the agreement is shown of one
released assignment, and offers a line only when all of them are shown it: a match between
two partners only when those two are the whole agreement (nobody else sees their matches),
and a partner's shared answer of a pause-signal or aftercare exercise only when every other
partner of the agreement is shown it. So never a maybe, a no, a limit, a note or a
counselor-only answer, and nothing of a partner outside the agreement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from counselor.questionnaires.engine import Definition, has_answer
from counselor.reveal.views import PartnerInfo, partner_view

#: built-in exercises whose shared answers may become clauses, and the clause kind they make
MATERIAL_EXERCISES = {"pause-signal": "pause_signal", "aftercare-plan": "aftercare"}
#: pause-signal items that fill the pause signal clause's own fields
SIGNAL_ITEMS = {
    "signal.word": "word",
    "signal.nonverbal": "nonverbal",
    "lights.green": "checkin",
    "lights.yellow": "checkin",
    "lights.red": "checkin",
    "lights.other_words": "checkin",
    "after.what": "after",
    "after.avoid": "after",
    "after.resume": "after",
}


@dataclass
class Material:
    """One thing every partner of the agreement may already see, offered as a clause."""

    key: str
    source: str
    label: str
    kind: str
    text: str
    leads: str = ""
    follows: str = ""
    #: for pause-signal answers: the clause field it fills
    signal_field: str = ""
    #: for shared answers: whose answer, to which question, and the answer as text
    author: str = ""
    question: str = ""
    value: str = ""


def offer(
    defn: Definition,
    source_key: str,
    assigned: list,
    answers: Mapping[Any, Mapping[str, Any]],
    members: set,
    *,
    names: Mapping[Any, str],
    all_submitted: bool,
    related: Callable[[Any, Any], bool] | None,
    plain: Callable[[dict, Any], str],
    released: bool = True,
) -> list[Material]:
    """The lines of one assignment every member may already see (see the module docstring).
    ``plain`` renders an answer as text; ``names`` names the partners."""
    if not set(members) <= set(assigned) or not members:
        return []
    # the views name partners by their key as text, so each line says exactly whose it is
    by_text = {str(k): k for k in assigned}
    infos = [PartnerInfo(k, str(k)) for k in assigned]
    views = {
        k: partner_view(
            defn,
            next(i for i in infos if i.key == k),
            infos,
            answers,
            all_submitted=all_submitted,
            released=released,
            related=related,
        )
        for k in members
    }
    if not all(v.visible for v in views.values()):
        return []
    seen_by: dict[tuple, set] = {}
    lines: dict[tuple, tuple] = {}
    for viewer, view in views.items():
        for item in view.items:
            for m in item.matches:
                other = by_text[m.other]
                sides = frozenset(((viewer, m.viewer_role), (other, m.other_role)))
                key = (item.link_id, "match", sides, m.cls)
                seen_by.setdefault(key, set()).add(viewer)
                lines.setdefault(key, (item, viewer, other, m))
            for a in item.answers:
                author = by_text[a.other]
                key = (item.link_id, "answer", author, json.dumps(a.value, sort_keys=True))
                seen_by.setdefault(key, set()).add(viewer)
                lines[key] = (item, author, a)
    found: list[Material] = []
    slug = defn.doc["slug"]
    for key, line in lines.items():
        if key[1] == "match":
            pair = {who for who, _ in key[2]}
            if pair != set(members) or seen_by[key] != set(members):
                continue
            item, viewer, other, m = line
            if m.cls == "complementary":
                # the item's first role gives or leads (give/receive, lead/follow)
                first = defn.by_id[item.link_id]["roles"][0]["label"]
                giver, taker = (viewer, other) if m.viewer_role == first else (other, viewer)
                leads, follows = str(giver), str(taker)
                said = f"{names[viewer]}: {m.viewer_role} · {names[other]}: {m.other_role}"
            else:
                leads = follows = ""
                said = f"Both want this ({m.viewer_role.lower()})"
            roles = sorted(f"{who}={role}" for who, role in key[2])
            found.append(
                Material(
                    key=f"{source_key}:{item.link_id}:{m.cls}:{'|'.join(roles)}",
                    source=defn.title,
                    label=f"{item.text} — {said}",
                    kind="activity",
                    text=item.text,
                    leads=leads,
                    follows=follows,
                )
            )
            continue
        item, author, a = line
        kind = MATERIAL_EXERCISES.get(slug)
        if kind is None or author not in members:
            continue
        if seen_by[key] != set(members) - {author} or not has_answer(a.value):
            continue
        value = plain(a.item, a.value)
        found.append(
            Material(
                key=f"{source_key}:{item.link_id}:{author}",
                source=defn.title,
                label=f"{names[author]}: {value} — {item.text.rstrip(' ?:.')}",
                kind=kind,
                text=value,
                signal_field=SIGNAL_ITEMS.get(item.link_id, "") if kind == "pause_signal" else "",
                author=names[author],
                question=item.text.rstrip(" ?:."),
                value=value,
            )
        )
    return found
