"""The questionnaire builder's operations: create, clone, save drafts, publish, share, and
FHIR Questionnaire export and import. Functions flush; routes commit.

A counselor's questionnaires are theirs: editing goes through ``get_own_or_404`` (another
counselor gets the same 404 as for a missing one). Built-ins and questionnaires shared with
the practice are read-only for everyone but their owner, who alone edits them; anyone who
can read one can clone it.
"""

from __future__ import annotations

import json
import uuid

from flask_login import current_user
from sqlalchemy import select

from counselor.core import audit
from counselor.core.locking import lock_row
from counselor.core.models import utcnow
from counselor.core.ownership import get_owned_or_404
from counselor.extensions import db
from counselor.questionnaires import builder, fhir, fhir_import
from counselor.questionnaires.models import Questionnaire, QuestionnaireVersion
from counselor.questionnaires.parsing import MAX_DEFINITION_CHARS, parse_definition
from counselor.questionnaires.schema import validate_definition
from counselor.questionnaires.services import (
    DefinitionError,
    _store_version,
    adopt_names,
    load_definition,
)


class ConflictError(ValueError):
    """The questionnaire changed since the builder page was opened (another tab saved)."""


class NotesPending(ValueError):
    """A FHIR import would leave things out; ``notes`` names each, for the counselor to accept."""

    def __init__(self, notes: list[str]):
        super().__init__("; ".join(notes))
        self.notes = notes


def get_own_or_404(questionnaire_id: uuid.UUID) -> Questionnaire:
    """One of the current counselor's own questionnaires, else 404 (built-ins included)."""
    return get_owned_or_404(Questionnaire, questionnaire_id, owner=Questionnaire.owner_id)


def is_mine(questionnaire: Questionnaire) -> bool:
    """Whether the current counselor owns (and so may edit) the questionnaire."""
    return questionnaire.owner_id == current_user.id


def readable_versions(questionnaire: Questionnaire) -> list[QuestionnaireVersion]:
    """The versions the current counselor may read: all for the owner, else published ones."""
    if is_mine(questionnaire):
        return list(questionnaire.versions)
    return [v for v in questionnaire.versions if v.published_at is not None]


def _taken_slugs(owner_id: uuid.UUID) -> set[str]:
    return set(
        db.session.scalars(select(Questionnaire.slug).where(Questionnaire.owner_id == owner_id))
    )


def _new(doc: dict, owner_id: uuid.UUID) -> Questionnaire:
    questionnaire = Questionnaire(
        slug=doc["slug"], owner_id=owner_id, title="", purpose="", kind=""
    )
    db.session.add(questionnaire)
    _store_version(questionnaire, doc, publish=False)
    db.session.flush()
    return questionnaire


def create(owner_id: uuid.UUID) -> Questionnaire:
    """A new own questionnaire holding one draft with a section and a question."""
    questionnaire = _new(
        builder.blank(builder.unique_slug("my-questionnaire", _taken_slugs(owner_id))), owner_id
    )
    audit.record("questionnaire.create", "questionnaire", questionnaire.id)
    return questionnaire


def clone(source: Questionnaire, owner_id: uuid.UUID) -> Questionnaire:
    """A draft copy, owned by ``owner_id``, of the newest version its reader may see."""
    version = readable_versions(source)[-1]
    slug = builder.unique_slug(f"{source.slug}-copy", _taken_slugs(owner_id))
    questionnaire = _new(builder.clone(version.definition.doc, slug), owner_id)
    audit.record("questionnaire.clone", "questionnaire", questionnaire.id)
    return questionnaire


def lock(questionnaire: Questionnaire) -> None:
    """Hold the questionnaire's row lock until the commit, its versions re-read: two saves
    (two tabs) then run one after the other and the second sees the first's version."""
    lock_row(
        Questionnaire,
        questionnaire.id,
        children=[(QuestionnaireVersion, QuestionnaireVersion.questionnaire_id)],
    )
    db.session.refresh(questionnaire, ["versions"])


