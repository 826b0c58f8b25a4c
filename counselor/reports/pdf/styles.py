"""The page, the palette and the paragraph styles every document shares."""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph

from counselor.reports.pdf.text import clean, markup

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


class Styles:
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
        # page, leaving half-empty pages; page_heading breaks early instead
        def heading(name, size, leading, color, before, after, keep=0):
            return ParagraphStyle(
                name,
                fontName=bold,
                fontSize=size,
                leading=leading,
                textColor=color,
                spaceBefore=before,
                spaceAfter=after,
                keepWithNext=keep,
            )

        self.h1 = heading("h1", 13, 17, TEAL, before=12, after=5)
        self.h2 = heading("h2", 11, 14.5, INK, before=9, after=2, keep=1)
        self.h3 = heading("h3", 9.5, 13, TEAL, before=8, after=3, keep=1)
        self.kicker = heading("kicker", 7.5, 10, MUTED, before=6, after=3)
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


def text_para(text: object, style: ParagraphStyle, empty: str = "") -> Paragraph:
    """A paragraph of typed text, or of the given placeholder when there is none."""
    if clean(text).strip():
        return Paragraph(markup(text), style)
    return Paragraph(escape(empty), style)


def only_mark(st: Styles) -> str:
    return (
        f'<font name="{st.bold}" size="6.5" color="{ONLY_INK.hexval()}">'
        "\u00a0COUNSELOR ONLY\u00a0</font>"
    )
