"""Response headers, CSP nonces and error pages shared by every blueprint."""

from __future__ import annotations

import re
import secrets
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain
from typing import Any, NoReturn
from urllib.parse import urlsplit

from flask import Flask, current_app, g, jsonify, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.sansio.utils import host_is_trusted

from counselor.core.models import day_text, local_datetime, local_day
from counselor.core.text import unstorable


class App(Flask):
    """Flask, with its check of whether a hook or view is a coroutine function remembered."""

    #: at most this many functions are remembered (hooks, views and error handlers: a few
    #: hundred at most, made once)
    _MAX_REMEMBERED = 4096

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plain_functions: set = set()

    def ensure_sync(self, func):
        """Flask's, with a plain function's answer remembered: Flask asks it of every hook
        and view on every request (``inspect.iscoroutinefunction``, about 1 µs each; an
        autosave runs nine). A coroutine function is wrapped on every call, as Flask does."""
        try:
            if func in self._plain_functions:
                return func
        except TypeError:  # an unhashable callable: asked every time
            return super().ensure_sync(func)
        wrapped = super().ensure_sync(func)
        if wrapped is func and len(self._plain_functions) < self._MAX_REMEMBERED:
            self._plain_functions.add(func)
        return wrapped


# Phrases shown on error pages: what happened and what to do, never a trace.
ERROR_TEXT = {
    400: (
        "This request could not be understood",
        "Something in what was sent was not valid. Go back, check the form and try again.",
    ),
    401: ("Please sign in", "This page needs you to be signed in."),
    403: ("Not available to this account", "Your account does not have access to this page."),
    404: (
        "Page not found",
        "There is nothing here. The address may be mistyped, or the item no longer exists.",
    ),
    405: (
        "That action is not possible here",
        "This address does not accept that kind of request. Use the buttons on the page.",
    ),
    409: (
        "This changed in the meantime",
        "Someone or something changed this while you were working. Reload and try again.",
    ),
    413: (
        "Too much at once",
        "What you sent is larger than Counselor accepts. Shorten it and try again.",
    ),
    429: ("Too many attempts", "Please wait a few minutes before trying again."),
    500: (
        "Something went wrong on our side",
        "Nothing you did caused this. Your last change may not have been saved; "
        "try again in a moment.",
    ),
}


def refuse(code: int, message: str) -> NoReturn:
    """Stop the request with a 4xx page that tells the user ``message`` (why, and what to do).

    A plain ``abort(code, description=...)`` shows the generic text for the code: werkzeug's
    own descriptions are technical, so only refusals raised here show theirs.
    """
    exc = default_exceptions[code](description=message)
    exc.show_description = True
    raise exc


@contextmanager
def refusing(code: int, *errors: type[Exception]) -> Iterator[None]:
    """Turn a service's refusal (one of ``errors``) into ``refuse(code, <its message>)``."""
    try:
        yield
    except errors as exc:
        refuse(code, str(exc))


def uuid_or_none(value: str | None) -> uuid.UUID | None:
    """The UUID a form or URL sent, or None when what it sent is not one."""
    try:
        return uuid.UUID(value or "")
    except ValueError:
        return None


def refused_under(field, exc: Exception) -> None:
    """A service refused what a valid form asked: undo the attempt and show why under ``field``
    (the form is then shown again)."""
    from counselor.extensions import db

    db.session.rollback()
    field.errors = [*field.errors, str(exc)]


def public_url(endpoint: str, **values) -> str:
    """An absolute URL on COUNSELOR_BASE_URL: links given to partners (and mails) never take
    their host from the request, whose Host header anyone can set."""
    return current_app.config["COUNSELOR_BASE_URL"] + url_for(endpoint, **values)


UNSTORABLE_TEXT = (
    "Something you sent contains an invisible character that cannot be saved (a NUL "
    "character or a broken emoji). Please remove it, or retype that text, and try again."
)


#: what a JSON body must hold for its parsed document to carry an unstorable character: a NUL
#: byte (or any UTF-16/32 body, whose ASCII holds NUL bytes), a lone surrogate's UTF-8 bytes
#: (``json.loads`` decodes bytes with "surrogatepass"), or a ``\u0000`` or ``\ud800``-style
#: escape. A body without any of them is stored as is, without walking the parsed document.
_MAYBE_UNSTORABLE_JSON = re.compile(rb"\x00|\xed[\xa0-\xbf]|\\u(?:0000|[dD][89a-fA-F])")


