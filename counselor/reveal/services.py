"""Comparison, release, alerts and counselor exports. Functions flush; routes commit."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import case as sa_case
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from counselor.cases.models import Case, Partner
from counselor.core import audit
from counselor.core.models import utcnow
from counselor.core.ownership import get_owned_or_404
from counselor.extensions import db
from counselor.questionnaires import engine, scoring, signals
from counselor.questionnaires.models import Assignment, QuestionnaireVersion, Response
from counselor.questionnaires.schema import DEFAULT_SEVERITY, DESIRE_LABELS, EXPERIENCE_LABELS
from counselor.questionnaires.services import lock_assignment
from counselor.reveal import matching
from counselor.reveal.models import Alert
from counselor.reveal.views import PartnerInfo, PartnerView, partner_view


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


def _answers_by_partner(assignment: Assignment) -> dict[uuid.UUID, dict]:
    return {r.partner_id: r.answers for r in assignment.responses}


# ---- the partner view (the only partner-facing path) -----------------------------------


def view_for_partner(
    assignment: Assignment, partner_id: uuid.UUID, *, as_released: bool = False
) -> PartnerView:
    """What one partner may see of the others, by the reveal rules.

    ``as_released`` asks what the partner would see once released (the counselor's preview);
    it goes through the same filter, only the release flag differs.
    """
    partners = [PartnerInfo(p.id, p.display_name) for p in assigned_partners(assignment)]
    viewer = next(p for p in partners if p.key == partner_id)
    return partner_view(
        assignment.definition,
        viewer,
        partners,
        _answers_by_partner(assignment),
        all_submitted=all_submitted(assignment),
        released=as_released or assignment.released_at is not None,
        related=assignment.case.related,
    )


def preview_for_partners(assignment: Assignment) -> list[tuple[Partner, PartnerView]]:
    """For each assigned partner, exactly what their shared page will show after release."""
    return [
        (p, view_for_partner(assignment, p.id, as_released=True))
        for p in assigned_partners(assignment)
    ]


# ---- comparison for the counselor ------------------------------------------------------


@dataclass
class ItemComparison:
    """One item: every partner's answer and, for desire items, the pairwise classes."""

    item: dict
    section: str
    answers: dict[uuid.UUID, object]
    pairs: list[matching.PairResult] = field(default_factory=list)
    #: the section's position (titles repeat: loose items before and after groups have none)
    section_index: int = -1

    @cached_property
    def role_labels(self) -> dict[str, str]:
        """Role key to label (the matrix names the roles of each match)."""
        return {r["key"]: r["label"] for r in self.item.get("roles", ())}

    @property
    def worst(self) -> str | None:
        """The most pressing class among the pairs."""
        return next((c for c in matching.CLASS_ORDER if c in self.classes), None)

    @property
    def classes(self) -> set[str]:
        """Every class any pair has on this item (what the class filter looks for)."""
        return {c for p in self.pairs for c in p.classes}


@dataclass
class PartnerScores:
    """One partner's scores, as the score cards show them."""

    partner: Partner
    scores: list[scoring.Score]


@dataclass
class Comparison:
    """Everything the comparison page shows."""

    partners: list[Partner]
    #: the pairs compared: partners in a relationship with each other, in case order
    pairs: list[tuple[Partner, Partner]]
    items: list[ItemComparison]
    counts: dict[str, int]
    #: per partner, the definition's scored measures (counselor-facing)
    scores: list[PartnerScores] = field(default_factory=list)

    def rows_in(self, section_index: int, wanted: str = "") -> list[ItemComparison]:
        """The rows of one section; with a class, only the desire items that have it."""
        return [
            r
            for r in self.items
            if r.section_index == section_index and (not wanted or wanted in r.classes)
        ]

    @property
    def names(self) -> dict[uuid.UUID, str]:
        """Partner id to the name shown."""
        return {p.id: p.display_name for p in self.partners}


def compare(assignment: Assignment) -> Comparison:
    """Side-by-side answers, and desire classes for every pair of assigned partners who are in a
    relationship with each other (the case's relationship map)."""
    defn = assignment.definition
    partners = assigned_partners(assignment)
    answers = _answers_by_partner(assignment)
    shown = {p.id: engine.visible_answers(defn, answers.get(p.id, {})) for p in partners}
    items: list[ItemComparison] = []
    for section in defn.sections:
        for item in engine.walk(section.items):
            if item["type"] not in engine.ANSWERABLE:
                continue
            row = ItemComparison(
                item,
                section.title,
                {p.id: shown[p.id].get(item["link_id"]) for p in partners},
                section_index=section.index,
            )
            if item["type"] == "desire":
                row.pairs = matching.compare_item(
                    item, {p.id: row.answers[p.id] for p in partners}, assignment.case.related
                )
            items.append(row)
    pairs = matching.related_pairs(partners, lambda a, b: assignment.case.related(a.id, b.id))
    # an item counts once under each class any of its pairs has: the number beside a class is
    # the number of rows its filter shows
    counts = {c: sum(1 for row in items if c in row.classes) for c in matching.CLASS_ORDER}
    scored = [PartnerScores(p, scoring.scores(defn, shown[p.id])) for p in partners]
    return Comparison(partners, pairs, items, counts, scored)


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
        v for v in open_alerts(assignment.case) if v.alert.id not in (confirmed_alerts or set())
    ]
    if unconfirmed:
        named = "; ".join(f"{v.alert.partner.display_name}: {v.message}" for v in unconfirmed)
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


