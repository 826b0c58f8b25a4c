"""The homework pages of the partner portal: start page, sections with drafts (with and
without JavaScript), review, submit, reopen and what is shared.

Homework pages live under ``/p/a/<assignment_id>/``, and refuse with the one 404 any
assignment that is not this partner's. The short URLs from before homes (``/p/s/1``,
``/p/review``, …) still act on the assignment the session opened last.
"""

from __future__ import annotations

import json
import uuid
from functools import wraps

import orjson
from flask import abort, current_app, g, redirect, render_template, request, url_for

from counselor.core import audit
from counselor.core import practice as practice_settings
from counselor.core.web import refuse, refusing
from counselor.extensions import db
from counselor.portal import context, services, submitting
from counselor.portal import session as portal_session
from counselor.portal.access import CHANGES_READ_PLAIN, not_found, partner_required
from counselor.portal.blueprint import bp
from counselor.questionnaires import engine
from counselor.reveal.services import reader_for_partner
from counselor.reveal.shared_pages import NoSuchSection, shared_page

MAX_SAVE_CHARS = services.MAX_SAVE_CHARS
#: what a partner reads for a ``?section=`` of their shared page that shows nothing
NO_SECTION = (
    "There is nothing to show under that section. Go back to “What you share” and choose a "
    "section from its list."
)


def homework_required(view):
    """Like partner_required, for one assignment of that partner: ``assignment_id`` in the URL
    (None on the short legacy URLs: the assignment this session opened last). Anything not
    this partner's in this case is the same 404 as a bad link."""

    @partner_required
    @wraps(view)
    def wrapped(pctx, *args, assignment_id=None, **kwargs):
        # one look-up through each proxy, not one per use
        req, request_g = request._get_current_object(), g._get_current_object()
        chosen = assignment_id or request_g.portal.focus_assignment_id
        # a POST changes answers (save, submit, reopen): its reads are made under the lock
        locked = req.method == "POST"
        # an autosave and a submit read plain columns: they need no object unless they
        # refuse (the page shown then loads them) or an answer stops the rest; they were
        # read with the session, unless that could not be done
        plain = req.endpoint in CHANGES_READ_PLAIN
        ctx = request_g.homework
        if ctx is None and chosen:
            ctx = context.assignment_context(pctx, chosen, lock=locked, plain=plain)
        if ctx is None:
            audit.by_partner(pctx.partner_id, "portal.miss", "assignment", "")
            db.session.commit()
            return not_found()
        if ctx.alone and request_g.portal.focus_assignment_id != ctx.assignment.id:
            # the focus is written with the submit, in one transaction, as before (rare: the
            # review page the submit is sent from remembered it)
            ctx = submitting.locked_again(ctx)
        portal_session.focus(request_g.portal, ctx.assignment.id)
        # a gate (consent before an intake) stops pages and the submit; saving answers never
        # is refused, so nothing typed is lost when a gate appears mid-way
        if req.method == "GET" or req.endpoint == "portal.submit":
            gate = services.homework_gate(ctx)
            if gate:
                return redirect(gate)
        return view(ctx, *args, **kwargs)

    return wrapped


def _url(endpoint: str, ctx, **values) -> str:
    """A homework URL in the same family as this request's: scoped /p/a/<id>/… or short legacy."""
    if (request.view_args or {}).get("assignment_id") is None and ctx.assignment.id == (
        g.portal.focus_assignment_id
    ):
        if endpoint == "portal.overview":
            return url_for("portal.start", **values)
        return url_for(endpoint, **values)
    return url_for(endpoint, assignment_id=ctx.assignment.id, **values)


def _submitted_url(ctx) -> str:
    """``_url("portal.overview", ctx, submitted=1)``, where every submit goes next. On the
    scoped family it is built by ``url_for`` once per application root, with a stand-in id
    cut out where the assignment's goes (building it through Werkzeug's router was about a
    twentieth of a submit's own Python)."""
    req, app = request._get_current_object(), current_app._get_current_object()
    if (req.view_args or {}).get("assignment_id") is None or app.url_default_functions:
        # the short family, or URL defaults that a request could change: url_for each time
        return _url("portal.overview", ctx, submitted=1)
    made = app.extensions.setdefault("counselor.submitted_url", {})
    parts = made.get(req.script_root)
    if parts is None:
        built = url_for("portal.overview", assignment_id=_STAND_IN, submitted=1)
        head, _, tail = built.partition(str(_STAND_IN))
        parts = made[req.script_root] = (head, tail)
    return f"{parts[0]}{ctx.assignment.id}{parts[1]}"


_STAND_IN = uuid.UUID(int=0)


