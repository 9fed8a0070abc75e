"""Approvals remember what the approver saw: the digest of the rendered messages
(rendering_sha256) and whether Chinese-only texts were accepted (chinese_only).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('approvals') as batch:
        batch.add_column(sa.Column('rendering_sha256', sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column('chinese_only', sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table('approvals') as batch:
        batch.drop_column('chinese_only')
        batch.drop_column('rendering_sha256')
