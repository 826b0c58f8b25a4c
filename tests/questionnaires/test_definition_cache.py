"""Parsed definitions of immutable versions are kept per process, keyed by version and checksum."""

from __future__ import annotations

import json

from counselor.extensions import db
from counselor.questionnaires import engine
from counselor.questionnaires.models import QuestionnaireVersion
from tests.support import questionnaire, sync


def _fresh(version_id):
    db.session.expire_all()
    return db.session.get(QuestionnaireVersion, version_id)


def test_a_version_is_parsed_once_per_process(app):
    sync()
    intake, inventory = questionnaire("intake").latest, questionnaire("desires-boundaries").latest
    first = _fresh(intake.id).definition
    again = _fresh(intake.id).definition  # another request, another row object
    assert again is first
    assert _fresh(inventory.id).definition is not first
    assert [s.title for s in first.sections] == [s.title for s in intake.definition.sections]


def test_a_changed_checksum_is_parsed_again(app):
    sync()
    version = questionnaire("intake").latest
    cached = _fresh(version.id).definition
    other = QuestionnaireVersion(
        id=version.id, number=version.number, definition_json='{"items": []}', checksum="x" * 64
    )
    assert other.definition is not cached and other.definition.sections == []


def test_what_is_worked_out_of_a_definition_goes_with_its_version_and_checksum(app):
    """The required questions (``missing_required``) are worked out once per parsed
    definition: a version whose checksum changed, with other required items, is not answered
    from the old one's."""
    sync()
    version = questionnaire("intake").latest
    cached = _fresh(version.id).definition
    required = set(engine.missing_required(cached, {}))
    assert required  # the intake asks some questions of everyone
    assert set(engine.missing_required(cached, {})) == required  # from what was worked out
    item = {"link_id": "only", "type": "string", "text": "Only this", "required": True}
    other = QuestionnaireVersion(
        id=version.id,
        number=version.number,
        definition_json=json.dumps({"title": "t", "items": [item]}),
        checksum="y" * 64,
    )
    assert engine.missing_required(other.definition, {}) == {"only": "Please answer this question."}
    assert set(engine.missing_required(cached, {})) == required
