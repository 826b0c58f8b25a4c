"""Partner portal: the landings that swap a link for a portal session, the partner's home,
the PIN, and leaving. The homework pages are in ``homework_routes``; what every page goes
through (session, CSRF, PIN) in ``access``.

A portal session is one partner of one case.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from flask import g, make_response, redirect, render_template, request, url_for

from counselor.cases import homes
from counselor.cases.models import Partner
from counselor.core import audit
from counselor.core import practice as practice_settings
from counselor.core.web import refuse
from counselor.extensions import db, limiter
from counselor.portal import context, home_page
from counselor.portal import session as portal_session
from counselor.portal.access import not_found, partner_required, resolve
from counselor.portal.blueprint import bp
from counselor.portal.homework_routes import view_model
from counselor.portal.pin import PinWait, check_pin, set_pin


def _miss(response) -> bool:
    return response.status_code == 404


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
        return not_found()
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
        return not_found()
    partner_id, fields, target = entered
    response = make_response(redirect(target))
    portal_session.start(response, partner_id, **fields)
    db.session.commit()
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _assignment_door(token: str) -> _Door | None:
    link = context.link_for_token(token)
    if link is None:
        return None
    pctx = context.PortalContext(link.partner, homes.home_of(link.partner))
    ctx = context.assignment_context(pctx, link.assignment_id)
    if ctx is None:
        return None

    def enter():
        context.open_link(link)
        context.open_assignment(ctx)
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
        context.open_home(context.PortalContext(home.partner, home))
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
        context.open_home(context.PortalContext(partner, home))
        audit.by_partner(partner.id, "portal.sign_in")
        fields = {"home_generation": homes.generation(home, homes.FROM_MAIL)}
        return partner.id, fields, url_for("portal.home")

    return _Door(link.token_hash, enter)


@bp.route("/in/<sign_in_token>", methods=["GET", "POST"])
@limiter.limit("20 per 10 minutes", deduct_when=_miss)
def sign_in(sign_in_token: str):
    """A mail's sign-in link: short-lived, and it starts one session only."""
    return _landing(_sign_in_door(sign_in_token))


@bp.route("/p/home")
@partner_required
def home(ctx):
    """The partner's home: their homework in this case, what was shared, other features' cards."""
    view = home_page.home_view(ctx)
    context.open_home(ctx)
    db.session.commit()
    return render_template("portal/home.html", ctx=ctx, view=view)


@bp.route("/p/pin", methods=["GET", "POST"])
@limiter.limit("10 per 10 minutes", methods=["POST"])
def pin():
    """Ask for the partner's PIN (a new browser, or 15 idle minutes)."""
    ps, ctx = resolve()
    if ctx is None:
        return not_found()
    if not ctx.home.pin_hash or ps.pin_ok:
        return redirect(url_for("portal.start"))
    error, status = None, 200
    if request.method == "POST":
        try:
            ok = check_pin(ctx, request.form.get("pin", "").strip())
        except PinWait as wait:
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
            set_pin(ctx, pin_value)
        except ValueError as exc:
            error = str(exc)
        else:
            # Other browsers of this partner must now show the PIN; this one just did.
            portal_session.end_others(ctx.partner_id, g.portal)
            portal_session.pin_passed(g.portal)
            db.session.commit()
            back = request.form.get("back")
            if back == "home" or g.portal.focus_assignment_id is None:
                return redirect(url_for("portal.home", pin=1))
            return redirect(url_for("portal.start", pin=1))
    if request.form.get("back") == "home" or g.portal.focus_assignment_id is None:
        view = home_page.home_view(ctx)
        return render_template("portal/home.html", ctx=ctx, view=view, pin_error=error), 400
    actx = context.assignment_context(ctx, g.portal.focus_assignment_id)
    if actx is None:
        return redirect(url_for("portal.home"))
    model = view_model(actx)
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
        audit.by_partner(ps.partner_id, "portal.quick_exit")
    db.session.commit()
    return response


@bp.route("/p/leave", methods=["POST"])
@partner_required
def leave(ctx):
    """Forget this device: the session ends on the server; the link still works to come back."""
    response = make_response(render_template("portal/left.html"))
    portal_session.end(response, g.portal)
    audit.by_partner(ctx.partner_id, "portal.leave")
    db.session.commit()
    return response
