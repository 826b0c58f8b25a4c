"""What every portal page goes through: the portal session of the request, its CSRF token,
the PIN (``partner_required``), the 404 of a bad link, and the headers and template globals
of the portal's pages. The views are in ``routes`` (landings, home, PIN, leaving) and
``homework_routes``."""

from __future__ import annotations

from functools import wraps

from flask import g, jsonify, redirect, render_template, request, url_for

from counselor.core import practice as practice_settings
from counselor.core.web import refuse
from counselor.extensions import csrf, db
from counselor.portal import context
from counselor.portal import session as portal_session
from counselor.portal.blueprint import bp

# The portal has its own CSRF token bound to the portal cookie: Flask-WTF's token lives in
# the counselor's session cookie, which a partner's pages must never read or write.
csrf.exempt(bp)


def not_found():
    """The one page for a link that does not work (or a page that is not this partner's)."""
    return render_template("portal/not_found.html"), 404


#: homework changes that need the assignment only as plain rows (``context.AssignmentRow``):
#: their session and homework are read in one statement, under the assignment's lock
CHANGES_READ_PLAIN = ("portal.autosave", "portal.submit")


def resolve(with_csrf: bool = True):
    """The portal session and partner of this request (None, None if none).

    An answer save or a submit reads its homework with the session, in one statement under
    the assignment's row lock (``context.resolve_changing``): ``g.homework`` is that
    PartnerContext, None when it was not read so (the homework view reads it then).
    """
    req = request._get_current_object()  # one look-up through the proxy, not several
    sid = portal_session.cookie_sid()
    found = homework = None
    posted = req.method == "POST"
    if sid and posted and req.endpoint in CHANGES_READ_PLAIN:
        found = context.resolve_changing(
            sid, (req.view_args or {}).get("assignment_id"), req.endpoint == "portal.submit"
        )
    if found is not None:
        ps, ctx, homework = found
    else:
        found = context.resolve(sid) if sid else None
        if found is None:
            return None, None
        ps, ctx = found
    if ps.wrote and homework is not None:
        # the session's idle bookkeeping rides on the save's or submit's own commit: a commit
        # now would end the lock the homework was read under, to be read again under another
        portal_session.ride_along(ps)
    elif ps.wrote:
        db.session.commit()  # the session's idle bookkeeping, apart from the route's work
    if with_csrf and posted and not ps.check_csrf(_sent_csrf(req)):
        refuse(400, "This page was open too long or came from elsewhere. Reload it and try again.")
    request_g = g._get_current_object()
    request_g.portal = ps
    request_g.ctx = ctx
    request_g.homework = homework
    return ps, ctx


def _is_autosave() -> bool:
    return request.endpoint in ("portal.autosave",)


def _sent_csrf(req) -> str | None:
    sent = req.headers.get("X-CSRF-Token") or req.form.get("csrf_token")
    if not sent and req.endpoint == "portal.autosave":
        # navigator.sendBeacon cannot set headers: a flush on leaving carries it in the body
        try:
            data = req.get_json(force=True, silent=True)
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
        ps, ctx = resolve()
        if ctx is None:
            return not_found()
        if ctx.has_pin and not ps.pin_ok:
            if _is_autosave():
                return jsonify(error="Enter your PIN to go on; reload the page."), 401
            return redirect(url_for("portal.pin"))
        return view(ctx, *args, **kwargs)

    return wrapped


@bp.after_request
def _portal_headers(response):
    portal_session.settle()  # the session's bookkeeping, if the route did not commit it
    # Cache-Control: no-store (and Pragma) come from the app's hook (core.web), which sets
    # them on every response but static files'; the portal's own rule is the referrer: its
    # URLs carry the partner's link, which no other site may see (the app's hook keeps a
    # Referrer-Policy a response has).
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.app_context_processor
def _portal_globals():
    ps = g.get("portal")
    return {
        "portal_csrf_token": ps.csrf_token if ps else "",
        "quick_exit_url": practice_settings.quick_exit_url,
        # pages a homework view renders get its own hw_url (see view_model); this one, for a
        # page rendered apart from a view, links the short URLs of the session's homework
        "hw_url": _short_url,
    }


def _short_url(endpoint: str, **values) -> str:
    return url_for("portal.start" if endpoint == "portal.overview" else endpoint, **values)
