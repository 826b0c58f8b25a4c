"""Render clinical records, case records and client handouts as PDF with reportlab platypus.

A pure renderer: plain data from ``counselor.reports.data`` in, PDF bytes out; no Flask, no
database, no request. A client handout is rendered from a ``Handout`` alone, which has no
field for notes, unreleased or counselor-only answers, so none can reach a partner's PDF.

Everything a person typed (names, answers, notes, labels) goes through ``_markup`` before it
reaches a ``Paragraph``: reportlab reads paragraph text as XML-like mini-markup, so an answer
holding ``<font>``, ``<a href>`` or ``<img src>`` would otherwise be obeyed, not printed.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Iterable
from xml.sax.saxutils import escape

from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.validators import Auto
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from counselor.reports.data import (
    VARIANT_TITLES,
    AgreementBlock,
    AgreementDocument,
    AnswerRow,
    ClinicalRecord,
    Handout,
    HomeworkBlock,
    Series,
    SessionBlock,
    Summary,
)
from counselor.reveal.matching import CLASS_HELP, CLASS_LABELS, CLASS_ORDER

__all__ = ["FontError", "render_agreement", "render_clinical", "render_handout"]

# -- page and palette ------------------------------------------------------------------------

PAGE_W, PAGE_H = A4
MARGIN_X = 22 * mm
MARGIN_TOP = 27 * mm
MARGIN_BOTTOM = 22 * mm
FRAME_W = PAGE_W - 2 * MARGIN_X
FRAME_H = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM

TEAL = colors.HexColor("#2f5d62")
SAND = colors.HexColor("#f6f3ee")
SAND_LINE = colors.HexColor("#e4ddd1")
INK = colors.HexColor("#23303a")
MUTED = colors.HexColor("#5c6b73")
PRIVATE_BG = colors.HexColor("#f8eeec")
PRIVATE_LINE = colors.HexColor("#c99a93")
PRIVATE_INK = colors.HexColor("#7a3a33")
ONLY_BG = colors.HexColor("#fbf3e2")
ONLY_INK = colors.HexColor("#8a5a14")

#: comparison classes: (background, text), the same colours as the .cls-* rules of answers.css
CLASS_COLOURS = {
    "mutual": ("#dcefe5", "#1f5c41"),
    "complementary": ("#dde9f2", "#244f6b"),
    "discuss": ("#f4ead3", "#6c5112"),
    "mismatch": ("#f3e0d6", "#7a3a1b"),
    "limit_collision": ("#b3261e", "#ffffff"),
    "limit": ("#efe1e0", "#6e2b26"),
    "unanswered": ("#efedea", "#5c6b73"),
    "neither": ("#f4f3f1", "#6b7378"),
}
_UNKNOWN_CLASS = ("#ffffff", "#5c6b73")

#: one line colour and marker per partner, so lines stay apart in grey print too
SERIES_STYLES = [
    ("#2f5d62", "FilledCircle"),
    ("#b5653a", "FilledSquare"),
    ("#3b6ea5", "FilledDiamond"),
    ("#7a4a7d", "FilledTriangle"),
    ("#a68a2a", "FilledCross"),
    ("#5c6b73", "FilledStarSix"),
]

#: an answer this long goes under its question instead of in a table cell: a table row
#: cannot split across pages, and one taller than the page makes reportlab give up
LONG_ANSWER_CHARS = 900
#: a row taller than this share of the page is stacked as well (narrow columns, many lines)
MAX_ROW_SHARE = 0.4
#: desire grid columns per table; more pairs continue in a further table
GRID_PAIRS_PER_TABLE = 4

# -- fonts -----------------------------------------------------------------------------------

FONT_FILES = {
    "normal": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "italic": "DejaVuSans-Oblique.ttf",
    "boldItalic": "DejaVuSans-BoldOblique.ttf",
}


class FontError(RuntimeError):
    """The TrueType fonts the PDFs embed (DejaVu Sans) are missing or unreadable."""


# reportlab's font registry is process-wide: register each directory once per process
_families: dict[str, str] = {}


def register_fonts(font_dir: str) -> str:
    """Register the DejaVu Sans family found in font_dir and return its family name."""
    key = os.path.realpath(font_dir or ".")
    if key in _families:
        return _families[key]
    family = "CounselorSans" if not _families else f"CounselorSans{len(_families) + 1}"
    paths = {style: os.path.join(key, name) for style, name in FONT_FILES.items()}
    if not all(os.path.isfile(p) for p in paths.values()):
        raise FontError(_font_sentence(font_dir))
    names = {
        "normal": family,
        "bold": f"{family}-Bold",
        "italic": f"{family}-Oblique",
        "boldItalic": f"{family}-BoldOblique",
    }
    try:
        for style, path in paths.items():
            pdfmetrics.registerFont(TTFont(names[style], path))
    except (TTFError, OSError) as exc:
        raise FontError(_font_sentence(font_dir)) from exc
    pdfmetrics.registerFontFamily(family, **names)
    _families[key] = family
    return family


def _font_sentence(font_dir: str) -> str:
    return (
        f"No usable DejaVu Sans fonts in {font_dir!r}: install the Debian package "
        "fonts-dejavu-core or set COUNSELOR_PDF_FONT_DIR to a directory holding "
        + ", ".join(FONT_FILES.values())
        + "."
    )


# -- text ------------------------------------------------------------------------------------

# C0 and C1 control characters except tab and newline, and lone surrogates: reportlab either
# chokes on them or prints garbage, and nobody meant to type them.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _clean(text: object) -> str:
    """Typed text with line breaks normalised and control characters removed."""
    s = "" if text is None else str(text)
    s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return _UNPRINTABLE.sub("", s).replace("\t", "    ")


def _name(text: object, limit: int = 80) -> str:
    """A name for a table head, cut short: a head row repeats on every page and must fit one."""
    name = " ".join(_clean(text).split())
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def _markup(text: object) -> str:
    """Typed text made safe for Paragraph: markup characters escaped, newlines kept."""
    return escape(_clean(text)).replace("\n", "<br/>")


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Plain one-line text (canvas, chart) shortened with an ellipsis to fit width."""
    text = " ".join(_clean(text).split())
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


