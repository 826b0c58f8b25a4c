"""What the benches seed and how they make the app: the data of bench/load.py (counselors,
cases of 2-6 partners with sessions, a submitted desire inventory for a couple and for six
partners, the thirty-item exercise, a year of audit history), all through the app's own
services, and the PostgreSQL plans of the caseload's queries."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

PASSWORD = "bench passphrase for load tests"  # noqa: S105
SECRET = "bench-secret-key-not-for-production"  # noqa: S105

#: a 30-item section: 15 desire items and 15 free-text items, as a long inventory page has
THIRTY = {
    "slug": "bench-thirty",
    "title": "Thirty items",
    "purpose": "A one-page exercise of thirty items for the load benchmark.",
    "kind": "exercise",
    "items": [
        {
            "link_id": "page",
            "type": "group",
            "text": "All on one page",
            "items": [
                *(
                    {
                        "link_id": f"d{i}",
                        "type": "desire",
                        "text": f"Activity number {i}",
                        "roles": [
                            {"key": "give", "label": "Give"},
                            {"key": "receive", "label": "Receive"},
                        ],
                    }
                    for i in range(15)
                ),
                *({"link_id": f"t{i}", "type": "text", "text": f"Question {i}"} for i in range(15)),
            ],
        }
    ],
}
SENTENCE = "We talked about it on Sunday and both felt calmer afterwards; next time slower."


NAMES = ["Sam Rivera", "Alex Novak", "Kim Ito", "Jo Adeyemi", "Ren Park", "Mo Haddad"]


def seed_caseload(counselor, cases: int, tag: str) -> list:
    """``cases`` cases of 2-6 partners with up to three sessions each, through the services."""
    from counselor.cases.services import create_case, save_session
    from counselor.core.models import utcnow
    from counselor.extensions import db

    made = []
    for n in range(cases):
        partners = [{"display_name": NAMES[(n + k) % 6]} for k in range(2 + n % 5)]
        case = create_case(counselor, f"Case {tag} {n:04d}", partners)
        for s in range(n % 4):
            start = utcnow() - timedelta(days=7 * s + n % 7)
            save_session(
                case,
                {
                    "date": start.date(),
                    "time": start.time(),
                    "duration_minutes": 50,
                    "agenda": SENTENCE,
                    "notes": SENTENCE,
                },
            )
        made.append(case)
        if n % 100 == 99:
            db.session.commit()
    db.session.commit()
    return made


def compare_paths(case, assignment) -> dict[str, str]:
    """The pages a counselor reads of a long comparison: its first page (the overview), the
    page of its largest section (the most matrix cells and answers of any section page) and
    the largest page of the first partner's preview: a long preview is shown a section at a
    time, as the partner's shared page is, so its section with the most lines (items, match
    and answer lines), or the whole preview when it is short."""
    from collections import Counter

    from counselor.questionnaires.engine import ANSWERABLE, walk
    from counselor.reveal.services import reader_for_partner, view_for_partner
    from counselor.reveal.shared_pages import shared_page

    base = f"/cases/{case.id}/assignments/{assignment.id}"
    defn = assignment.definition
    largest = max(
        defn.sections, key=lambda s: sum(1 for i in walk(s.items) if i["type"] in ANSWERABLE)
    )
    preview = base + f"/partners/{case.partners[0].id}/preview"
    view = view_for_partner(assignment, case.partners[0].id, as_released=True)
    if shared_page(
        reader_for_partner(assignment, case.partners[0].id, as_released=True), defn, ""
    ).paged:
        lines = Counter()
        for item in view.items:
            lines[defn.section_of(item.link_id).index + 1] += (
                1 + len(item.matches) + len(item.answers)
            )
        preview += f"?section={max(lines, key=lines.get)}"
    return {
        "first": base + "/compare",
        "section": base + f"/compare?section={largest.index + 1}",
        "preview": preview,
    }


def submitted_inventory(case, inventory):
    """The desire inventory assigned to every partner of ``case`` and sent by each (a yes to
    every role), through the portal's own services; the assignment, committed."""
    from counselor.cases import homes
    from counselor.extensions import db
    from counselor.portal import context as portal_context
    from counselor.portal import services as portal
    from counselor.portal import submitting
    from counselor.questionnaires.services import assign

    assignment, _ = assign(case, inventory, [], due_on=None, instructions=None, ttl_days=30)
    db.session.flush()
    for partner in case.partners:
        ctx = portal_context.assignment_context(
            portal_context.PortalContext(partner, homes.home_of(partner)), assignment.id
        )
        answers = {
            i["link_id"]: {
                "roles": {r["key"]: "yes" for r in i["roles"]},
                "hard_limit": False,
                "note": "",
            }
            for i in ctx.definition.questions()
            if i["type"] == "desire"
        }
        portal.save(ctx, answers, ctx.response.revision)
        submitting.submit(ctx, ctx.response.revision)
    db.session.commit()
    return assignment


