"""Agreement pages: the counselor's (from the case page) and the partner's (under /p/)."""

from __future__ import annotations

import functools
import uuid

from flask import Response as HTTPResponse
from flask import flash, redirect, render_template, request, url_for
from wtforms import SelectChoice

from counselor.agreements import clauses as cl
from counselor.agreements import drafting, exports, queries, services, views
from counselor.agreements.blueprint import bp
from counselor.agreements.forms import DraftForm, NewAgreementForm, PlainForm, parse_clauses
from counselor.cases.services import get_case_or_404
from counselor.core import audit
from counselor.core.ownership import counselor_required
from counselor.core.web import refuse, refusing
from counselor.extensions import csrf, db
from counselor.portal.access import not_found, partner_required
from counselor.portal.home_page import HomeCard


@bp.app_context_processor
def _clause_words():
    return {
        "CLAUSE_KINDS": cl.KINDS,
        "CLAUSE_CONDITIONS": cl.CONDITIONS,
        "CLAUSE_SIGNAL": cl.SIGNAL,
        "role_names": views.role_names,
        "fields_changed": cl.fields_changed,
    }


@bp.record_once
def _plug_in(state) -> None:
    # Features below this one show agreements without importing it: the partner's start page
    # lists their agreements, the record PDFs carry the agreement in force, and the export
    # worker renders the partner's PDF. (The case page and the caseload are pages above
    # agreements: their read models ask agreements directly.)
    ext = state.app.extensions
    ext.setdefault("portal_home_cards", []).append(_home_cards)
    ext.setdefault("record_sections", []).append(exports.record_section)
    ext.setdefault("export_renderers", {})["agreement"] = exports.render


def _home_cards(pctx) -> list[HomeCard]:
    """The partner's agreements as cards of their home (``portal_home_cards``), each with the
    link to it; one to read or with a paused part comes before the others."""
    return [
        HomeCard(
            title=card.title or "Your agreement",
            text=card.sentence,
            url=url_for("agreements.portal_show", agreement_id=card.agreement_id),
            link_text="Read it" if card.status == "to_read" else "Open it",
            order=10 if card.status in ("to_read", "paused") else 20,
        )
        for card in views.agreement_cards_for(pctx.partner)
    ]


# ---- the counselor -------------------------------------------------------------------------


def _load(case_id: uuid.UUID, agreement_id: uuid.UUID):
    case = get_case_or_404(case_id)
    return case, queries.get_agreement_or_404(case, agreement_id)


def _to_agreement(case, agreement, anchor: str = ""):
    return redirect(url_for("agreements.show", case_id=case.id, agreement_id=agreement.id) + anchor)


@bp.route("/cases/<uuid:case_id>/agreements/new", methods=["GET", "POST"])
@counselor_required
def new(case_id: uuid.UUID):
    """Open an agreement between chosen partners of the case."""
    case = get_case_or_404(case_id)
    form = NewAgreementForm()
    form.partners.choices = [SelectChoice(str(p.id), p.display_name) for p in case.partners]
    if request.method == "GET":
        pair = request.args.get("pair", type=int)
        form.partners.data = [str(p.id) for p in drafting.default_members(case, pair)]
        form.title.data = "Our agreement"
    elif form.validate_on_submit():
        try:
            agreement = drafting.create(
                case, form.title.data, [uuid.UUID(v) for v in form.partners.data]
            )
        except services.AgreementError as exc:
            form.title.errors.append(str(exc))
        else:
            db.session.commit()
            return redirect(url_for("agreements.draft", case_id=case.id, agreement_id=agreement.id))
    audit.record("case.view", "case", case.id)
    db.session.commit()
    pairs = drafting.relationship_pairs(case)
    status = 400 if form.errors else 200
    return render_template("agreements/new.html", case=case, form=form, pairs=pairs), status


@bp.route("/cases/<uuid:case_id>/agreements/<uuid:agreement_id>")
@counselor_required
def show(case_id: uuid.UUID, agreement_id: uuid.UUID):
    """The version in force, pending versions with each partner's answer, pauses with their
    notes, and the history."""
    case, agreement = _load(case_id, agreement_id)
    view = views.counselor_view(agreement)
    audit.record("agreement.view", "agreement", agreement.id)
    db.session.commit()
    return render_template("agreements/show.html", case=case, view=view, form=PlainForm())


