"""response: sealed answers never compressed (PostgreSQL)

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30 22:40:00.000000

A draft's sealed answers (a few KB of ciphertext, which does not compress) pass the 2 KB past
which PostgreSQL tries to compress a row's long values before it moves them out of line:
every save ran pglz over them for nothing. EXTERNAL storage moves them out of line as they
are (``questionnaires.models.RESPONSE_STORAGE`` says why they are not kept in the row).
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
