"""The PDF renderer on plain data: sections, answers, escaping, Unicode, long text, fonts."""

from __future__ import annotations

import dataclasses
import inspect
import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from counselor.reports.data import (
    AnswerRow,
    ClinicalRecord,
    DesireGridRow,
    Handout,
    HomeworkBlock,
    Series,
    SessionBlock,
    SharedBlock,
    SharedLine,
)
from counselor.reports.pdf import FontError, render_clinical, render_handout
from counselor.reveal.matching import CLASS_HELP, CLASS_LABELS

FONT_DIR = os.environ.get("COUNSELOR_PDF_FONT_DIR", "/usr/share/fonts/truetype/dejavu")
PARTNERS = ["Łukasz", "Ольга", "Ολυμπία"]
MARKUP = '<font color=red>loud</font> <a href="x">link</a> <img src="/etc/passwd"/> &amp; done'


def pages_text(pdf: bytes) -> list[str]:
    """The extracted text of each page."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def flat(pdf: bytes) -> str:
    """All text of a PDF with runs of whitespace (line wrapping) folded to one space."""
    return " ".join(" ".join(pages_text(pdf)).split())


def session(**overrides) -> SessionBlock:
    values = {
        "when": "Tue 3 Mar 2026, 14:00",
        "duration_minutes": 60,
        "agenda": "Review the pause-signal exercise.\nDiscuss the desire inventory.",
        "notes": "Ольга raised the new-year incident herself; separate slot next week.",
        "next_steps": "Practise the pause signal once a week.",
    }
    return SessionBlock(**{**values, **overrides})


def homework(partners=PARTNERS, answers=None) -> HomeworkBlock:
    pairs = [f"{a} & {b}" for i, a in enumerate(partners) for b in partners[i + 1 :]]
    answers = answers or [f"Amber, says {p}" for p in partners]
    return HomeworkBlock(
        title="Pause signal",
        submitted="submitted 2 Mar 2026",
        partners=list(partners),
        rows=[
            AnswerRow("What word or signal pauses everything at once?", "Agreements", answers),
            AnswerRow(
                "Has anything happened that you agreed to because you felt pressured?",
                "Screening",
                ["No." for _ in partners],
                counselor_only=True,
            ),
        ],
        pair_labels=pairs,
        grid=[
            DesireGridRow("Blindfold", ["mutual", "discuss", "limit_collision"][: len(pairs)]),
            DesireGridRow(
                "One leads, one follows", ["complementary", "mismatch", "neither"][: len(pairs)]
            ),
        ],
    )


def record(**overrides) -> ClinicalRecord:
    values = {
        "variant": "clinical",
        "case_label": "Nowak household",
        "partners": list(PARTNERS),
        "counselor": "Dr. Ingrid Halvorsen",
        "generated_at": "3 Mar 2026, 16:05 UTC",
        "sessions": [(session(), [homework()])],
        "charts": [
            Series(
                "How safe did you feel speaking up?",
                0,
                10,
                ["6 Jan", "20 Jan", "3 Feb"],
                {"Łukasz": [6, 7, 8], "Ольга": [4, None, 6], "Ολυμπία": [5, 5, 7]},
            )
        ],
    }
    return ClinicalRecord(**{**values, **overrides})


def handout(**overrides) -> Handout:
    values = {
        "partner": "Ольга",
        "counselor": "Dr. Ingrid Halvorsen",
        "session_when": "Tue 3 Mar 2026, 14:00",
        "generated_at": "3 Mar 2026, 16:05 UTC",
        "next_steps": "Practise the pause signal once a week.",
        "shared": [
            SharedBlock(
                "Desire inventory", [SharedLine("Blindfold", ["You and Łukasz both want this."])]
            )
        ],
        "upcoming": [("Aftercare plan", "due Tue 17 Mar 2026")],
    }
    return Handout(**{**values, **overrides})


def test_clinical_record_shows_every_section_and_each_partners_answers():
    text = flat(render_clinical(record(), FONT_DIR))
    for heading in (
        "Clinical record",
        "Agenda",
        "Private notes",
        "Next steps",
        "Homework since the previous session",
        "ANSWERS SIDE BY SIDE",
        "DESIRE COMPARISON",
        "LEGEND",
        "Check-in scores over time",
    ):
        assert heading in text
    for partner in PARTNERS:
        assert f"Amber, says {partner}" in text
    assert "Dr. Ingrid Halvorsen" in text and "Tue 3 Mar 2026, 14:00" in text and "1 h" in text
    assert "separate slot next week" in text


def test_every_page_carries_the_confidential_header_and_page_x_of_n():
    pages = pages_text(render_clinical(record(), FONT_DIR))
    for number, page in enumerate(pages, start=1):
        assert "Confidential — Clinical record" in page
        assert "Nowak household" in page
        assert f"Page {number} of {len(pages)} · Generated 3 Mar 2026, 16:05 UTC" in page


def test_desire_grid_prints_each_class_as_words_with_a_legend():
    text = flat(render_clinical(record(), FONT_DIR))
    for key in ("mutual", "discuss", "limit_collision", "complementary", "mismatch", "neither"):
        assert CLASS_LABELS[key] in text
    for help_text in CLASS_HELP.values():
        assert help_text in text
    assert "Łukasz & Ольга" in text


def test_counselor_only_rows_are_marked():
    text = flat(render_clinical(record(), FONT_DIR))
    assert "COUNSELOR ONLY" in text


def test_markup_typed_in_answers_and_notes_prints_literally():
    rec = record(
        sessions=[
            (
                session(notes=MARKUP, agenda="a <b>bold</b> claim"),
                [homework(answers=[MARKUP, "x", "y"])],
            )
        ]
    )
    pdf = render_clinical(rec, FONT_DIR)
    text = flat(pdf)
    assert "<font color=red>loud</font>" in text
    assert '<a href="x">link</a>' in text
    assert '<img src="/etc/passwd"/>' in text
    assert "&amp; done" in text
    assert "a <b>bold</b> claim" in text
    assert all("/Annots" not in page for page in PdfReader(io.BytesIO(pdf)).pages)


def test_newlines_typed_in_notes_are_kept_as_line_breaks():
    rec = record(sessions=[(session(notes="first line\nsecond line"), [])])
    pages = pages_text(render_clinical(rec, FONT_DIR))
    # the session follows the summary page
    assert any("first line\nsecond line" in page for page in pages)


def test_unicode_names_survive_in_text_and_chart_legend():
    text = flat(render_clinical(record(case_label="Łukasz, Ольга & Ολυμπία"), FONT_DIR))
    for name in PARTNERS:
        assert text.count(name) >= 4  # partners line, table heads, grid pairs, chart legend
    assert "Łukasz, Ольга & Ολυμπία" in text


def test_case_record_prints_every_session_oldest_first():
    sessions = [
        (session(when=f"Tue {day} Mar 2026, 14:00", notes=f"note of day {day}"), [])
        for day in (3, 17, 31)
    ]
    text = flat(render_clinical(record(variant="case_record", sessions=sessions), FONT_DIR))
    assert "Confidential — Case record" in text
    assert "3 sessions, Tue 3 Mar 2026, 14:00 to Tue 31 Mar 2026, 14:00" in text
    positions = [
        text.index(f"Session {i} of 3 Tue {day} Mar 2026") for i, day in ((1, 3), (2, 17), (3, 31))
    ]
    assert positions == sorted(positions)
    assert all(f"note of day {day}" in text for day in (3, 17, 31))


def test_charts_need_two_check_ins():
    charts = [
        Series("Energy this week", 1, 5, ["6 Jan", "20 Jan"], {"Łukasz": [2, 4]}),
        Series("Only once asked", 1, 5, ["6 Jan"], {"Łukasz": [3]}),
    ]
    text = flat(render_clinical(record(charts=charts), FONT_DIR))
    assert "Energy this week" in text and "20 Jan" in text
    assert "Not charted yet (fewer than two check-ins): Only once asked." in text


def test_handout_shows_next_steps_shared_lines_and_upcoming_homework():
    pdf = render_handout(handout(), FONT_DIR)
    text = flat(pdf)
    pages = pages_text(pdf)
    for expected in (
        "Notes from your session",
        "For Ольга",
        "Next steps",
        "Practise the pause signal once a week.",
        "What you share",
        "Desire inventory",
        "Blindfold",
        "You and Łukasz both want this.",
        "Homework for the coming weeks",
        "Aftercare plan",
        "due Tue 17 Mar 2026",
    ):
        assert expected in text
    assert "Confidential — Client handout" in pages[0] and "Page 1 of 1" in pages[0]
    assert "Private notes" not in text and "COUNSELOR ONLY" not in text


def test_handout_has_no_way_in_for_notes_or_private_answers():
    # The handout is rendered from a Handout alone, and a Handout holds only what a partner may
    # see: a field added here must be checked against the reveal rules before this list grows.
    assert list(inspect.signature(render_handout).parameters) == ["handout", "font_dir"]
    assert [f.name for f in dataclasses.fields(Handout)] == [
        "partner",
        "counselor",
        "session_when",
        "generated_at",
        "next_steps",
        "shared",
        "upcoming",
        # checked: a session time, the counselor's own contact, and the pause signal built
        # from the partner's own answer and the partner filter's view (issue 9 §7)
        "next_appointment",
        "contact",
        "pause_signal",
    ]
    assert [f.name for f in dataclasses.fields(SharedBlock)] == ["title", "lines"]
    assert [f.name for f in dataclasses.fields(SharedLine)] == ["item", "lines"]


def test_handout_metadata_hold_only_what_its_pages_show():
    # A PDF reader shows /Title, /Author, /Subject and /Keywords in its title bar and file
    # properties: on a partner's document they may say nothing the pages do not.
    pdf = render_handout(handout(), FONT_DIR)
    text = flat(pdf)
    meta = PdfReader(io.BytesIO(pdf)).metadata
    assert meta.title == "Notes from your session"
    for key in ("/Title", "/Author", "/Subject", "/Keywords"):
        value = " ".join(str(meta.get(key, "")).split())
        assert value in text, (key, value)
    assert meta.get("/Author") == "Dr. Ingrid Halvorsen"


def test_handout_with_nothing_shared_says_so_kindly():
    text = flat(render_handout(handout(next_steps="", shared=[], upcoming=[]), FONT_DIR))
    assert "Nothing shared yet." in text and "No homework for now." in text


def test_ten_page_record_with_5000_character_answers_splits_across_pages():
    long = [
        (f"{p} wrote: " + "we talked about it for a long time and " * 130)[:4990] + f" end{i}"
        for i, p in enumerate(PARTNERS)
    ]
    block = homework(answers=long)
    block.rows = [AnswerRow(f"Reflection {n}", "Reflection", long) for n in range(4)] + block.rows
    pdf = render_clinical(record(sessions=[(session(notes="note " * 1500), [block])]), FONT_DIR)
    pages = pages_text(pdf)
    assert len(pages) >= 10
    text = flat(pdf)
    assert all(f" end{i}" in text for i in range(len(PARTNERS)))


def test_tall_rows_of_short_lines_and_six_partners_do_not_break_the_layout():
    six = ["Ana", "Bo", "Cem", "Dara", "Eli", "Fen"]
    lines = "\n".join(f"line {n}" for n in range(120))  # short answer, very tall row
    medium = "word " * 170  # under the stacking threshold, but tall in a narrow column
    block = homework(partners=six, answers=[lines, medium, "ok", medium, "", "fine"])
    text = flat(render_clinical(record(partners=six, sessions=[(session(), [block])]), FONT_DIR))
    assert "line 119" in text and "Fen" in text
    assert "Cem & Fen" in text  # 15 pairs continue in further grid tables


def test_control_characters_are_stripped_not_fatal():
    dirty = "a\x00b\x07c\x1b[31md\x7f\x85e\r\nf\u2028g\ud800h\tend"
    rec = record(sessions=[(session(notes=dirty), [homework(answers=[dirty, dirty, dirty])])])
    text = flat(render_clinical(rec, FONT_DIR))
    assert "abc[31mde" in text


def test_missing_font_dir_raises_font_error_with_one_clear_sentence(tmp_path):
    with pytest.raises(FontError) as caught:
        render_clinical(record(), str(tmp_path))
    message = str(caught.value)
    assert str(tmp_path) in message
    assert "COUNSELOR_PDF_FONT_DIR" in message and "fonts-dejavu-core" in message
    assert message.endswith(".") and ". " not in message


def test_unreadable_font_file_raises_font_error(tmp_path):
    for name in (
        "DejaVuSans.ttf",
        "DejaVuSans-Bold.ttf",
        "DejaVuSans-Oblique.ttf",
        "DejaVuSans-BoldOblique.ttf",
    ):
        (tmp_path / name).write_bytes(b"not a font")
    with pytest.raises(FontError, match="COUNSELOR_PDF_FONT_DIR"):
        render_handout(handout(), str(tmp_path))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notes=st.text(), answer=st.text(), other=st.text(max_size=2000), name=st.text(max_size=40))
def test_arbitrary_text_never_crashes_the_renderer(notes, answer, other, name):
    rec = record(
        case_label=name,
        partners=[name, "Ольга"],
        sessions=[
            (
                session(notes=notes, agenda=other, next_steps=answer),
                [homework(partners=[name, "Ольга"], answers=[answer, other])],
            )
        ],
        charts=[Series(other, 0, 10, [name, notes[:20]], {name: [1, 2], "Ольга": [None, 3]})],
    )
    assert render_clinical(rec, FONT_DIR).startswith(b"%PDF")
    ho = handout(
        partner=name,
        next_steps=notes,
        shared=[SharedBlock(answer, [SharedLine(other, [notes, answer])])],
        upcoming=[(answer, other)],
    )
    assert render_handout(ho, FONT_DIR).startswith(b"%PDF")


def test_huge_labels_outside_answers_still_print():
    huge = "label " * 3000
    rows = [AnswerRow("q", huge, ["a", "b"])]
    block = HomeworkBlock(
        huge, "submitted", ["Łukasz", "Ольга"], rows, [huge], [DesireGridRow(huge, ["mutual"])]
    )
    rec = record(
        variant="case_record",
        case_label=huge,
        partners=[huge, "Ольга"],
        sessions=[(session(when=huge), [block])],
    )
    assert render_clinical(rec, FONT_DIR).startswith(b"%PDF")
    assert render_handout(handout(session_when=huge, upcoming=[(huge, huge)]), FONT_DIR)


def test_reportlab_runs_with_its_c_accelerator():
    """rl_accel is a dependency: text measuring and escaping run in C, not in Python."""
    from reportlab.lib import rl_accel

    assert rl_accel.escapePDF.__module__ == "_rl_accel"
    assert rl_accel.unicode2T1.__module__ == "_rl_accel"