@bp.route("/cases/<uuid:case_id>/agreements/<uuid:agreement_id>/draft", methods=["GET", "POST"])
@counselor_required
def draft(case_id: uuid.UUID, agreement_id: uuid.UUID):
    """Write the next version: it starts from the newest published one; clauses can be added,
    changed, removed, and pulled in from what every partner of the agreement already sees."""
    case, agreement = _load(case_id, agreement_id)
    version = queries.draft_of(agreement)
    if request.method == "POST" and request.form.get("action") == "start":
        if not PlainForm().validate_on_submit():
            refuse(400, "This page was open too long. Reload it and try again.")
        drafting.start_draft(agreement)
        db.session.commit()
        return redirect(url_for("agreements.draft", case_id=case.id, agreement_id=agreement.id))
    if version is None:
        if request.method == "POST":
            refuse(409, "This draft was published in the meantime. Start a new draft to change it.")
        return _to_agreement(case, agreement)
    form = DraftForm()
    rows, status, focus = version.clauses, 200, None
    if request.method == "POST":
        action = request.form.get("action", "save")
        rows = parse_clauses(request.form)
        if action.startswith("remove-") and action[7:].isdigit():
            rows = [r for n, r in enumerate(rows) if n != int(action[7:])]
        error = None
        if not form.validate_on_submit():
            error = "Please correct the highlighted fields; nothing was saved yet."
        else:
            try:
                drafting.save_draft(agreement, version, form.title.data, rows, form.review_on.data)
            except services.AgreementError as exc:
                error = str(exc)
        if error:
            status = 400
            flash(error, "danger")
        else:
            db.session.commit()
            if action.startswith("add-") and action[4:] in cl.KINDS:
                # an empty clause cannot be saved: it is shown to be filled in, then saved
                rows = version.clauses + [{"kind": action[4:], "text": "", "key": ""}]
                focus = len(rows) - 1
            elif action == "publish":
                if request.form.get("version_id") != str(version.id):
                    refuse(409, "This page showed another draft. Reload it before publishing.")
                with refusing(400, services.AgreementError):
                    published = services.publish(agreement, version.id)
                db.session.commit()
                flash(
                    f"Version {published.number} is published. The partners are asked to read it.",
                    "success",
                )
                return _to_agreement(case, agreement)
            else:
                flash("Draft saved. The partners see nothing until you publish it.", "success")
                return redirect(
                    url_for("agreements.draft", case_id=case.id, agreement_id=agreement.id)
                )
    else:
        form.title.data = version.title
        form.review_on.data = version.review_on
    audit.record("agreement.draft_view", "agreement_version", version.id)
    db.session.commit()
    return render_template(
        "agreements/draft.html",
        case=case,
        agreement=agreement,
        version=version,
        form=form,
        clauses=rows,
        material=drafting.material_for(agreement),
        plain=PlainForm(),
        members=_members(agreement),
        focus=focus,
    ), status


def _members(agreement):
    return [p for p in agreement.case.partners if p.id in agreement.partner_ids]


@bp.route("/cases/<uuid:case_id>/agreements/<uuid:agreement_id>/material", methods=["POST"])
@counselor_required
def material(case_id: uuid.UUID, agreement_id: uuid.UUID):
    """Add what was ticked (matches, shared pause-signal and aftercare answers) to the draft."""
    case, agreement = _load(case_id, agreement_id)
    if not PlainForm().validate_on_submit():
        refuse(400, "This page was open too long. Reload it and try again.")
    version = queries.draft_of(agreement)
    if version is None:
        refuse(409, "This draft was published in the meantime. Start a new draft to add to it.")
    with refusing(400, services.AgreementError):
        added = drafting.add_material(agreement, version, request.form.getlist("pick"))
    db.session.commit()
    flash(
        f"Added {added} {'clause' if added == 1 else 'clauses'} to the draft. Edit them below.",
        "success",
    )
    return redirect(url_for("agreements.draft", case_id=case.id, agreement_id=agreement.id))


