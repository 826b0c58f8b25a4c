"""Definition engine benchmark: portal sections and the comparison page at the import limits.

    python bench/engine.py [--runs 10]

Builds ``definition_at_limits()`` (the import limits reached together: 1,000 items, groups 8
levels deep, a condition chain 98 deep, choice items with 100 options, and as many conditions
as the size limit leaves room for), imports it through the real validation, assigns it to a
couple on a scratch SQLite database, fills in both partners' answers so that every item is
shown, releases it, and prints the median and worst time of a GET of each portal section, the
partner's shared view and the counselor's comparison page (through the Flask test client,
templates included), with the CPU time of each.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scratch import scratch_config  # noqa: E402
from counselor.questionnaires.parsing import (  # noqa: E402
    MAX_CONDITIONS,
    MAX_DEFINITION_CHARS,
    MAX_ITEMS,
    MAX_NESTING,
    MAX_OPTIONS,
)
from counselor.questionnaires.schema import validate_definition  # noqa: E402

SECTIONS = 10
#: questions per condition layer; each reads questions of the layers before, so the chain is
#: as deep as there are layers (98)
LAYER = 10
#: choice items with the most options the limits allow (the size limit caps how many)
WIDE_CHOICES = 5
ROLES = [
    {"key": "g", "label": "Give", "counterpart": "r"},
    {"key": "r", "label": "Receive", "counterpart": "g"},
]


def _question(n: int, busy: int) -> dict:
    """Question ``n``: shown when a question of the layer before is answered; the first
    ``busy`` questions read MAX_CONDITIONS questions of the two layers before instead."""
    kind = ("boolean", "choice", "desire", "text")[n % 4]
    item: dict = {"link_id": f"q{n}", "type": kind, "text": f"Q{n}"}
    if kind == "choice":
        wide = n % (MAX_ITEMS // WIDE_CHOICES) == 1
        count = MAX_OPTIONS if wide else 4
        item["options"] = [{"value": f"o{k}", "label": f"Option {k}"} for k in range(count)]
    if kind == "desire":
        item["roles"] = ROLES if n % 40 == 2 else [{"key": "t", "label": "Together"}]
    if kind == "boolean":
        item["share"] = "shared"
    layer = n // LAYER
    if layer:
        reads = MAX_CONDITIONS if n < busy else 1
        first = max(0, layer * LAYER - reads)
        item["enable_when"] = [
            {"question": f"q{k}", "operator": "exists"} for k in range(first, layer * LAYER)
        ]
        if len(item["enable_when"]) > 1:
            item["enable_behavior"] = "any"
    return item


def _build(busy: int) -> dict:
    nested = MAX_NESTING - 2  # groups inside the last section, whose items list is level 2
    questions = MAX_ITEMS - SECTIONS - nested
    per_section = questions // SECTIONS
    counts = [per_section] * (SECTIONS - 1) + [questions - per_section * (SECTIONS - 1)]
    items, n = [], 0
    for s, count in enumerate(counts):
        body = [_question(k, busy) for k in range(n, n + count)]
        n += count
        if s == SECTIONS - 1:
            for level in range(nested):  # the last section holds its questions 8 levels deep
                body = [{"link_id": f"deep{level}", "type": "group", "text": "More", "items": body}]
        items.append({"link_id": f"s{s}", "type": "group", "text": f"Part {s}", "items": body})
    return {
        "slug": "at-the-limits",
        "title": "At the limits",
        "purpose": "Every import limit reached at once.",
        "kind": "exercise",
        "items": items,
    }


def definition_at_limits() -> dict:
    """A definition at the import limits: 1,000 items, groups 8 deep, a chain 98 deep, choice
    items with 100 options, and as many conditions as the size limit leaves room for."""
    busy = 0
    while len(json.dumps(_build(busy + LAYER), separators=(",", ":"))) <= MAX_DEFINITION_CHARS:
        busy += LAYER
    doc = _build(busy)
    errors = validate_definition(doc)
    assert errors == [], errors[:3]
    return doc


def answer_everything(defn) -> dict:
    """Answers to every question, so that every item is shown."""
    values = {"boolean": True, "choice": "o1", "text": "Some words " * 20}
    return {
        item["link_id"]: values.get(item["type"])
        or {"roles": {r["key"]: "yes" for r in item["roles"]}, "hard_limit": False, "note": ""}
        for item in defn.questions()
    }


def _timed(client, path: str, runs: int) -> tuple[list[float], list[float]]:
    """(wall-clock times, CPU times) of ``runs`` GETs of ``path`` after one warm-up.

    The test client runs the request in this process, so the CPU time is what the request
    cost, whatever else the machine is doing; the wall-clock time includes waiting for a core.
    """
    client.get(path)  # warm-up: template compilation, caches
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        r = client.get(path)
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
        assert r.status_code == 200, (path, r.status_code)
    return wall, cpu


def _ms(times: tuple[list[float], list[float]]) -> str:
    wall, cpu = times
    return (
        f"median {statistics.median(wall) * 1000:.0f} ms (max {max(wall) * 1000:.0f} ms), "
        f"CPU median {statistics.median(cpu) * 1000:.0f} ms"
    )


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    from counselor import create_app
    from counselor.auth.services import create_counselor
    from counselor.cases.services import create_case
    from counselor.core.models import utcnow
    from counselor.extensions import db
    from counselor.questionnaires.services import assign, load_definition

    app = create_app(scratch_config("counselor-bench-engine-"))
    doc = definition_at_limits()
    with app.app_context():
        db.create_all()
        counselor = create_counselor("bench@example.org", "Bench Counselor", "bench-password-1")
        case = create_case(
            counselor, "Sam & Alex", [{"display_name": "Sam"}, {"display_name": "Alex"}]
        )
        _, version = load_definition(doc, counselor.id)
        assignment, issued = assign(
            case, version, [], due_on=None, instructions=None, ttl_days=30, links=True
        )
        defn = version.definition
        for response in assignment.responses:
            response.answers = answer_everything(defn)
            response.status = "submitted"
            response.submitted_at = utcnow()
        assignment.released_at = utcnow()
        db.session.commit()
        token = issued[0].token
        # every section on one page: a comparison this long is otherwise shown a section at a time
        compare = f"/cases/{case.id}/assignments/{assignment.id}/compare?section=all"
        sections = len(defn.sections)
        conditions = sum(len(i.get("enable_when") or ()) for i in defn.by_id.values())

    print(
        f"definition at the limits: {len(defn.order)} items, {sections} sections, "
        f"{conditions:,} conditions, {len(json.dumps(doc, separators=(',', ':'))):,} characters of JSON"
    )
    partner = app.test_client()
    landing = partner.get(f"/l/{token}").get_data(as_text=True)  # the page with one button
    button = re.search(r'name="csrf_token" value="([^"]+)"', landing)
    assert button, "no button on the landing page"
    assert partner.post(f"/l/{token}", data={"csrf_token": button[1]}).status_code == 302
    per_section: tuple[list[float], list[float]] = ([], [])
    for n in range(1, sections + 1):
        times = _timed(partner, f"/p/s/{n}", args.runs)
        per_section[0].extend(times[0])
        per_section[1].extend(times[1])
        print(f"  portal section {n:2d}: {_ms(times)}")
    print(f"portal section, all {sections}: {_ms(per_section)} over {args.runs} runs each")
    print(f"portal overview: {_ms(_timed(partner, '/p/', args.runs))}")
    print(f"portal shared view (released): {_ms(_timed(partner, '/p/shared', args.runs))}")
    counselor_client = app.test_client()
    counselor_client.post(
        "/login", data={"email": "bench@example.org", "password": "bench-password-1"}
    )
    print(f"comparison page: {_ms(_timed(counselor_client, compare, args.runs))}")


if __name__ == "__main__":
    main()