def _maybe_unstorable_json(body: bytes) -> bool:
    # Each of the pattern's branches starts with a byte that a plain search finds at memchr
    # speed, while the pattern's own search tries every branch at every byte of the body:
    # the pattern runs only on a body holding one of those bytes.
    if b"\x00" in body:
        return True
    if b"\xed" not in body and b"\\u" not in body:
        return False
    return _MAYBE_UNSTORABLE_JSON.search(body) is not None


def _json_unstorable(doc: Any) -> bool:
    # Iterative: a JSON body can nest deeper than Python's recursion limit.
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif unstorable(value):
            return True
    return False


#: the bodies a route reads through ``request.form`` (werkzeug parses no other kind into it)
_FORM_TYPES = frozenset(("application/x-www-form-urlencoded", "multipart/form-data"))


def _any_unstorable(texts) -> bool:
    # One search over the texts joined: joining neither makes nor hides a NUL or a lone
    # surrogate (Python strings never pair two surrogates into one character).
    return unstorable("".join([t for t in texts if isinstance(t, str)]))


def _multi_unstorable(multi) -> bool:
    """Whether a key or value of ``multi`` (the query string, the cookies, the form) holds
    an unstorable character. A MultiDict is a dict of each key's list of values: its keys
    and values are joined by C calls, not walked item by item in Python (a generator's
    step per key and per value had been about a fifth of every request's check)."""
    if isinstance(multi, MultiDict):
        try:
            keys = "".join(dict.keys(multi))
            return unstorable(keys + "".join(chain.from_iterable(dict.values(multi))))
        except TypeError:  # a key or value that is not text: only texts are looked at
            pass
    return _any_unstorable([text for key, values in multi.lists() for text in (key, *values)])


def _header_values(environ) -> list:
    # The values ``request.headers`` gives, read from the environment as it reads them,
    # without making each header's name (and ``HTTP_CONTENT_*`` too, which it leaves out)
    return [v for k, v in environ.items() if k.startswith("HTTP_") or k in _BODY_HEADERS]


_BODY_HEADERS = frozenset(("CONTENT_TYPE", "CONTENT_LENGTH"))


def _input_unstorable() -> bool:
    """Whether any input a route may read carries an unstorable character."""
    req = request._get_current_object()  # one look-up through the proxy, not eight
    if req.args and _multi_unstorable(req.args):
        return True
    cookies = req.cookies
    if cookies and _multi_unstorable(cookies):
        return True
    # any other body than a form's leaves request.form empty
    if req.mimetype in _FORM_TYPES and (form := req.form) and _multi_unstorable(form):
        return True
    if _any_unstorable(_header_values(req.environ)):
        return True
    if req.view_args and _any_unstorable(req.view_args.values()):
        return True
    if not req.is_json:
        return False
    if not _maybe_unstorable_json(req.get_data()):
        return False  # nothing in the body can parse into one: no need to walk the document
    return _json_unstorable(req.get_json(silent=True))


def _refuse_unstorable_input():
    """Refuse NUL and lone surrogates once, for every route, before any of them reads input.

    A NUL in the sign-in email reached PostgreSQL as a DataError (a 500); checking at the
    boundary covers every form, query string, JSON body and header at once.
    """
    try:
        bad = _input_unstorable()
    except RecursionError:  # a JSON body nested thousands deep: get_json gives up
        return jsonify(error="This request was not understood."), 400
    if not bad:
        return None
    if request.is_json:
        return jsonify(error=UNSTORABLE_TEXT), 400
    refuse(400, UNSTORABLE_TEXT)


def csp_nonce() -> str:
    """The per-request nonce for the Content-Security-Policy (no inline script needs it yet)."""
    request_g = g._get_current_object()  # one look-up through the proxy, not three
    nonce = request_g.get("csp_nonce")
    if nonce is None:
        nonce = request_g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


