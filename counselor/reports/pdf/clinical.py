"""The clinical record (one session) and the case record (every session) as PDF."""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from counselor.reports.data import (
    VARIANT_TITLES,
    AnswerRow,
    ClinicalRecord,
    ConsentBlock,
    HomeworkBlock,
    SessionBlock,
    StepsBlock,
    Summary,
)
from counselor.reports.pdf.agreement import agreement_section
from counselor.reports.pdf.charts import chartable, score_chart
from counselor.reports.pdf.comparison import class_legend, desire_grid
from counselor.reports.pdf.fonts import register_fonts
from counselor.reports.pdf.layout import (
    build_pdf,
    cell_height,
    facts_table,
    house_style,
    house_table,
    page_heading,
    text_blocks,
)
from counselor.reports.pdf.styles import (
    FRAME_H,
    FRAME_W,
    LONG_ANSWER_CHARS,
    MAX_ROW_SHARE,
    MUTED,
    ONLY_BG,
    PRIVATE_INK,
    SAND_LINE,
    TEAL,
    Styles,
    only_mark,
    text_para,
)
from counselor.reports.pdf.text import clean, head_name, markup


def render_clinical(record: ClinicalRecord, font_dir: str) -> bytes:
    """A clinical record (one session) or case record (every session, oldest first) as PDF.

    Sessions are printed in the order given; the builder passes them oldest first.
    """
    family = register_fonts(font_dir)
    st = Styles(family)
    case_record = record.variant == "case_record"
    title = VARIANT_TITLES.get(record.variant, VARIANT_TITLES["clinical"])
    story: list[Flowable] = [
        Paragraph(escape(title), st.title),
        text_para(record.case_label, st.subtitle, "Untitled case"),
    ]
    partners = ", ".join(clean(p) for p in record.partners)
    sessions = record.sessions
    if case_record:
        span = "none recorded"
        if len(sessions) == 1:
            span = f"1 session, {clean(sessions[0][0].when)}"
        elif sessions:
            span = (
                f"{len(sessions)} sessions, {clean(sessions[0][0].when)} to "
                f"{clean(sessions[-1][0].when)}"
            )
        story.append(
            facts_table(
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
            facts_table(
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
    story += _summary(record.summary, st, record.consent)

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
            story += agreement_section(block, st, changes=True)

    if record.steps:
        story += _band("Gradual steps", "", st, 60 * mm)
        for ladder in record.steps:
            story += _ladder(ladder, st)

    drawable = [s for s in record.charts if chartable(s)]
    if record.charts:
        heading = "Check-in scores over time"
        if case_record:  # the charts span the case: set them apart from the last session
            story += _band("Across sessions", "", st, 100 * mm) + [Paragraph(heading, st.h1)]
        else:
            story += page_heading(heading, st.h1, 90 * mm)
        if not drawable:
            story.append(
                Paragraph("Fewer than two check-ins so far: nothing to chart yet.", st.muted)
            )
        for series in drawable:
            story.append(score_chart(series, record.partners, st))
        short = [s for s in record.charts if not chartable(s)]
        if drawable and short:
            story.append(
                Paragraph(
                    "Not charted yet (fewer than two check-ins): "
                    + "; ".join(markup(s.question) for s in short)
                    + ".",
                    st.small_muted,
                )
            )
    return build_pdf(
        story,
        family,
        record.variant,
        record.case_label,
        record.generated_at,
        title=f"{title} — {clean(record.case_label)}",
        author=record.counselor,
        subject="Confidential clinical documentation",
    )


SEVERITY_WORDS = {"urgent": "URGENT", "review": "Review", "info": "Info"}


def _ladder(block: StepsBlock, st: Styles) -> list[Flowable]:
    """One ladder: where it stands, its partners, each step in order with its state."""
    out: list[Flowable] = [
        Paragraph(markup(block.place), st.h2),
        Paragraph("Partners: " + markup(", ".join(block.partners)), st.small_muted),
    ]
    out += [
        Paragraph(f"<b>{markup(what)}</b> — {markup(state)}", st.bullet, bulletText=f"{n}.")
        for n, (what, state) in enumerate(block.steps, start=1)
    ]
    if not block.steps:
        out.append(Paragraph("No steps on this ladder yet.", st.muted))
    if block.proposals:
        out.append(Paragraph("Suggested by partners, not yet accepted:", st.small_muted))
        out += [Paragraph(markup(p), st.bullet, bulletText="•") for p in block.proposals]
    return out


def _consent(block: ConsentBlock, st: Styles) -> list[Flowable]:
    """Who acknowledged which version of the practice's consent text, and when."""
    return [
        Paragraph("Informed consent", st.h2),
        Paragraph(f"The practice's current text: {markup(block.current)}", st.small_muted),
        *(
            Paragraph(f"<b>{markup(who)}</b>: {markup(where)}", st.bullet, bulletText="•")
            for who, where in block.partners
        ),
    ]


def _summary(summary: Summary, st: Styles, consent: ConsentBlock | None) -> list[Flowable]:
    """The first page: what needs the counselor's eyes before the full tables."""
    out: list[Flowable] = [Paragraph("At a glance", st.h1)]
    out += [Paragraph("Screening alerts", st.h2)]
    if not summary.alerts:
        out.append(Paragraph("No screening alerts.", st.muted))
    for alert in summary.alerts:
        status = f"closed {escape(clean(alert.closed))}" if alert.closed else "<b>open</b>"
        lines = [
            Paragraph(
                f"<b>{SEVERITY_WORDS.get(alert.severity, alert.severity)}</b> · "
                f"{markup(alert.partner)} · {markup(alert.title)} · "
                f"{escape(clean(alert.when))} · {status}",
                st.body,
            )
        ]
        lines += [
            Paragraph(
                f"{markup(i.message)} — answered: {markup(i.answer) or 'no answer'}",
                st.bullet,
                bulletText="•",
            )
            for i in alert.items
        ]
        if alert.note:
            lines.append(Paragraph(f"<b>Closing note:</b> {markup(alert.note)}", st.bullet))
        out.append(KeepTogether(lines))
    if consent is not None:
        out += _consent(consent, st)
    for title, entries, empty in (
        ("Limit collisions", summary.collisions, "No limit collisions."),
        ("Mismatches", summary.mismatches, "No mismatches."),
        ("Who does what", summary.who_does_what, "No matches or limits to name."),
    ):
        out.append(Paragraph(title, st.h2))
        out += [Paragraph(markup(e), st.bullet, bulletText="•") for e in entries]
        if not entries:
            out.append(Paragraph(empty, st.muted))
    out.append(Paragraph("Partner notes", st.h2))
    out += [
        Paragraph(
            f"<b>{markup(who)}</b> on {markup(item)}: {markup(note)}", st.bullet, bulletText="•"
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


def _band(left: str, right: str, st: Styles, room: float = 70 * mm) -> list[Flowable]:
    """A teal band across the page that opens a part of a case record (markup given)."""
    band = house_table(
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


def _session_heading(index: int, total: int, session: SessionBlock, st: Styles) -> list[Flowable]:
    """The band that opens each session of a case record."""
    length = _minutes(session.duration_minutes)
    return _band(
        f"Session {index} of {total}",
        markup(session.when) + (f" · {length}" if length else ""),
        st,
    )


def _session(session: SessionBlock, homework: list[HomeworkBlock], st: Styles) -> list[Flowable]:
    out = page_heading("Agenda", st.h1)
    out += text_blocks(session.agenda, st.body, "No agenda recorded.", st.muted)
    out += page_heading(
        f'Private notes <font name="{st.family}" size="8" color="{PRIVATE_INK.hexval()}">'
        "· counselor only, never shared with partners</font>",
        st.h1,
    )
    if clean(session.notes).strip():
        out.append(Paragraph(markup(session.notes.strip()), st.private))
    else:
        out.append(Paragraph("No private notes.", st.muted))
    out += page_heading("Next steps", st.h1)
    out += text_blocks(session.next_steps, st.body, "No next steps recorded.", st.muted)
    out += page_heading("Homework since the previous session", st.h1, 60 * mm)
    if not homework:
        out.append(Paragraph("No homework submitted since the previous session.", st.muted))
    for index, block in enumerate(homework):
        out.extend(_homework(block, st, first=index == 0))
    return out


def _homework(block: HomeworkBlock, st: Styles, first: bool) -> list[Flowable]:
    """One assignment: its answers side by side, then the desire grid with its legend."""
    title = markup(block.title) or "Untitled"
    # the first block shares the section heading's page check; a break here would orphan it
    out = [Paragraph(title, st.h2)] if first else page_heading(title, st.h2, 50 * mm)
    meta = markup(block.submitted)
    if block.partners:
        names = ", ".join(clean(p) for p in block.partners)
        meta += (" · " if meta else "") + "answered by " + escape(names)
    if meta:
        out.append(Paragraph(meta, st.meta))
    for line in block.scores:
        out.append(Paragraph("SCORE (COUNSELOR ONLY)", st.kicker))
        out.append(Paragraph(markup(line.title), st.body))
        out.extend(Paragraph(markup(r), st.small) for r in line.results)
        out.append(Paragraph("Source: " + markup(line.source), st.small_muted))
    if block.rows:
        out.append(Paragraph("ANSWERS SIDE BY SIDE", st.kicker))
        out.extend(_answers(block, st))
    if block.grid:
        kicker = "DESIRE COMPARISON"
        # straight after the block's title (no answers) the title's own page check holds
        out += (
            page_heading(kicker, st.kicker, 40 * mm)
            if block.rows
            else [Paragraph(kicker, st.kicker)]
        )
        out.extend(desire_grid(block, st))
        out.append(class_legend(st))
    if not block.rows and not block.grid:
        out.append(Paragraph("No answers in this assignment.", st.muted))
    return out


def _answers(block: HomeworkBlock, st: Styles) -> list[Flowable]:
    """Answers side by side in one table, sections as rows; too-long questions stacked."""
    partners = [head_name(p) for p in block.partners] or ["Answer"]
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
            if clean(section).strip():
                title = markup(section)
                pending.append(([Paragraph(title, st.section_row)] + [""] * n, "section", title))
        cells = _row_cells(row, n, cell, st)
        if _too_tall(row, cells, widths):
            flush()
            out.extend(_stacked(row, partners, st))
        else:
            pending.append((cells, "only" if row.counselor_only else "answer", ""))
    flush()
    return out


def _row_cells(row: AnswerRow, n: int, cell: ParagraphStyle, st: Styles) -> list[Flowable]:
    question = markup(row.question)
    if row.counselor_only:
        question += "<br/>" + only_mark(st)
    answers = list(row.answers[:n]) + [""] * (n - len(row.answers))
    empty = ParagraphStyle("cell_empty", parent=cell, textColor=MUTED)
    return [Paragraph(question, ParagraphStyle("q", parent=cell, fontName=st.bold))] + [
        text_para(a, cell) if clean(a).strip() else Paragraph("—", empty) for a in answers
    ]


def _too_tall(row: AnswerRow, cells: list[Flowable], widths: list[float]) -> bool:
    if any(len(clean(a)) > LONG_ANSWER_CHARS for a in row.answers):
        return True
    tallest = max(cell_height(c, w) for c, w in zip(cells, widths, strict=True))
    return tallest > FRAME_H * MAX_ROW_SHARE


def _answer_table(
    head: list[Flowable], rows: list[tuple[list, str, str]], widths: list[float]
) -> Table:
    table = house_table([head] + [cells for cells, _, _ in rows], widths, header=True)
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
    table.setStyle(house_style(*style))
    return table


def _stacked(row: AnswerRow, partners: list[str], st: Styles) -> list[Flowable]:
    """One question whose answers are too long for a table row: each answer under a name."""
    q_style = st.stack_question
    question = markup(row.question)
    if row.counselor_only:
        q_style = ParagraphStyle("stack_only", parent=q_style, backColor=ONLY_BG, borderPadding=3)
        question += " " + only_mark(st)
    out: list[Flowable] = [Paragraph(question, q_style)]
    answers = list(row.answers[: len(partners)]) + [""] * (len(partners) - len(row.answers))
    for name, answer in zip(partners, answers, strict=True):
        out.append(Paragraph(escape(name), st.stack_partner))
        out.extend(text_blocks(answer, st.stack_answer, "No answer.", st.stack_empty))
    out.append(Spacer(1, 4))
    return out
