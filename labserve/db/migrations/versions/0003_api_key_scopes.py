"""Scopes on API keys: what each key may use.

Keys issued before this revision get ``predict`` only: they keep predicting, and reading the
audit log (every caller's inputs) or ``/metrics`` now needs a key issued with ``audit:read``
or ``metrics`` (``labserve keys create NAME --scopes predict,audit:read``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column("scopes", sa.String(200), nullable=False, server_default="predict"),
    )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scopes")
