"""The comparison's rows as HTML: the matrix's rows (one cell per pair) and the answers side by
side. Pure: no Flask, no database.

A section of six partners has some 240 matrix cells and 126 answers; a template spent about
ten calls, look-ups and escapes on each of them. Here a row is one string: what belongs to the
item alone (its anchors, question, section and sharing badge) is written out once per parsed
definition (``Definition.derived``), and what belongs to the answers (each pair's classes and
who does what, each partner's answer under their name) is made per request. Every text from a
definition, a name or an answer passes through ``escape`` (or ``answer_html.escaped``, the
same escaping of a str, without making a Markup of each line); constant markup does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, NamedTuple

from markupsafe import Markup, escape

from counselor.questionnaires import engine
from counselor.questionnaires.answer_html import answer_html, escaped
from counselor.reveal.matching import CLASS_LABELS, PairResult, who_does_what

#: a class's badge in a matrix cell that leads with it, and as one of the cell's other classes
_LEAD = {
    c: f'<span class="cls cls-{c}">{escape(label)}</span>' for c, label in CLASS_LABELS.items()
}
_ALSO = {
    c: f' <span class="cls cls-{c} cls-also">{escape(label)}</span>'
    for c, label in CLASS_LABELS.items()
}
#: who may see an item's answers, as its badge in the side-by-side answers says it
_SHARE = {
    "counselor_only": ("share-counselor_only", "only you"),
    "mutual": ("share-mutual", "shared on a match"),
    "shared": ("share-shared", "shared after release"),
}
#: between a row's cells, and between its answers (the page's indentation)
_BETWEEN = "\n        "


def built(html: str) -> Markup:
    """Markup assembled in this module: constant tags, and texts passed through ``escape``."""
    return Markup(html)  # noqa: S704 - every text in it was escaped here


@cache  # a pair has one of a few dozen combinations of classes
def _badges(classes: tuple[str, ...], lead: str) -> str:
    """A cell's badges: the class it leads with, then its other classes."""
    return _LEAD[lead] + "".join(_ALSO[c] for c in classes if c != lead)


def _cell(classes: tuple[str, ...], lead: str, lines: list[str]) -> str:
    """One pair's matrix cell: its classes and who leads or gives in its matches and limits."""
    if not lines:
        return f'<td class="cell">{_badges(classes, lead)}</td>'
    items = "".join(f"<li>{escaped(line)}</li>" for line in lines)
    return (
        f'<td class="cell">{_badges(classes, lead)}'
        f'<ul class="who-does-what list-unstyled small mb-0 mt-1">{items}</ul></td>'
    )


def cells(
    item: dict, pairs: Iterable[tuple[PairResult, tuple[str, str]]], roles: Mapping[str, str]
) -> str:
    """A desire row's matrix cells, one per pair with its two names, each saying who does
    what in it (``roles``: ``matching.role_labels(item)``)."""
    out = []
    for pr, (name_a, name_b) in pairs:
        lines = who_does_what(item, pr, name_a, name_b, roles)
        out.append(_cell(pr.classes, pr.cls, lines))
    return _BETWEEN.join(out)


def answers(item: dict, names: Iterable[tuple[str, Any]]) -> str:
    """A row's answers side by side: (escaped name, answer) in partner order."""
    return _BETWEEN.join(
        f'<div class="col-md"><div class="answer-cell-name">{name}</div>'
        f"<div>{answer_html(item, value)}</div></div>"
        for name, value in names
    )


class Head(NamedTuple):
    """What an item's rows show of the item alone, as HTML."""

    #: the matrix row's opening, up to its cells
    row: str
    #: the same, naming the item's section (a page of items from several sections)
    row_located: str
    #: the answer block's opening, up to the answers
    block: str
    #: the same, with a link back to the item's matrix row
    block_linked: str
    #: the answer block's end
    block_end: str


def _heads(defn: engine.Definition) -> Mapping[str, Head]:
    """Per answerable item, its ``Head``."""
    out = {}
    for section in defn.sections:
        where = f"{section.index + 1}. {escape(section.title or defn.title)} · "
        for item in engine.walk(section.items):
            if item["type"] not in engine.ANSWERABLE:
                continue
            lid, text = escape(item["link_id"]), escape(item["text"])
            css, says = _SHARE[engine.share_of(item)]
            edge = " counselor-only" if css == "share-counselor_only" else ""
            row = '      <tr id="row-{lid}">\n        <th scope="row" class="fw-normal">{text}'
            link = (
                '<div class="small text-body-secondary">{where}<a href="#answers-{lid}">Answers'
                ' and notes<span class="visually-hidden"> for this item</span></a></div></th>'
                + _BETWEEN
            )
            block = (
                f'    <div class="answer-block{edge}" id="answers-{lid}">\n'
                f'      <div class="answer-question">{text} <span class="badge share-badge'
                f' {css}">{says}</span>'
            )
            back = (
                f' <a class="small fw-normal" href="#row-{lid}">Back to its row<span'
                ' class="visually-hidden"> in the matrix</span></a>'
            )
            opened = '</div>\n      <div class="row g-2">' + _BETWEEN
            out[item["link_id"]] = Head(
                row.format(lid=lid, text=text) + link.format(where="", lid=lid),
                row.format(lid=lid, text=text) + link.format(where=where, lid=lid),
                block + opened,
                block + back + opened,
                "\n      </div>\n    </div>",
            )
    return out


def heads(defn: engine.Definition) -> Mapping[str, Head]:
    """``_heads`` of a definition, worked out once per parsed definition."""
    return defn.derived("comparison row heads", _heads)
