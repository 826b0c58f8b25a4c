"""Loading, the partner view, comparison and release. Functions flush; routes commit.

Alerts are `counselor.alerts`; the CSV and FHIR exports are `counselor.reveal.exports`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import selectinload

# evaluate_alerts is imported from here by the partner portal; it lives in counselor.alerts now
from counselor.alerts.services import evaluate_alerts, open_alerts, release_alerts  # noqa: F401
from counselor.cases.models import Case, Partner
from counselor.core import audit
from counselor.core.models import utcnow
from counselor.extensions import db
from counselor.questionnaires import signals
from counselor.questionnaires.models import Assignment, Response, StoredAnswers
from counselor.questionnaires.services import lock_assignment
from counselor.reveal import matching
from counselor.reveal.comparison import Comparison, Visible
from counselor.reveal.summary import Summary, SummaryCache, summarize
from counselor.reveal.views import (
    AnswerLoader,
    Keeper,
    PartnerInfo,
    PartnerReader,
    PartnerView,
    partner_reader,
    partner_view,
)


class ReleaseError(ValueError):
    """A release or withdrawal is not possible now; the message says why (a 409)."""


# ---- loading -------------------------------------------------------------------------


def load_assignment(assignment_id: uuid.UUID) -> Assignment | None:
    """An assignment with its version, case partners and responses in a fixed number of queries."""
    return db.session.scalar(
        select(Assignment)
        .where(Assignment.id == assignment_id)
        .options(
            selectinload(Assignment.responses),
            selectinload(Assignment.version),
            selectinload(Assignment.case).selectinload(Case.partners),
            selectinload(Assignment.case).selectinload(Case.relationships),
        )
    )


def assigned_partners(assignment: Assignment) -> list[Partner]:
    """The partners given this assignment, in case order."""
    ids = {r.partner_id for r in assignment.responses}
    return [p for p in assignment.case.partners if p.id in ids]


def all_submitted(assignment: Assignment) -> bool:
    """Whether every assigned partner has submitted."""
    return bool(assignment.responses) and all(r.status == "submitted" for r in assignment.responses)


def answers_by_partner(assignment: Assignment) -> dict[uuid.UUID, dict]:
    """Each partner's answers, decrypted and parsed (each read of ``Response.answers`` parses
    anew: a page that needs them twice asks once and passes them on)."""
    return {r.partner_id: r.answers for r in assignment.responses}


def _related(case: Case):
    """``case.related`` with the relationship map read once (it is asked per pair and item)."""
    pairs = {r.pair for r in case.relationships}
    return lambda a, b: frozenset((a, b)) in pairs


# ---- the partner view (the only partner-facing path) -----------------------------------


def view_for_partner(
    assignment: Assignment,
    partner_id: uuid.UUID,
    *,
    as_released: bool = False,
    section_index: int | None = None,
    sections: Collection[int] | None = None,
    answers: dict | None = None,
    states: dict | None = None,
) -> PartnerView:
    """What one partner may see of the others, by the reveal rules.

    ``as_released`` asks what the partner would see once released (the counselor's preview);
    it goes through the same filter, only the release flag differs. ``section_index`` keeps
    only that section's items, ``sections`` only those sections' (a long comparison is shown a
    section or a class at a time).
    """
    if section_index is not None:
        sections = {section_index}
    return partner_view(
        **_view_inputs(assignment, partner_id, as_released, answers),
        sections=sections,
        states=states,
    )


def reader_for_partner(
    assignment: Assignment, partner_id: uuid.UUID, *, as_released: bool = False
) -> PartnerReader:
    """``view_for_partner``'s filter, to be read a part at a time (a shared page and its
    preview, a section a page): answers are decrypted only for the partners the view reads
    (the viewer and those in a relationship with them), only when first read, and parsed only
    as far as the sections shown read them; the outline (every section's count) is kept per
    process once everyone has submitted."""
    return partner_reader(**_view_inputs(assignment, partner_id, as_released, None))


def _view_inputs(
    assignment: Assignment, partner_id: uuid.UUID, as_released: bool, answers: dict | None
) -> dict:
    """The arguments of the partner filter (``views.partner_view``) for one partner."""
    return view_inputs(
        assignment.definition,
        assigned_partners(assignment),
        partner_id,
        _parted(assignment) if answers is None else answers,
        all_submitted=all_submitted(assignment),
        released=as_released or assignment.released_at is not None,
        related=_related(assignment.case),
        key=_summary_key_of(assignment),
    )


def view_inputs(
    defn,
    partners: Iterable,
    partner_id: uuid.UUID,
    answers: Mapping[uuid.UUID, dict] | AnswerLoader,
    *,
    all_submitted: bool,
    released: bool,
    related: Callable[[uuid.UUID, uuid.UUID], bool],
    key: tuple | None = None,
) -> dict:
    """The arguments of the partner filter (``views.partner_view``, ``partner_reader``) for
    one partner of ``partners`` (the assigned ones in case order: anything with ``id`` and
    ``display_name``, ORM objects or the comparison's plain rows). ``key``: the assignment's
    ``summary_key`` (None while some partner has not submitted), under which, with the viewer
    and the partners related to them, the view's outline is kept per process (``OUTLINES``)."""
    infos = [PartnerInfo(p.id, p.display_name) for p in partners]
    return {
        "defn": defn,
        "viewer": next(p for p in infos if p.key == partner_id),
        "partners": infos,
        "answers": answers,
        "all_submitted": all_submitted,
        "released": released,
        "related": related,
        "kept": None if key is None else _outline_keeper(key, partner_id, infos, related),
    }


def _outline_keeper(
    key: tuple,
    partner_id: uuid.UUID,
    partners: list[PartnerInfo],
    related: Callable[[uuid.UUID, uuid.UUID], bool],
) -> Keeper:
    """Where a partner view's outline is kept: under everything it is computed from, the
    assignment's version, sections and each response's revision (``summary_key``), the viewer
    and the partners related to them (the relationship map as it is now)."""
    others = tuple(
        sorted(p.key for p in partners if p.key != partner_id and related(partner_id, p.key))
    )
    return lambda name, make: OUTLINES.get((*key, partner_id, others, name), make)


def _parted(assignment: Assignment) -> PartedAnswers:
    """A loaded assignment's answers, each response's decrypted when first read and parsed a
    part at a time."""
    return PartedAnswers(lambda: {r.partner_id: _stored_of(r) for r in assignment.responses})


def _stored_of(response: Response) -> Callable[[], StoredAnswers]:
    """How a loaded response's answers are decrypted (``PartedAnswers``' opener)."""
    return lambda: StoredAnswers(response.answers_json)


class PartedAnswers:
    """Each partner's answers (``answers_by_partner``) as ``views.AnswerLoader`` gives them:
    ``read()`` (called once, when first asked for) gives per partner id how theirs are
    decrypted into ``StoredAnswers``; each partner's are decrypted when first asked for, and
    parsed a part at a time. Called with the parts a page reads (``engine.parts_read``; all
    for None) and the partners it reads (all for None), it gives theirs with at least those
    parts parsed."""

    def __init__(self, read: Callable[[], Mapping[uuid.UUID, Callable[[], StoredAnswers]]]) -> None:
        self._read = read
        self._openers: Mapping[uuid.UUID, Callable[[], StoredAnswers]] | None = None
        self._stored: dict[uuid.UUID, StoredAnswers] = {}

    def __call__(
        self, parts: Collection[str] | None = None, keys: Collection[uuid.UUID] | None = None
    ) -> dict[uuid.UUID, dict]:
        if self._openers is None:
            self._openers = self._read()
        out = {}
        for key in self._openers if keys is None else keys:
            stored = self._stored.get(key)
            if stored is None:
                opener = self._openers.get(key)
                if opener is None:  # not assigned, or no response
                    continue
                stored = self._stored[key] = opener()
            out[key] = stored.read(parts)
        return out


# ---- comparison for the counselor ------------------------------------------------------


#: per process: the summaries of submitted assignments (see counselor.reveal.summary)
SUMMARIES = SummaryCache()
#: per process: the outlines of partner views of submitted assignments (``views.Outline``:
#: per section, how many items a partner's shared page shows, and how many lines), kept as the
#: summaries are and for the same reason: a long shared page and its preview are read a
#: section a page, and each page shows the whole view's counts
OUTLINES = SummaryCache(size=1024)


def summary_key(
    assignment_id: uuid.UUID,
    version_id: uuid.UUID,
    sections: list[str] | None,
    responses: Iterable[tuple[uuid.UUID, int, str]],
) -> tuple | None:
    """What an assignment's summary is kept under once every partner has submitted: the
    version and its chosen sections and each response's (id, revision, status); the revision is
    bumped by every UPDATE of a response (a save, submit, reopen or answer upgrade). None while
    some partner has not submitted: drafts change at every autosave and are classified anew
    on each request."""
    responses = sorted(responses)
    if not responses or any(status != "submitted" for _, _, status in responses):
        return None
    return (assignment_id, version_id, tuple(sections or ()), tuple(responses))


def _summary_key_of(assignment: Assignment) -> tuple | None:
    """``summary_key`` of a loaded assignment."""
    return summary_key(
        assignment.id,
        assignment.version_id,
        assignment.sections,
        ((r.id, r.revision, r.status) for r in assignment.responses),
    )


def comparison(
    defn,
    partners: list,
    related: Callable[[uuid.UUID, uuid.UUID], bool],
    answers: Callable[[Collection[str] | None], dict],
    key: tuple | None,
) -> Comparison:
    """The comparison of ``partners`` (the assigned ones, in case order; anything with ``id``
    and ``display_name``) on ``defn``, for every pair ``related`` says is in a relationship.
    ``answers(parts)`` gives each partner's answers, decrypted, with at least those parts
    parsed (``PartedAnswers``; all for None), and is called only when a page or the summary
    needs them; the summary is kept per process under ``key`` and the pairs compared
    (``summary_key``; None: not kept)."""
    pairs = matching.related_pairs(partners, lambda a, b: related(a.id, b.id))
    pair_ids = [(a.id, b.id) for a, b in pairs]
    visible = Visible(defn, partners, answers)

    def summary() -> Summary:
        return summarize(defn, visible.shown, pair_ids)

    made = summary() if key is None else SUMMARIES.get((*key, tuple(pair_ids)), summary)
    return Comparison(partners, pairs, made, defn, visible)


def compare(assignment: Assignment, answers: dict | None = None) -> Comparison:
    """Side-by-side answers, and desire classes for every pair of assigned partners who are in a
    relationship with each other (the case's relationship map). ``answers`` (each partner's,
    decrypted) saves decrypting them again when the caller has them; without it they are
    decrypted when first needed."""
    return comparison(
        assignment.definition,
        assigned_partners(assignment),
        _related(assignment.case),
        _parted(assignment) if answers is None else lambda _parts: answers,
        _summary_key_of(assignment),
    )


# ---- release -----------------------------------------------------------------------------


def release(assignment: Assignment, confirmed_alerts: set[uuid.UUID] | None = None) -> None:
    """Show partners the shared view; only once everyone has submitted, and with open alerts
    of the case only when the counselor confirmed each of them by name."""
    lock_assignment(assignment)  # a partner's reopen or save waits, or we see its result
    if assignment.released_at is not None:
        raise ReleaseError("This assignment is already released.")
    if not all_submitted(assignment):
        raise ReleaseError("Every assigned partner must submit before you can release the results.")
    # An alert raised after the page was shown is not covered by the confirmation given on it.
    unconfirmed = [
        v for v in release_alerts(assignment.case_id) if v.id not in (confirmed_alerts or set())
    ]
    if unconfirmed:
        named = "; ".join(f"{v.partner_name}: {v.message}" for v in unconfirmed)
        raise ReleaseError(
            "This case has open screening alerts. Read them and confirm you still want to "
            f"release: {named}"
        )
    assignment.released_at = utcnow()
    audit.record("assignment.release", "assignment", assignment.id)
    signals.results_released.send(assignment)


def withdraw(assignment: Assignment) -> None:
    """Hide the shared view again."""
    lock_assignment(assignment)
    if assignment.released_at is None:
        raise ReleaseError("This assignment is not released.")
    assignment.released_at = None
    audit.record("assignment.withdraw", "assignment", assignment.id)
