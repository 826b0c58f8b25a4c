"""Partner portal: landing, sections with drafts, autosave, review, submit."""

from __future__ import annotations

import hmac
from functools import wraps

from flask import (
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from counselor.core import audit
from counselor.core import practice as practice_settings
from counselor.core.web import refuse
from counselor.extensions import csrf, db, limiter
from counselor.portal import services
from counselor.portal import session as portal_session
from counselor.portal.blueprint import bp
from counselor.questionnaires import engine
from counselor.reveal.services import view_for_partner

# The portal has its own CSRF token bound to the portal cookie: Flask-WTF's token lives in
# the counselor's session cookie, which a partner's pages must never read or write.
csrf.exempt(bp)

#: a partner's total answers in one request may not exceed this (characters)
MAX_SAVE_CHARS = 200_000


def _miss(response) -> bool:
    return response.status_code == 404


def _not_found():
    return render_template("portal/not_found.html"), 404


@bp.route("/l/<token>", methods=["GET", "POST"])
@limiter.limit("20 per 10 minutes", deduct_when=_miss)
def landing(token: str):
    """A page with one button that swaps the token for a portal session.

    Mail and chat apps fetch links to preview them: a GET therefore only shows the button
    and changes nothing (no cookie, not marked opened). The POST starts the session and
    moves to a URL without the token.
    """
    link = services.link_for_token(token)
    if link is None:
        audit.record("portal.link_miss", actor_kind="anonymous")
        db.session.commit()
        return _not_found()
    ctx = services.context_for(str(link.id), link.token_hash[:16])
    if ctx is None:
        return _not_found()
    if request.method == "GET":
        response = make_response(
            render_template(
                "portal/landing.html", csrf_token=portal_session.landing_csrf_token(link.token_hash)
            )
        )
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
    sent = request.form.get("csrf_token", "")
    cross_site = request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")
    expected = portal_session.landing_csrf_token(link.token_hash)
    # (bytes: compare_digest refuses non-ASCII text with a TypeError, which would be a 500)
    if cross_site or not hmac.compare_digest(sent.encode(), expected.encode()):
        refuse(
            400, "This page came from elsewhere. Open your personal link again and try once more."
        )
    services.open_link(ctx)
    response = make_response(redirect(url_for("portal.overview")))
    portal_session.start(response, str(link.id), link.token_hash)
    db.session.commit()
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _resolve(with_csrf: bool = True):
    """The portal session and partner context of this request (None, None if none)."""
    ps = portal_session.load()
    ctx = services.context_for(ps.link_id, ps.generation) if ps else None
    if ctx is None:
        return None, None
    if db.session.dirty:
        db.session.commit()  # the session's idle bookkeeping, apart from the route's work
    if with_csrf and request.method == "POST" and not ps.check_csrf(_sent_csrf()):
        refuse(400, "This page was open too long or came from elsewhere. Reload it and try again.")
    g.portal = ps
    g.ctx = ctx
    return ps, ctx


def _sent_csrf() -> str | None:
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
    if not sent and request.path == url_for("portal.autosave"):
        # navigator.sendBeacon cannot set headers: a flush on leaving carries it in the body
        try:
            data = request.get_json(force=True, silent=True)
        except RecursionError:  # deeply nested brackets: silent=True only covers ValueError
            data = None
        sent = data.get("csrf_token") if isinstance(data, dict) else None
    return sent if isinstance(sent, str) else None


def partner_required(view):
    """Resolve the partner from the portal cookie (else the bad-link 404), check CSRF and PIN."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        ps, ctx = _resolve()
        if ctx is None:
            return _not_found()
        if ctx.link.pin_hash and not ps.pin_ok:
            if request.path == url_for("portal.autosave"):
                return jsonify(error="Enter your PIN to go on; reload the page."), 401
            return redirect(url_for("portal.pin"))
        return view(ctx, *args, **kwargs)

    return wrapped


@bp.after_request
def _portal_headers(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.app_context_processor
def _portal_globals():
    ps = g.get("portal")
    return {
        "portal_csrf_token": ps.csrf_token if ps else "",
        "quick_exit_url": practice_settings.quick_exit_url,
    }


def _section_or_404(ctx, number: int):
    sections = ctx.definition.sections
    if not 1 <= number <= len(sections):
        abort(404)
    return sections[number - 1]


def _view_model(ctx) -> dict:
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
        "ctx": ctx,
        "defn": ctx.definition,
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
    return render_template("portal/overview.html", refused=reason, **_view_model(ctx)), 409


@bp.route("/p/")
@partner_required
def overview(ctx):
    """Start page: what this is, the sections, progress, and the partner's own answers."""
    safety = None
    if request.args.get("submitted") and services.raised_alert(ctx):
        safety = practice_settings.safety_text()
    return render_template(
        "portal/overview.html", safety=safety, home_cards=_home_cards(ctx), **_view_model(ctx)
    )


def _home_cards(ctx) -> list:
    """What features above the portal add to the partner's start page (agreements), through
    ``app.extensions["partner_home_cards"]``: the portal imports none of them."""
    return [
        card
        for provider in current_app.extensions.get("partner_home_cards", ())
        for card in provider(ctx.partner)
    ]


@bp.route("/p/s/<int:number>", methods=["GET", "POST"])
@partner_required
def section(ctx, number: int):
    """One section of the questionnaire; saving works with and without JavaScript."""
    sec = _section_or_404(ctx, number)
    model = _view_model(ctx)
    if model["stop"] and number > model["stop"].section:
        return _stopped(model)
    errors: dict[str, str] = {}
    message = None
    status = 200
    if request.method == "POST":
        raw = engine.from_form(ctx.definition, sec, request.form, request.form.getlist)
        try:
            base = int(request.form.get("revision", ""))
        except ValueError:
            refuse(400, "The form is missing its revision; reload the page.")
        try:
            _, errors = services.save(ctx, raw, base)
        except services.StaleRevision:
            message = (
                "Your answers were changed in another tab or on another device since you opened "
                "this page, so this page was not saved. What you typed is still below: copy "
                "anything you want to keep, then reload to see the latest answers."
            )
            status = 409
        except services.NotEditable as exc:
            message, status = str(exc), 409
            model = _view_model(ctx)  # the lock re-read the assignment: show what holds now
        if not errors and message is None:
            db.session.commit()
            action = request.form.get("action", "save")
            if action == "next" and number < len(ctx.definition.sections):
                return redirect(url_for("portal.section", number=number + 1))
            if action == "prev" and number > 1:
                return redirect(url_for("portal.section", number=number - 1))
            if action == "review":
                return redirect(url_for("portal.review"))
            if action == "later":
                return redirect(url_for("portal.overview", saved=1))
            return redirect(url_for("portal.section", number=number, saved=1))
        if errors:
            status = 400
        # Show what was typed (nothing lost), with the messages beside each item.
        typed = engine.merge(model["answers"], {k: v for k, v in raw.items()})
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


@bp.route("/p/autosave", methods=["POST"])
@partner_required
def autosave(ctx):
    """Save changed answers sent as JSON ``{"revision": n, "answers": {link_id: value}}``."""
    if request.content_length and request.content_length > MAX_SAVE_CHARS * 4:
        return jsonify(error="Too much text in one save."), 413
    try:
        data = request.get_json(silent=True)
        if data is None and request.mimetype == "text/plain":
            # a beacon flushed as the page goes away: text/plain, its CSRF token in the body
            beacon = request.get_json(force=True, silent=True)
            data = beacon if isinstance(beacon, dict) and "csrf_token" in beacon else None
    except RecursionError:  # thousands of nested brackets: silent=True only covers ValueError
        data = None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("answers"), dict)
        or not isinstance(data.get("revision"), int)
        or isinstance(data.get("revision"), bool)
    ):
        return jsonify(error="This save was not understood (expected revision and answers)."), 400
    try:
        revision, errors = services.save(ctx, data["answers"], data["revision"])
    except engine.AnswerError as exc:
        return jsonify(error=str(exc)), 400
    except services.NotEditable as exc:
        return jsonify(error=str(exc)), 409
    except services.StaleRevision:
        return jsonify(
            error=(
                "Your answers were changed in another tab or on another device. "
                "Reload the page to continue; nothing was overwritten."
            ),
            stale=True,
        ), 409
    if errors:
        return jsonify(error="Some answers need a look.", errors=errors), 400
    db.session.commit()
    return jsonify(revision=revision, saved_at=ctx.response.saved_at.isoformat())