# -- styles ----------------------------------------------------------------------------------


class _Styles:
    """The paragraph styles of one document, built on the registered family."""

    def __init__(self, family: str, base: float = 9.5):
        bold = f"{family}-Bold"
        italic = f"{family}-Oblique"
        lead = base * 1.42
        self.family, self.bold, self.italic = family, bold, italic
        self.body = ParagraphStyle(
            "body",
            fontName=family,
            fontSize=base,
            leading=lead,
            textColor=INK,
            spaceAfter=4,
            splitLongWords=1,
        )
        self.muted = ParagraphStyle("muted", parent=self.body, fontName=italic, textColor=MUTED)
        self.small = ParagraphStyle(
            "small",
            parent=self.body,
            fontSize=base - 1.5,
            leading=(base - 1.5) * 1.35,
            spaceAfter=0,
        )
        self.small_muted = ParagraphStyle("small_muted", parent=self.small, textColor=MUTED)
        self.title = ParagraphStyle(
            "title", fontName=bold, fontSize=20, leading=25, textColor=TEAL, spaceAfter=2
        )
        self.subtitle = ParagraphStyle(
            "subtitle", fontName=family, fontSize=11.5, leading=15, textColor=MUTED, spaceAfter=10
        )
        # h1 and kickers before tables do not keep with what follows: platypus would wrap
        # them with a whole table or note in one KeepTogether and push it all to the next
        # page, leaving half-empty pages; _heading breaks early instead
        self.h1 = ParagraphStyle(
            "h1",
            fontName=bold,
            fontSize=13,
            leading=17,
            textColor=TEAL,
            spaceBefore=12,
            spaceAfter=5,
        )
        self.h2 = ParagraphStyle(
            "h2",
            fontName=bold,
            fontSize=11,
            leading=14.5,
            textColor=INK,
            spaceBefore=9,
            spaceAfter=2,
            keepWithNext=1,
        )
        self.h3 = ParagraphStyle(
            "h3",
            fontName=bold,
            fontSize=9.5,
            leading=13,
            textColor=TEAL,
            spaceBefore=8,
            spaceAfter=3,
            keepWithNext=1,
        )
        self.kicker = ParagraphStyle(
            "kicker",
            fontName=bold,
            fontSize=7.5,
            leading=10,
            textColor=MUTED,
            spaceBefore=6,
            spaceAfter=3,
        )
        self.meta = ParagraphStyle(
            "meta",
            parent=self.body,
            fontSize=base - 1,
            textColor=MUTED,
            spaceAfter=6,
            keepWithNext=1,
        )
        self.label = ParagraphStyle("label", parent=self.small, fontName=bold, textColor=MUTED)
        self.value = ParagraphStyle("value", parent=self.body, spaceAfter=0)
        self.cell = ParagraphStyle(
            "cell", parent=self.body, fontSize=base - 1, leading=(base - 1) * 1.38, spaceAfter=0
        )
        self.cell_head = ParagraphStyle(
            "cell_head", parent=self.cell, fontName=bold, textColor=TEAL
        )
        self.cell_question = ParagraphStyle("cell_question", parent=self.cell, fontName=bold)
        self.section_row = ParagraphStyle(
            "section_row", parent=self.cell, fontName=bold, textColor=TEAL, fontSize=base - 0.5
        )
        self.private = ParagraphStyle(
            "private",
            parent=self.body,
            backColor=PRIVATE_BG,
            borderColor=PRIVATE_LINE,
            borderWidth=0.6,
            borderPadding=(7, 8, 7, 8),
            leftIndent=8,
            rightIndent=8,
            spaceBefore=6,
            spaceAfter=12,
        )
        self.stack_question = ParagraphStyle(
            "stack_question",
            parent=self.cell_question,
            fontSize=base,
            leading=lead,
            spaceBefore=8,
            spaceAfter=3,
            keepWithNext=1,
        )
        self.stack_partner = ParagraphStyle(
            "stack_partner",
            parent=self.small,
            fontName=bold,
            textColor=TEAL,
            leftIndent=10,
            spaceBefore=3,
            keepWithNext=1,
        )
        self.stack_answer = ParagraphStyle(
            "stack_answer", parent=self.body, leftIndent=10, spaceAfter=3
        )
        self.stack_empty = ParagraphStyle(
            "stack_empty", parent=self.stack_answer, fontName=italic, textColor=MUTED
        )
        self.grid_cell = ParagraphStyle(
            "grid_cell",
            parent=self.cell,
            fontSize=base - 1.5,
            leading=(base - 1.5) * 1.3,
            alignment=TA_CENTER,
        )
        self.bullet = ParagraphStyle(
            "bullet", parent=self.body, leftIndent=14, bulletIndent=3, spaceAfter=2
        )


def _para(text: object, style: ParagraphStyle, empty: str = "") -> Paragraph:
    """A paragraph of typed text, or of the given placeholder when there is none."""
    if _clean(text).strip():
        return Paragraph(_markup(text), style)
    return Paragraph(escape(empty), style)


def _only_mark(st: _Styles) -> str:
    return (
        f'<font name="{st.bold}" size="6.5" color="{ONLY_INK.hexval()}">'
        "\u00a0COUNSELOR ONLY\u00a0</font>"
    )


# -- running header and footer ---------------------------------------------------------------


