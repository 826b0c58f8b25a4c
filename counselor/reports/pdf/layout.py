"""Pages and the house blocks: running header and footer, fact block, tables, headings."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Table,
    TableStyle,
)

from counselor.reports.data import VARIANT_TITLES
from counselor.reports.pdf.fonts import register_fonts
from counselor.reports.pdf.styles import (
    FRAME_H,
    FRAME_W,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    MUTED,
    PAGE_H,
    PAGE_W,
    SAND,
    SAND_LINE,
    TEAL,
    Styles,
    text_para,
)
from counselor.reports.pdf.text import clean, fit_line, markup

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
            self.drawRightString(PAGE_W - MARGIN_X, top, fit_line(header_right, family, 8, room))
            self.setStrokeColor(TEAL)
            self.setLineWidth(0.8)
            self.line(MARGIN_X, top - 2.6 * mm, PAGE_W - MARGIN_X, top - 2.6 * mm)
            bottom = 12 * mm
            self.setStrokeColor(SAND_LINE)
            self.setLineWidth(0.5)
            self.line(MARGIN_X, bottom + 4 * mm, PAGE_W - MARGIN_X, bottom + 4 * mm)
            self.setFont(family, 7.5)
            self.drawString(MARGIN_X, bottom, "Confidential")
            footer = f"Page {self._pageNumber} of {total} · Generated {clean(generated_at)}"
            self.drawRightString(
                PAGE_W - MARGIN_X, bottom, fit_line(footer, family, 7.5, FRAME_W * 0.8)
            )
            self.restoreState()

    return NumberedCanvas


def build_pdf(
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
        title=clean(title),
        author=clean(author),
        creator="Counselor",
        subject=clean(subject),
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


def facts_table(rows: Iterable[tuple[str, object]], st: Styles) -> Table:
    """The sand-coloured block of labelled facts under a document's title."""
    data = [
        [Paragraph(escape(label.upper()), st.label), text_para(value, st.value, "—")]
        for label, value in rows
    ]
    table = house_table(data, [34 * mm, FRAME_W - 34 * mm])
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


def page_heading(text: str, style: ParagraphStyle, room: float = 30 * mm) -> list[Flowable]:
    """A heading that starts a new page unless room is left for it and a few lines after."""
    return [CondPageBreak(room), Paragraph(text, style)]


def house_table(data: list[list], widths: list[float], header: bool = False) -> Table:
    """A full-width table of typed text; the header row repeats on every page it runs onto,
    and the last row never stands alone on a page.

    A row taller than half a page (a 3,000-character case label, a novel of an item text)
    may split inside its cells instead of raising LayoutError; ordinary rows never split, and
    long answers do not come here at all: they are stacked under their question.
    """
    tallest = max(
        (cell_height(cell, w) for row in data for cell, w in zip(row, widths, strict=False)),
        default=0,
    )
    table = Table(
        data,
        colWidths=widths,
        repeatRows=1 if header else 0,
        hAlign="LEFT",
        splitInRow=1 if tallest > FRAME_H * 0.5 else 0,
    )
    last_two = sum(
        max((cell_height(cell, w) for cell, w in zip(row, widths, strict=False)), default=0) + 12
        for row in data[-2:]
    )
    if len(data) >= (4 if header else 3) and last_two < FRAME_H * 0.4:
        # the last row never goes onto a page alone (under a repeated header, or none): it
        # takes the row before it along (only when both fit easily: a pair too tall for a
        # page could never be placed)
        table.setStyle(TableStyle([("NOSPLIT", (0, -2), (-1, -1))]))
    return table


def cell_height(cell: object, width: float) -> float:
    """The height a table cell's content needs at the given column width (padding aside).

    Remembered on the cell: a row is measured to decide whether it is stacked, then for the
    table's split rules, and a Paragraph breaks its lines anew on every wrap (rendering a
    record spent a tenth of its time re-measuring the same cells)."""
    if not isinstance(cell, Flowable):
        return 0
    heights = cell.__dict__.setdefault("_house_heights", {})
    if width not in heights:
        heights[width] = cell.wrap(width - 12, FRAME_H)[1]
    return heights[width]


def house_style(*extra: tuple) -> TableStyle:
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


def text_blocks(
    text: str, style: ParagraphStyle, empty: str, empty_style: ParagraphStyle
) -> list[Flowable]:
    """Typed text as paragraphs (one per blank-line-separated block), or a quiet placeholder."""
    blocks = [b for b in re.split(r"\n\s*\n", clean(text)) if b.strip()]
    if not blocks:
        return [Paragraph(escape(empty), empty_style)]
    return [Paragraph(markup(b.strip("\n")), style) for b in blocks]


def listing_table(
    heads: tuple[str, str],
    rows: Iterable[tuple[object, object]],
    shares: tuple[float, float],
    st: Styles,
    empty: str = "",
) -> Table:
    """A house table of two columns of typed text under a header row, each column its share
    of the frame's width; ``empty`` stands in a right-hand cell with no text."""
    data = [[Paragraph(head, st.cell_head) for head in heads]]
    data += [[text_para(left, st.value), text_para(right, st.value, empty)] for left, right in rows]
    table = house_table(data, [FRAME_W * share for share in shares], header=True)
    table.setStyle(house_style(("LEFTPADDING", (0, 0), (-1, -1), 7)))
    return table


def partner_document(
    font_dir: str,
    partner: object,
    variant: str,
    title: str,
    generated_at: str,
    author: object,
    body: Callable[[Styles], list[Flowable]],
) -> bytes:
    """A document a partner keeps: the title block with the partner's name as printed ("you"
    when there is none), the body made with its styles, and that name in the running header."""
    family = register_fonts(font_dir)
    st = Styles(family, base=10.5)
    name = clean(partner).strip() or "you"
    story = [Paragraph(title, st.title), Paragraph(f"For {escape(name)}", st.subtitle)]
    story += body(st)
    return build_pdf(
        story,
        family,
        variant,
        f"For {name}",
        generated_at,
        title=title,
        author=clean(author),
        subject=VARIANT_TITLES[variant],
    )