@bp.route("/p/review")
@partner_required
def review(ctx):
    """All answers on one page, with anything missing marked, and the submit button."""
    model = _view_model(ctx)
    if model["stop"]:
        return _stopped(model)
    # Missing required answers are marked before Send, not only after a refused one.
    errors = (
        engine.missing_required(ctx.definition, model["answers"], model["shown"])
        if model["editable"]
        else {}
    )
    return render_template("portal/review.html", errors=errors, **model)


@bp.route("/p/submit", methods=["POST"])
@partner_required
def submit(ctx):
    """Submit the answers to the counselor."""
    try:
        base = int(request.form.get("revision", ""))
    except ValueError:
        refuse(400, "The form is missing its revision; reload the page.")
    try:
        errors = services.submit(ctx, base)
    except services.NotEditable as exc:
        return _refused(ctx, str(exc))
    except services.Stopped:
        return _stopped(_view_model(ctx), 409)
    except services.StaleRevision:
        model = _view_model(ctx)
        return render_template("portal/review.html", errors={}, stale=True, **model), 409
    if errors:
        model = _view_model(ctx)
        return render_template("portal/review.html", errors=errors, **model), 400
    db.session.commit()
    return redirect(url_for("portal.overview", submitted=1))


@bp.route("/p/reopen", methods=["POST"])
@partner_required
def reopen(ctx):
    """Change answers after submitting (until the due date or a lock)."""
    try:
        services.reopen(ctx)
    except services.NotEditable as exc:
        return _refused(ctx, str(exc))
    db.session.commit()
    return redirect(url_for("portal.section", number=1))