def thirty_answers(n: int = 0) -> dict:
    """Answers to every item of THIRTY (a full page, as autosave sends after a long edit), each
    desire answer in the shape the portal's script sends (``valueOf`` in conditions.js: every
    role, the limits per role, the tick box, the experience and the note)."""
    desire = {"roles": {"give": "yes", "receive": "maybe"}, "limits": [], "fantasy": False}
    answers = {f"d{i}": {**desire, "experience": "", "note": ""} for i in range(15)}
    answers.update({f"t{i}": f"{SENTENCE} ({n})" for i in range(15)})
    return answers


# ---- seeding through the app's services ----------------------------------------------------


def served_env(database_url: str, instance: Path, **more: str) -> dict:
    """The servers' environment as the benches start them: the bench's secret, a fresh
    encryption key, ``database_url``, the instance folder and ``more``. Also set in this
    process's environment (but for the database's URL, which ``bench_app`` is given), so that
    what this process seeds reads the same settings as the servers."""
    from counselor.config import new_encryption_key

    env = {
        "SECRET_KEY": SECRET,
        "COUNSELOR_ENCRYPTION_KEYS": new_encryption_key(),
        "DATABASE_URL": database_url,
        "BENCH_INSTANCE": str(instance),
        **more,
    }
    os.environ.update({k: v for k, v in env.items() if k != "DATABASE_URL"})
    return env


def bench_app(database_url: str, instance: Path, **more):
    """The app as the benches run it: ``database_url`` (emptied by ``seed``), an instance
    folder of its own, a fresh encryption key unless ``more`` names one."""
    from counselor import create_app
    from counselor.config import new_encryption_key

    return create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": _sa(database_url),
            "SECRET_KEY": SECRET,
            "COUNSELOR_ENCRYPTION_KEYS": new_encryption_key(),
            **more,
        }
    )


