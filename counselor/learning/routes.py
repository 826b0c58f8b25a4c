"""The resource library (the counselor's) and resources on an assignment; the partner sees
them on their home, through the portal's home cards."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for

from counselor.cases.services import get_case_or_404
from counselor.core import audit
from counselor.core.ownership import counselor_required
from counselor.core.practice import valid_exit_url
from counselor.core.web import refuse, refused_under
from counselor.extensions import db
from counselor.learning import services
from counselor.learning.blueprint import bp
from counselor.learning.forms import AttachForm, ResourceForm
from counselor.portal.home_page import HomeCard, HomeCardEntry
from counselor.questionnaires.services import get_assignment_or_404


@bp.record_once
def _plug_in(state) -> None:
    state.app.extensions.setdefault("portal_home_cards", []).append(_home_cards)


def _home_cards(pctx) -> list[HomeCard]:
    """The resources attached to the partner's own homework, as one card of plain text and
    links."""
    found = services.partner_resources(pctx.partner)
    if not found:
        return []
    return [
        HomeCard(
            title="To read and explore together",
            text="Your counselor suggests these. Read at your own pace; you can talk them over "
            "together, or in your next session.",
            url=None,
            link_text="",
            order=50,
            entries=[
                HomeCardEntry(
                    r.title,
                    r.source,
                    r.note or "",
                    r.url if r.url and valid_exit_url(r.url) else None,
                )
                for r in found
            ],
        )
    ]


@bp.route("/resources", methods=["GET", "POST"])
@counselor_required
def index():
    """The counselor's resource library (with the starter list) and a form to add one."""
    form = ResourceForm()
    if form.validate_on_submit():
        try:
            resource = services.create(form.typed())
        except services.ResourceError as exc:
            form.title.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"“{resource.title}” is in your library.", "success")
            return redirect(url_for("learning.index"))
    own, others = services.library()
    audit.record("resource.list")
    db.session.commit()
    status = 400 if form.errors else 200
    return render_template("learning/index.html", form=form, own=own, others=others), status


@bp.route("/resources/<uuid:resource_id>/edit", methods=["GET", "POST"])
@counselor_required
def edit(resource_id: uuid.UUID):
    """Change one of the counselor's own resources."""
    resource = services.get_own_resource_or_404(resource_id)
    form = ResourceForm(obj=resource) if request.method == "GET" else ResourceForm()
    if form.validate_on_submit():
        try:
            services.update(resource, form.typed())
        except services.ResourceError as exc:
            refused_under(form.title, exc)
        else:
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for("learning.index"))
    audit.record("resource.view", "learning_resource", resource.id)
    db.session.commit()
    status = 400 if form.errors else 200
    return render_template("learning/edit.html", form=form, resource=resource), status


@bp.route("/resources/<uuid:resource_id>/delete", methods=["POST"])
@counselor_required
def delete(resource_id: uuid.UUID):
    """Delete one of the counselor's own resources (it leaves any homework it was on)."""
    resource = services.get_own_resource_or_404(resource_id)
    if not AttachForm().validate_on_submit():
        refuse(400, "This page was open too long. Reload it and try again.")
    title = resource.title
    services.remove(resource)
    db.session.commit()
    flash(f"“{title}” is deleted.", "success")
    return redirect(url_for("learning.index"))


def _ids(values: list[str] | None) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(v) for v in values or []]
    except ValueError:
        raise services.ResourceError(
            "One of the chosen resources is not in your library; reload."
        ) from None


@bp.route(
    "/cases/<uuid:case_id>/assignments/<uuid:learning_assignment_id>/resources",
    methods=["GET", "POST"],
)
@counselor_required
def attach(case_id: uuid.UUID, learning_assignment_id: uuid.UUID):
    """Choose the resources that go with an assignment of the learning-together exercise."""
    case = get_case_or_404(case_id)
    assignment = get_assignment_or_404(case, learning_assignment_id)
    if not services.is_learning(assignment):
        # resources go with the learning-together exercise only: any other is the missing page
        audit.record_now("access.denied", "assignment", assignment.id)
        abort(404)
    form = AttachForm()
    error = None
    if form.validate_on_submit():
        try:
            services.set_attached(case, "assignment", assignment.id, _ids(form.resources.data))
        except services.ResourceError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash("The partners of this homework see these on their page.", "success")
            back = url_for(
                "questionnaires.assignment", case_id=case.id, assignment_id=assignment.id
            )
            return redirect(back)
    elif request.method == "POST":
        error = "This page was open too long. Reload it and try again."
    own, others = services.library()
    chosen = {r.id for r in services.attached("assignment", assignment.id)}
    audit.record("assignment.view", "assignment", assignment.id)
    db.session.commit()
    return render_template(
        "learning/attach.html",
        case=case,
        assignment=assignment,
        own=own,
        others=others,
        chosen=chosen,
        form=form,
        error=error,
    ), 400 if error else 200
