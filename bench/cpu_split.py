"""Where a request's CPU time goes, page by page, next to the bare reference.

    python bench/cpu_split.py                       # SQLite scratch file, 300 requests a page
    python bench/cpu_split.py --pg-url postgresql://postgres@127.0.0.1:5432/perf_bench
    python bench/cpu_split.py --pages caseload,case --requests 500
    python bench/cpu_split.py --pages "comparison section,comparison preview" --requests 20 --rounds 10
    python bench/cpu_split.py --pages caseload --cases 1000 --requests 60 --rounds 5

Seeds the same data as bench/load.py (caseloads of 10, 100 and --cases cases, the last two a
full page of 50; a couple and six partners with the submitted desire inventory, a thirty-item exercise, and for the submit one partner with
complete unsent answers per request, see bench/submit.py) through the app's services, then drives
each page in process through the Flask test client: first plain, to time the CPU per request
(``time.process_time``, so a busy machine does not inflate it), then under cProfile, to split
that time. bench/ref_app.py's two endpoints are timed the same way for the ratio; with
``--rounds`` each page is timed against the reference alternately instead (reference, page,
reference, round after round), and its ratio is the median of the rounds'.

The split has two parts. *Promises* are the cumulative time of the functions that keep one:
opening and sealing encrypted columns (encryption at rest), writing and committing the audit
row of the read (the audit promise; on a read page the view's commit carries nothing else), and
resolving the server-side login or portal session (sign-out and timeouts that work; on the
portal the session's record is read by the statement that reads the partner and their
homework, which is not counted here). *The rest* is the
self time of every other function, by the package it lives in. cProfile's own overhead falls
on every call alike, so the shares, not the profiled milliseconds, are what to read.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import itertools
import json
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness, seed, submit  # noqa: E402

#: promise -> (file suffix, function name) whose cumulative time is that promise's cost
PROMISES = {
    # the opening and the sealing themselves (the column descriptor's cache and look-ups
    # around them are not counted); a save or a submit seals what it writes
    "encryption (opening and sealing)": [
        ("counselor/core/crypto.py", "_unseal_all"),
        ("counselor/core/crypto.py", "encrypt"),
    ],
    "audit row and its commit": [
        ("counselor/core/audit.py", "record"),
        ("sqlalchemy/orm/scoping.py", "commit"),
    ],
    # none of these calls another (a cumulative time counted twice would inflate the share)
    "login or portal session": [
        ("counselor/auth/services.py", "load_login_session"),
        # the portal cookie's signature and age, the session id's hash (the record's key),
        # the record's age, idle PIN and touch and whether what opened it still works, and
        # the session-bound CSRF token's HMAC: every portal request, the save and submit
        # (``resolve_changing``) as the other pages (``resolve``, whose statement is not
        # counted: it reads the partner too)
        ("counselor/portal/session.py", "cookie_sid"),
        ("counselor/portal/session.py", "by_sid"),
        ("counselor/portal/context.py", "_session_of"),
        ("counselor/portal/session.py", "check_csrf"),
    ],
    # what a submit sets off: the items' alert rules, the features' own rules (a debrief
    # asking to slow down), the mail of an urgent or review alert (the counselor's notice of
    # the submit itself is made by the worker's sweep, counselor.mail.submitted, not here)
    "alert rules and notifications": [
        ("counselor/alerts/services.py", "evaluate_alerts"),
        ("counselor/steps/services.py", "_debrief_sent"),
        ("counselor/mail/notify.py", "alerts_raised"),
    ],
    # the outbox's drain: its flag (written in the transaction on SQLite, so also inside the
    # notifications above; after the commit elsewhere) and a drain task handed to the broker
    # when none is pending (after the commit, so also inside the commit above); a submit
    # hands nothing over unless an alert was mailed (bench/notice_cost.py: the worker's side)
    "mail handed to the broker": [
        ("counselor/mail/services.py", "publish"),
        ("counselor/mail/drain.py", "asked"),
        ("counselor/mail/drain.py", "committed"),
    ],
}

#: self time of the rest, by where the function lives (first match wins)
PACKAGES = [
    ("database driver", ("sqlite3", "psycopg", "{method 'execute'", "{method 'fetch")),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("Jinja templates", ("jinja2/", "markupsafe", "/templates/")),
    ("Flask, Werkzeug, Flask-Login, WTForms", ("flask", "werkzeug/", "wtforms/", "itsdangerous")),
    ("Counselor's own code", ("counselor/",)),
]


def _key_matches(key, wanted) -> bool:
    filename, _line, name = key
    return any(filename.endswith(f) and name == n for f, n in wanted)


def split(stats: pstats.Stats, requests: int) -> dict[str, float]:
    """Milliseconds per request (profiled) by promise and by package."""
    raw = stats.stats  # {(file, line, name): (cc, nc, tottime, cumtime, callers)}
    out: dict[str, float] = {}
    for promise, wanted in PROMISES.items():
        out[promise] = (
            sum(v[3] for k, v in raw.items() if _key_matches(k, wanted)) * 1000 / requests
        )
    rest: dict[str, float] = {name: 0.0 for name, _ in PACKAGES}
    rest["Python and the rest"] = 0.0
    for (filename, _line, name), value in raw.items():
        where = f"{filename} {name}"
        for label, needles in PACKAGES:
            if any(n in where for n in needles):
                rest[label] += value[2]
                break
        else:
            rest["Python and the rest"] += value[2]
    total = sum(v[2] for v in raw.values()) * 1000 / requests
    out.update({k: v * 1000 / requests for k, v in rest.items()})
    out["total"] = total
    return out


def calls(requests: int) -> int:
    """How many times ``measure`` calls its function: warm-up, timed, profiled."""
    return max(20, requests // 10) + 2 * requests


def measure(fn, requests: int) -> tuple[float, dict[str, float]]:
    """CPU ms per request of ``fn`` unprofiled, and its split under cProfile."""
    for _ in range(max(20, requests // 10)):
        fn()
    t0 = time.process_time()
    for _ in range(requests):
        fn()
    cpu = (time.process_time() - t0) * 1000 / requests
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        fn()
    profiler.disable()
    return cpu, split(pstats.Stats(profiler), requests)


def interleaved(fn, reference, requests: int, rounds: int) -> tuple[float, float, float]:
    """CPU ms per request of ``fn`` and of ``reference``, timed alternately (reference, page,
    reference) in ``rounds`` rounds of ``requests`` each, and the median of the rounds'
    ratios (reference CPU / page CPU): a busy machine slows both alike within a round."""
    for _ in range(max(10, requests)):
        fn()
        reference()

    def cpu(f) -> float:
        t0 = time.process_time()
        for _ in range(requests):
            f()
        return (time.process_time() - t0) * 1000 / requests

    pages, refs, ratios = [], [], []
    for _ in range(rounds):
        before, page, after = cpu(reference), cpu(fn), cpu(reference)
        pages.append(page)
        refs += [before, after]
        ratios.append((before + after) / 2 / page)
    return statistics.mean(pages), statistics.mean(refs), statistics.median(ratios)


def project_pages(
    url: str, tmp: Path, submits: int = 0, cases: int = 1000, pool_cases: int = 0
) -> dict:
    """The app on a scratch database, seeded; returns name -> a function making one request
    (``submits``: partners with complete unsent answers to seed for the submit; ``cases``:
    the large caseload's size; ``pool_cases``: couples' cases of the submit pool's owner,
    see ``seed.pool_cases``)."""
    app = seed.bench_app(url, tmp / "instance")
    data = seed.seed(app, small=10, large=cases, audit_rows=2000)
    if pool_cases:
        seed.pool_cases(app, data["counselors"]["submit"], pool_cases)
    counselor = seed.signed_in_client(app, data["counselors"]["small"])
    gets = {
        "caseload, 10 cases": "/cases",
        "case page": f"/cases/{data['case']}",
        **{
            # the first page, the largest section's page and one partner's preview
            f"comparison {page}, {size} partners": data["compare_paths"][size][page]
            for page in ("first", "section", "preview")
            for size in (2, 6)
        },
    }
    pages = {}
    for name, path in gets.items():
        assert counselor.get(path).status_code == 200, path

        def get(path=path):
            return counselor.get(path)

        pages[name] = get

    # full pages of 50 rows: the first of a caseload of 100 and of ``cases``
    for key, size in (("mid", 100), ("large", cases)):
        client = seed.signed_in_client(app, data["counselors"][key])
        assert client.get("/cases").status_code == 200
        pages[f"caseload, {size:,} cases"] = functools.partial(client.get, "/cases")

    autosave = autosaver(app, data["autosave_tokens"][0])
    autosave()
    pages["portal autosave, 30 items"] = autosave
    if submits:
        pages["portal submit, 30 items"] = submit_sender(app, data, submits)
    return pages


def opened_link(app, token: str) -> tuple:
    """A Flask test client that opened the per-assignment link ``token`` as a phone does (the
    landing page's button), its portal CSRF token and the revision of its answers."""
    partner = app.test_client()
    landing = partner.get(f"/l/{token}").get_data(as_text=True)
    button = re.search(r'name="csrf_token" value="([^"]+)"', landing).group(1)
    partner.post(f"/l/{token}", data={"csrf_token": button})
    section = partner.get("/p/s/1").get_data(as_text=True)
    csrf = re.search(r'data-csrf="([^"]+)"', section).group(1)
    return partner, csrf, harness.revision_of(section)


def autosaver(app, token: str, change_one: bool = False):
    """A function that autosaves all thirty answers as the partner of the per-assignment link
    ``token`` (opened here as a phone would), from the revision the last save left. As a phone
    sends them, every answer of the section each time; with ``change_one`` one of them (the
    note or text of the next item in turn) differs from what the save before sent, as when the
    partner typed; without it the answers stay the same from save to save."""
    partner, portal_csrf, revision = opened_link(app, token)
    state = {"revision": revision}
    answers = seed.thirty_answers()
    saves = itertools.count()

    def autosave():
        if change_one:
            n = next(saves)
            link_id = list(answers)[n % len(answers)]
            was = answers[link_id]  # a desire's answer (its note) or a text
            typed = f"typed {n}"
            answers[link_id] = {**was, "note": typed} if isinstance(was, dict) else typed
        r = partner.post(
            "/p/autosave",
            json={"revision": state["revision"], "answers": answers},
            headers={"X-CSRF-Token": portal_csrf},
        )
        body = r.get_json()
        assert r.status_code == 200, body
        state["revision"] = body["revision"]
        return r

    return autosave


def submit_sender(app, data: dict, count: int):
    """A function that submits the next of ``count`` partners with complete unsent answers
    (bench/submit.py's pool, sessions open): every call sends a response never sent before,
    so nothing is reset between requests and nothing but the request is timed."""
    pool = iter(submit.seed_pool(app, data["counselors"]["submit"], data["submit_version"], count))
    client = app.test_client(use_cookies=False)

    def send():
        p = next(pool)
        r = client.post(
            p["path"],
            data={"csrf_token": p["csrf"], "revision": p["revision"]},
            headers={"Cookie": p["cookie"]},
        )
        assert r.status_code == 302, r.get_data(as_text=True)
        return r

    return send


def reference_pages(url: str) -> dict:
    """bench/ref_app.py on the same kind of database."""
    os.environ["REF_DATABASE_URL"] = url
    import importlib

    from bench import ref_app

    ref_app = importlib.reload(ref_app)  # its engine is made at import, from the variable
    ref_app.create_schema(ref_app.url())
    client = ref_app.app.test_client()
    form = {f"f{i}": f"{seed.SENTENCE} {i}" for i in range(30)}
    return {
        "page": lambda: client.get("/page"),
        "save": lambda: client.post("/save", data=form),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="", help="a PostgreSQL bench database (emptied)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pages", default="", help="comma-separated page names to keep")
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="time each page against the reference alternately in this many rounds of "
        "--requests each (the ratio is the median of the rounds'), then profile it",
    )
    parser.add_argument(
        "--cases", type=int, default=1000, help="cases of the large caseload (a full page)"
    )
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave the objects made at start-up to the garbage collector (wsgi.py freezes them)",
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="counselor-profile-"))
    url = args.pg_url or f"sqlite:///{tmp / 'profile.sqlite3'}"
    ref = reference_pages(args.pg_url or f"sqlite:///{tmp / 'reference.sqlite3'}")
    ref_cpu = {name: measure(fn, args.requests * 3)[0] for name, fn in ref.items()}
    keep = [p.strip() for p in args.pages.split(",") if p.strip()]
    wants_submit = not keep or any(p in "portal submit, 30 items" for p in keep)
    submits = calls(args.requests) if wants_submit else 0
    pages = project_pages(url, tmp, submits, args.cases)
    if not args.no_gc_freeze:
        gc.collect()
        gc.freeze()  # as wsgi.py does once the app is made
    if keep:
        pages = {k: v for k, v in pages.items() if any(p in k for p in keep)}
    database = "PostgreSQL" if args.pg_url else "SQLite"
    print(
        f"\n{database}; reference in process: page {ref_cpu['page']:.2f} ms, "
        f"30-field save {ref_cpu['save']:.2f} ms CPU per request\n"
    )
    rows = {}
    for name, fn in pages.items():
        cpu, parts = measure(fn, args.requests)
        reference = ref_cpu["save" if "portal" in name else "page"]
        ratio = reference / cpu
        if args.rounds and "submit" not in name:  # a submit spends a seeded partner a call
            cpu, reference, ratio = interleaved(
                fn, ref["save" if "portal" in name else "page"], args.requests, args.rounds
            )
        rows[name] = (cpu, reference, parts, ratio)
    names = list(rows)
    print("| share of profiled CPU | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    print("| **CPU ms per request** | " + " | ".join(f"**{rows[n][0]:.2f}**" for n in names) + " |")
    if args.rounds:
        print(
            "| reference CPU ms, same rounds | "
            + " | ".join(f"{rows[n][1]:.2f}" for n in names)
            + " |"
        )
    print(
        "| ratio in process (reference CPU / page CPU) | "
        + " | ".join(f"{rows[n][3]:.3f}" for n in names)
        + " |"
    )
    labels = [k for k in next(iter(rows.values()))[2] if k != "total"]
    for label in labels:
        kind = "promise (inclusive): " if label in PROMISES else "self time: "
        cells = [f"{100 * rows[n][2][label] / rows[n][2]['total']:.0f}%" for n in names]
        print(f"| {kind}{label} | " + " | ".join(cells) + " |")
    print()
    print(
        json.dumps(
            {n: {"cpu_ms": round(rows[n][0], 3), "ratio": round(rows[n][3], 3)} for n in names}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