def signed_in_client(app, email: str):
    """A Flask test client signed in as ``email`` through the sign-in form (with its CSRF
    token when the app checks one)."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    form = {"email": email, "password": PASSWORD}
    r = client.post("/login", data={**form, **({"csrf_token": token.group(1)} if token else {})})
    assert r.status_code == 302, "bench sign-in failed"
    return client


def seed(app, *, small: int, large: int, audit_rows: int) -> dict:
    """Create the bench data; returns ids and tokens the measures need."""
    from sqlalchemy import select

    from counselor.auth.services import create_counselor
    from counselor.cases.services import create_case
    from counselor.core.audit import AuditEvent
    from counselor.core.models import utcnow
    from counselor.extensions import db
    from counselor.questionnaires.models import Questionnaire
    from counselor.questionnaires.services import load_definition, sync_library

    out: dict = {}
    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_library()
        inventory = db.session.scalar(
            select(Questionnaire).where(Questionnaire.slug == "desires-boundaries")
        ).latest
        counselors = {}
        for key, count in (("small", small), ("mid", 100), ("large", large)):
            c = create_counselor(f"{key}@bench.example", f"Counselor {key}", PASSWORD)
            db.session.flush()
            counselors[key] = c
            seed_caseload(c, count, key)
        out["counselors"] = {k: c.email for k, c in counselors.items()}
        owner = counselors["small"]
        thirty, _ = load_definition(THIRTY, owner.id)
        db.session.commit()

        def submitted(case):
            return submitted_inventory(case, inventory)

        compare, paths = {}, {}
        for size in (2, 6):
            case = create_case(
                owner, f"Compare {size}", [{"display_name": n} for n in NAMES[:size]]
            )
            assignment = submitted(case)
            compare[size] = (str(case.id), str(assignment.id))
            paths[size] = compare_paths(case, assignment)
        out["compare"] = compare
        out["compare_paths"] = paths
        tokens, case = autosave_links(owner, thirty.latest)
        out["autosave_tokens"] = tokens
        out["thirty_version"] = thirty.latest.id
        # The submit measure's pool of couples (bench/submit.py) belongs to a counselor of its
        # own, with its own copy of the exercise: under "small" it would make the caseload of
        # 10 cases a caseload of thousands.
        pool_owner = create_counselor("submit@bench.example", "Counselor submit", PASSWORD)
        db.session.flush()
        pool_thirty, _ = load_definition(THIRTY, pool_owner.id)
        out["counselors"]["submit"] = pool_owner.email
        out["submit_version"] = pool_thirty.latest.id
        db.session.commit()
        out["case"] = str(case.id)
        # A year of audit history (reads and changes), none of it relevant to any page.
        batch = 5000
        for start in range(0, audit_rows, batch):
            rows = [
                {
                    "at": utcnow() - timedelta(minutes=i % 525_600),
                    "actor_kind": "counselor",
                    "actor_id": str(owner.id),
                    "action": "case.view",
                    "object_kind": "case",
                    "object_id": f"{i:032x}",
                    "remote_addr": "",
                }
                for i in range(start, min(start + batch, audit_rows))
            ]
            db.session.execute(AuditEvent.__table__.insert(), rows)
            db.session.commit()
    return out


def autosave_links(owner, version, label: str = "Autosave", count: int = 4) -> tuple[list, object]:
    """Partners who will autosave the thirty-item page of ``version``: one case each, one
    link each (committed, in the app's context); their links' tokens and the last case."""
    from counselor.cases.services import create_case
    from counselor.extensions import db
    from counselor.questionnaires.services import assign

    tokens = []
    for n in range(count):
        case = create_case(owner, f"{label} {n}", [{"display_name": NAMES[n]}])
        _, issued = assign(
            case, version, [], due_on=None, instructions=None, ttl_days=30, links=True
        )
        tokens.append(issued[0].token)
    db.session.commit()
    return tokens, case


def ablated_autosave_tokens(app, data: dict) -> list[str]:
    """``autosave_links`` of their own for a server with promises switched off (bench/ablate.py
    seals without encryption: the real server must never read what it saved), under the
    submit measure's counselor and its copy of the exercise (no measured caseload grows)."""
    from sqlalchemy import select

    from counselor.auth.models import Counselor
    from counselor.extensions import db
    from counselor.questionnaires.models import QuestionnaireVersion

    with app.app_context():
        email = data["counselors"]["submit"]
        owner = db.session.scalar(select(Counselor).where(Counselor.email == email))
        version = db.session.get(QuestionnaireVersion, data["submit_version"])
        return autosave_links(owner, version, "Autosave ablated")[0]


def pool_cases(app, owner_email: str, count: int) -> None:
    """``count`` cases of a couple for the submit pool's owner, then ANALYZE on PostgreSQL,
    as bench/load.py leaves its database before its servers start: its submit pool is some
    6,000 cases of that one counselor (of 7,116), which the server's estimates for a
    counselor's cases reflect. The cases only: their homework is bench/submit.py's."""
    from sqlalchemy import select, text

    from counselor.auth.models import Counselor
    from counselor.cases.services import create_case
    from counselor.extensions import db

    with app.app_context():
        owner = db.session.scalar(select(Counselor).where(Counselor.email == owner_email))
        for n in range(count):
            names = [{"display_name": NAMES[(n + k) % 6]} for k in range(2)]
            create_case(owner, f"Submit {n:05d}", names)
            if n % 200 == 199:
                db.session.commit()
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()


def explain(data: dict) -> None:
    """PostgreSQL plan of the caseload's page statement (its flags included): index scans,
    nothing over other data."""
    from sqlalchemy import select, text

    from counselor.auth.models import Counselor
    from counselor.cases.caseload import _caseload_statement
    from counselor.extensions import db
    from counselor.pages.read_models import CASELOAD_FLAGS

    large = db.session.scalar(
        select(Counselor).where(Counselor.email == data["counselors"]["large"])
    )
    db.session.execute(text("ANALYZE"))
    page = _caseload_statement("active", CASELOAD_FLAGS, page=True).params(
        counselor_id=large.id, offset=0, upto=50
    )
    # bound, not written in: a value the statement hides from the planner (core.sql.run_time)
    # would be text in a literal subquery, not the parameter's type
    compiled = page.compile(dialect=db.engine.dialect)
    conn = db.session.connection()
    plan = [r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)]
    scans = [line.strip() for line in plan if "Scan" in line]
    print("[PostgreSQL] plan of the caseload page: " + "; ".join(scans), flush=True)
    db.session.rollback()


def _sa(url: str) -> str:
    return (
        "postgresql+psycopg://" + url[len("postgresql://") :]
        if url.startswith("postgresql://")
        else url
    )
