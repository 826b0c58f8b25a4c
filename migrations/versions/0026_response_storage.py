"""response: sealed answers never compressed (PostgreSQL)

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30 22:40:00.000000

A draft's sealed answers (a few KB of ciphertext, which does not compress) pass the 2 KB past
which PostgreSQL tries to compress a row's long values before it moves them out of line:
every save ran pglz over them for nothing. EXTERNAL storage moves them out of line as they
are. Kept in the row instead (``toast_tuple_target``, ``fillfactor``), a save wrote half the
buffers and WAL on a quiet cluster, but the row grew from about 150 bytes to 2.6 KB, and while
any transaction of the cluster stays open (a backup, a long report) its old versions cannot
be pruned: a third of the saves then left the page (no HOT update, four index entries), the
table grew to 2.9 MB for one row and a save wrote 12 KB of WAL against 3.7 KB.
Existing values are left as they are (none is compressed: compression never won). SQLite has
no such setting.
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE response ALTER COLUMN answers_json_sealed SET STORAGE EXTERNAL")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE response ALTER COLUMN answers_json_sealed SET STORAGE EXTENDED")