def _numbered_canvas(
    family: str, variant_title: str, header_right: str, generated_at: str
) -> type[canvas.Canvas]:
    """A canvas class that draws the running header and "Page X of Y" once Y is known."""
    bold = f"{family}-Bold"
    left = f"Confidential — {variant_title}"

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._page_states: list[dict] = []

        def showPage(self):  # noqa: N802 (reportlab's name)
            self._page_states.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._page_states)
            for state in self._page_states:
                self.__dict__.update(state)
                self._draw_running(total)
                super().showPage()
            super().save()

        def _draw_running(self, total: int) -> None:
            self.saveState()
            top = PAGE_H - 14 * mm
            self.setFont(bold, 8)
            self.setFillColor(TEAL)
            self.drawString(MARGIN_X, top, left)
            room = FRAME_W - pdfmetrics.stringWidth(left, bold, 8) - 12 * mm
            self.setFont(family, 8)
            self.setFillColor(MUTED)
            self.drawRightString(PAGE_W - MARGIN_X, top, _fit(header_right, family, 8, room))
            self.setStrokeColor(TEAL)
            self.setLineWidth(0.8)
            self.line(MARGIN_X, top - 2.6 * mm, PAGE_W - MARGIN_X, top - 2.6 * mm)
            bottom = 12 * mm
            self.setStrokeColor(SAND_LINE)
            self.setLineWidth(0.5)
            self.line(MARGIN_X, bottom + 4 * mm, PAGE_W - MARGIN_X, bottom + 4 * mm)
            self.setFont(family, 7.5)
            self.drawString(MARGIN_X, bottom, "Confidential")
            footer = f"Page {self._pageNumber} of {total} · Generated {_clean(generated_at)}"
            self.drawRightString(
                PAGE_W - MARGIN_X, bottom, _fit(footer, family, 7.5, FRAME_W * 0.8)
            )
            self.restoreState()

    return NumberedCanvas


def _build(
    story: list[Flowable],
    family: str,
    variant: str,
    header_right: str,
    generated_at: str,
    *,
    title: str,
    author: str,
    subject: str,
) -> bytes:
    """Lay the story out on A4 pages with the running header and footer; the PDF bytes.

    ``header_right`` is printed at the top of every page; ``title``, ``author`` and
    ``subject`` become the document's metadata, which readers show without opening a page.
    """
    variant_title = VARIANT_TITLES.get(variant, variant)
    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=_clean(title),
        author=_clean(author),
        creator="Counselor",
        subject=_clean(subject),
        keywords=[],
    )
    # no frame padding: text lines up with the header and footer rules
    frame = Frame(
        MARGIN_X,
        MARGIN_BOTTOM,
        FRAME_W,
        FRAME_H,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="body",
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    doc.build(
        story, canvasmaker=_numbered_canvas(family, variant_title, header_right, generated_at)
    )
    return buf.getvalue()


# -- shared pieces ---------------------------------------------------------------------------


def _facts(rows: Iterable[tuple[str, object]], st: _Styles) -> Table:
    """The sand-coloured block of labelled facts under a document's title."""
    data = [
        [Paragraph(escape(label.upper()), st.label), _para(value, st.value, "—")]
        for label, value in rows
    ]
    table = _table(data, [34 * mm, FRAME_W - 34 * mm])
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), SAND),
                ("LINEABOVE", (0, 0), (-1, 0), 1.2, TEAL),
                ("LINEBELOW", (0, -1), (-1, -1), 0.5, SAND_LINE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, 0), 8),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 8),
                ("LEFTPADDING", (0, 0), (0, -1), 10),
            ]
        )
    )
    return table


def _heading(text: str, style: ParagraphStyle, room: float = 30 * mm) -> list[Flowable]:
    """A heading that starts a new page unless room is left for it and a few lines after."""
    return [CondPageBreak(room), Paragraph(text, style)]


def _table(data: list[list], widths: list[float], header: bool = False) -> Table:
    """A full-width table of typed text; the header row repeats on every page it runs onto,
    and the last row never stands alone on a page.

    A row taller than half a page (a 3,000-character case label, a novel of an item text)
    may split inside its cells instead of raising LayoutError; ordinary rows never split, and
    long answers do not come here at all: they are stacked under their question.
    """
    tallest = max(
        (_height(cell, w) for row in data for cell, w in zip(row, widths, strict=False)), default=0
    )
    table = Table(
        data,
        colWidths=widths,
        repeatRows=1 if header else 0,
        hAlign="LEFT",
        splitInRow=1 if tallest > FRAME_H * 0.5 else 0,
    )
    last_two = sum(
        max((_height(cell, w) for cell, w in zip(row, widths, strict=False)), default=0) + 12
        for row in data[-2:]
    )
    if len(data) >= (4 if header else 3) and last_two < FRAME_H * 0.4:
        # the last row never goes onto a page alone (under a repeated header, or none): it
        # takes the row before it along (only when both fit easily: a pair too tall for a
        # page could never be placed)
        table.setStyle(TableStyle([("NOSPLIT", (0, -2), (-1, -1))]))
    return table


def _height(cell: object, width: float) -> float:
    """The height a table cell's content needs at the given column width (padding aside)."""
    return cell.wrap(width - 12, FRAME_H)[1] if isinstance(cell, Flowable) else 0


