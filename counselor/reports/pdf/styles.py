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
    """The paragraph styles of one document, built on the registered family: ``st.body``,
    ``st.h1`` and every other style of ``_styles`` under its name."""

    def __init__(self, family: str, base: float = 9.5):
        self.family, self.bold, self.italic = family, f"{family}-Bold", f"{family}-Oblique"
        for name, parent, changes in _styles(family, self.bold, self.italic, base):
            based_on = getattr(self, parent) if parent else None
            setattr(self, name, ParagraphStyle(name, parent=based_on, **changes))


def _styles(family: str, bold: str, italic: str, base: float) -> list[tuple[str, str, dict]]:
    """Each style: its name, the style it builds on (made earlier in the list; "" for none)
    and what it changes."""
    lead = base * 1.42

    # h1 and kickers before tables do not keep with what follows: platypus would wrap
    # them with a whole table or note in one KeepTogether and push it all to the next
    # page, leaving half-empty pages; page_heading breaks early instead
    def heading(size, leading, color, before, after, keep=0):
        return dict(
            fontName=bold,
            fontSize=size,
            leading=leading,
            textColor=color,
            spaceBefore=before,
            spaceAfter=after,
            keepWithNext=keep,
        )

    return [
        (
            "body",
            "",
            dict(
                fontName=family,
                fontSize=base,
                leading=lead,
                textColor=INK,
                spaceAfter=4,
                splitLongWords=1,
            ),
        ),
        ("muted", "body", dict(fontName=italic, textColor=MUTED)),
        ("small", "body", dict(fontSize=base - 1.5, leading=(base - 1.5) * 1.35, spaceAfter=0)),
        ("small_muted", "small", dict(textColor=MUTED)),
        ("title", "", dict(fontName=bold, fontSize=20, leading=25, textColor=TEAL, spaceAfter=2)),
        (
            "subtitle",
            "",
            dict(fontName=family, fontSize=11.5, leading=15, textColor=MUTED, spaceAfter=10),
        ),
        ("h1", "", heading(13, 17, TEAL, before=12, after=5)),
        ("h2", "", heading(11, 14.5, INK, before=9, after=2, keep=1)),
        ("h3", "", heading(9.5, 13, TEAL, before=8, after=3, keep=1)),
        ("kicker", "", heading(7.5, 10, MUTED, before=6, after=3)),
        ("meta", "body", dict(fontSize=base - 1, textColor=MUTED, spaceAfter=6, keepWithNext=1)),
        ("label", "small", dict(fontName=bold, textColor=MUTED)),
        ("value", "body", dict(spaceAfter=0)),
        ("cell", "body", dict(fontSize=base - 1, leading=(base - 1) * 1.38, spaceAfter=0)),
        ("cell_head", "cell", dict(fontName=bold, textColor=TEAL)),
        ("cell_question", "cell", dict(fontName=bold)),
        ("section_row", "cell", dict(fontName=bold, textColor=TEAL, fontSize=base - 0.5)),
        (
            "private",
            "body",
            dict(
                backColor=PRIVATE_BG,
                borderColor=PRIVATE_LINE,
                borderWidth=0.6,
                borderPadding=(7, 8, 7, 8),
                leftIndent=8,
                rightIndent=8,
                spaceBefore=6,
                spaceAfter=12,
            ),
        ),
        (
            "stack_question",
            "cell_question",
            dict(fontSize=base, leading=lead, spaceBefore=8, spaceAfter=3, keepWithNext=1),
        ),
        (
            "stack_partner",
            "small",
            dict(fontName=bold, textColor=TEAL, leftIndent=10, spaceBefore=3, keepWithNext=1),
        ),
        ("stack_answer", "body", dict(leftIndent=10, spaceAfter=3)),
        ("stack_empty", "stack_answer", dict(fontName=italic, textColor=MUTED)),
        (
            "grid_cell",
            "cell",
            dict(fontSize=base - 1.5, leading=(base - 1.5) * 1.3, alignment=TA_CENTER),
        ),
        ("bullet", "body", dict(leftIndent=14, bulletIndent=3, spaceAfter=2)),
    ]


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