@bp.route("/cases/<uuid:case_id>/agreements/<uuid:agreement_id>/publish", methods=["POST"])
@counselor_required
def publish(case_id: uuid.UUID, agreement_id: uuid.UUID):
    """Publish the draft: partners are asked to read it; the version in force stays until every
    partner has agreed."""
    case, agreement = _load(case_id, agreement_id)
    if not PlainForm().validate_on_submit():
        refuse(400, "This page was open too long. Reload it and try again.")
    try:
        draft_id = uuid.UUID(request.form.get("version_id", ""))
    except ValueError:
        refuse(400, "The form is missing which draft to publish; reload the page.")
    try:
        version = services.publish(agreement, draft_id)
    except services.Stale as exc:
        refuse(409, str(exc))
    except services.AgreementError as exc:
        refuse(400, str(exc))
    db.session.commit()
    flash(f"Version {version.number} is published. The partners are asked to read it.", "success")
    return _to_agreement(case, agreement)


# ---- the partner ---------------------------------------------------------------------------


def _partner_agreement(ctx, agreement_id: uuid.UUID):
    # None, and so the page a link that does not work gets, alike for an agreement the partner
    # is not in, one of another case, and one that does not exist
    return queries.for_partner(ctx.partner, agreement_id)


@bp.route("/p/agreements")
@partner_required
def portal_list(ctx):
    """The partner's agreements."""
    cards = views.agreement_cards_for(ctx.partner)
    audit.by_partner(ctx.partner.id, "portal.agreements")
    db.session.commit()
    return render_template("agreements/portal_list.html", cards=cards, ctx=ctx)


def _portal_page(ctx, agreement, *, status: int = 200, message: str | None = None, paused=None):
    page = views.partner_page(agreement, ctx.partner)
    return render_template(
        "agreements/portal_show.html",
        page=page,
        ctx=ctx,
        message=message,
        just_paused=paused,
    ), status


@bp.route("/p/agreements/<uuid:agreement_id>")
@partner_required
def portal_show(ctx, agreement_id: uuid.UUID):
    """Read the agreement: what is in force, what changed, and answer or pause."""
    agreement = _partner_agreement(ctx, agreement_id)
    if agreement is None:
        return not_found()
    audit.by_partner(ctx.partner.id, "portal.agreement_view", "agreement", agreement.id)
    db.session.commit()
    paused = None
    if request.args.get("paused"):
        paused = next(
            (
                p
                for p in views.partner_page(agreement, ctx.partner).my_pauses.values()
                if str(p.id) == request.args["paused"]
            ),
            None,
        )
    return _portal_page(ctx, agreement, paused=paused)


def _act(ctx, agreement_id, action):
    agreement = _partner_agreement(ctx, agreement_id)
    if agreement is None:
        return None, not_found()
    try:
        result = action(agreement)
    except services.Stale as exc:
        db.session.rollback()
        return agreement, _portal_page(ctx, agreement, status=409, message=str(exc))
    except services.AgreementError as exc:
        db.session.rollback()
        return agreement, _portal_page(ctx, agreement, status=400, message=str(exc))
    db.session.commit()
    return agreement, result


def _uuid_field(name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.form.get(name, ""))
    except ValueError:
        return None


@bp.route("/p/agreements/<uuid:agreement_id>/answer", methods=["POST"])
@partner_required
def portal_answer(ctx, agreement_id: uuid.UUID):
    """“I agree” or “I want to talk about this first”, with an optional note for the counselor."""
    version_id = _uuid_field("version_id")

    def act(agreement):
        if version_id is None:
            raise services.AgreementError(
                "The form is missing which version you read; reload the page."
            )
        return services.answer(
            agreement,
            ctx.partner,
            version_id,
            request.form.get("answer", ""),
            request.form.get("note"),
        )

    agreement, result = _act(ctx, agreement_id, act)
    if not hasattr(result, "answer"):
        return result
    return redirect(
        url_for("agreements.portal_show", agreement_id=agreement.id, answered=result.answer)
    )


