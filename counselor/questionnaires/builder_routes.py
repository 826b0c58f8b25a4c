"""The questionnaire builder's pages: create, clone, edit, check, publish, share, import (JSON or
FHIR Questionnaire) and FHIR export. Editing is the owner's alone (others get 404)."""

from __future__ import annotations

import json
import uuid

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from counselor.core import audit
from counselor.core.ownership import counselor_required
from counselor.extensions import db
from counselor.questionnaires import authoring, builder, services
from counselor.questionnaires.blueprint import bp
from counselor.questionnaires.builder_forms import BuilderForm, FhirImportForm
from counselor.questionnaires.fhir import FhirError
from counselor.questionnaires.forms import ImportForm
from counselor.questionnaires.models import Questionnaire, QuestionnaireVersion
from counselor.questionnaires.parsing import ParseError
from counselor.questionnaires.schema import (
    ALERT_SEVERITIES,
    ITEM_TYPES,
    OPERATORS,
    SHARE_LEVELS,
    validate_definition,
)


def _printable(lines: list[str]) -> list[str]:
    """Messages that may quote posted text, with any lone surrogate (which no page can be
    encoded with) written as its escape."""
    return [line.encode("utf-8", "backslashreplace").decode("utf-8") for line in lines]


def to_editor(questionnaire_id: uuid.UUID, note: str | None = None):
    """Back to the builder, with ``note`` shown as a warning if given."""
    if note:
        flash(note, "warning")
    return redirect(url_for("questionnaires.edit", questionnaire_id=questionnaire_id))


def saved(questionnaire: Questionnaire, version: QuestionnaireVersion | None):
    """Back to the builder, saying what saving a draft did (``version``: None if nothing
    changed)."""
    flash(
        f"Saved as draft version {version.number}. Publish it to assign it."
        if version
        else "Nothing changed since the last save.",
        "success",
    )
    return to_editor(questionnaire.id)


def _published(questionnaire: Questionnaire, version: QuestionnaireVersion | None):
    flash(
        f"Published version {version.number}: you can assign it now."
        if version
        else f"Version {questionnaire.newest.number} is already published.",
        "success",
    )
    return to_editor(questionnaire.id)


@bp.route("/questionnaires/new", methods=["POST"])
@counselor_required
def create():
    """Start a new questionnaire (a draft) and open it in the builder."""
    questionnaire = authoring.create(current_user.id)
    db.session.commit()
    return to_editor(questionnaire.id)


@bp.route("/questionnaires/<uuid:questionnaire_id>/clone", methods=["POST"])
@counselor_required
def clone(questionnaire_id: uuid.UUID):
    """Copy a built-in, shared or own questionnaire into a new draft of one's own."""
    source = services.get_questionnaire_or_404(questionnaire_id)
    questionnaire = authoring.clone(source, current_user.id)
    db.session.commit()
    flash("This is your copy: change anything, then publish it to assign it.", "success")
    return to_editor(questionnaire.id)


def _builder_page(questionnaire, doc: dict, form: BuilderForm, problems: list[str], status: int):
    version = questionnaire.newest
    if form.base.data is None:
        form.base.data = version.number
    if not form.definition.data:  # without scripts, "Save and publish" publishes this
        form.definition.data = json.dumps(doc, ensure_ascii=True)
    return render_template(
        "questionnaires/builder.html",
        questionnaire=questionnaire,
        version=version,
        form=form,
        # ASCII: a lone surrogate posted back goes out as its JSON escape, never raw
        doc_json=json.dumps(doc, ensure_ascii=True),
        # without scripts: the saved newest version, whose rules the plain forms edit
        saved=version.definition.doc,
        outline=builder.items_with_paths(version.definition.doc),
        type_labels=builder.TYPE_LABELS,
        # the saved version's phone view; builder.js replaces it as the counselor edits
        preview=render_template(
            "questionnaires/_phone_preview.html",
            **builder.preview_context(version.definition.doc),
        ),
        problems=_printable(problems),
        vocabulary=json.dumps(
            {
                "types": ITEM_TYPES,
                "operators": OPERATORS,
                "shares": SHARE_LEVELS,
                "severities": ALERT_SEVERITIES,
                "check_url": url_for("questionnaires.check", questionnaire_id=questionnaire.id),
            }
        ),
    ), status


@bp.route("/questionnaires/<uuid:questionnaire_id>/edit", methods=["GET", "POST"])
@counselor_required
def edit(questionnaire_id: uuid.UUID):
    """The builder: edit the newest version; saving stores a new immutable draft version."""
    questionnaire = authoring.get_own_or_404(questionnaire_id)
    form = BuilderForm()
    if request.method == "GET":
        audit.record("questionnaire.edit_view", "questionnaire", questionnaire.id)
        db.session.commit()
        return _builder_page(questionnaire, questionnaire.newest.definition.doc, form, [], 200)
    if not form.validate_on_submit():
        problems = [e for errors in form.errors.values() for e in errors]
        return _builder_page(
            questionnaire, questionnaire.newest.definition.doc, form, problems, 400
        )
    try:
        doc = authoring.parse(form.definition.data)
    except (ParseError, services.DefinitionError) as exc:
        return _builder_page(
            questionnaire, questionnaire.newest.definition.doc, form, exc.errors, 400
        )
    try:
        version = authoring.save_draft(questionnaire, doc, form.base.data)
        if request.form.get("action") == "publish":
            published = authoring.publish(questionnaire)
    except services.DefinitionError as exc:
        db.session.rollback()
        return _builder_page(questionnaire, doc, form, exc.errors, 400)
    except authoring.ConflictError as exc:
        db.session.rollback()
        return _builder_page(questionnaire, doc, form, [str(exc)], 409)
    db.session.commit()
    if request.form.get("action") == "publish":
        return _published(questionnaire, published)
    return saved(questionnaire, version)