def _homework_route(rule: str, **options):
    """Register a homework view under /p/a/<assignment_id>/… and its short legacy URL."""

    def register(view):
        endpoint = options.pop("endpoint", view.__name__)
        bp.add_url_rule(f"/p/a/<uuid:assignment_id>{rule}", endpoint, view, **options)
        bp.add_url_rule(f"/p{rule}", endpoint, view, defaults={"assignment_id": None}, **options)
        return view

    return register


def _section_or_404(ctx, number: int):
    sections = ctx.definition.sections
    if not 1 <= number <= len(sections):
        abort(404)
    return sections[number - 1]


def _homework_links(ctx) -> dict:
    """What every homework page's template reads: the homework, its definition, and links
    to its pages."""
    return {
        "ctx": ctx,
        # links between the pages of one homework keep the family of the URL the page was
        # asked by: /p/a/<id>/… from the home, the short /p/… on a per-assignment link's session
        "hw_url": lambda endpoint, **values: _url(endpoint, ctx, **values),
        "defn": ctx.definition,
    }


def view_model(ctx) -> dict:
    """What the homework pages that show the partner's own answers read (decrypted once)."""
    defn = ctx.definition
    editable = services.editable(ctx)
    # On a shared phone, whoever holds it later must not read the screening answers back:
    # once sent (or closed), no page gets the counselor-only answers at all - not the list,
    # not the (disabled) controls of a section, not a follow-up shown because of one.
    hide_private = not editable
    answers = ctx.response.answers
    if hide_private:
        answers = {
            lid: value
            for lid, value in answers.items()
            if lid in defn.by_id and engine.share_of(defn.by_id[lid]) != "counselor_only"
        }
    shown = engine.enabled_states(defn, answers)  # once per page: every rule below reuses it
    answered, total = engine.progress(defn, answers)
    visible = {
        i["link_id"]: answers.get(i["link_id"])
        for i in defn.questions()
        if shown[i["link_id"]] and not (hide_private and engine.share_of(i) == "counselor_only")
    }
    return {
        **_homework_links(ctx),
        "answers": answers,
        "shown": shown,
        "visible": visible,
        "answered": answered,
        "total": total,
        "editable": editable,
        "hid_private": hide_private
        and any(engine.share_of(i) == "counselor_only" for i in defn.questions()),
        "can_reopen": services.can_reopen(ctx),
        "closed_reason": services.closed_because(ctx.assignment),
        "due_passed": services.due_passed(ctx.assignment),
        "stop": engine.stop_for(defn, answers, shown),
    }


def _stopped(model: dict, status: int = 200):
    """The kind page shown instead of anything past a stopping answer."""
    return render_template("portal/stopped.html", **model), status


def _refused(ctx, reason: str):
    """The start page with the sentence saying why the answers cannot change (a 409)."""
    return render_template("portal/overview.html", refused=reason, **view_model(ctx)), 409


@bp.route("/p/")
@partner_required
def start(ctx):
    """The short start URL: the homework this session is on (the one a per-assignment link
    was for, or the one last opened from the home); the home when there is none yet."""
    if g.portal.focus_assignment_id is None:
        return redirect(url_for("portal.home"))
    return overview(assignment_id=g.portal.focus_assignment_id)


@bp.route("/p/a/<uuid:assignment_id>/")
@homework_required
def overview(ctx):
    """Start page of one homework: what it is, the sections, progress, the partner's answers."""
    safety = None
    if request.args.get("submitted") and services.raised_alert(ctx):
        safety = practice_settings.safety_text()
    context.open_assignment(ctx)
    db.session.commit()
    return render_template("portal/overview.html", safety=safety, **view_model(ctx))


@_homework_route("/s/<int:number>", methods=["GET", "POST"])
@homework_required
def section(ctx, number: int):
    """One section of the questionnaire; saving works with and without JavaScript."""
    sec = _section_or_404(ctx, number)
    model = view_model(ctx)
    if model["stop"] and number > model["stop"].section:
        return _stopped(model)
    errors: dict[str, str] = {}
    message = None
    status = 200
    if request.method == "POST":
        with refusing(400, services.BadForm):
            outcome = services.save_section(ctx, sec, request.form)
        if outcome.saved:
            db.session.commit()
            action = request.form.get("action", "save")
            if action == "next" and number < len(ctx.definition.sections):
                return redirect(_url("portal.section", ctx, number=number + 1))
            if action == "prev" and number > 1:
                return redirect(_url("portal.section", ctx, number=number - 1))
            if action == "review":
                return redirect(_url("portal.review", ctx))
            if action == "later":
                return redirect(_url("portal.overview", ctx, saved=1))
            return redirect(_url("portal.section", ctx, number=number, saved=1))
        errors, message, status = outcome.errors, outcome.message, outcome.status
        if status == 409 and outcome.message != services.STALE_PAGE:
            model = view_model(ctx)  # the lock re-read the assignment: show what holds now
        # Show what was typed (nothing lost), with the messages beside each item.
        typed = engine.merge(model["answers"], dict(outcome.raw))
        model["answers"] = typed
        model["shown"] = engine.enabled_states(ctx.definition, typed)
    elif not model["editable"]:
        message = services.not_editable_because(ctx)
    elif request.args.get("check"):
        errors = {
            k: v
            for k, v in engine.missing_required(
                ctx.definition, model["answers"], model["shown"]
            ).items()
            if ctx.definition.section_of(k) is sec
        }
    return render_template(
        "portal/section.html",
        section=sec,
        number=number,
        errors=errors,
        message=message,
        saved=request.args.get("saved"),
        page_conditions=engine.page_conditions(
            ctx.definition, sec, model["answers"], model["shown"]
        ),
        **model,
    ), status


