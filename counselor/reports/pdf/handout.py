"""What one partner takes home from a session, as PDF."""

from __future__ import annotations

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, Paragraph, Spacer

from counselor.reports.data import Handout
from counselor.reports.pdf.layout import (
    facts_table,
    listing_table,
    page_heading,
    partner_document,
    text_blocks,
)
from counselor.reports.pdf.styles import SAND, TEAL, Styles
from counselor.reports.pdf.text import clean, markup


def render_handout(handout: Handout, font_dir: str) -> bytes:
    """What one partner takes home: next steps, what they share, and the coming homework."""
    # The case label is the counselor's private name for the case ("Only you see it"): the
    # handout never prints it, and its metadata hold only what its pages show.
    return partner_document(
        font_dir,
        handout.partner,
        "handout",
        "Notes from your session",
        handout.generated_at,
        handout.counselor,
        lambda st: _pages(handout, st),
    )


def _pages(handout: Handout, st: Styles) -> list[Flowable]:
    story: list[Flowable] = [
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
        story.append(
            listing_table(("Exercise", "Due"), handout.upcoming, (0.68, 0.32), st, "no due date")
        )
    return story
