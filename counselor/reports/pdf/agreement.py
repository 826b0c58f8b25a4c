"""Agreements as PDF: a partner's own copy, and the agreement section of the records."""

from __future__ import annotations

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from counselor.reports.data import AgreementBlock, AgreementDocument
from counselor.reports.pdf.layout import (
    facts_table,
    listing_table,
    page_heading,
    partner_document,
    text_blocks,
)
from counselor.reports.pdf.styles import Styles
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
        out.append(listing_table(("When", "What"), block.history, (0.3, 0.7), st))
    return out


def render_agreement(document: AgreementDocument, font_dir: str) -> bytes:
    """A partner's copy of an agreement and its history: no case label, no counselor notes,
    every version named by the SHA-256 of its exact content."""

    def body(st: Styles) -> list[Flowable]:
        intro = Paragraph(
            "This is your private copy. Any of you can pause any part of it at any moment, from "
            "your personal page, without giving a reason. Each version is named by a "
            "fingerprint (SHA-256) of its exact words, so everyone can be sure they agreed to "
            "the same text.",
            st.muted,
        )
        return [intro, Spacer(1, 6), *agreement_section(document.agreement, st, changes=False)]

    return partner_document(
        font_dir,
        document.partner,
        "agreement",
        "Your agreement",
        document.generated_at,
        document.practice,
        body,
    )