_CSP = (
    "default-src 'self'; "
    "script-src 'self' 'nonce-{nonce}'; "
    "style-src 'self' 'nonce-{nonce}'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: for answers no browser shows as a page: JSON, and redirects (Werkzeug's body is a bare
#: link, no script or style, and a browser follows the Location without rendering it). No
#: script, style, form or frame of theirs may run, so they need no nonce (drawing one and
#: Werkzeug checking the long policy's characters cost ~60k instructions a response). A 304
#: is left out: its headers replace a cached page's, which needs the page policy.
_CSP_NOT_A_PAGE = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_REDIRECTS = frozenset((301, 302, 303, 307, 308))
#: set on every response, after the Content-Security-Policy and in this order
_EVERY_RESPONSE = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
)
_ISOLATION = (
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
_NOT_CACHED = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def _security_headers(response):
    headers = response.headers
    # Each header is set as ``headers[name] = value`` sets it (replacing one the response
    # has, appended otherwise), with the response's own names looked at once, not once per
    # header set.
    have = {name.lower() for name, _ in headers}  # (its keys(lower=True): two generators)
    if response.status_code in _REDIRECTS or response.mimetype == "application/json":
        csp = _CSP_NOT_A_PAGE
    else:
        csp = _CSP.format(nonce=csp_nonce())
    put = [("Content-Security-Policy", csp), *_EVERY_RESPONSE]
    if "referrer-policy" not in have:
        put.append(("Referrer-Policy", "same-origin"))
    put += _ISOLATION
    # the app and request through the proxies' _get_current_object (see core.crypto.keyring):
    # this runs on every response
    if current_app._get_current_object().config.get("PRODUCTION"):
        # Production is served over HTTPS only (README): browsers must never try plain HTTP.
        put.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    if not (request._get_current_object().endpoint or "").endswith("static"):
        # Clinical pages must not linger in shared caches or the browser's back history.
        # Error pages of unknown URLs (no endpoint) too: they show who is signed in.
        put += _NOT_CACHED
    for name, value in put:
        if name.lower() in have:
            headers.set(name, value)
        else:
            headers.add(name, value)
    return response


def _only_our_host() -> None:
    """Production answers only requests for the host of COUNSELOR_BASE_URL (400 otherwise).

    Checked here rather than through Flask's TRUSTED_HOSTS, which leaves no URL adapter for
    the error page to render with.
    """
    if not current_app._get_current_object().config.get("PRODUCTION"):  # see keyring()
        return
    ours = urlsplit(current_app.config["COUNSELOR_BASE_URL"]).hostname
    if not host_is_trusted(request.host, [ours]):
        refuse(400, "This address is not served here. Check the address and try again.")


def _render_error(code: int, detail: str | None = None):
    title, text = ERROR_TEXT.get(code, ERROR_TEXT[400 if code < 500 else 500])
    # A blueprint with its own base (the partner portal) has its own error page, so that a
    # partner's error page never touches the counselor's login.
    names = [f"{request.blueprint}/error.html"] if request.blueprint else []
    template = current_app.jinja_env.select_template([*names, "errors/error.html"])
    return render_template(template, code=code, title=title, text=detail or text), code


def init_web(app: Flask) -> None:
    """Attach headers, the CSP nonce helper and styled error pages."""
    # First of all before-request hooks: nothing runs for a request to another host.
    app.before_request_funcs.setdefault(None, []).insert(0, _only_our_host)
    app.before_request(_refuse_unstorable_input)
    app.after_request(_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["localdate"] = local_day
    app.jinja_env.filters["day"] = day_text
    app.jinja_env.filters["localdatetime"] = local_datetime

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        from counselor.extensions import db

        db.session.rollback()
        detail = None
        if exc.description and getattr(exc, "show_description", False):
            detail = exc.description
        if isinstance(exc, CSRFError):
            detail = (
                "This form was open too long or came from another page, so it was not saved. "
                "Go back, reload the page and send it again."
            )
        if exc.code == 429:
            detail = (
                "Too many attempts in a short time. For your safety we paused this for a few "
                "minutes; please wait and try again."
            )
        response = exc.get_response()
        body, code = _render_error(exc.code or 500, detail)
        response.set_data(body)
        response.status_code = code
        response.mimetype = "text/html"
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        from counselor.extensions import db

        db.session.rollback()
        # The endpoint, not the path: a portal path may carry a personal link token. The
        # frames, not the message: an exception's message can quote what a person typed.
        app.logger.error(
            "Unhandled %s on %s %s\n%s",
            type(exc).__name__,
            request.method,
            request.endpoint,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return _render_error(500)