def _table_style(*extra: tuple) -> TableStyle:
    """The house table: sand header row over a teal rule, hairlines between rows."""
    return TableStyle(
        [
            ("BACKGROUND", (0, 0), (-1, 0), SAND),
            ("LINEBELOW", (0, 1), (-1, -1), 0.4, SAND_LINE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ("LEFTPADDING", (0, 0), (-1, -1), 6),
            ("RIGHTPADDING", (0, 0), (-1, -1), 6),
            *extra,
            # last, so that on a continued page it is drawn over the hairline reportlab carries
            # over from the row before the break
            ("LINEBELOW", (0, 0), (-1, 0), 0.9, TEAL),
        ]
    )


def _text_block(
    text: str, style: ParagraphStyle, empty: str, empty_style: ParagraphStyle
) -> list[Flowable]:
    """Typed text as paragraphs (one per blank-line-separated block), or a quiet placeholder."""
    blocks = [b for b in re.split(r"\n\s*\n", _clean(text)) if b.strip()]
    if not blocks:
        return [Paragraph(escape(empty), empty_style)]
    return [Paragraph(_markup(b.strip("\n")), style) for b in blocks]


# -- clinical record -------------------------------------------------------------------------


def render_clinical(record: ClinicalRecord, font_dir: str) -> bytes:
    """A clinical record (one session) or case record (every session, oldest first) as PDF.

    Sessions are printed in the order given; the builder passes them oldest first.
    """
    family = register_fonts(font_dir)
    st = _Styles(family)
    case_record = record.variant == "case_record"
    title = VARIANT_TITLES.get(record.variant, VARIANT_TITLES["clinical"])
    story: list[Flowable] = [
        Paragraph(escape(title), st.title),
        _para(record.case_label, st.subtitle, "Untitled case"),
    ]
    partners = ", ".join(_clean(p) for p in record.partners)
    sessions = record.sessions
    if case_record:
        span = "none recorded"
        if len(sessions) == 1:
            span = f"1 session, {_clean(sessions[0][0].when)}"
        elif sessions:
            span = (
                f"{len(sessions)} sessions, {_clean(sessions[0][0].when)} to "
                f"{_clean(sessions[-1][0].when)}"
            )
        story.append(
            _facts(
                [
                    ("Case", record.case_label),
                    ("Partners", partners),
                    ("Counselor", record.counselor),
                    ("Sessions", span),
                ],
                st,
            )
        )
    else:
        session = sessions[0][0] if sessions else None
        story.append(
            _facts(
                [
                    ("Case", record.case_label),
                    ("Partners", partners),
                    ("Session", session.when if session else ""),
                    ("Duration", _minutes(session.duration_minutes) if session else ""),
                    ("Counselor", record.counselor),
                ],
                st,
            )
        )
    story.append(Spacer(1, 6))
    story += _summary(record.summary, st)

    if not sessions:
        story.append(Paragraph("No sessions recorded.", st.muted))
    for index, (session, homework) in enumerate(sessions, start=1):
        if case_record:
            story.extend(_session_heading(index, len(sessions), session, st))
        story.extend(_session(session, homework, st))
    if case_record and record.after_last:
        story += _band("Since the last session", "", st, 60 * mm)
        story.append(Paragraph("Homework sent after the last session", st.h1))
        for index, block in enumerate(record.after_last):
            story.extend(_homework(block, st, first=index == 0))

    if record.agreements:
        story += _band("Agreements", "", st, 60 * mm)
        for block in record.agreements:
            story += _agreement(block, st, changes=True)

    drawable = [s for s in record.charts if _chartable(s)]
    if record.charts:
        heading = "Check-in scores over time"
        if case_record:  # the charts span the case: set them apart from the last session
            story += _band("Across sessions", "", st, 100 * mm) + [Paragraph(heading, st.h1)]
        else:
            story += _heading(heading, st.h1, 90 * mm)
        if not drawable:
            story.append(
                Paragraph("Fewer than two check-ins so far: nothing to chart yet.", st.muted)
            )
        for series in drawable:
            story.append(_chart(series, record.partners, st))
        short = [s for s in record.charts if not _chartable(s)]
        if drawable and short:
            story.append(
                Paragraph(
                    "Not charted yet (fewer than two check-ins): "
                    + "; ".join(_markup(s.question) for s in short)
                    + ".",
                    st.small_muted,
                )
            )
    return _build(
        story,
        family,
        record.variant,
        record.case_label,
        record.generated_at,
        title=f"{title} — {_clean(record.case_label)}",
        author=record.counselor,
        subject="Confidential clinical documentation",
    )


SEVERITY_WORDS = {"urgent": "URGENT", "review": "Review", "info": "Info"}


def _summary(summary: Summary, st: _Styles) -> list[Flowable]:
    """The first page: what needs the counselor's eyes before the full tables."""
    out: list[Flowable] = [Paragraph("At a glance", st.h1)]
    out += [Paragraph("Screening alerts", st.h2)]
    if not summary.alerts:
        out.append(Paragraph("No screening alerts.", st.muted))
    for alert in summary.alerts:
        status = f"closed {escape(_clean(alert.closed))}" if alert.closed else "<b>open</b>"
        lines = [
            Paragraph(
                f"<b>{SEVERITY_WORDS.get(alert.severity, alert.severity)}</b> · "
                f"{_markup(alert.partner)} · {_markup(alert.title)} · "
                f"{escape(_clean(alert.when))} · {status}",
                st.body,
            )
        ]
        lines += [
            Paragraph(
                f"{_markup(i.message)} — answered: {_markup(i.answer) or 'no answer'}",
                st.bullet,
                bulletText="•",
            )
            for i in alert.items
        ]
        if alert.note:
            lines.append(Paragraph(f"<b>Closing note:</b> {_markup(alert.note)}", st.bullet))
        out.append(KeepTogether(lines))
    for title, entries, empty in (
        ("Limit collisions", summary.collisions, "No limit collisions."),
        ("Mismatches", summary.mismatches, "No mismatches."),
        ("Who does what", summary.who_does_what, "No matches or limits to name."),
    ):
        out.append(Paragraph(title, st.h2))
        out += [Paragraph(_markup(e), st.bullet, bulletText="•") for e in entries]
        if not entries:
            out.append(Paragraph(empty, st.muted))
    out.append(Paragraph("Partner notes", st.h2))
    out += [
        Paragraph(
            f"<b>{_markup(who)}</b> on {_markup(item)}: {_markup(note)}", st.bullet, bulletText="•"
        )
        for who, item, note in summary.notes
    ]
    if not summary.notes:
        out.append(Paragraph("No notes written on desire items.", st.muted))
    return out + [PageBreak()]


def _minutes(minutes: int | None) -> str:
    if not minutes:
        return ""
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def _band(left: str, right: str, st: _Styles, room: float = 70 * mm) -> list[Flowable]:
    """A teal band across the page that opens a part of a case record (markup given)."""
    band = _table(
        [
            [
                Paragraph(
                    left,
                    ParagraphStyle(
                        "band", parent=st.h2, textColor=colors.white, spaceBefore=0, spaceAfter=0
                    ),
                ),
                Paragraph(
                    right,
                    ParagraphStyle(
                        "band_right", parent=st.value, textColor=colors.white, alignment=TA_RIGHT
                    ),
                ),
            ]
        ],
        [FRAME_W * 0.4, FRAME_W * 0.6],
    )
    band.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), TEAL),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return [CondPageBreak(room), Spacer(1, 10), band, Spacer(1, 2)]