@bp.route("/p/shared")
@partner_required
def shared(ctx):
    """What you share: matches and shared items of the others, once released."""
    view = view_for_partner(ctx.assignment, ctx.partner.id)
    audit.record(
        "portal.shared_view",
        "assignment",
        ctx.assignment.id,
        actor_kind="partner",
        actor_id=ctx.partner.id,
    )
    db.session.commit()
    return render_template("portal/shared.html", view=view, **_view_model(ctx))


@bp.route("/p/pin", methods=["GET", "POST"])
@limiter.limit("10 per 10 minutes", methods=["POST"])
def pin():
    """Ask for the link's PIN (a new browser, or 15 idle minutes)."""
    ps, ctx = _resolve()
    if ctx is None:
        return _not_found()
    if not ctx.link.pin_hash or ps.pin_ok:
        return redirect(url_for("portal.overview"))
    error, status = None, 200
    if request.method == "POST":
        try:
            ok = services.check_pin(ctx, request.form.get("pin", "").strip())
        except services.PinWait as wait:
            ok = False
            error = (
                f"Too many tries. Please wait {wait.minutes} "
                f"{'minute' if wait.minutes == 1 else 'minutes'} and try again."
            )
            status = 429
        else:
            if not ok:
                error, status = "That PIN is not right. Please try again.", 400
        if ok:
            portal_session.pin_passed(ps)
            db.session.commit()
            return redirect(url_for("portal.overview"))
        db.session.commit()
    return render_template("portal/pin.html", error=error), status


@bp.route("/p/pin/set", methods=["POST"])
@partner_required
def pin_set(ctx):
    """Protect this portal with a PIN; other browsers must enter it from now on."""
    pin_value = request.form.get("pin", "").strip()
    if pin_value != request.form.get("pin_again", "").strip():
        error = "The two PINs differ. Please type the same PIN twice."
    else:
        try:
            services.set_pin(ctx, pin_value)
        except ValueError as exc:
            error = str(exc)
        else:
            # Other browsers holding this link must now show the PIN; this one just did.
            portal_session.end_others(ctx.link.id, g.portal)
            portal_session.pin_passed(g.portal)
            db.session.commit()
            return redirect(url_for("portal.overview", pin=1))
    model = _view_model(ctx)
    return render_template("portal/overview.html", safety=None, pin_error=error, **model), 400


@bp.route("/p/exit", methods=["POST"])
def quick_exit():
    """Quick exit: end the portal session (when the token is right) and leave at once.

    portal.js sends this as a beacon and replaces the page itself; without JavaScript the
    form lands here and a 0-second refresh moves on (a redirect after a form post would be
    blocked by the form-action CSP).
    """
    ps = portal_session.load()
    target = practice_settings.quick_exit_url()
    response = make_response(render_template("portal/exit.html", target=target))
    if ps is not None and ps.check_csrf(request.form.get("csrf_token")):
        portal_session.end(response, ps)
        audit.record("portal.quick_exit", "link", ps.link_id, actor_kind="partner")
    db.session.commit()
    return response


@bp.route("/p/leave", methods=["POST"])
@partner_required
def leave(ctx):
    """Forget this device: the session ends on the server; the link still works to come back."""
    response = make_response(render_template("portal/left.html"))
    portal_session.end(response, g.portal)
    audit.record(
        "portal.leave", "response", ctx.response.id, actor_kind="partner", actor_id=ctx.partner.id
    )
    db.session.commit()
    return response
