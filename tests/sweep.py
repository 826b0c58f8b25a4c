"""The route sweep's machinery: which rules, which actors, which objects, which URL.

``tests/test_access.py`` holds the policy table (what each actor gets); this module turns a
rule of ``app.url_map`` into concrete URLs for a set of real objects. When a new route takes
an argument the sweep does not know yet, add how to fill it to ``OWN_VALUES`` (and, when it
is not a UUID, to ``MISSING_VALUES``).
"""

from __future__ import annotations

import functools
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select
from werkzeug.routing import Rule
from werkzeug.routing.converters import UUIDConverter

from counselor.extensions import db
from tests.support import CANARY, Account, canary, new_case

#: the column order of every policy row; "partner" is a browser holding a portal session
#: of one of A's partners (it opened that partner's personal link), signed in nowhere
ACTORS = ("anonymous", "counselor_a", "counselor_b", "admin", "partner")
#: endpoints that serve files, not pages; they are not swept
SKIP_ENDPOINTS = {"static", "bootstrap.static"}
SWEPT_METHODS = ("GET", "POST")
#: the built-in questionnaire the sweep's assignments use: text items to plant canaries in,
#: a "shared" text item, and an alert rule
SWEEP_QUESTIONNAIRE = "consent-check-in"
#: what a "ready" export holds (the download only hands the stored bytes back)
SWEEP_PDF = b"%PDF-1.4\n% sweep export\n%%EOF\n"


@dataclass(frozen=True)
class Redirect:
    """Expect a redirect to this path (``{case_id}`` and friends are filled in; ``{new}``
    stands for the id of an object the request creates); ``why`` tells a refusal ("sign in
    first") from a success that lands on the same page."""

    path: str
    why: str = ""

    def __str__(self) -> str:
        return f"302 -> {self.path}"

    def pattern(self, objects: dict) -> re.Pattern:
        parts = self.path.split("{new}")
        return re.compile("[^/]+".join(re.escape(p.format(**objects)) for p in parts))


LOGIN = Redirect("/login", "sign in first")
SIGNED_OUT = Redirect("/login", "signed out")


def sweep_rules(app) -> list[Rule]:
    """Every rule of the app that the sweep must classify."""
    return [r for r in app.url_map.iter_rules() if r.endpoint not in SKIP_ENDPOINTS]


def methods_of(rule: Rule) -> list[str]:
    """The swept methods a rule answers."""
    return [m for m in SWEPT_METHODS if m in rule.methods]


def is_portal(rule: Rule) -> bool:
    """A partner-portal rule: it knows no counselor, only the portal session (or a token).
    Features above the portal (agreements) serve their partner pages under /p/ too."""
    return rule.endpoint.partition(".")[0] == "portal" or rule.rule.startswith("/p/")


@functools.cache
def _library_doc(slug: str) -> dict:
    """A built-in definition as shipped, read once per run (it is never changed)."""
    from counselor.questionnaires.services import library_files

    return next(doc for _, doc in library_files() if doc["slug"] == slug)


def _library_questionnaire(slug: str = SWEEP_QUESTIONNAIRE):
    """A built-in questionnaire, loading it (alone: every sweep test starts from an empty
    database, and the whole library costs half a second) on first use."""
    from counselor.questionnaires.models import Questionnaire
    from counselor.questionnaires.services import load_definition

    found = db.session.scalar(
        select(Questionnaire).where(Questionnaire.slug == slug, Questionnaire.owner_id.is_(None))
    )
    if found is None:
        found, _ = load_definition(_library_doc(slug), None)
        db.session.commit()
    return found


def _own_questionnaire(a: Account):
    """A's own (imported) questionnaire: every counselor but A gets the missing page for it."""
    from counselor.questionnaires.models import Questionnaire
    from counselor.questionnaires.services import load_definition
    from tests.support import small_definition

    found = db.session.scalar(
        select(Questionnaire).where(
            Questionnaire.slug == "sweep-own", Questionnaire.owner_id == a.id
        )
    )
    if found is None:
        found, _ = load_definition(small_definition("sweep-own"), a.id)
    return found