def _session_heading(index: int, total: int, session: SessionBlock, st: _Styles) -> list[Flowable]:
    """The band that opens each session of a case record."""
    length = _minutes(session.duration_minutes)
    return _band(
        f"Session {index} of {total}",
        _markup(session.when) + (f" · {length}" if length else ""),
        st,
    )


def _session(session: SessionBlock, homework: list[HomeworkBlock], st: _Styles) -> list[Flowable]:
    out = _heading("Agenda", st.h1)
    out += _text_block(session.agenda, st.body, "No agenda recorded.", st.muted)
    out += _heading(
        f'Private notes <font name="{st.family}" size="8" color="{PRIVATE_INK.hexval()}">'
        "· counselor only, never shared with partners</font>",
        st.h1,
    )
    if _clean(session.notes).strip():
        out.append(Paragraph(_markup(session.notes.strip()), st.private))
    else:
        out.append(Paragraph("No private notes.", st.muted))
    out += _heading("Next steps", st.h1)
    out += _text_block(session.next_steps, st.body, "No next steps recorded.", st.muted)
    out += _heading("Homework since the previous session", st.h1, 60 * mm)
    if not homework:
        out.append(Paragraph("No homework submitted since the previous session.", st.muted))
    for index, block in enumerate(homework):
        out.extend(_homework(block, st, first=index == 0))
    return out


def _homework(block: HomeworkBlock, st: _Styles, first: bool) -> list[Flowable]:
    """One assignment: its answers side by side, then the desire grid with its legend."""
    title = _markup(block.title) or "Untitled"
    # the first block shares the section heading's page check; a break here would orphan it
    out = [Paragraph(title, st.h2)] if first else _heading(title, st.h2, 50 * mm)
    meta = _markup(block.submitted)
    if block.partners:
        names = ", ".join(_clean(p) for p in block.partners)
        meta += (" · " if meta else "") + "answered by " + escape(names)
    if meta:
        out.append(Paragraph(meta, st.meta))
    for line in block.scores:
        out.append(Paragraph("SCORE (COUNSELOR ONLY)", st.kicker))
        out.append(Paragraph(_markup(line.title), st.body))
        out.extend(Paragraph(_markup(r), st.small) for r in line.results)
        out.append(Paragraph("Source: " + _markup(line.source), st.small_muted))
    if block.rows:
        out.append(Paragraph("ANSWERS SIDE BY SIDE", st.kicker))
        out.extend(_answers(block, st))
    if block.grid:
        kicker = "DESIRE COMPARISON"
        # straight after the block's title (no answers) the title's own page check holds
        out += (
            _heading(kicker, st.kicker, 40 * mm) if block.rows else [Paragraph(kicker, st.kicker)]
        )
        out.extend(_grid(block, st))
        out.append(_legend(st))
    if not block.rows and not block.grid:
        out.append(Paragraph("No answers in this assignment.", st.muted))
    return out


def _answers(block: HomeworkBlock, st: _Styles) -> list[Flowable]:
    """Answers side by side in one table, sections as rows; too-long questions stacked."""
    partners = [_name(p) for p in block.partners] or ["Answer"]
    n = len(partners)
    question_w = FRAME_W * (0.32 if n <= 2 else 0.25 if n <= 4 else 0.19)
    answer_w = (FRAME_W - question_w) / n
    widths = [question_w] + [answer_w] * n
    cell = (
        st.cell
        if n <= 3
        else ParagraphStyle("cell_small", parent=st.cell, fontSize=7.5, leading=10.3)
    )
    head = [Paragraph("Question", st.cell_head)]
    head += [Paragraph(escape(p), st.cell_head) for p in partners]

    out: list[Flowable] = []
    #: rows of the table being built: (cells, kind, section title markup);
    #: kind is "section", "only" (counselor only) or "answer"
    pending: list[tuple[list, str, str]] = []

    def flush() -> None:
        # a section title left alone at the end of a table goes above what follows instead
        trailing = pending.pop() if pending and pending[-1][1] == "section" else None
        if pending:
            out.append(_answer_table(head, pending, widths))
            pending.clear()
        if trailing:
            out.append(Paragraph(trailing[2], st.h3))

    section = None
    for row in block.rows:
        if row.section != section:
            section = row.section
            if _clean(section).strip():
                title = _markup(section)
                pending.append(([Paragraph(title, st.section_row)] + [""] * n, "section", title))
        cells = _row_cells(row, n, cell, st)
        if _too_tall(row, cells, widths):
            flush()
            out.extend(_stacked(row, partners, st))
        else:
            pending.append((cells, "only" if row.counselor_only else "answer", ""))
    flush()
    return out


def _row_cells(row: AnswerRow, n: int, cell: ParagraphStyle, st: _Styles) -> list[Flowable]:
    question = _markup(row.question)
    if row.counselor_only:
        question += "<br/>" + _only_mark(st)
    answers = list(row.answers[:n]) + [""] * (n - len(row.answers))
    empty = ParagraphStyle("cell_empty", parent=cell, textColor=MUTED)
    return [Paragraph(question, ParagraphStyle("q", parent=cell, fontName=st.bold))] + [
        _para(a, cell) if _clean(a).strip() else Paragraph("—", empty) for a in answers
    ]