# ---- alerts ------------------------------------------------------------------------------


def _triggers(rule: dict, value) -> bool:
    return engine.has_answer(value) and engine.compare_values(
        rule["operator"], value, rule["answer"]
    )


def evaluate_alerts(
    assignment: Assignment, response: Response, only: set[str] | None = None
) -> list[Alert]:
    """Raise an alert for every shown item whose alert rule the submitted answers meet
    (``only``: just these items, e.g. a stop raised on save, before any submit)."""
    defn = assignment.definition
    answers = response.answers
    existing = set(
        db.session.scalars(select(Alert.link_id).where(Alert.response_id == response.id))
    )
    raised = []
    shown = engine.enabled_states(defn, answers)
    for item in defn.questions():
        rule = item.get("alert")
        if not rule or item["link_id"] in existing or not shown[item["link_id"]]:
            continue
        if only is not None and item["link_id"] not in only:
            continue
        if _triggers(rule, answers.get(item["link_id"])):
            alert = Alert(
                case_id=assignment.case_id,
                assignment_id=assignment.id,
                response_id=response.id,
                partner_id=response.partner_id,
                link_id=item["link_id"],
                severity=rule.get("severity", DEFAULT_SEVERITY),
            )
            db.session.add(alert)
            db.session.flush()
            audit.record("alert.raise", "alert", alert.id, actor_kind="system")
            raised.append(alert)
    return raised


SEVERITY_RANK = {"urgent": 0, "review": 1, "info": 2}
#: urgent first, then review, then info (a SQL expression, so every list orders alike)
_by_severity = sa_case(SEVERITY_RANK, value=Alert.severity, else_=len(SEVERITY_RANK))


@dataclass
class AlertView:
    """An alert with the message its item defines and the partner's actual answer."""

    alert: Alert
    message: str
    question: str
    answer: str = ""

    @property
    def severity(self) -> str:
        """How pressing the alert is (stored on the row when raised)."""
        return self.alert.severity


@dataclass
class AlertCard:
    """The alerts one submitted response raised: one card, closed with one note."""

    items: list[AlertView]

    @property
    def first(self) -> Alert:
        """The most pressing alert of the card (its id is the card's handle)."""
        return self.items[0].alert

    @property
    def severity(self) -> str:
        """The card is as pressing as its most pressing item."""
        return self.first.severity

    @property
    def title(self) -> str:
        """The questionnaire the response answers."""
        return self.first.assignment.definition.title

    @property
    def acknowledged_at(self):
        """When the card was closed (None while open)."""
        return self.first.acknowledged_at

    @property
    def note(self) -> str | None:
        """The counselor's closing note."""
        return self.first.ack_note


def _alert_views(alerts: list[Alert]) -> list[AlertView]:
    views = []
    for alert in alerts:
        item = alert.assignment.definition.by_id.get(alert.link_id, {})
        rule = item.get("alert") or {}
        response = alert.response
        value = response.answers.get(alert.link_id) if response is not None else None
        views.append(
            AlertView(
                alert,
                rule.get("message", "Screening answer needs attention"),
                item.get("text", ""),
                answer_plain(item, value) if item else "",
            )
        )
    return views


def _cards(alerts: list[Alert]) -> list[AlertCard]:
    """Group alerts (already in display order) into one card per response."""
    cards: dict[uuid.UUID, AlertCard] = {}
    for view in _alert_views(alerts):
        cards.setdefault(view.alert.response_id, AlertCard([])).items.append(view)
    return list(cards.values())


def _case_alerts(case_id: uuid.UUID, *, closed: bool) -> list[Alert]:
    done = Alert.acknowledged_at.is_not(None) if closed else Alert.acknowledged_at.is_(None)
    order = (
        (Alert.acknowledged_at.desc(), _by_severity, Alert.triggered_at.desc())
        if closed
        else (_by_severity, Alert.triggered_at.desc())
    )
    return list(
        db.session.scalars(
            select(Alert)
            .where(Alert.case_id == case_id, done)
            .options(
                selectinload(Alert.partner),
                selectinload(Alert.response),
                selectinload(Alert.assignment).selectinload(Assignment.version),
            )
            .order_by(*order, Alert.link_id)
        )
    )


