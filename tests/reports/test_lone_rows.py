"""No table leaves a lone row on its last page (issue 9 §7): whatever the number of rows, the
last row of an answer table shares its page with the row before it."""

from __future__ import annotations

from counselor.reports.data import AnswerRow, HomeworkBlock
from counselor.reports.pdf import render_clinical
from tests.reports.test_pdf import FONT_DIR, pages_text, record, session


def _record_with(rows: int):
    block = HomeworkBlock(
        title="Check-in",
        submitted="submitted 2 Mar 2026",
        partners=["Sam", "Alex"],
        rows=[AnswerRow(f"Question QX{k:03d}?", "Only", [f"A{k}", f"B{k}"]) for k in range(rows)],
    )
    return record(sessions=[(session(), [block])])


def test_the_last_row_of_a_table_never_stands_alone_on_a_page():
    lonely = []
    for rows in range(40, 56):  # 47 rows left one alone before
        pages = pages_text(render_clinical(_record_with(rows), FONT_DIR))
        last = f"QX{rows - 1:03d}"
        page = next(p for p in pages if last in p)
        if f"QX{rows - 2:03d}" not in page:
            lonely.append(rows)
    assert lonely == []