def _too_tall(row: AnswerRow, cells: list[Flowable], widths: list[float]) -> bool:
    if any(len(_clean(a)) > LONG_ANSWER_CHARS for a in row.answers):
        return True
    tallest = max(_height(c, w) for c, w in zip(cells, widths, strict=True))
    return tallest > FRAME_H * MAX_ROW_SHARE


def _answer_table(
    head: list[Flowable], rows: list[tuple[list, str, str]], widths: list[float]
) -> Table:
    table = _table([head] + [cells for cells, _, _ in rows], widths, header=True)
    style = []
    for i, (_, kind, _) in enumerate(rows, start=1):
        if kind == "section":
            # a section title never ends a page: it stays with the row after it
            style += [
                ("SPAN", (0, i), (-1, i)),
                ("TOPPADDING", (0, i), (-1, i), 9),
                ("BOTTOMPADDING", (0, i), (-1, i), 3),
                ("NOSPLIT", (0, i), (-1, min(i + 1, len(rows)))),
            ]
        else:
            style.append(("LINEAFTER", (0, i), (0, i), 0.4, SAND_LINE))
        if kind == "only":
            style.append(("BACKGROUND", (0, i), (-1, i), ONLY_BG))
    table.setStyle(_table_style(*style))
    return table


def _stacked(row: AnswerRow, partners: list[str], st: _Styles) -> list[Flowable]:
    """One question whose answers are too long for a table row: each answer under a name."""
    q_style = st.stack_question
    question = _markup(row.question)
    if row.counselor_only:
        q_style = ParagraphStyle("stack_only", parent=q_style, backColor=ONLY_BG, borderPadding=3)
        question += " " + _only_mark(st)
    out: list[Flowable] = [Paragraph(question, q_style)]
    answers = list(row.answers[: len(partners)]) + [""] * (len(partners) - len(row.answers))
    for name, answer in zip(partners, answers, strict=True):
        out.append(Paragraph(escape(name), st.stack_partner))
        out.extend(_text_block(answer, st.stack_answer, "No answer.", st.stack_empty))
    out.append(Spacer(1, 4))
    return out


def _class_cell(key: str, st: _Styles, style: ParagraphStyle) -> tuple[Paragraph, tuple]:
    bg, ink = CLASS_COLOURS.get(key, _UNKNOWN_CLASS)
    label = CLASS_LABELS.get(key) or _clean(key) or "—"
    font = st.bold if key == "limit_collision" else st.family
    return Paragraph(f'<font name="{font}" color="{ink}">{escape(label)}</font>', style), bg


def _grid(block: HomeworkBlock, st: _Styles) -> list[Flowable]:
    """Items × pairs of partners, each cell its class as colour and as words."""
    labels = [_name(p, 160) for p in block.pair_labels]
    npairs = max([len(labels)] + [len(r.classes) for r in block.grid])
    labels += [f"Pair {i + 1}" for i in range(len(labels), npairs)]
    out: list[Flowable] = []
    for start in range(0, max(npairs, 1), GRID_PAIRS_PER_TABLE):
        chunk = list(range(start, min(start + GRID_PAIRS_PER_TABLE, npairs)))
        # pair columns wide enough for "Limit collision", the item column takes the rest
        pair_w = min((FRAME_W * 0.66) / max(len(chunk), 1), 46 * mm)
        item_w = FRAME_W - pair_w * len(chunk)
        pair_head = ParagraphStyle("pair_head", parent=st.cell_head, alignment=TA_CENTER)
        head = [Paragraph("Item", st.cell_head)]
        head += [Paragraph(escape(labels[i]), pair_head) for i in chunk]
        data = [head]
        style = [
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ]
        for r, row in enumerate(block.grid, start=1):
            line: list[Flowable] = [Paragraph(_markup(row.item), st.cell)]
            for c, i in enumerate(chunk, start=1):
                key = row.classes[i] if i < len(row.classes) else ""
                para, bg = _class_cell(key, st, st.grid_cell)
                line.append(para)
                style.append(("BACKGROUND", (c, r), (c, r), colors.HexColor(bg)))
            data.append(line)
        # white gaps between coloured cells keep neighbouring classes apart
        style += [
            ("LINEAFTER", (1, 1), (-1, -1), 2, colors.white),
            ("LINEBELOW", (1, 1), (-1, -1), 2, colors.white),
        ]
        table = _table(data, [item_w] + [pair_w] * len(chunk), header=True)
        table.setStyle(_table_style(*style))
        out += [table, Spacer(1, 6)]
    return out


def _legend(st: _Styles) -> Flowable:
    """Every comparison class: its colour with its label, and what it means."""
    cells = []
    for key in CLASS_ORDER:
        para, bg = _class_cell(key, st, st.grid_cell)
        cells.append((para, bg, Paragraph(escape(CLASS_HELP.get(key, "")), st.small_muted)))
    half = (len(cells) + 1) // 2
    data, style = (
        [],
        [
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 5),
            ("RIGHTPADDING", (0, 0), (-1, -1), 5),
            ("LINEBELOW", (0, 0), (-1, -2), 2, colors.white),
        ],
    )
    for r in range(half):
        line = []
        for c, item in enumerate((cells[r], cells[r + half] if r + half < len(cells) else None)):
            if item is None:
                line += ["", ""]
                continue
            para, bg, help_text = item
            line += [para, help_text]
            style.append(("BACKGROUND", (c * 2, r), (c * 2, r), colors.HexColor(bg)))
        data.append(line)
    swatch = 27 * mm
    text_w = FRAME_W / 2 - swatch - 3 * mm
    table = Table(data, colWidths=[swatch, text_w + 3 * mm, swatch, text_w], hAlign="LEFT")
    table.setStyle(TableStyle(style))
    return KeepTogether([Paragraph("LEGEND", st.kicker), table, Spacer(1, 8)])


