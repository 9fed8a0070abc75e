"""Status callbacks stored as they arrive (answered once stored, applied in bulk after).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'provider_callbacks',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('provider', sa.String(length=20), nullable=False),
        sa.Column('provider_id', sa.String(length=128), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('error_code', sa.String(length=32), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=10), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_callbacks')),
    )
    op.create_index(
        'ix_provider_callbacks_pending',
        'provider_callbacks',
        ['id'],
        unique=False,
        postgresql_where=sa.text('processed_at IS NULL'),
        sqlite_where=sa.text('processed_at IS NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_provider_callbacks_pending', table_name='provider_callbacks')
    op.drop_table('provider_callbacks')
