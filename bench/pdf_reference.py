"""A bare reportlab document of the same content as the project's clinical record.

bench/pdf.py times it beside ``render_clinical`` on the same ``ClinicalRecord``: the same
A4 pages and margins, the same embedded TrueType fonts (DejaVu Sans, four faces), a running
header and footer on every page, the same paragraphs (title, facts, agenda, notes, next
steps, every homework's questions and each partner's answer), the same answer tables with a
grid, the desire grid with a coloured cell per pair and class, and the same line charts. What
it leaves out is what the project adds: its house styles, keep-together and page-break rules,
"Page X of Y" (which needs the page count, so every page is kept until the end), long-answer
stacking, counselor-only marks and text cleaning. Used only by the bench.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

_registered: set[str] = set()
COLOURS = {
    "limit_collision": "#f3c7c1",
    "mismatch": "#f6dccb",
    "discuss": "#f7ecc9",
    "complementary": "#d6e6f2",
    "mutual": "#d4ecdc",
    "limit": "#ead3d3",
    "unanswered": "#eeeeee",
    "neither": "#f2f2f2",
}


def _fonts(font_dir: str) -> str:
    if "Ref" not in _registered:  # once per process, as the project does
        for name, file in (
            ("Ref", "DejaVuSans.ttf"),
            ("Ref-Bold", "DejaVuSans-Bold.ttf"),
            ("Ref-Oblique", "DejaVuSans-Oblique.ttf"),
            ("Ref-BoldOblique", "DejaVuSans-BoldOblique.ttf"),
        ):
            pdfmetrics.registerFont(TTFont(name, f"{font_dir}/{file}"))
        pdfmetrics.registerFontFamily(
            "Ref", normal="Ref", bold="Ref-Bold", italic="Ref-Oblique", boldItalic="Ref-BoldOblique"
        )
        _registered.add("Ref")
    return "Ref"


def _table(head: list, rows: list, width: float, first: float, style: TableStyle) -> Table:
    """A table with a heading row repeated on each page; the first column takes ``first`` of
    the width and the others share the rest equally."""
    n = len(head) - 1
    return Table(
        [head, *rows],
        colWidths=[width * first] + [width * (1 - first) / n] * n,
        style=style,
        repeatRows=1,
    )


def render_bare(record, font_dir: str) -> bytes:
    """The record's content as a plain platypus document."""
    font = _fonts(font_dir)
    body = ParagraphStyle("b", fontName=font, fontSize=9.5, leading=13.5)
    small = ParagraphStyle("s", parent=body, fontSize=8.5, leading=11.5)
    h1 = ParagraphStyle("h1", parent=body, fontName=font + "-Bold", fontSize=15, leading=19)
    h2 = ParagraphStyle("h2", parent=body, fontName=font + "-Bold", fontSize=11.5, leading=15)
    width = A4[0] - 44 * mm
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#e4ddd1")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f6f3ee")),
        ]
    )
    story = [
        Paragraph("Clinical record", h1),
        Paragraph(escape(record.case_label), h2),
        Table(
            [
                [Paragraph(k, small), Paragraph(escape(v), body)]
                for k, v in (
                    ("Case", record.case_label),
                    ("Partners", ", ".join(record.partners)),
                    ("Counselor", record.counselor),
                )
            ],
            colWidths=[35 * mm, width - 35 * mm],
        ),
    ]
    for session, homework in record.sessions:
        story.append(Paragraph(escape(f"Session {session.when}"), h1))
        for title, text in (
            ("Agenda", session.agenda),
            ("Notes", session.notes),
            ("Next steps", session.next_steps),
        ):
            story.append(Paragraph(title, h2))
            story += [Paragraph(escape(line), body) for line in text.split("\n") if line]
        for block in homework:
            story.append(Paragraph(escape(f"{block.title} ({block.submitted})"), h1))
            if block.grid:
                head = [Paragraph("Item", small)] + [Paragraph(p, small) for p in block.pair_labels]
                rows = [
                    [Paragraph(escape(r.item), small)] + [Paragraph(c, small) for c in r.classes]
                    for r in block.grid
                ]
                style = TableStyle(grid.getCommands())
                for y, r in enumerate(block.grid, start=1):
                    for x, c in enumerate(r.classes, start=1):
                        style.add("BACKGROUND", (x, y), (x, y), colors.HexColor(COLOURS[c]))
                story.append(_table(head, rows, width, 0.4, style))
            if block.rows:
                head = [Paragraph("Question", small)] + [
                    Paragraph(p, small) for p in block.partners
                ]
                rows = [
                    [Paragraph(escape(r.question), small)]
                    + [Paragraph(escape(a), body) for a in r.answers]
                    for r in block.rows
                ]
                story.append(_table(head, rows, width, 0.34, style=grid))
            story.append(Spacer(1, 8))
    for series in record.charts:
        story.append(Paragraph(escape(series.question), h2))
        drawing = Drawing(width, 62 * mm)
        chart = HorizontalLineChart()
        chart.x, chart.y, chart.width, chart.height = 26, 30, width - 150, 62 * mm - 40
        chart.data = [[v for v in vals] for vals in series.values.values()]
        chart.categoryAxis.categoryNames = series.dates
        chart.categoryAxis.labels.fontName = font
        chart.valueAxis.labels.fontName = font
        chart.valueAxis.valueMin, chart.valueAxis.valueMax = series.low, series.high
        drawing.add(chart)
        story.append(drawing)

    def running(canvas, doc):
        canvas.saveState()
        canvas.setFont(font + "-Bold", 8)
        canvas.drawString(22 * mm, A4[1] - 14 * mm, "Confidential — Clinical record")
        canvas.setFont(font, 8)
        canvas.drawRightString(A4[0] - 22 * mm, A4[1] - 14 * mm, record.case_label)
        canvas.drawString(22 * mm, 12 * mm, f"Generated {record.generated_at}")
        canvas.drawRightString(A4[0] - 22 * mm, 12 * mm, f"Page {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=27 * mm,
        bottomMargin=22 * mm,
    )
    doc.build(story, onFirstPage=running, onLaterPages=running)
    return out.getvalue()
