"""Partner portal: landings, the partner's home, homework sections with drafts, review, submit.

A portal session is one partner of one case. Homework pages live under
``/p/a/<assignment_id>/``, and refuse with the one 404 any assignment that is not this
partner's. The short URLs from before homes (``/p/s/1``, ``/p/review``, …) still act on the
assignment the session opened last.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import (
    abort,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from counselor.cases import homes
from counselor.cases.models import Partner
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

MAX_SAVE_CHARS = services.MAX_SAVE_CHARS


def _miss(response) -> bool:
    return response.status_code == 404


def _not_found():
    return render_template("portal/not_found.html"), 404


@dataclass
class _Door:
    """What a landing page opens: the token's hash (binds the button) and what the button does.

    ``enter`` runs on the POST and returns (partner id, session fields, where to go), or None
    when the token stopped working in the meantime (a sign-in link spent by another click).
    """

    token_hash: str
    enter: Callable[[], tuple[uuid.UUID, dict, str] | None]


def _landing(door: _Door | None):
    """A page with one button that swaps a token for a portal session.

    Mail and chat apps fetch links to preview them: a GET therefore only shows the button
    and changes nothing (no cookie, not marked opened, a sign-in link not spent). The POST
    starts the session and moves to a URL without the token.
    """
    if door is None:
        audit.record("portal.link_miss", actor_kind="anonymous")
        db.session.commit()
        return _not_found()
    if request.method == "GET":
        response = make_response(
            render_template(
                "portal/landing.html", csrf_token=portal_session.landing_csrf_token(door.token_hash)
            )
        )
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
    sent = request.form.get("csrf_token", "")
    cross_site = request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")
    expected = portal_session.landing_csrf_token(door.token_hash)
    # (bytes: compare_digest refuses non-ASCII text with a TypeError, which would be a 500)
    if cross_site or not hmac.compare_digest(sent.encode(), expected.encode()):
        refuse(
            400, "This page came from elsewhere. Open your personal link again and try once more."
        )
    entered = door.enter()
    if entered is None:
        db.session.rollback()
        audit.record("portal.link_miss", actor_kind="anonymous")
        db.session.commit()
        return _not_found()
    partner_id, fields, target = entered
    response = make_response(redirect(target))
    portal_session.start(response, partner_id, **fields)
    db.session.commit()
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _assignment_door(token: str) -> _Door | None:
    link = services.link_for_token(token)
    if link is None:
        return None
    pctx = services.PortalContext(link.partner, homes.home_of(link.partner))
    ctx = services.assignment_context(pctx, link.assignment_id)
    if ctx is None:
        return None

    def enter():
        services.open_link(link)
        services.open_assignment(ctx)
        fields = {"link_id": link.id, "focus_assignment_id": link.assignment_id}
        return link.partner_id, fields, url_for("portal.start")

    return _Door(link.token_hash, enter)


@bp.route("/l/<token>", methods=["GET", "POST"])
@limiter.limit("20 per 10 minutes", deduct_when=_miss)
def landing(token: str):
    """A per-assignment link (from before homes): opens a session of its partner."""
    return _landing(_assignment_door(token))


def _home_door(token: str) -> _Door | None:
    home = homes.home_for_token(token)
    if home is None:
        return None

    def enter():
        services.open_home(services.PortalContext(home.partner, home))
        fields = {"home_generation": homes.generation(home, homes.FROM_HOME)}
        return home.partner_id, fields, url_for("portal.home")

    return _Door(home.token_hash, enter)


@bp.route("/h/<home_token>", methods=["GET", "POST"])
@limiter.limit("20 per 10 minutes", deduct_when=_miss)
def home_landing(home_token: str):
    """A partner's standing home link."""
    return _landing(_home_door(home_token))


def _sign_in_door(token: str) -> _Door | None:
    link = homes.sign_in_for_token(token)
    if link is None:
        return None

    def enter():
        if not homes.use_sign_in(link):
            return None  # another click (or tab) used it a moment ago
        partner = db.session.get(Partner, link.partner_id)
        home = homes.home_of(partner)
        services.open_home(services.PortalContext(partner, home))
        audit.record(
            "portal.sign_in", "partner", partner.id, actor_kind="partner", actor_id=partner.id
        )
        fields = {"home_generation": homes.generation(home, homes.FROM_MAIL)}
        return partner.id, fields, url_for("portal.home")

    return _Door(link.token_hash, enter)


@bp.route("/in/<sign_in_token>", methods=["GET", "POST"])
@limiter.limit("20 per 10 minutes", deduct_when=_miss)
def sign_in(sign_in_token: str):
    """A mail's sign-in link: short-lived, and it starts one session only."""
    return _landing(_sign_in_door(sign_in_token))


def _resolve(with_csrf: bool = True):
    """The portal session and partner of this request (None, None if none)."""
    ps = portal_session.load()
    ctx = services.portal_context(ps) if ps else None
    if ctx is None:
        return None, None
    if db.session.dirty or db.session.new:
        db.session.commit()  # the session's idle bookkeeping, apart from the route's work
    if with_csrf and request.method == "POST" and not ps.check_csrf(_sent_csrf()):
        refuse(400, "This page was open too long or came from elsewhere. Reload it and try again.")
    g.portal = ps
    g.ctx = ctx
    return ps, ctx


def _is_autosave() -> bool:
    return request.endpoint in ("portal.autosave",)


def _sent_csrf() -> str | None:
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
    if not sent and _is_autosave():
        # navigator.sendBeacon cannot set headers: a flush on leaving carries it in the body
        try:
            data = request.get_json(force=True, silent=True)
        except RecursionError:  # deeply nested brackets: silent=True only covers ValueError
            data = None
        sent = data.get("csrf_token") if isinstance(data, dict) else None
    return sent if isinstance(sent, str) else None