@bp.route("/questionnaires/<uuid:questionnaire_id>/check", methods=["POST"])
@counselor_required
def check(questionnaire_id: uuid.UUID):
    """The builder's live check: the one validator's problems by item, and the phone preview."""
    questionnaire = authoring.get_own_or_404(questionnaire_id)
    text = request.get_data(as_text=True)
    try:
        doc = authoring.parse(text)
    except (ParseError, services.DefinitionError) as exc:
        return jsonify(problems=builder.problems_by_place(exc.errors), preview=None), 400
    doc["slug"] = questionnaire.slug
    errors = validate_definition(doc)
    preview = None
    if not errors:
        preview = render_template(
            "questionnaires/_phone_preview.html", **builder.preview_context(doc)
        )
    return jsonify(problems=builder.problems_by_place(errors), preview=preview)


@bp.route("/questionnaires/<uuid:questionnaire_id>/publish", methods=["POST"])
@counselor_required
def publish(questionnaire_id: uuid.UUID):
    """Make the newest saved version assignable."""
    questionnaire = authoring.get_own_or_404(questionnaire_id)
    version = authoring.publish(questionnaire)
    db.session.commit()
    return _published(questionnaire, version)


@bp.route("/questionnaires/<uuid:questionnaire_id>/share", methods=["POST"])
@counselor_required
def share(questionnaire_id: uuid.UUID):
    """Share read-only with every counselor of the practice, or stop sharing."""
    questionnaire = authoring.get_own_or_404(questionnaire_id)
    shared = request.form.get("shared") == "1"
    authoring.set_shared(questionnaire, shared)
    db.session.commit()
    flash(
        "Shared with the practice: every counselor can read, assign and copy it; only you edit it."
        if shared
        else "No longer shared: only you see it.",
        "success",
    )
    return redirect(url_for("questionnaires.preview", questionnaire_id=questionnaire.id))


@bp.route("/questionnaires/<uuid:questionnaire_id>/fhir.json")
@counselor_required
def export_fhir(questionnaire_id: uuid.UUID):
    """A version (``?v=N``, else the newest one may read) as a FHIR R4 Questionnaire."""
    questionnaire = services.get_questionnaire_or_404(questionnaire_id)
    try:
        version, resource = authoring.export_fhir(questionnaire, request.args.get("v", type=int))
    except LookupError:
        abort(404)
    db.session.commit()
    body = json.dumps(resource, ensure_ascii=False, indent=1)
    name = f"{questionnaire.slug}-v{version.number}.fhir.json"
    return Response(
        body,
        mimetype="application/fhir+json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _imported(questionnaire: Questionnaire, version: QuestionnaireVersion | None):
    """On to the imported questionnaire, saying what the import did (``version``: None when
    the definition was the newest version's)."""
    flash(
        f"Saved as version {version.number}."
        if version
        else "Identical to the newest version of this questionnaire, so it is unchanged: "
        "nothing new was saved.",
        "success",
    )
    return redirect(url_for("questionnaires.preview", questionnaire_id=questionnaire.id))


@bp.route("/questionnaires/import", methods=["GET", "POST"])
@counselor_required
def import_definition():
    """Add an own questionnaire (or a new version of one) from a JSON definition."""
    form = ImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            questionnaire, version = services.import_definition(
                form.definition.data, current_user.id
            )
        except services.DefinitionError as exc:
            problems = exc.errors
        else:
            db.session.commit()
            return _imported(questionnaire, version)
    status = 400 if (form.errors or problems) else 200
    return render_template("questionnaires/import.html", form=form, problems=problems), status


@bp.route("/questionnaires/import-fhir", methods=["GET", "POST"])
@counselor_required
def import_fhir():
    """Add an own questionnaire (or a new version) from an HL7 FHIR R4 Questionnaire."""
    form = FhirImportForm()
    problems: list[str] = []
    notes: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        text = form.text.data or ""
        if upload is not None and getattr(upload, "filename", ""):
            raw = upload.read(authoring.fhir.MAX_FHIR_CHARS * 4 + 1)
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                problems = ["$: the file is not UTF-8 text; export the Questionnaire as JSON"]
            form.text.data = text if not problems else ""
        if not problems and not text.strip():
            problems = ["$: choose a file or paste a FHIR Questionnaire"]
        if not problems:
            try:
                questionnaire, version, notes = authoring.import_fhir(
                    text, current_user.id, form.accept.data
                )
            except (ParseError, FhirError, services.DefinitionError) as exc:
                db.session.rollback()
                problems = exc.errors
            except authoring.NotesPending as exc:
                notes = exc.notes
            else:
                db.session.commit()
                return _imported(questionnaire, version)
    status = 400 if (form.errors or problems or notes) else 200
    return render_template(
        "questionnaires/import_fhir.html",
        form=form,
        problems=_printable(problems),
        notes=_printable(notes),
    ), status
