"""The broadcast platform's state reports per EBM (broadcast_states) and ewb's heartbeats
to it (platform_link).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'broadcast_states',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('ebm_id', sa.String(length=35), nullable=False),
        sa.Column('code', sa.Integer(), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('coverage_rate', sa.Float(), nullable=True),
        sa.Column('coverage_areas', sa.String(length=2000), nullable=False),
        sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast_states')),
    )
    op.create_index(
        op.f('ix_broadcast_states_ebm_id'), 'broadcast_states', ['ebm_id'], unique=False
    )


    op.create_table(
        'platform_link',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_beat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_answer_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('missed', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_link')),
    )


def downgrade() -> None:
    op.drop_table('platform_link')
    op.drop_index(op.f('ix_broadcast_states_ebm_id'), table_name='broadcast_states')
    op.drop_table('broadcast_states')
