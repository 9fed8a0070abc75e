"""Timers: release at onset (warning_versions.release_at/by), repeated broadcasts
(deliveries.repeat, part of the once-only key); a failed batch's pause (not_before).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('warning_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('release_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('release_by', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_warning_versions_release_at'), ['release_at'], unique=False)

    with op.batch_alter_table('delivery_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_before', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repeat', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_constraint('uq_deliveries_once', type_='unique')
        batch_op.create_unique_constraint(
            'uq_deliveries_once',
            ['warning_id', 'version', 'recipient_kind', 'recipient_id', 'channel', 'repeat'],
        )


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint('uq_deliveries_once', type_='unique')
        batch_op.create_unique_constraint(
            'uq_deliveries_once',
            ['warning_id', 'version', 'recipient_kind', 'recipient_id', 'channel'],
        )
        batch_op.drop_column('repeat')

    with op.batch_alter_table('delivery_batches', schema=None) as batch_op:
        batch_op.drop_column('not_before')

    with op.batch_alter_table('warning_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_warning_versions_release_at'))
        batch_op.drop_column('release_by')
        batch_op.drop_column('release_at')