def _chart(series: Series, partners: list[str], st: _Styles) -> Flowable:
    """A line per partner of a scale item answered in several check-ins."""
    # partners in the record's order, then anyone else the series names
    names = list(dict.fromkeys([p for p in partners if p in series.values] + list(series.values)))
    ndates = len(series.dates)
    rows = []
    for name in names:
        values = list(series.values.get(name) or [])[:ndates]
        values += [None] * (ndates - len(values))
        rows.append([_finite(v) for v in values])
    present = [v for row in rows for v in row if v is not None]
    low = min([min(series.low, series.high)] + present)
    high = max([max(series.low, series.high)] + present)
    if high <= low:
        high = low + 1

    width, height = FRAME_W, 62 * mm
    legend_w = 40 * mm
    drawing = Drawing(width, height)
    chart = HorizontalLineChart()
    chart.x, chart.y = 26, 30 if ndates <= 8 else 42
    chart.width = width - legend_w - chart.x - 8
    chart.height = height - chart.y - 10
    chart.data = rows or [[None] * ndates]
    # joined per line: a partner with a single answer gets a marker, not a one-point line
    # (reportlab refuses to draw those)
    chart.joinedLines = 0
    chart.categoryAxis.categoryNames = _date_labels(series.dates)
    chart.categoryAxis.labels.fontName = st.family
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.fillColor = MUTED
    chart.categoryAxis.strokeColor = MUTED
    chart.categoryAxis.tickDown = 2
    if ndates > 8:
        chart.categoryAxis.labels.angle = 35
        chart.categoryAxis.labels.boxAnchor = "ne"
        chart.categoryAxis.labels.dy = -2
    chart.valueAxis.valueMin = low
    chart.valueAxis.valueMax = high
    chart.valueAxis.valueStep = _step(high - low)
    chart.valueAxis.labels.fontName = st.family
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labels.fillColor = MUTED
    chart.valueAxis.labelTextFormat = lambda v: f"{v:g}"
    chart.valueAxis.strokeColor = MUTED
    chart.valueAxis.visibleGrid = 1
    chart.valueAxis.gridStrokeColor = SAND_LINE
    chart.valueAxis.gridStrokeWidth = 0.5
    for i, name in enumerate(names):
        colour, marker = SERIES_STYLES[i % len(SERIES_STYLES)]
        line = chart.lines[i]
        line.strokeColor = colors.HexColor(colour)
        line.strokeWidth = 1.6
        if sum(v is not None for v in rows[i]) >= 2:
            line.lineStyle = "joinedLine"
        line.symbol = makeMarker(
            marker, size=5, fillColor=colors.HexColor(colour), strokeColor=colors.HexColor(colour)
        )
        line.name = _fit(name, st.family, 7.5, legend_w - 16)
    drawing.add(chart)

    if names:
        legend = Legend()
        legend.x = width - legend_w + 6
        legend.y = chart.y + chart.height
        legend.alignment = "right"
        legend.columnMaximum = 6
        legend.fontName = st.family
        legend.fontSize = 7.5
        legend.fillColor = INK
        legend.deltay = 12
        legend.dx, legend.dy = 14, 6
        # Auto: each sample drawn by the chart itself, its line colour with its marker
        legend.colorNamePairs = [
            (Auto(obj=chart, index=i), chart.lines[i].name) for i in range(len(names))
        ]
        drawing.add(legend)

    scale = (
        f"scale {series.low:g}–{series.high:g} · {ndates} check-ins, "
        f"{_clean(series.dates[0])} to {_clean(series.dates[-1])}"
    )
    return KeepTogether(
        [
            Paragraph(_markup(series.question), st.h3),
            Paragraph(escape(scale), ParagraphStyle("chart_meta", parent=st.meta, spaceAfter=2)),
            drawing,
            Spacer(1, 6),
        ]
    )


def _chartable(series: Series) -> bool:
    """At least two check-ins with an answer: one point is no trend."""
    ndates = len(series.dates)
    answered = sum(
        _finite(v) is not None
        for values in series.values.values()
        for v in list(values or [])[:ndates]
    )
    return len(series.dates) >= 2 and answered >= 2


def _finite(value: object) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _step(span: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100):
        if span / step <= 10:
            return step
    return 10 ** math.ceil(math.log10(span / 10))


def _date_labels(dates: list[str]) -> list[str]:
    labels = [" ".join(_clean(d).split()) for d in dates]
    every = math.ceil(len(labels) / 14)  # keep at most ~14 labels on the axis
    return [d if i % every == 0 or i == len(labels) - 1 else "" for i, d in enumerate(labels)]


# -- client handout --------------------------------------------------------------------------


