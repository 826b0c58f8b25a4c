"""Raising, listing and closing safety alerts. Functions flush; routes commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, literal_column, select, true
from sqlalchemy import case as sa_case
from sqlalchemy.orm import selectinload

from counselor.alerts.models import Alert
from counselor.cases import flags
from counselor.cases.models import Case, Partner
from counselor.cases.services import get_in_case_or_404
from counselor.core import audit
from counselor.core.models import aware, utcnow
from counselor.extensions import core_execute, db
from counselor.questionnaires import engine, trends
from counselor.questionnaires.answers import answer_plain
from counselor.questionnaires.models import (
    Assignment,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    StoredAnswers,
    VersionRow,
)
from counselor.questionnaires.schema import DEFAULT_SEVERITY

#: an alert raised by an item's trend rule is stored under "trend:<link_id>", so that the
#: same answer can raise both its item's alert and its trend alert, each once
TREND_PREFIX = "trend:"


class AlertError(ValueError):
    """An alert cannot be closed now; the message says why (a 409)."""


def _triggers(rule: dict, value) -> bool:
    return engine.has_answer(value) and engine.compare_values(
        rule["operator"], value, rule["answer"]
    )


def _alert_items(defn: engine.Definition) -> list[dict]:
    """The questions of a definition with an alert rule (worked out once per definition)."""
    return [i for i in defn.questions() if i.get("alert")]


def _trend_items(defn: engine.Definition) -> list[dict]:
    """The questions of a definition with a trend rule (worked out once per definition)."""
    return [i for i in defn.questions() if i.get("trend")]


def evaluate_alerts(
    assignment: Assignment,
    response: Response,
    only: set[str] | None = None,
    *,
    answers: dict | None = None,
    shown: dict[str, bool] | None = None,
) -> list[Alert]:
    """Raise an alert for every shown item whose alert rule the submitted answers meet
    (``only``: just these items, e.g. a stop raised on save, before any submit), each once.

    ``answers`` and ``shown`` are the response's answers and ``enabled_states`` of them when
    the caller has them already. The alerts the response raised before (a reopened and sent
    again response) are read only when a rule is met: most answers meet none. The assignment
    and response may be the portal's plain rows (ids, ``case_id``, ``partner_id``,
    ``definition``, ``answers``): nothing else of them is read.
    """
    defn = assignment.definition
    items = defn.derived("alert_items", _alert_items)
    trend_items = defn.derived("trend_items", _trend_items) if only is None else []
    if not items and not trend_items:
        return []
    answers = response.answers if answers is None else answers
    shown = engine.enabled_states(defn, answers) if shown is None else shown
    met = [
        (item["link_id"], item["alert"].get("severity", DEFAULT_SEVERITY))
        for item in _met(items, answers, shown)
        if only is None or item["link_id"] in only
    ]
    met += _trend_hits(assignment, response, answers, shown, trend_items)
    if not met:
        return []
    existing = set(
        db.session.scalars(select(Alert.link_id).where(Alert.response_id == response.id))
    )
    return _raise(
        assignment, response, [(lid, severity) for lid, severity in met if lid not in existing]
    )


def may_raise(defn: engine.Definition, answers: dict, shown: dict[str, bool]) -> bool:
    """Whether ``evaluate_alerts`` of a submit of these answers (``shown``: their
    ``enabled_states``) may raise an alert, and so write: a shown item whose alert rule they
    meet (the rule the evaluation checks), or any item with a trend rule (its baseline is
    the partner's history, which only the evaluation reads). Pure: nothing is read but the
    answers, so a submit can tell before it writes (``portal.submitting._submit_alone``)."""
    if defn.derived("trend_items", _trend_items):
        return True
    return any(_met(defn.derived("alert_items", _alert_items), answers, shown))


def _met(items: list[dict], answers: dict, shown: dict[str, bool]):
    """The shown ``items`` whose alert rule ``answers`` meet (evaluated and foreseen alike)."""
    for item in items:
        if shown[item["link_id"]] and _triggers(item["alert"], answers.get(item["link_id"])):
            yield item


def _raise(assignment: Assignment, response: Response, raised: list[tuple[str, str]]) -> list:
    """Store alerts on a response, (link_id, severity) each, with one flush for all of them
    (one INSERT, not one an alert: each alert's id is made before it is written) and an audit
    event each."""
    alerts = [
        Alert(
            case_id=assignment.case_id,
            assignment_id=assignment.id,
            response_id=response.id,
            partner_id=response.partner_id,
            link_id=link_id,
            severity=severity,
        )
        for link_id, severity in raised
    ]
    if not alerts:
        return alerts
    db.session.add_all(alerts)
    db.session.flush()
    for alert in alerts:
        audit.record("alert.raise", "alert", alert.id, actor_kind="system")
    return alerts


_rs, _ag = Response.__table__.c, Assignment.__table__.c
_qv, _qn = QuestionnaireVersion.__table__.c, Questionnaire.__table__.c


def _history_of(*columns) -> Select:
    """``partner_history``'s read of ``columns``, made once (``_history_parameters``)."""
    return (
        select(*columns)
        .join(Assignment.__table__, _ag.id == _rs.assignment_id)
        .join(QuestionnaireVersion.__table__, _qv.id == _ag.version_id)
        .join(Questionnaire.__table__, _qn.id == _qv.questionnaire_id)
        .where(
            _ag.case_id == bindparam("case_id"),
            _rs.partner_id == bindparam("partner_id"),
            _rs.status == "submitted",
            _rs.submitted_at.is_not(None),
            _rs.id != bindparam("response_id"),
            _qn.slug == bindparam("slug"),
        )
        .order_by(_rs.submitted_at)
    )


_HISTORY = _history_of(Response)
#: the same responses as their ids and sealed answers: a trend rule reads one answer of
#: each, so no object is loaded and only the rules' parts are parsed (``_earlier_answers``)
_EARLIER_ANSWERS = _history_of(_rs.id, _rs.answers_json_sealed)


def _history_parameters(assignment: Assignment, response: Response) -> dict:
    return {
        "case_id": assignment.case_id,
        "partner_id": response.partner_id,
        "response_id": response.id,
        "slug": assignment.definition.doc["slug"],
    }


def partner_history(assignment: Assignment, response: Response) -> list[Response]:
    """The partner's other submitted responses in the case to the same questionnaire (by
    slug: an intake re-take on a newer version counts), oldest first."""
    return list(db.session.scalars(_HISTORY, _history_parameters(assignment, response)))


def _earlier_answers(assignment: Assignment, response: Response, parts: set[str]) -> list[dict]:
    """The answers of ``partner_history``'s responses, oldest first, each holding at least
    its answers in ``parts`` (``engine.answer_part``): opened in one call, parsed by part
    (a partner's check-ins grow by one a week, and each submit read every earlier one as an
    object and parsed all its answers)."""
    rows = core_execute(_EARLIER_ANSWERS, _history_parameters(assignment, response)).all()
    texts = Response.answers_json.open_all(
        [row.answers_json_sealed for row in rows], [row.id for row in rows]
    )
    return [StoredAnswers(text).read(parts) for text in texts]


def _trend_hits(
    assignment: Assignment, response: Response, answers: dict, shown: dict, items: list[dict]
) -> list[tuple[str, str]]:
    """(alert link_id, severity) of the shown items whose trend rule the latest answer meets
    against the partner's baseline (their earlier submitted answers, read only for these)."""
    items = [
        i for i in items if shown[i["link_id"]] and engine.has_answer(answers.get(i["link_id"]))
    ]
    if not items:
        return []
    earlier = _earlier_answers(
        assignment, response, {engine.answer_part(i["link_id"]) for i in items}
    )
    hits = []
    for item in items:
        lid = item["link_id"]
        values = [a.get(lid) for a in earlier] + [answers.get(lid)]
        if trends.evaluate(item["trend"], values) is not None:
            hits.append((TREND_PREFIX + lid, item["trend"].get("severity", DEFAULT_SEVERITY)))
    return hits


#: alerts a feature raises on a submitted response by its own rule rather than an item's,
#: keyed by the name stored as the alert's ``link_id``, with the message the counselor reads
RULE_MESSAGES = {
    "steps.pace": (
        "A step debrief asked to slow down or pause, or said fatigue or anxiety was high: "
        "the next step is paused for everyone until you resume it."
    ),
}


def raise_rule_alert(
    assignment: Assignment, response: Response, rule: str, severity: str = "review"
) -> Alert | None:
    """Raise the alert ``rule`` (a key of RULE_MESSAGES) on a response, once: None when it
    was raised before (a reopened and sent-again response)."""
    found = db.session.scalar(
        select(Alert).where(Alert.response_id == response.id, Alert.link_id == rule)
    )
    if found is not None:
        return None
    return _raise(assignment, response, [(rule, severity)])[0]


SEVERITY_RANK = {"urgent": 0, "review": 1, "info": 2}


def severity_rank(severity, offset: int = 0):
    """A severity's rank + ``offset`` (urgent 0, review 1, info 2, any other 3) as a SQL
    expression, so every list orders alike; its ranks are constants of the statement, not
    parameters (the caseload's statement stays short enough for psycopg's cache of converted
    statements)."""
    ranks = {
        literal_column(f"'{name}'"): literal_column(str(rank + offset))
        for name, rank in SEVERITY_RANK.items()
    }
    return sa_case(ranks, value=severity, else_=literal_column(str(len(ranks) + offset)))


#: urgent first, then review, then info
_by_severity = severity_rank(Alert.severity)


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
        link_id = alert.link_id.removeprefix(TREND_PREFIX)
        item, rule = _rule_of(alert.assignment.definition, alert.link_id)
        response = alert.response
        value = response.answers.get(link_id) if response is not None else None
        answer = answer_plain(item, value) if item else ""
        if link_id != alert.link_id and item and response is not None:
            answer += _baseline_text(alert.assignment, response, link_id, rule)
        views.append(AlertView(alert, _message(rule), item.get("text", ""), answer))
    return views


def _rule_of(definition: engine.Definition, stored: str) -> tuple[dict, dict]:
    """An alert's item (``{}`` when the definition has none) and the rule that raised it, by
    the alert's stored ``link_id`` (a trend rule's carries TREND_PREFIX)."""
    link_id = stored.removeprefix(TREND_PREFIX)
    item = definition.by_id.get(link_id, {})
    rule = item.get("alert" if link_id == stored else "trend") or {}
    if stored in RULE_MESSAGES:
        rule = {"message": RULE_MESSAGES[stored]}
    return item, rule


def _message(rule: dict) -> str:
    return rule.get("message", "Screening answer needs attention")


def _baseline_text(assignment: Assignment, response: Response, link_id: str, rule: dict) -> str:
    """What a trend alert's answer rose or fell from: " (was 2)", from the partner's answers
    up to the response that raised it (later check-ins do not move it)."""
    if response.submitted_at is None:
        return ""
    cutoff = aware(response.submitted_at)
    earlier = [
        r.answers.get(link_id)
        for r in partner_history(assignment, response)
        if aware(r.submitted_at) < cutoff
    ]
    hit = trends.evaluate(rule, [*earlier, response.answers.get(link_id)]) if rule else None
    return f" (was {hit.baseline:g})" if hit is not None else ""


def _cards(alerts: list[Alert]) -> list[AlertCard]:
    """Group alerts (already in display order) into one card per response."""
    cards: dict[uuid.UUID, AlertCard] = {}
    for view in _alert_views(alerts):
        cards.setdefault(view.alert.response_id, AlertCard([])).items.append(view)
    return list(cards.values())


def _case_alerts_statement(open_only: bool):
    done = Alert.acknowledged_at.is_(None) if open_only else true()
    return (
        select(Alert)
        .where(Alert.case_id == bindparam("case_id"), done)
        .options(
            selectinload(Alert.partner),
            selectinload(Alert.response),
            selectinload(Alert.assignment).selectinload(Assignment.version),
        )
        .order_by(_by_severity, Alert.triggered_at.desc(), Alert.link_id)
    )


# Built once per process: making a statement and its cache key costs more CPU than running it
# (README, "Where each page's CPU goes").
_CASE_ALERTS = {open_only: _case_alerts_statement(open_only) for open_only in (True, False)}


def _case_alerts(case_id: uuid.UUID, *, open_only: bool) -> list[Alert]:
    """The case's open alerts, or all of them, urgent first, then newest first."""
    return list(db.session.scalars(_CASE_ALERTS[open_only], {"case_id": case_id}))


def open_alerts(case: Case) -> list[AlertView]:
    """Unacknowledged alerts of a case, urgent first, then newest first."""
    return _alert_views(_case_alerts(case.id, open_only=True))


@dataclass(frozen=True)
class ReleaseAlert:
    """An open alert as the release form names it: how pressing, whose, and its rule's
    message; the answer that raised it is not read."""

    id: uuid.UUID
    severity: str
    partner_name: str
    message: str


_al, _pa, _as = Alert.__table__.c, Partner.__table__.c, Assignment.__table__.c
#: the case's open alerts with their partners and versions, ordered as ``open_alerts``
_RELEASE_ALERTS = (
    select(
        _al.id,
        _al.severity,
        _al.link_id,
        _al.partner_id,
        _pa.display_name_sealed,
        _as.sections,
        _as.version_id,
        QuestionnaireVersion.__table__.c.checksum,
    )
    .join(Partner.__table__, _pa.id == _al.partner_id)
    .join(Assignment.__table__, _as.id == _al.assignment_id)
    .join(QuestionnaireVersion.__table__, QuestionnaireVersion.__table__.c.id == _as.version_id)
    .where(_al.case_id == bindparam("case_id"), _al.acknowledged_at.is_(None))
    .order_by(
        severity_rank(_al.severity),
        _al.triggered_at.desc(),
        _al.link_id,
    )
)


def release_alerts(case_id: uuid.UUID) -> list[ReleaseAlert]:
    """The case's open alerts as a release names them (``open_alerts``' order and messages),
    read as plain columns in one statement; only the partners' names are decrypted."""
    name = Partner.display_name.opener()
    out = []
    for row in core_execute(_RELEASE_ALERTS, {"case_id": case_id}):
        definition = VersionRow(row.version_id, row.checksum).definition.only(row.sections)
        _, rule = _rule_of(definition, row.link_id)
        out.append(
            ReleaseAlert(
                row.id, row.severity, name(row.display_name_sealed, row.partner_id), _message(rule)
            )
        )
    return out


def _most_pressing_first(cards: list[AlertCard]) -> list[AlertCard]:
    return sorted(cards, key=lambda c: SEVERITY_RANK.get(c.severity, len(SEVERITY_RANK)))


def open_alert_cards(case: Case) -> list[AlertCard]:
    """Open alerts of a case as one card per submitted response, the most pressing first."""
    return _most_pressing_first(_cards(_case_alerts(case.id, open_only=True)))


def case_alert_cards(case: Case) -> tuple[list[AlertCard], list[AlertCard]]:
    """The case's open alert cards (most pressing first) and closed ones (most recently
    closed first), the open ones ordered as ``open_alert_cards`` orders them,
    from one read of the case's alerts."""
    alerts = _case_alerts(case.id, open_only=False)
    open_ = [a for a in alerts if a.acknowledged_at is None]
    # sorted() is stable, also in reverse: equal closing times keep severity order
    closed = sorted(
        (a for a in alerts if a.acknowledged_at is not None),
        key=lambda a: aware(a.acknowledged_at),
        reverse=True,
    )
    return _most_pressing_first(_cards(open_)), _cards(closed)


def all_alert_cards(case: Case) -> list[AlertCard]:
    """Every alert card of a case: the open ones (most pressing first), then the closed ones."""
    open_, closed = case_alert_cards(case)
    return open_ + closed


def caseload_alerts(offset: int) -> Select:
    """Every open alert as (case id, its severity's rank + ``offset``; urgent 0, review 1,
    info 2): the caseload's flags (``pages.read_models.CASELOAD_FLAGS``), which keep the
    counselor's cases."""
    return select(Alert.case_id, severity_rank(Alert.severity, offset)).where(
        Alert.acknowledged_at.is_(None)
    )


def get_alert_or_404(case: Case, alert_id: uuid.UUID) -> Alert:
    """An alert of an owned case, else 404."""
    return get_in_case_or_404(Alert, case, alert_id, via=Alert.case_rel)


def acknowledge(alert: Alert, note: str) -> list[Alert]:
    """Close an alert and every other open alert of the same response with one note."""
    if alert.acknowledged_at is not None:
        raise AlertError("This alert was already acknowledged.")
    # the case's row lock before anything changes: its mark (cases.flags) is cleared below
    # only if no flag of the case is open under it
    flags.lock(alert.case_id)
    closing = db.session.scalars(
        select(Alert).where(Alert.response_id == alert.response_id, Alert.acknowledged_at.is_(None))
    ).all()
    now = utcnow()
    for each in closing:
        each.acknowledged_at = now
        each.ack_note = note.strip()
        audit.record("alert.acknowledge", "alert", each.id)
    db.session.flush()
    flags.settle(alert.case_id)
    return list(closing)