def _submitted(response, answers: dict) -> None:
    from counselor.core.models import utcnow

    response.answers = answers
    response.status = "submitted"
    response.submitted_at = utcnow()


def _check_in(private: str, shared: str | None = None) -> dict:
    """Answers to the sweep's questionnaire: ``private`` in an item only the counselor sees
    (comfort 2 meets the item's alert rule), ``shared`` in one shown to the others once the
    counselor releases the results."""
    answers = {"agreements.comfort": 2, "agreements.change": private, "wellbeing.pressure": 0}
    if shared is not None:
        answers["agreements.working"] = shared
    return answers


def _assignment(case, partners=None, *, due_in_days: int | None = 14):
    """Assign the sweep's questionnaire through the service; (assignment, issued links)."""
    from counselor.core.models import to_local, utcnow
    from counselor.questionnaires.services import assign

    due = to_local(utcnow()).date() + timedelta(days=due_in_days) if due_in_days else None
    return assign(
        case,
        _library_questionnaire().latest,
        [p.id for p in partners] if partners else [],
        due_on=due,
        instructions=None,
        ttl_days=None,
        links=True,
    )


def make_objects(a: Account, b: Account) -> dict:
    """Fresh objects of A (and a case of B), committed; their ids and the raw link token.

    A's case has a counseling session, an assignment of a built-in questionnaire (released,
    due in two weeks) whose partners submitted answers holding canaries, their personal
    links, an open alert and a ready export.
    """
    from counselor.alerts.models import Alert
    from counselor.cases.services import save_session
    from counselor.core.models import utcnow
    from counselor.reports.services import request_export
    from counselor.reports.worker import claim, finish

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
    assignment, issued = _assignment(case)
    first = case.partners[0]
    responses = {r.partner_id: r for r in assignment.responses}
    for n, partner in enumerate(case.partners):
        _submitted(responses[partner.id], _check_in(canary(f"sweep{n}")))
    assignment.released_at = utcnow()
    db.session.flush()
    alert = Alert(
        case_id=case.id,
        assignment_id=assignment.id,
        response_id=responses[first.id].id,
        partner_id=first.id,
        link_id="agreements.comfort",
    )
    db.session.add(alert)
    export = request_export(case, "clinical", session, None)
    own_questionnaire = _own_questionnaire(a)
    message = _mail_to(a)
    agreement = _agreement(case)
    ladder, step = _steps(case)
    schedule = _schedule(case)
    from counselor.cases import homes

    learning_assignment, resource = _learning(case, a)
    home_token = homes.issue_home_link(first)
    sign_in_token = homes.mint_sign_in(first.id)
    db.session.commit()
    assert finish(export.id, claim(export.id), SWEEP_PDF)
    return {
        "case_id": case.id,
        "partner_id": first.id,
        "session_id": session.id,
        "counselor_id": a.id,
        "b_case_id": b_case.id,
        "questionnaire_id": _library_questionnaire().id,
        "own_questionnaire_id": own_questionnaire.id,
        "assignment_id": assignment.id,
        "alert_id": alert.id,
        "export_id": export.id,
        "message_id": message.id,
        "agreement_id": agreement.id,
        "learning_assignment_id": learning_assignment.id,
        "resource_id": resource.id,
        "ladder_id": ladder.id,
        "step_id": step.id,
        "schedule_id": schedule.id,
        "token": next(i.token for i in issued if i.partner.id == first.id),
        "home_token": home_token,
        "sign_in_token": sign_in_token,
        "opt_out_token": homes.opt_out_token(first.id),
        "number": 1,
    }


