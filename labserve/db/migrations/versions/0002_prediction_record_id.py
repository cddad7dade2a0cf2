"""A unique ``record_id`` on predictions, so the journal shipper can insert idempotently.

Existing rows keep ``record_id`` NULL: a unique index allows any number of NULLs on SQLite and
PostgreSQL alike, so no backfill is needed and old rows stay valid.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite cannot add a column with a UNIQUE constraint; a unique index does the same job
    # and is what ``INSERT ... ON CONFLICT (record_id)`` needs on both databases.
    op.add_column("predictions", sa.Column("record_id", sa.String(64), nullable=True))
    op.create_index("uq_predictions_record_id", "predictions", ["record_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_predictions_record_id", table_name="predictions")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("record_id")