def open_alerts(case: Case) -> list[AlertView]:
    """Unacknowledged alerts of a case, urgent first, then newest first."""
    return _alert_views(_case_alerts(case.id, closed=False))


def open_alert_cards(case: Case) -> list[AlertCard]:
    """Open alerts of a case as one card per submitted response, the most pressing first."""
    cards = _cards(_case_alerts(case.id, closed=False))
    return sorted(cards, key=lambda c: SEVERITY_RANK.get(c.severity, len(SEVERITY_RANK)))


def closed_alert_cards(case: Case) -> list[AlertCard]:
    """Closed alerts of a case with their notes, most recently closed first (the history)."""
    return _cards(_case_alerts(case.id, closed=True))


def all_alert_cards(case: Case) -> list[AlertCard]:
    """Every alert card of a case: the open ones (most pressing first), then the closed ones."""
    return open_alert_cards(case) + closed_alert_cards(case)


def open_alert_case_ids(counselor_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Cases of a counselor with an unacknowledged alert and their most pressing severity."""
    rows = db.session.execute(
        select(Alert.case_id, Alert.severity)
        .join(Case, Case.id == Alert.case_id)
        .where(Case.counselor_id == counselor_id, Alert.acknowledged_at.is_(None))
        .order_by(_by_severity.desc())
    )
    return {case_id: severity for case_id, severity in rows}


def caseload_alert_flags(counselor_id: uuid.UUID) -> dict[uuid.UUID, tuple[int, str]]:
    """The caseload's flags: case id -> (severity rank, severity) of its most pressing open
    alert, so the caseload sorts urgent before review before info."""
    return {
        case_id: (SEVERITY_RANK.get(severity, len(SEVERITY_RANK)), severity)
        for case_id, severity in open_alert_case_ids(counselor_id).items()
    }


def get_alert_or_404(case: Case, alert_id: uuid.UUID) -> Alert:
    """An alert of an owned case, else 404."""
    return get_owned_or_404(
        Alert,
        alert_id,
        owner=Case.counselor_id,
        via=(Alert.case_rel,),
        where=(Alert.case_id == case.id,),
    )


def acknowledge(alert: Alert, note: str) -> list[Alert]:
    """Close an alert and every other open alert of the same response with one note."""
    if alert.acknowledged_at is not None:
        raise ReleaseError("This alert was already acknowledged.")
    closing = db.session.scalars(
        select(Alert).where(Alert.response_id == alert.response_id, Alert.acknowledged_at.is_(None))
    ).all()
    now = utcnow()
    for each in closing:
        each.acknowledged_at = now
        each.ack_note = note.strip()
        audit.record("alert.acknowledge", "alert", each.id)
    return list(closing)


# ---- counselor exports -----------------------------------------------------------------

FHIR_SYSTEM = "urn:counselor:desire-answer"
FHIR_EXPERIENCE_SYSTEM = "urn:counselor:desire-experience"


def _fhir_answers(item: dict, value) -> list[dict]:
    kind = item["type"]
    if kind == "boolean":
        return [{"valueBoolean": value}]
    if kind in ("integer", "scale"):
        # FHIR R4 integers are 32-bit; a larger whole number (the portal takes up to 10^12)
        # keeps its exact value as a decimal instead of making the resource invalid.
        if -(2**31) <= value < 2**31:
            return [{"valueInteger": value}]
        return [{"valueDecimal": value}]
    if kind == "decimal":
        return [{"valueDecimal": float(value)}]
    if kind == "date":
        return [{"valueDate": value}]
    if kind == "choice":
        labels = {o["value"]: o["label"] for o in item["options"]}
        values = value if isinstance(value, list) else [value]
        return [{"valueCoding": {"code": v, "display": labels.get(v, v)}} for v in values]
    if kind == "open-choice":
        labels = {o["value"]: o["label"] for o in item["options"]}
        if value in labels:
            return [{"valueCoding": {"code": value, "display": labels[value]}}]
        return [{"valueString": value}]
    return [{"valueString": str(value)}]


def _fhir_item(item: dict, answers: dict) -> dict | None:
    lid = item["link_id"]
    if item["type"] == "group":
        children = [c for c in (_fhir_item(i, answers) for i in item["items"]) if c]
        return {"linkId": lid, "text": item["text"], "item": children} if children else None
    if item["type"] == "display":
        return None
    value = answers.get(lid)
    if not engine.has_answer(value):
        return None
    if item["type"] == "desire":
        value = engine.desire_value(item, value)
        sub = []
        for role in item["roles"]:
            answer = value["roles"].get(role["key"])
            if answer:
                sub.append(
                    {
                        "linkId": f"{lid}.role.{role['key']}",
                        "text": role["label"],
                        "answer": [
                            {
                                "valueCoding": {
                                    "system": FHIR_SYSTEM,
                                    "code": answer,
                                    "display": DESIRE_LABELS[answer],
                                }
                            }
                        ],
                    }
                )
            sub.append(
                {
                    "linkId": f"{lid}.hard_limit.{role['key']}",
                    "text": f"Hard limit: {role['label']}",
                    "answer": [{"valueBoolean": role["key"] in value["limits"]}],
                }
            )
        sub.append(
            {
                "linkId": f"{lid}.fantasy",
                "text": "Fantasy only — not to act on",
                "answer": [{"valueBoolean": value["fantasy"]}],
            }
        )
        if value["experience"]:
            sub.append(
                {
                    "linkId": f"{lid}.experience",
                    "text": "Experience",
                    "answer": [
                        {
                            "valueCoding": {
                                "system": FHIR_EXPERIENCE_SYSTEM,
                                "code": value["experience"],
                                "display": EXPERIENCE_LABELS[value["experience"]],
                            }
                        }
                    ],
                }
            )
        if value["note"]:
            sub.append(
                {
                    "linkId": f"{lid}.note",
                    "text": "Note",
                    "answer": [{"valueString": value["note"]}],
                }
            )
        return {"linkId": lid, "text": item["text"], "item": sub}
    return {"linkId": lid, "text": item["text"], "answer": _fhir_answers(item, value)}


def fhir_response(assignment: Assignment, response: Response) -> dict:
    """A partner's answers as an HL7 FHIR R4 QuestionnaireResponse resource."""
    version: QuestionnaireVersion = assignment.version
    defn = assignment.definition
    answers = engine.visible_answers(defn, response.answers)
    items = [c for c in (_fhir_item(i, answers) for i in defn.doc["items"]) if c]
    resource = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.id),
        "questionnaire": f"urn:counselor:questionnaire:{defn.doc['slug']}|{version.number}",
        "status": "completed" if response.status == "submitted" else "in-progress",
        "subject": {"display": response.partner.display_name},
    }
    if items:  # FHIR JSON allows no empty arrays: a response without answers has no item
        resource["item"] = items
    authored = response.submitted_at or response.saved_at
    if authored is not None:
        from counselor.core.models import aware

        resource["authored"] = aware(authored).isoformat()
    audit.record("export.fhir", "response", response.id)
    return resource