def _learning(case, a: Account):
    """A learning-together assignment of A's case with one of A's resources attached."""
    from counselor.learning.models import Resource, ResourceAttachment
    from counselor.questionnaires.services import assign

    questionnaire = _library_questionnaire("learning-together")
    assignment, _ = assign(
        case, questionnaire.latest, [], due_on=None, instructions=None, ttl_days=None, links=False
    )
    resource = Resource(owner_id=a.id, title="Sweep book", source="Sweep author")
    db.session.add(resource)
    db.session.flush()
    db.session.add(
        ResourceAttachment(
            case_id=case.id,
            resource_id=resource.id,
            target_kind="assignment",
            target_id=assignment.id,
        )
    )
    return assignment, resource


def _agreement(case):
    """An agreement of A's case with one published version (a clause holding a canary) that
    both partners agreed to, one of its clauses paused with a note, and a draft of version 2
    open."""
    from counselor.agreements import drafting, queries, services

    agreement = drafting.create(case, "Sweep agreement", [p.id for p in case.partners])
    draft = queries.draft_of(agreement)
    clauses = [{"kind": "free", "text": canary("clause")}, {"kind": "safety", "text": "Water"}]
    drafting.save_draft(agreement, draft, "Sweep agreement", clauses, None)
    services.publish(agreement, draft.id)
    for partner in case.partners:
        services.answer(agreement, partner, draft.id, "agree", canary("acknote"))
    paused = services.pause(agreement, case.partners[0], draft.clauses[1]["key"])
    services.note_pause(agreement, case.partners[0], paused.id, canary("pausenote"))
    drafting.start_draft(agreement)
    return agreement


def _steps(case):
    """A ladder of A's case with one open step (its text a canary), and a partner's proposal."""
    from counselor.steps import services

    ladder = services.ladder_at(case, "case")
    step = services.add_step(ladder, canary("step"), canary("stepsize"))
    services.add_step(ladder, canary("proposal"), proposed_by=case.partners[1])
    return ladder, step


def _schedule(case):
    """A weekly check-in schedule of A's case (the sweep's questionnaire, from tomorrow)."""
    from counselor.checkins import services
    from counselor.core.models import to_local, utcnow

    return services.create(
        case,
        _library_questionnaire(),
        [p.id for p in case.partners],
        every=1,
        unit="weeks",
        starts_on=to_local(utcnow()).date() + timedelta(days=1),
    )


def _mail_to(a: Account):
    """A notification to A, written to the development mailbox (the test apps have no SMTP)."""
    from counselor.mail import compose, services
    from counselor.mail.models import Message

    mail = compose.notice("submitted", "http://counselor.test/cases/x", "http://counselor.test/n")
    message = Message(
        kind=mail.kind, recipient=a.email, subject=mail.subject, body=mail.body, counselor_id=a.id
    )
    db.session.add(message)
    services.send(message)
    return message


@dataclass(frozen=True)
class PartnerHome:
    """The partner actor's link and its neighbours.

    ``token`` opens Home Partner One's link to assignment 1 of A's home case: that is the
    partner actor. Its neighbours, each with answers holding a canary the actor must never
    see: Home Partner Two on the same assignment (released: only Two's ``shared`` answer may
    show, on /p/shared), One's own link to a second assignment of the same case
    (``other_token``), and an assignment of a case of B (``b_token``).
    """

    token: str
    other_token: str
    b_token: str
    name: str
    partner_id: uuid.UUID
    own_canary: str
    shared: str
    case_ids: tuple
    link_id: uuid.UUID
    other_link_id: uuid.UUID
    assignment_id: uuid.UUID
    other_assignment_id: uuid.UUID


