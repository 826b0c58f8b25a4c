"""Typed text made safe and short enough for reportlab: cleaned, escaped, fitted."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics

# C0 and C1 control characters except tab and newline, and lone surrogates: reportlab either
# chokes on them or prints garbage, and nobody meant to type them.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean(text: object) -> str:
    """Typed text with line breaks normalised and control characters removed."""
    s = "" if text is None else str(text)
    s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return _UNPRINTABLE.sub("", s).replace("\t", "    ")


def head_name(text: object, limit: int = 80) -> str:
    """A name for a table head, cut short: a head row repeats on every page and must fit one."""
    name = " ".join(clean(text).split())
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def markup(text: object) -> str:
    """Typed text made safe for Paragraph: markup characters escaped, newlines kept."""
    return escape(clean(text)).replace("\n", "<br/>")


def fit_line(text: str, font: str, size: float, width: float) -> str:
    """Plain one-line text (canvas, chart) shortened with an ellipsis to fit width."""
    text = " ".join(clean(text).split())
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    lo, hi = 0, len(text)  # the longest prefix that fits with the ellipsis, by bisection
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if pdfmetrics.stringWidth(text[:mid] + "…", font, size) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"
