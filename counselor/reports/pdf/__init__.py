"""Render clinical records, case records and client handouts as PDF with reportlab platypus.

A pure renderer: plain data from ``counselor.reports.data`` in, PDF bytes out; no Flask, no
database, no request. A client handout is rendered from a ``Handout`` alone, which has no
field for notes, unreleased or counselor-only answers, so none can reach a partner's PDF.

Everything a person typed (names, answers, notes, labels) goes through ``text.markup`` before
it reaches a ``Paragraph``: reportlab reads paragraph text as XML-like mini-markup, so an answer
holding ``<font>``, ``<a href>`` or ``<img src>`` would otherwise be obeyed, not printed.

The modules: ``fonts`` (the embedded family), ``text`` (cleaning and fitting typed text),
``styles`` (page, palette, paragraph styles), ``layout`` (pages, header and footer, house
tables), ``charts`` and ``comparison`` (the check-in charts and the desire grid), and one module
per document: ``clinical``, ``handout`` and ``agreement`` (a partner's copy of an agreement,
and the agreement section of the records).
"""

from counselor.reports.pdf.agreement import render_agreement
from counselor.reports.pdf.clinical import render_clinical
from counselor.reports.pdf.fonts import FontError
from counselor.reports.pdf.handout import render_handout

__all__ = ["FontError", "render_agreement", "render_clinical", "render_handout"]