@_homework_route("/autosave", methods=["POST"])
@homework_required
def autosave(ctx):
    """Save changed answers sent as JSON ``{"revision": n, "answers": {link_id: value}}``."""
    req = request._get_current_object()  # one look-up through the proxy, not several
    length = req.content_length
    if length and length > MAX_SAVE_CHARS * 4:
        return _json_answer({"error": "Too much text in one save."}, 413)
    data = None
    is_json = req.is_json
    if is_json or req.mimetype == "text/plain":
        # orjson: a partner's whole page parsed several times faster than by get_json; a
        # document nested too deep or not UTF-8 is refused as not understood, as before
        body = req.get_data()
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = _lenient_json(body)
        if not is_json and not (isinstance(data, dict) and "csrf_token" in data):
            data = None  # only a beacon flushed as the page goes away is text/plain
    status, body = services.autosave(ctx, data)
    if status == 200:
        db.session.commit()
    return _json_answer(body, status)


def _lenient_json(raw: bytes):
    """What orjson refuses, read as the standard library reads it: JavaScript's ``NaN`` and
    ``Infinity`` (or ``1e999``) become numbers that validation then refuses with a message on
    their own field, instead of the whole save being refused as not understood. A body that is
    not JSON at all, nested too deep or not UTF-8 is still ``None``."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _json_answer(body: dict, status: int):
    """An autosave's JSON answer (made with orjson, like the request's parse)."""
    return current_app._get_current_object().response_class(  # see core.crypto.keyring
        orjson.dumps(body), status=status, mimetype="application/json"
    )


@_homework_route("/review")
@homework_required
def review(ctx):
    """All answers on one page, with anything missing marked, and the submit button."""
    model = view_model(ctx)
    if model["stop"]:
        return _stopped(model)
    # Missing required answers are marked before Send, not only after a refused one.
    errors = (
        engine.missing_required(ctx.definition, model["answers"], model["shown"])
        if model["editable"]
        else {}
    )
    return render_template("portal/review.html", errors=errors, **model)


@_homework_route("/submit", methods=["POST"])
@homework_required
def submit(ctx):
    """Submit the answers to the counselor."""
    try:
        base = int(request.form.get("revision", ""))
    except ValueError:
        refuse(400, "The form is missing its revision; reload the page.")
    try:
        errors = submitting.submit(ctx, base)
    except services.NotEditable as exc:
        return _refused(ctx.objects(), str(exc))
    except services.Stopped:
        return _stopped(view_model(ctx.objects()), 409)
    except services.StaleRevision:
        model = view_model(ctx.objects())
        return render_template("portal/review.html", errors={}, stale=True, **model), 409
    if errors:
        model = view_model(ctx.objects())
        return render_template("portal/review.html", errors=errors, **model), 400
    db.session.commit()
    return redirect(_submitted_url(ctx))


@_homework_route("/reopen", methods=["POST"])
@homework_required
def reopen(ctx):
    """Change answers after submitting (until the due date or a lock)."""
    try:
        services.reopen(ctx)
    except services.NotEditable as exc:
        return _refused(ctx, str(exc))
    db.session.commit()
    return redirect(_url("portal.section", ctx, number=1))


@_homework_route("/shared")
@homework_required
def shared(ctx):
    """What you share: matches and shared items of the others, once released. A long result
    opens with the partner's own scores and the sections that have shared items, then shows
    one section at a time (``?section=N``), building only that section's items
    (``shared_pages``)."""
    view = reader_for_partner(ctx.assignment, ctx.partner_id)
    with refusing(404, NoSuchSection):
        page = shared_page(view, ctx.definition, request.args.get("section", ""), NO_SECTION)
    audit.by_partner(ctx.partner_id, "portal.shared_view", "assignment", ctx.assignment.id)
    db.session.commit()
    return render_template(
        "portal/shared.html",
        view=view,
        page=page,
        section_url=lambda number: _url("portal.shared", ctx, section=number),
        contents_url=_url("portal.shared", ctx),
        # nothing of the partner's own answers is shown back here: they are not read again
        **_homework_links(ctx),
    )