def parse(text: str) -> dict:
    """The builder's posted definition, through the import limits (ParseError, DefinitionError)."""
    doc = parse_definition(text)
    if not isinstance(doc, dict):
        raise DefinitionError(["$: a definition is a JSON object"])
    return doc


def save_draft(
    questionnaire: Questionnaire, doc: dict, base: int | None
) -> QuestionnaireVersion | None:
    """Store an edited definition as a new draft version (None when nothing changed).

    ``base`` is the version number the builder page started from: when another save came
    first, ConflictError, and nothing is overwritten."""
    doc = {**doc, "slug": questionnaire.slug}  # the builder never renames; links keep working
    errors = validate_definition(doc)
    if errors:
        raise DefinitionError(errors)
    lock(questionnaire)
    if base is not None and questionnaire.newest.number != base:
        raise ConflictError(
            f"This questionnaire was saved elsewhere (now version {questionnaire.newest.number}) "
            "after this page was opened. Your changes are still here: copy what you need, then "
            "reload the page."
        )
    version = _store_version(questionnaire, doc, publish=False)
    if version is not None:
        audit.record("questionnaire.save", "questionnaire", questionnaire.id)
    db.session.flush()
    return version


def publish(questionnaire: Questionnaire) -> QuestionnaireVersion | None:
    """Make the newest version assignable; None when it already is."""
    lock(questionnaire)
    newest = questionnaire.newest
    if newest.published_at is not None:
        return None
    newest.published_at = utcnow()
    adopt_names(questionnaire, newest.definition.doc)
    audit.record("questionnaire.publish", "questionnaire", questionnaire.id)
    db.session.flush()
    return newest


def set_shared(questionnaire: Questionnaire, shared: bool) -> None:
    """Share a questionnaire read-only with every counselor of the practice, or stop."""
    questionnaire.shared = shared
    audit.record(
        "questionnaire.share" if shared else "questionnaire.unshare",
        "questionnaire",
        questionnaire.id,
    )


def export_fhir(
    questionnaire: Questionnaire, number: int | None
) -> tuple[QuestionnaireVersion, dict]:
    """A readable version (the newest by default) as a FHIR R4 Questionnaire; LookupError."""
    versions = readable_versions(questionnaire)
    version = (
        next((v for v in versions if v.number == number), None)
        if number
        else (versions or [None])[-1]
    )
    if version is None:
        raise LookupError(number)
    resource = fhir.to_fhir(
        version.definition.doc,
        version=version.number,
        status="active" if version.published_at else "draft",
    )
    audit.record("questionnaire.export_fhir", "questionnaire", questionnaire.id)
    return version, resource


def import_fhir(
    text: str, owner_id: uuid.UUID, accept_notes: bool
) -> tuple[Questionnaire, QuestionnaireVersion | None, list[str]]:
    """Store the definition a FHIR Questionnaire holds as the counselor's own (published, as
    every import is): a new questionnaire, a new version of the one with its name, or nothing
    when identical. Raises ParseError, fhir.FhirError, DefinitionError, or NotesPending when
    something would be left out and ``accept_notes`` is false."""
    resource = parse_definition(text, max_chars=fhir.MAX_FHIR_CHARS)
    doc, notes = fhir_import.from_fhir(resource)
    errors = validate_definition(doc)
    size = len(json.dumps(doc, ensure_ascii=False))
    if size > MAX_DEFINITION_CHARS:
        errors.insert(
            0,
            f"$: the definition it holds has {size:,} characters; at most {MAX_DEFINITION_CHARS:,}",
        )
    if errors:
        raise DefinitionError(errors)
    if notes and not accept_notes:
        raise NotesPending(notes)
    questionnaire, version = load_definition(doc, owner_id)
    audit.record("questionnaire.import_fhir", "questionnaire", questionnaire.id)
    return questionnaire, version, notes