def make_partner_home(a: Account, b: Account) -> PartnerHome:
    """Create the partner actor's link and its neighbours (see ``PartnerHome``), committed."""
    from counselor.core.models import utcnow

    case = new_case(a, "Partner home case", ("Home Partner One", "Home Partner Two"))
    one, two = case.partners
    own = canary("home")
    shared = f"SHARED-{uuid.uuid4().hex}"
    first, issued = _assignment(case, due_in_days=None)
    responses = {r.partner_id: r for r in first.responses}
    # (own canary in a shared item too: once sent, the partner's pages no longer show their
    # counselor-only answers, so the shared one proves the checks can see an own answer)
    _submitted(responses[one.id], _check_in(own, own))
    _submitted(responses[two.id], _check_in(canary("copartner"), shared))
    first.released_at = utcnow()
    second, other = _assignment(case, [one])
    _submitted(second.responses[0], _check_in(canary("otherlink")))
    b_case = new_case(b, "B's partner case", ("B Home One", "B Home Two"))
    b_assignment, b_issued = _assignment(b_case)
    for n, response in enumerate(b_assignment.responses):
        _submitted(response, _check_in(canary(f"bcase{n}"), f"B shared {n}"))
    db.session.commit()
    mine = next(i for i in issued if i.partner.id == one.id)
    return PartnerHome(
        token=mine.token,
        other_token=other[0].token,
        b_token=b_issued[0].token,
        name=one.display_name,
        partner_id=one.id,
        own_canary=own,
        shared=shared,
        case_ids=(case.id, b_case.id),
        link_id=mine.link.id,
        other_link_id=other[0].link.id,
        assignment_id=first.id,
        other_assignment_id=second.id,
    )


#: how to fill each URL argument with A's real objects; a filler gets the ids from
#: ``make_objects`` and may create the object it needs (say, an assignment on o["case_id"])
OWN_VALUES: dict[str, Callable[[dict], object]] = {
    "case_id": lambda o: o["case_id"],
    "partner_id": lambda o: o["partner_id"],
    "session_id": lambda o: o["session_id"],
    "counselor_id": lambda o: o["counselor_id"],
    # a built-in questionnaire (every counselor's); the "imported" variant puts A's own there
    "questionnaire_id": lambda o: o["questionnaire_id"],
    "assignment_id": lambda o: o["assignment_id"],
    "alert_id": lambda o: o["alert_id"],
    "export_id": lambda o: o["export_id"],
    # A's agreement (published, agreed, a clause paused)
    "agreement_id": lambda o: o["agreement_id"],
    # a learning-together assignment of A's case; one of A's resources (attached to it)
    "learning_assignment_id": lambda o: o["learning_assignment_id"],
    "resource_id": lambda o: o["resource_id"],
    # a ladder of A's case and its open step
    "ladder_id": lambda o: o["ladder_id"],
    "step_id": lambda o: o["step_id"],
    # A's weekly check-in schedule
    "schedule_id": lambda o: o["schedule_id"],
    # a mail in the development mailbox (instance/mail/<id>.eml)
    "message_id": lambda o: o["message_id"],
    # the raw token of A's first partner's personal link
    "token": lambda o: o["token"],
    # ... of their home link, of a mail's sign-in link to it, of their mail opt-out link
    "home_token": lambda o: o["home_token"],
    "sign_in_token": lambda o: o["sign_in_token"],
    "opt_out_token": lambda o: o["opt_out_token"],
    # a section of the portal's questionnaire
    "number": lambda o: o["number"],
    # the key of a reissued link waiting to be shown once (none waits in the sweep)
    "key": lambda o: "no-link-waiting",
}
#: a value naming nothing, for arguments that are not UUIDs
MISSING_VALUES: dict[str, Callable[[], object]] = {
    "token": lambda: secrets.token_urlsafe(32),
    "home_token": lambda: secrets.token_urlsafe(32),
    "sign_in_token": lambda: secrets.token_urlsafe(32),
    "opt_out_token": lambda: secrets.token_urlsafe(32),
    "number": lambda: 999,
    "key": lambda: "no-link-waiting",
}


class UnknownArgument(LookupError):
    """A rule takes an argument the sweep cannot fill yet."""


