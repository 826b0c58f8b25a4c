"""Agreements as PDF: a partner's own copy, and the agreement section of the records."""

from __future__ import annotations

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from counselor.reports.data import VARIANT_TITLES, AgreementBlock, AgreementDocument
from counselor.reports.pdf.layout import (
    build_pdf,
    facts_table,
    house_style,
    house_table,
    page_heading,
    partner_cover,
    text_blocks,
)
from counselor.reports.pdf.styles import FRAME_W, Styles, text_para
from counselor.reports.pdf.text import clean, markup


def agreement_section(block: AgreementBlock, st: Styles, *, changes: bool) -> list[Flowable]:
    """One agreement: the version in force, its clauses (paused ones marked), what is
    pending, and its history (with the changes since the previous session in records)."""
    out: list[Flowable] = page_heading(clean(block.title) or "Agreement", st.h1, 40 * mm)
    out.append(
        facts_table(
            [
                ("Between", ", ".join(clean(p) for p in block.partners)),
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
        out.append(Paragraph(f"{n}. {markup(clause.kind)}", clause_head))
        if clause.state:
            out.append(Paragraph(f"<b>{markup(clause.state)}</b>", st.body))
        out += text_blocks(clause.text, st.body, "", st.muted)
        out += [
            Paragraph(f"<b>{markup(label)}:</b> {markup(value)}", st.bullet, bulletText="•")
            for label, value in clause.details
            if clean(value).strip()
        ]
    if block.pending:
        out += page_heading("Waiting for everyone to read", st.h2, 20 * mm)
        out += [Paragraph(markup(line), st.bullet, bulletText="•") for line in block.pending]
    if changes and block.changes:
        out += page_heading("Changes since the previous session", st.h2, 20 * mm)
        out += [
            Paragraph(f"{markup(when)} — {markup(what)}", st.bullet, bulletText="•")
            for when, what in block.changes
        ]
    if block.history:
        out += page_heading("History", st.h2, 20 * mm)
        data = [[Paragraph("When", st.cell_head), Paragraph("What", st.cell_head)]]
        data += [
            [text_para(when, st.value), text_para(what, st.value)] for when, what in block.history
        ]
        table = house_table(data, [FRAME_W * 0.3, FRAME_W * 0.7], header=True)
        table.setStyle(house_style(("LEFTPADDING", (0, 0), (-1, -1), 7)))
        out.append(table)
    return out


def render_agreement(document: AgreementDocument, font_dir: str) -> bytes:
    """A partner's copy of an agreement and its history: no case label, no counselor notes,
    every version named by the SHA-256 of its exact content."""
    family, st, partner, story = partner_cover(font_dir, document.partner, "Your agreement")
    story += [
        Paragraph(
            "This is your private copy. Any of you can pause any part of it at any moment, from "
            "your personal page, without giving a reason. Each version is named by a "
            "fingerprint (SHA-256) of its exact words, so everyone can be sure they agreed to "
            "the same text.",
            st.muted,
        ),
        Spacer(1, 6),
    ]
    story += agreement_section(document.agreement, st, changes=False)
    return build_pdf(
        story,
        family,
        "agreement",
        f"For {partner}",
        document.generated_at,
        title="Your agreement",
        author=clean(document.practice),
        subject=VARIANT_TITLES["agreement"],
    )