@bp.route("/p/agreements/<uuid:agreement_id>/pause", methods=["POST"])
@partner_required
def portal_pause(ctx, agreement_id: uuid.UUID):
    """Pause one clause for everyone: one tap, no reason asked."""
    key = request.form.get("clause", "")
    agreement, result = _act(ctx, agreement_id, lambda a: services.pause(a, ctx.partner, key))
    if not hasattr(result, "clause_key"):
        return result
    return redirect(
        url_for("agreements.portal_show", agreement_id=agreement.id, paused=result.id)
        + f"#clause-{result.clause_key}"
    )


def _change_own_pause(ctx, agreement_id: uuid.UUID, change, **said):
    """Apply ``change(agreement, partner, pause_id)`` to the partner's own pause named in the
    form, then show the agreement with ``said`` (the query argument its page reads)."""
    pause_id = _uuid_field("pause")

    def act(agreement):
        if pause_id is None:
            raise services.AgreementError("Only the partner who paused this can change that pause.")
        change(agreement, ctx.partner, pause_id)
        return True

    agreement, result = _act(ctx, agreement_id, act)
    if result is not True:
        return result
    return redirect(url_for("agreements.portal_show", agreement_id=agreement.id, **said))


@bp.route("/p/agreements/<uuid:agreement_id>/pause-note", methods=["POST"])
@partner_required
def portal_pause_note(ctx, agreement_id: uuid.UUID):
    """Add a private note for the counselor to one's own pause (optional, once)."""
    note = request.form.get("note", "")

    def add_note(agreement, partner, pause_id):
        services.note_pause(agreement, partner, pause_id, note)

    return _change_own_pause(ctx, agreement_id, add_note, noted=1)


@bp.route("/p/agreements/<uuid:agreement_id>/lift", methods=["POST"])
@partner_required
def portal_lift(ctx, agreement_id: uuid.UUID):
    """Lift one's own pause."""
    return _change_own_pause(ctx, agreement_id, services.lift, lifted=1)


@bp.route("/p/agreements/<uuid:agreement_id>/pdf", methods=["POST"])
@partner_required
def portal_pdf(ctx, agreement_id: uuid.UUID):
    """Ask for the agreement and its history as a PDF (made by the background worker)."""
    agreement = _partner_agreement(ctx, agreement_id)
    if agreement is None:
        return not_found()
    export = exports.request(agreement, ctx.partner)
    db.session.commit()
    exports.publish(export.id)
    return redirect(
        url_for("agreements.portal_pdf_status", agreement_id=agreement.id, export_id=export.id)
    )


def _partner_export(view):
    """Hand the view the partner's own PDF export named in the URL (the not-found page for one
    of an agreement they are not in, or of another partner)."""

    @functools.wraps(view)
    def with_export(ctx, agreement_id: uuid.UUID, export_id: uuid.UUID):
        agreement = _partner_agreement(ctx, agreement_id)
        export = exports.for_partner(agreement, ctx.partner, export_id) if agreement else None
        if export is None:
            return not_found()
        return view(ctx, agreement_id, export)

    return with_export


@bp.route("/p/agreements/<uuid:agreement_id>/pdf/<uuid:export_id>")
@partner_required
@_partner_export
def portal_pdf_status(ctx, agreement_id: uuid.UUID, export):
    """The PDF's progress; the page refreshes itself until it is ready."""
    return render_template("agreements/portal_pdf.html", export=export, agreement_id=agreement_id)


@bp.route("/p/agreements/<uuid:agreement_id>/pdf/<uuid:export_id>/download")
@partner_required
@_partner_export
def portal_pdf_download(ctx, agreement_id: uuid.UUID, export):
    """The PDF as an attachment (never cached)."""
    if export.status != "ready":
        refuse(409, "This PDF is not ready yet.")
    audit.by_partner(ctx.partner.id, "portal.agreement_pdf", "export", export.id)
    db.session.commit()
    return HTTPResponse(
        export.pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": (
                f'attachment; filename="agreement-{export.requested_at:%Y%m%d}.pdf"'
            ),
            "Cache-Control": "no-store",
        },
    )


# The partner's forms carry the portal's own CSRF token, checked by partner_required (the
# counselor's Flask-WTF token lives in a cookie a partner's pages never read or write).
for _view in (portal_answer, portal_pause, portal_pause_note, portal_lift, portal_pdf):
    csrf.exempt(_view)
