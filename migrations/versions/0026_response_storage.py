"""response: sealed answers kept in the row (PostgreSQL), room on a page for a HOT update

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30 22:40:00.000000

A draft's sealed answers (a few KB of ciphertext, which does not compress) were moved out of
line into the TOAST table once a row passed about 2 KB: every autosave tried to compress
them, wrote them as TOAST chunks with their index entries and deleted the old chunks, and
every read under the lock fetched them back through the TOAST index. ``toast_tuple_target``
keeps a row whole up to what a page holds, EXTERNAL storage moves a larger value out of line
without trying to compress it, and ``fillfactor`` 50 leaves room on a row's page for its next
version (an autosave changes no indexed column, so it can stay a HOT update). Rows written
before keep their out-of-line values until their next save. SQLite has none of this.
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE response SET (toast_tuple_target = 8160, fillfactor = 50)")
    op.execute("ALTER TABLE response ALTER COLUMN answers_json_sealed SET STORAGE EXTERNAL")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE response RESET (toast_tuple_target, fillfactor)")
    op.execute("ALTER TABLE response ALTER COLUMN answers_json_sealed SET STORAGE EXTENDED")
