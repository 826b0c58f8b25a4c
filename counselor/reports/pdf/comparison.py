"""The desire comparison grid and its legend: each class as colour and as words."""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from counselor.reports.data import HomeworkBlock
from counselor.reports.pdf.layout import house_style, house_table
from counselor.reports.pdf.styles import FRAME_W, GRID_PAIRS_PER_TABLE, Styles
from counselor.reports.pdf.text import clean, head_name, markup
from counselor.reveal.matching import CLASS_HELP, CLASS_LABELS, CLASS_ORDER

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


def _class_cell(key: str, st: Styles, style: ParagraphStyle) -> tuple[Paragraph, tuple]:
    bg, ink = CLASS_COLOURS.get(key, _UNKNOWN_CLASS)
    label = CLASS_LABELS.get(key) or clean(key) or "—"
    font = st.bold if key == "limit_collision" else st.family
    return Paragraph(f'<font name="{font}" color="{ink}">{escape(label)}</font>', style), bg


def desire_grid(block: HomeworkBlock, st: Styles) -> list[Flowable]:
    """Items × pairs of partners, each cell its class as colour and as words."""
    labels = [head_name(p, 160) for p in block.pair_labels]
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
            line: list[Flowable] = [Paragraph(markup(row.item), st.cell)]
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
        table = house_table(data, [item_w] + [pair_w] * len(chunk), header=True)
        table.setStyle(house_style(*style))
        out += [table, Spacer(1, 6)]
    return out


def class_legend(st: Styles) -> Flowable:
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
