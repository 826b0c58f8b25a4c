"""The route sweep's machinery: which rules, which actors, which objects, which URL.

``tests/test_access.py`` holds the policy table (what each actor gets); this module turns a
rule of ``app.url_map`` into concrete URLs for a set of real objects. When a new route takes
an argument the sweep does not know yet, add how to fill it to ``OWN_VALUES`` (and, when it
is not a UUID, to ``MISSING_VALUES``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from urllib.parse import urlsplit

from sqlalchemy import func, select
from werkzeug.routing import Rule
from werkzeug.routing.converters import UUIDConverter

from counselor.extensions import db
from tests.conftest import Account, new_case

#: the column order of every policy row
ACTORS = ("anonymous", "counselor_a", "counselor_b", "admin")
#: endpoints that serve files, not pages; they are not swept
SKIP_ENDPOINTS = {"static", "bootstrap.static"}
SWEPT_METHODS = ("GET", "POST")


@dataclass(frozen=True)
class Redirect:
    """Expect a redirect to this path (``{case_id}`` and friends are filled in); ``why``
    tells a refusal ("sign in first") from a success that lands on the same page."""

    path: str
    why: str = ""

    def __str__(self) -> str:
        return f"302 -> {self.path}"


LOGIN = Redirect("/login", "sign in first")
SIGNED_OUT = Redirect("/login", "signed out")


def sweep_rules(app) -> list[Rule]:
    """Every rule of the app that the sweep must classify."""
    return [r for r in app.url_map.iter_rules() if r.endpoint not in SKIP_ENDPOINTS]


def methods_of(rule: Rule) -> list[str]:
    """The swept methods a rule answers."""
    return [m for m in SWEPT_METHODS if m in rule.methods]


def make_objects(a: Account, b: Account) -> dict[str, uuid.UUID]:
    """A fresh case and counseling session of A (and a case of B), committed; their ids."""
    from counselor.cases.services import save_session

    case = new_case(a, "Sweep case", ("Sweep Partner One", "Sweep Partner Two"))
    session = save_session(
        case,
        {
            "date": date(2026, 3, 2),
            "time": time(10, 0),
            "duration_minutes": 50,
            "agenda": "Sweep agenda",
            "notes": "Sweep private note",
            "next_steps": "Sweep steps",
        },
    )
    b_case = new_case(b, "B's own case", ("B Partner",))
    db.session.commit()
    return {
        "case_id": case.id,
        "partner_id": case.partners[0].id,
        "session_id": session.id,
        "counselor_id": a.id,
        "b_case_id": b_case.id,
    }


#: how to fill each URL argument with A's real objects; a filler gets the ids from
#: ``make_objects`` and may create the object it needs (say, an assignment on o["case_id"])
OWN_VALUES: dict[str, Callable[[dict], object]] = {
    "case_id": lambda o: o["case_id"],
    "partner_id": lambda o: o["partner_id"],
    "session_id": lambda o: o["session_id"],
    "counselor_id": lambda o: o["counselor_id"],
}
#: a value naming nothing, for arguments that are not UUIDs
MISSING_VALUES: dict[str, Callable[[], object]] = {}


class UnknownArgument(LookupError):
    """A rule takes an argument the sweep cannot fill yet."""


def _own(rule: Rule, objects: dict) -> dict:
    values = {}
    for arg in sorted(rule.arguments):
        if arg not in OWN_VALUES:
            raise UnknownArgument(
                f"{rule.endpoint} ({rule.rule}) takes <{arg}>: teach tests/sweep.py OWN_VALUES "
                "how to fill it with one of counselor A's objects."
            )
        values[arg] = OWN_VALUES[arg](objects)
    return values


def _missing_value(rule: Rule, arg: str) -> object:
    if isinstance(rule._converters.get(arg), UUIDConverter):
        return uuid.uuid4()
    if arg not in MISSING_VALUES:
        raise UnknownArgument(
            f"{rule.endpoint} ({rule.rule}) takes <{arg}>: teach tests/sweep.py MISSING_VALUES "
            "a value that names nothing."
        )
    return MISSING_VALUES[arg]()


def variant_names(rule: Rule) -> list[str]:
    """The object variants that apply to a rule (see ``variants``)."""
    names = ["own"]
    if rule.arguments:
        names.append("missing")
    if "case_id" in rule.arguments and len(rule.arguments) > 1:
        names.append("mixed")
    return names


def variants(rule: Rule, objects: dict) -> dict[str, dict]:
    """URL argument values per variant.

    ``own``: A's objects. ``missing``: every id replaced by one that names nothing.
    ``mixed``: B's own case with A's other ids (a session of A's reached through B's case).
    """
    own = _own(rule, objects)
    found = {"own": own}
    if rule.arguments:
        found["missing"] = {arg: _missing_value(rule, arg) for arg in own}
    if "case_id" in own and len(own) > 1:
        found["mixed"] = {**own, "case_id": objects["b_case_id"]}
    return found


def build_url(rule: Rule, values: dict) -> str:
    """The path of ``rule`` with ``values`` filled in."""
    built = rule.build(values, append_unknown=False)
    assert built is not None, f"cannot build {rule.rule} from {values}"
    return built[1]


def outcome(response) -> str:
    """How a response reads in a failure message."""
    if response.status_code in (301, 302, 303, 307, 308):
        return f"{response.status_code} -> {urlsplit(response.location).path}"
    return str(response.status_code)


def matches(expected, response, objects: dict) -> bool:
    """Whether a response is what the policy says."""
    if isinstance(expected, Redirect):
        return response.status_code == 302 and urlsplit(response.location).path == (
            expected.path.format(**objects)
        )
    return response.status_code == expected


_VOLATILE = (
    re.compile(r'nonce="[^"]*"'),
    re.compile(r'(name="csrf_token"[^>]*value=")[^"]*'),
)


def stable_body(response) -> str:
    """The page with its per-request nonces and CSRF tokens blanked, for comparing pages."""
    body = response.get_data(as_text=True)
    for pattern in _VOLATILE:
        body = pattern.sub(lambda m: m.group(1) if m.groups() else "", body)
    return body


def snapshot(objects: dict) -> tuple:
    """What A's objects and account look like in the database right now."""
    from counselor.auth.models import Counselor, LoginSession
    from counselor.cases.models import Case, CounselingSession, Partner

    db.session.expire_all()
    case = db.session.get(Case, objects["case_id"])
    account = db.session.get(Counselor, objects["counselor_id"])
    return (
        case and (case.label, case.status, case.counselor_id),
        tuple(
            (p.id, p.display_name, p.pronouns, p.position)
            for p in db.session.scalars(
                select(Partner)
                .where(Partner.case_id == objects["case_id"])
                .order_by(Partner.position)
            )
        ),
        tuple(
            (s.id, s.starts_at, s.duration_minutes, s.agenda, s.notes, s.next_steps)
            for s in db.session.scalars(
                select(CounselingSession).where(CounselingSession.case_id == objects["case_id"])
            )
        ),
        (account.email, account.name, account.active, account.role, account.password_hash),
        db.session.scalar(select(func.count()).select_from(Case)),
        db.session.scalar(
            select(func.count())
            .select_from(LoginSession)
            .where(
                LoginSession.counselor_id == objects["counselor_id"],
                LoginSession.ended_at.is_(None),
            )
        ),
    )