def render_handout(handout: Handout, font_dir: str) -> bytes:
    """What one partner takes home: next steps, what they share, and the coming homework."""
    family = register_fonts(font_dir)
    st = _Styles(family, base=10.5)
    partner = _clean(handout.partner).strip() or "you"
    story: list[Flowable] = [
        Paragraph("Notes from your session", st.title),
        Paragraph(f"For {escape(partner)}", st.subtitle),
        _facts(
            [("Session", handout.session_when), ("Counselor", handout.counselor)]
            + ([("Next appointment", handout.next_appointment)] if handout.next_appointment else [])
            + ([("Contact", handout.contact)] if handout.contact else []),
            st,
        ),
        Spacer(1, 6),
        Paragraph(
            "This is yours to keep. It holds the next steps from your session, what you and "
            "your partners have chosen to share with each other, and your homework for the "
            "coming weeks.",
            st.muted,
        ),
    ]
    if handout.pause_signal:
        story += _heading("Your pause signal", st.h1)
        story.append(
            Paragraph("Anyone can use it at any time, and everything stops at once.", st.muted)
        )
        story += [
            Paragraph(_markup(line), st.bullet, bulletText="•") for line in handout.pause_signal
        ]
    story += _heading("Next steps", st.h1)
    story += _text_block(
        handout.next_steps, st.body, "No next steps were written down this time.", st.muted
    )

    story += _heading("What you share", st.h1)
    if not handout.shared:
        story.append(
            Paragraph(
                "Nothing shared yet. Once everyone has answered an exercise and your counselor has "
                "opened it up, what you have in common appears here.",
                st.muted,
            )
        )
    # the padding grows the band outwards; the indents bring it back to the frame's edges
    block_title = ParagraphStyle(
        "block_title",
        parent=st.h2,
        textColor=TEAL,
        backColor=SAND,
        borderPadding=(4, 6, 5, 6),
        leftIndent=6,
        rightIndent=6,
        spaceBefore=14,
        spaceAfter=9,
    )
    item_style = ParagraphStyle(
        "shared_item", parent=st.body, fontName=st.bold, spaceBefore=5, spaceAfter=2, keepWithNext=1
    )
    for block in handout.shared:
        story.append(Paragraph(_markup(block.title) or "Exercise", block_title))
        if not block.lines:
            story.append(Paragraph("Nothing in common to show from this exercise yet.", st.muted))
        for shared in block.lines:
            story.append(Paragraph(_markup(shared.item), item_style))
            story += [
                Paragraph(_markup(line), st.bullet, bulletText="•")
                for line in shared.lines
                if _clean(line).strip()
            ]

    story += _heading("Homework for the coming weeks", st.h1)
    if not handout.upcoming:
        story.append(Paragraph("No homework for now.", st.muted))
    else:
        data = [[Paragraph("Exercise", st.cell_head), Paragraph("Due", st.cell_head)]]
        data += [
            [_para(title, st.value), _para(due, st.value, "no due date")]
            for title, due in handout.upcoming
        ]
        table = _table(data, [FRAME_W * 0.68, FRAME_W * 0.32], header=True)
        table.setStyle(_table_style(("LEFTPADDING", (0, 0), (-1, -1), 7)))
        story.append(table)
    # The case label is the counselor's private name for the case ("Only you see it"): the
    # handout never prints it, and its metadata hold only what its pages show.
    return _build(
        story,
        family,
        "handout",
        f"For {partner}",
        handout.generated_at,
        title="Notes from your session",
        author=_clean(handout.counselor),
        subject=VARIANT_TITLES["handout"],
    )


# -- agreements ----------------------------------------------------------------------------------


def _agreement(block: AgreementBlock, st: _Styles, *, changes: bool) -> list[Flowable]:
    """One agreement: the version in force, its clauses (paused ones marked), what is
    pending, and its history (with the changes since the previous session in records)."""
    out: list[Flowable] = _heading(_clean(block.title) or "Agreement", st.h1, 40 * mm)
    out.append(
        _facts(
            [
                ("Between", ", ".join(_clean(p) for p in block.partners)),
                ("In force", block.in_force),
            ],
            st,
        )
    )
    clause_head = ParagraphStyle(
        "clause_head", parent=st.body, fontName=st.bold, spaceBefore=6, spaceAfter=1, keepWithNext=1
    )
    if not block.clauses:
        out.append(Paragraph("No version is in force yet.", st.muted))
    for n, clause in enumerate(block.clauses, start=1):
        out.append(Paragraph(f"{n}. {_markup(clause.kind)}", clause_head))
        if clause.state:
            out.append(Paragraph(f"<b>{_markup(clause.state)}</b>", st.body))
        out += _text_block(clause.text, st.body, "", st.muted)
        out += [
            Paragraph(f"<b>{_markup(label)}:</b> {_markup(value)}", st.bullet, bulletText="•")
            for label, value in clause.details
            if _clean(value).strip()
        ]
    if block.pending:
        out += _heading("Waiting for everyone to read", st.h2, 20 * mm)
        out += [Paragraph(_markup(line), st.bullet, bulletText="•") for line in block.pending]
    if changes and block.changes:
        out += _heading("Changes since the previous session", st.h2, 20 * mm)
        out += [
            Paragraph(f"{_markup(when)} — {_markup(what)}", st.bullet, bulletText="•")
            for when, what in block.changes
        ]
    if block.history:
        out += _heading("History", st.h2, 20 * mm)
        data = [[Paragraph("When", st.cell_head), Paragraph("What", st.cell_head)]]
        data += [[_para(when, st.value), _para(what, st.value)] for when, what in block.history]
        table = _table(data, [FRAME_W * 0.3, FRAME_W * 0.7], header=True)
        table.setStyle(_table_style(("LEFTPADDING", (0, 0), (-1, -1), 7)))
        out.append(table)
    return out


def render_agreement(document: AgreementDocument, font_dir: str) -> bytes:
    """A partner's copy of an agreement and its history: no case label, no counselor notes,
    every version named by the SHA-256 of its exact content."""
    family = register_fonts(font_dir)
    st = _Styles(family, base=10.5)
    partner = _clean(document.partner).strip() or "you"
    story: list[Flowable] = [
        Paragraph("Your agreement", st.title),
        Paragraph(f"For {escape(partner)}", st.subtitle),
        Paragraph(
            "This is your private copy. Any of you can pause any part of it at any moment, from "
            "your personal page, without giving a reason. Each version is named by a "
            "fingerprint (SHA-256) of its exact words, so everyone can be sure they agreed to "
            "the same text.",
            st.muted,
        ),
        Spacer(1, 6),
    ]
    story += _agreement(document.agreement, st, changes=False)
    return _build(
        story,
        family,
        "agreement",
        f"For {partner}",
        document.generated_at,
        title="Your agreement",
        author=_clean(document.practice),
        subject=VARIANT_TITLES["agreement"],
    )