def url_arguments(rule: Rule) -> set[str]:
    """The arguments a rule's URL carries (not those its ``defaults`` fill, as the short
    portal URLs' ``assignment_id=None``)."""
    return set(rule.arguments) - set(rule.defaults or {})


def _own(rule: Rule, objects: dict) -> dict:
    values = {}
    for arg in sorted(url_arguments(rule)):
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
    arguments = url_arguments(rule)
    if "questionnaire_id" in arguments:
        names.append("imported")
    if arguments:
        names.append("missing")
    if "case_id" in arguments and len(arguments) > 1:
        names.append("mixed")
    return names


def variants(rule: Rule, objects: dict) -> dict[str, dict]:
    """URL argument values per variant.

    ``own``: A's objects (for a questionnaire: a built-in one, which every counselor may
    use). ``imported``: A's own imported questionnaire. ``missing``: every id replaced by one
    that names nothing. ``mixed``: B's own case with A's other ids (a session of A's reached
    through B's case).
    """
    own = _own(rule, objects)
    if is_portal(rule) and "assignment_id" in own and "portal_assignment_id" in objects:
        # a homework page of the portal: "own" is the partner actor's own homework
        own["assignment_id"] = objects["portal_assignment_id"]
    found = {"own": own}
    if "questionnaire_id" in own:
        found["imported"] = {**own, "questionnaire_id": objects["own_questionnaire_id"]}
    if own:
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
        return response.status_code == 302 and bool(
            expected.pattern(objects).fullmatch(urlsplit(response.location).path)
        )
    return response.status_code == expected


def body_text(response) -> str:
    """The body as text, whatever it is (a PDF too)."""
    return response.get_data().decode("utf-8", "replace")


def canaries_in(response) -> set[str]:
    """The planted canaries a response shows."""
    return set(CANARY.findall(body_text(response)))


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


def _homework(case_ids: list) -> tuple:
    """Assignments, links, responses, alerts and exports of some cases, as plain values."""
    from counselor.alerts.models import Alert
    from counselor.questionnaires.models import Assignment, Link, Response
    from counselor.reports.models import Export

    of_cases = Assignment.case_id.in_(case_ids)
    return (
        tuple(
            (x.id, x.version_id, x.locked, x.released_at, x.due_on)
            for x in db.session.scalars(select(Assignment).where(of_cases).order_by(Assignment.id))
        ),
        tuple(
            (x.id, x.partner_id, x.revoked_at, x.token_hash, x.expires_at)
            for x in db.session.scalars(
                select(Link).join(Link.assignment).where(of_cases).order_by(Link.id)
            )
        ),
        tuple(
            (x.id, x.status, x.revision, x.submitted_at, x.answers_json)
            for x in db.session.scalars(
                select(Response).join(Response.assignment).where(of_cases).order_by(Response.id)
            )
        ),
        tuple(
            (x.id, x.acknowledged_at, x.ack_note)
            for x in db.session.scalars(
                select(Alert).where(Alert.case_id.in_(case_ids)).order_by(Alert.id)
            )
        ),
        tuple(
            (x.id, x.kind, x.status, x.size_bytes, x.attempts)
            for x in db.session.scalars(
                select(Export).where(Export.case_id.in_(case_ids)).order_by(Export.id)
            )
        ),
    )


def snapshot(objects: dict) -> tuple:
    """What A's objects and account look like in the database right now (with the
    homework of A's case and of the cases in ``objects["watched"]``, if any)."""
    from counselor.auth.models import Counselor, LoginSession
    from counselor.cases.models import Case, CounselingSession, Partner
    from counselor.questionnaires.models import Questionnaire, QuestionnaireVersion

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
        _homework([objects["case_id"], *objects.get("watched", ())]),
        db.session.scalar(select(func.count()).select_from(Questionnaire)),
        db.session.scalar(select(func.count()).select_from(QuestionnaireVersion)),
    )
