"""answers_by_part: every response's sealed answers re-sealed with each part on a line of its own

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 13:00:00.000000

A response's answers were one sealed JSON object; they are now a first line naming the parts
(a link id up to its first dot: a section of the inventory) and each part's answers as a JSON
object on a line of its own (``Response.dump_answers``), so that a page of one section parses
only that part (``StoredAnswers``). Both forms are read, so the app works before and after
this runs; it rewrites each row under the current primary key, bound to the same row as
before (the associated data names table, column and row). The revision is not bumped: the
answers do not change. Downgrade writes the one object again.
"""

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_response = sa.table(
    "response", sa.column("id", sa.Uuid()), sa.column("answers_json_sealed", sa.LargeBinary())
)


def _reseal(by_part: bool) -> None:
    from counselor.questionnaires.models import Response

    conn = op.get_bind()
    opener = Response.answers_json.opener()
    after = None
    while True:  # a batch at a time, in id order: a practice's answers need not fit in memory
        query = sa.select(_response.c.id, _response.c.answers_json_sealed).where(
            _response.c.answers_json_sealed.is_not(None)
        )
        if after is not None:
            query = query.where(_response.c.id > after)
        rows = conn.execute(query.order_by(_response.c.id).limit(200)).all()
        if not rows:
            return
        after = rows[-1].id
        for row in rows:
            _rewrite(conn, opener, row, by_part)


def _rewrite(conn, opener, row, by_part: bool) -> None:
    from counselor.questionnaires.models import Response

    text = opener(row.answers_json_sealed, row.id)
    if (text[:1] == "[") is by_part:
        return  # already in the form asked for
    answers = Response.load_answers(text)
    text = (
        Response.dump_answers(answers)
        if by_part
        else orjson.dumps(answers, option=orjson.OPT_SORT_KEYS).decode()
    )
    conn.execute(
        _response.update()
        .where(_response.c.id == row.id)
        .values(answers_json_sealed=Response.answers_json.seal(text, row.id))
    )


def upgrade():
    _reseal(by_part=True)


def downgrade():
    _reseal(by_part=False)
