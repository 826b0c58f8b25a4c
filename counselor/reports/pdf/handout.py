"""What one partner takes home from a session, as PDF."""

from __future__ import annotations

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, Spacer

from counselor.reports.data import VARIANT_TITLES, Handout
from counselor.reports.pdf.layout import (
    build_pdf,
    facts_table,
    house_style,
    house_table,
    page_heading,
    partner_cover,
    text_blocks,
)
from counselor.reports.pdf.styles import FRAME_W, SAND, TEAL, text_para
from counselor.reports.pdf.text import clean, markup


def render_handout(handout: Handout, font_dir: str) -> bytes:
    """What one partner takes home: next steps, what they share, and the coming homework."""
    family, st, partner, story = partner_cover(font_dir, handout.partner, "Notes from your session")
    story += [
        facts_table(
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
        story += page_heading("Your pause signal", st.h1)
        story.append(
            Paragraph("Anyone can use it at any time, and everything stops at once.", st.muted)
        )
        story += [
            Paragraph(markup(line), st.bullet, bulletText="•") for line in handout.pause_signal
        ]
    story += page_heading("Next steps", st.h1)
    story += text_blocks(
        handout.next_steps, st.body, "No next steps were written down this time.", st.muted
    )

    story += page_heading("What you share", st.h1)
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
        story.append(Paragraph(markup(block.title) or "Exercise", block_title))
        if not block.lines:
            story.append(Paragraph("Nothing in common to show from this exercise yet.", st.muted))
        for shared in block.lines:
            story.append(Paragraph(markup(shared.item), item_style))
            story += [
                Paragraph(markup(line), st.bullet, bulletText="•")
                for line in shared.lines
                if clean(line).strip()
            ]

    story += page_heading("Homework for the coming weeks", st.h1)
    if not handout.upcoming:
        story.append(Paragraph("No homework for now.", st.muted))
    else:
        data = [[Paragraph("Exercise", st.cell_head), Paragraph("Due", st.cell_head)]]
        data += [
            [text_para(title, st.value), text_para(due, st.value, "no due date")]
            for title, due in handout.upcoming
        ]
        table = house_table(data, [FRAME_W * 0.68, FRAME_W * 0.32], header=True)
        table.setStyle(house_style(("LEFTPADDING", (0, 0), (-1, -1), 7)))
        story.append(table)
    # The case label is the counselor's private name for the case ("Only you see it"): the
    # handout never prints it, and its metadata hold only what its pages show.
    return build_pdf(
        story,
        family,
        "handout",
        f"For {partner}",
        handout.generated_at,
        title="Notes from your session",
        author=clean(handout.counselor),
        subject=VARIANT_TITLES["handout"],
    )
