"""URLs a page builds many times, built once.

``url_for`` walks Werkzeug's rule builder on every call: a page layout's stylesheets, scripts
and menu links cost a dozen such builds on every page, and a list of fifty cases fifty more,
for URLs that differ only by an id. These helpers build each such URL once per process (and
script root, where the app is mounted) with ``url_for`` itself, so a URL is what ``url_for``
makes, whatever the rule.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import Flask, request, url_for

#: stands for the varying value while its rule is built once; it passes every converter's
#: ``to_url`` unchanged, and no rule's own text holds it
_SLOT = "_url_of_slot_"
#: what Werkzeug's ``BaseConverter.to_url`` leaves unquoted in a value (a uuid's text needs no
#: quoting)
_SAFE = "!$&'()*+,/:;=@"


def fixed_url(endpoint: str, **values: Any) -> str:
    """``url_for(endpoint, **values)`` for a URL that is the same on every request (a static
    file, a menu link), built once per process and script root."""
    return _fixed(request.script_root, endpoint, tuple(sorted(values.items())))


@functools.lru_cache(maxsize=256)
def _fixed(script_root: str, endpoint: str, values: tuple) -> str:
    return url_for(endpoint, **dict(values))


def url_of(endpoint: str, name: str, **values: Any) -> Callable[[Any], str]:
    """A function making ``url_for(endpoint, **{name: value}, **values)`` for each ``value``
    (the case of each row of a list): the rest of the URL is built once per process.
    ``name`` is a string or uuid part of the rule's path (an int part refuses the slot)."""
    before, after = _split(request.script_root, endpoint, name, tuple(sorted(values.items())))

    def make(value: Any) -> str:
        text = str(value) if isinstance(value, uuid.UUID) else quote(str(value), safe=_SAFE)
        return f"{before}{text}{after}"

    return make


def urls_of(endpoint: str, name: str, texts: list[str], **values: Any) -> list[str]:
    """``url_of``'s URL for each of ``texts`` (a list page's rows), made in one call: the
    texts are quoted together, a slash between them, which ``quote`` leaves as it is (as
    it does ids' texts: no byte by byte look-ups in Python then). ``quote`` is Python, a
    few thousand instructions a call; texts holding a slash are quoted one by one."""
    before, after = _split(request.script_root, endpoint, name, tuple(sorted(values.items())))
    quoted = quote("/".join(texts), safe=_SAFE).split("/")
    if len(quoted) != len(texts):  # a text held a slash (or there are none)
        quoted = [quote(text, safe=_SAFE) for text in texts]
    return [f"{before}{text}{after}" for text in quoted]


@functools.lru_cache(maxsize=256)
def _split(script_root: str, endpoint: str, name: str, values: tuple) -> tuple[str, str]:
    before, after = url_for(endpoint, **{name: _SLOT}, **dict(values)).split(_SLOT)
    return before, after


def paged_url(endpoint: str, **values: Any) -> Callable[[int], str]:
    """A function making ``url_for(endpoint, **values, page=n)`` for each page number ``n``
    (a list's page links): the URL is built once, and the page put last in its query string,
    where ``url_for`` puts an argument its rule does not name (after ``values``, in order)."""
    base = url_for(endpoint, **values)
    separator = "&" if "?" in base else "?"

    def make(page: int) -> str:
        return f"{base}{separator}page={int(page)}"

    return make


def init_urls(app: Flask) -> None:
    """Offer the helpers to templates."""
    app.jinja_env.globals.update(fixed_url=fixed_url, url_of=url_of, paged_url=paged_url)