def _csv_safe(text: str) -> str:
    # Spreadsheets run cells that start with these as formulas; a typed answer must stay text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def answer_plain(item: dict, value) -> str:
    """An answer as one line of plain text (CSV and PDF)."""
    if not engine.has_answer(value):
        return ""
    kind = item["type"]
    if kind == "boolean":
        return "Yes" if value else "No"
    if kind in ("choice", "open-choice"):
        labels = {o["value"]: o["label"] for o in item["options"]}
        values = value if isinstance(value, list) else [value]
        return "; ".join(labels.get(v, v) for v in values)
    if kind == "desire":
        value = engine.desire_value(item, value)
        several = len(item["roles"]) > 1
        parts = []
        for role in item["roles"]:
            label = DESIRE_LABELS.get(value["roles"].get(role["key"]), "not answered")
            if role["key"] in value["limits"]:
                label += " (HARD LIMIT)"
            parts.append(f"{role['label']}: {label}" if several else label)
        if value["fantasy"]:
            parts.append("fantasy only, not to act on")
        if value["experience"]:
            parts.append(EXPERIENCE_LABELS[value["experience"]])
        if value["note"]:
            parts.append(f"Note: {value['note']}")
        return "; ".join(parts)
    return str(value)


def csv_export(assignment: Assignment) -> str:
    """One row per item, one column per assigned partner."""
    cmp = compare(assignment)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["section", "link_id", "question", "type", "share"]
        + [_csv_safe(p.display_name) for p in cmp.partners]
    )
    for row in cmp.items:
        writer.writerow(
            [
                _csv_safe(row.section),
                row.item["link_id"],
                _csv_safe(row.item["text"]),
                row.item["type"],
                engine.share_of(row.item),
            ]
            + [_csv_safe(answer_plain(row.item, row.answers[p.id])) for p in cmp.partners]
        )
    audit.record("export.csv", "assignment", assignment.id)
    return out.getvalue()
