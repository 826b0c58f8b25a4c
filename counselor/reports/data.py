"""Plain data the PDF renderer takes. No ORM objects, no Flask: the renderer is pure.

Builders in ``counselor.reports.builders`` fill these from the database; a client handout
is built only from ``counselor.reveal.views.partner_view`` results, so it can never hold
anything the reveal rules keep from partners.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VARIANT_TITLES = {
    "clinical": "Clinical record",
    "handout": "Client handout",
    "case_record": "Case record",
    "agreement": "Agreement",
}


@dataclass
class ClauseBlock:
    """One clause as printed: its kind, wording, roles and conditions, and its state."""

    kind: str
    text: str
    #: (label, value) lines: roles, pause signal fields, conditions
    details: list[tuple[str, str]] = field(default_factory=list)
    #: e.g. "Paused by a partner" or "Paused by Sam on …: note" (empty: in force)
    state: str = ""


@dataclass
class AgreementBlock:
    """One agreement: the version in force with its clauses, and its history lines."""

    title: str
    partners: list[str]
    in_force: str  # e.g. "Version 2, in force since 3 Mar 2026 (SHA-256 ab12…)"
    clauses: list[ClauseBlock] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    #: (when, what) lines, oldest first: versions with hashes, answers, pauses
    history: list[tuple[str, str]] = field(default_factory=list)
    #: (when, what) changes since the previous session (records only)
    changes: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class AgreementDocument:
    """A partner's agreement PDF: through the partner filter, no case label, no notes."""

    partner: str
    generated_at: str
    practice: str
    agreement: AgreementBlock


@dataclass
class SessionBlock:
    """One counseling session as printed."""

    when: str  # e.g. "Tue 3 Mar 2026, 14:00"
    duration_minutes: int
    agenda: str = ""
    notes: str = ""  # private notes: clinical and case records only
    next_steps: str = ""


@dataclass
class AnswerRow:
    """One question with each partner's answer as plain text (same order as the partners)."""

    question: str
    section: str
    answers: list[str]
    counselor_only: bool = False


@dataclass
class DesireGridRow:
    """One desire item: for every pair of partners a class key (see reveal.matching)."""

    item: str
    classes: list[str]


@dataclass
class ScoreLine:
    """One scored measure of an assignment: a line per partner, and where it comes from."""

    title: str
    results: list[str]  # e.g. "Sam: 4 (positive screen …)", same order as the partners
    source: str


@dataclass
class HomeworkBlock:
    """One submitted assignment: answers side by side and, for desire items, the grid."""

    title: str
    submitted: str  # e.g. "submitted 2 Mar 2026"
    partners: list[str]
    rows: list[AnswerRow] = field(default_factory=list)
    pair_labels: list[str] = field(default_factory=list)  # e.g. ["Sam & Alex"]
    grid: list[DesireGridRow] = field(default_factory=list)
    #: scored measures (clinical record only: the partner handout has no HomeworkBlock)
    scores: list[ScoreLine] = field(default_factory=list)


@dataclass
class Series:
    """A scale item answered in several check-ins: points per partner over time."""

    question: str
    low: int
    high: int
    dates: list[str]  # the x axis, oldest first
    values: dict[str, list[float | None]]  # partner name -> value per date (None: no answer)
    #: the item's trend rule in words (empty when it has none), e.g. "rises by 3 or more …"
    rule: str = ""


@dataclass
class AlertItem:
    """One triggered screening item: its message and the partner's actual answer."""

    severity: str
    message: str
    question: str
    answer: str


@dataclass
class AlertLine:
    """The alerts one submitted response raised, with the counselor's closing note."""

    when: str
    partner: str
    severity: str
    title: str
    items: list[AlertItem]
    closed: str = ""  # when it was closed; empty while open
    note: str = ""


@dataclass
class Summary:
    """The one-page summary a clinical record opens with (plain lines, counselor only)."""

    alerts: list[AlertLine] = field(default_factory=list)
    collisions: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    who_does_what: list[str] = field(default_factory=list)  # matching.who_does_what lines
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (partner, item, note)


@dataclass
class ConsentBlock:
    """Informed consent in a record: the practice's current text and where each partner
    stands with it (whom the record shows acknowledged what, and when)."""

    current: str  # e.g. "Version 2, SHA-256 ab12cd34ef56…"
    partners: list[tuple[str, str]]  # (partner, e.g. "Acknowledged version 2 on …")


@dataclass
class StepsBlock:
    """A ladder of gradual steps in a record: where it stands and each step's state."""

    place: str  # the clause it stands under, or "On their own, for the whole case"
    partners: list[str]
    steps: list[tuple[str, str]]  # (what, e.g. "Done on 3 Mar 2026, marked by Sam")
    proposals: list[str] = field(default_factory=list)  # suggested, not yet accepted


@dataclass
class ClinicalRecord:
    """A clinical record (one session) or a case record (every session)."""

    variant: str  # "clinical" or "case_record"
    case_label: str
    partners: list[str]
    counselor: str
    generated_at: str
    sessions: list[tuple[SessionBlock, list[HomeworkBlock]]]
    charts: list[Series] = field(default_factory=list)
    #: case record only: homework sent after the last session ended (it belongs to none yet)
    after_last: list[HomeworkBlock] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)
    #: agreements of the case: the one in force and the changes since the previous session
    agreements: list[AgreementBlock] = field(default_factory=list)
    #: each partner's acknowledgement of the practice's consent text (None: not recorded)
    consent: ConsentBlock | None = None
    #: the case's ladders of gradual steps, as they stand when the record is made
    steps: list[StepsBlock] = field(default_factory=list)


@dataclass
class SharedLine:
    """One line of what a partner may see: an item and what is shared about it."""

    item: str
    lines: list[str]


@dataclass
class SharedBlock:
    """What a partner may see of one released assignment."""

    title: str
    lines: list[SharedLine]


@dataclass
class Handout:
    """What one partner takes home: never notes, unreleased or counselor-only answers, and
    never the case label (the counselor's private name for the case)."""

    partner: str
    counselor: str
    session_when: str
    generated_at: str
    next_steps: str
    shared: list[SharedBlock] = field(default_factory=list)
    upcoming: list[tuple[str, str]] = field(default_factory=list)  # (title, due text)
    next_appointment: str = ""  # the next recorded session, if any
    contact: str = ""  # how to reach the counselor
    #: the pause signal from a released pause-signal exercise (through the partner filter)
    pause_signal: list[str] = field(default_factory=list)