def partner_required(view):
    """Resolve the partner of the portal cookie (else the bad-link 404), check CSRF and PIN.

    The view gets the PortalContext: ``ctx.partner`` and ``ctx.case``.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        ps, ctx = _resolve()
        if ctx is None:
            return _not_found()
        if ctx.home.pin_hash and not ps.pin_ok:
            if _is_autosave():
                return jsonify(error="Enter your PIN to go on; reload the page."), 401
            return redirect(url_for("portal.pin"))
        return view(ctx, *args, **kwargs)

    return wrapped


def homework_required(view):
    """Like partner_required, for one assignment of that partner: ``assignment_id`` in the URL
    (None on the short legacy URLs: the assignment this session opened last). Anything not
    this partner's in this case is the same 404 as a bad link."""

    @partner_required
    @wraps(view)
    def wrapped(pctx, *args, assignment_id=None, **kwargs):
        chosen = assignment_id or g.portal.focus_assignment_id
        ctx = services.assignment_context(pctx, chosen) if chosen else None
        if ctx is None:
            audit.record(
                "portal.miss", "assignment", "", actor_kind="partner", actor_id=pctx.partner.id
            )
            db.session.commit()
            return _not_found()
        portal_session.focus(g.portal, ctx.assignment.id)
        # a gate (consent before an intake) stops pages and the submit; saving answers never
        # is refused, so nothing typed is lost when a gate appears mid-way
        if request.method == "GET" or request.endpoint == "portal.submit":
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


def _homework_route(rule: str, **options):
    """Register a homework view under /p/a/<assignment_id>/… and its short legacy URL."""

    def register(view):
        endpoint = options.pop("endpoint", view.__name__)
        bp.add_url_rule(f"/p/a/<uuid:assignment_id>{rule}", endpoint, view, **options)
        bp.add_url_rule(f"/p{rule}", endpoint, view, defaults={"assignment_id": None}, **options)
        return view

    return register


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
        # pages a homework view renders get its own hw_url (see _view_model); this one, for a
        # page rendered apart from a view, links the short URLs of the session's homework
        "hw_url": _short_url,
    }


def _short_url(endpoint: str, **values) -> str:
    return url_for("portal.start" if endpoint == "portal.overview" else endpoint, **values)


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
        # links between the pages of one homework keep the family of the URL the page was
        # asked by: /p/a/<id>/… from the home, the short /p/… on a per-assignment link's session
        "hw_url": lambda endpoint, **values: _url(endpoint, ctx, **values),
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


@bp.route("/p/home")
@partner_required
def home(ctx):
    """The partner's home: their homework in this case, what was shared, other features' cards."""
    view = services.home_view(ctx)
    services.open_home(ctx)
    db.session.commit()
    return render_template("portal/home.html", ctx=ctx, view=view)


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
    services.open_assignment(ctx)
    db.session.commit()
    return render_template("portal/overview.html", safety=safety, **_view_model(ctx))


@_homework_route("/s/<int:number>", methods=["GET", "POST"])
@homework_required
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
        try:
            outcome = services.save_section(ctx, sec, request.form)
        except services.BadForm as exc:
            refuse(400, str(exc))
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
            model = _view_model(ctx)  # the lock re-read the assignment: show what holds now
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
    status, body = services.autosave(ctx, data)
    if status == 200:
        db.session.commit()
    return jsonify(**body), status


@_homework_route("/review")
@homework_required
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


@_homework_route("/submit", methods=["POST"])
@homework_required
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
    return redirect(_url("portal.overview", ctx, submitted=1))


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
    """Ask for the partner's PIN (a new browser, or 15 idle minutes)."""
    ps, ctx = _resolve()
    if ctx is None:
        return _not_found()
    if not ctx.home.pin_hash or ps.pin_ok:
        return redirect(url_for("portal.start"))
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
            return redirect(url_for("portal.start"))
        db.session.commit()
    return render_template("portal/pin.html", error=error), status


@bp.route("/p/pin/set", methods=["POST"])
@partner_required
def pin_set(ctx):
    """Protect this partner's pages with a PIN; other browsers must enter it from now on."""
    pin_value = request.form.get("pin", "").strip()
    if pin_value != request.form.get("pin_again", "").strip():
        error = "The two PINs differ. Please type the same PIN twice."
    else:
        try:
            services.set_pin(ctx, pin_value)
        except ValueError as exc:
            error = str(exc)
        else:
            # Other browsers of this partner must now show the PIN; this one just did.
            portal_session.end_others(ctx.partner.id, g.portal)
            portal_session.pin_passed(g.portal)
            db.session.commit()
            back = request.form.get("back")
            if back == "home" or g.portal.focus_assignment_id is None:
                return redirect(url_for("portal.home", pin=1))
            return redirect(url_for("portal.start", pin=1))
    if request.form.get("back") == "home" or g.portal.focus_assignment_id is None:
        view = services.home_view(ctx)
        return render_template("portal/home.html", ctx=ctx, view=view, pin_error=error), 400
    actx = services.assignment_context(ctx, g.portal.focus_assignment_id)
    if actx is None:
        return redirect(url_for("portal.home"))
    model = _view_model(actx)
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
        audit.record("portal.quick_exit", "partner", ps.partner_id, actor_kind="partner")
    db.session.commit()
    return response


@bp.route("/p/leave", methods=["POST"])
@partner_required
def leave(ctx):
    """Forget this device: the session ends on the server; the link still works to come back."""
    response = make_response(render_template("portal/left.html"))
    portal_session.end(response, g.portal)
    audit.record(
        "portal.leave", "partner", ctx.partner.id, actor_kind="partner", actor_id=ctx.partner.id
    )
    db.session.commit()
    return response
