"""Reach: who each warning version reached and how (reach), officers' relay reports,
and the once-per-version gap check (gap_checks).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'reach',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('warning_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=False),
        sa.Column('area_code', sa.String(length=20), nullable=False),
        sa.Column('via', sa.String(length=10), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=True),
        sa.Column('relay_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reach')),
        sa.UniqueConstraint('warning_id', 'version', 'resident_id', 'via', name='uq_reach_once'),
    )
    op.create_index('ix_reach_version_area', 'reach', ['warning_id', 'version', 'area_code'])
    op.create_table(
        'relay_reports',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('warning_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('area_code', sa.String(length=20), nullable=False),
        sa.Column('officer', sa.String(length=64), nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('residents', sa.Integer(), server_default='0', nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['area_code'], ['areas.code'], name=op.f('fk_relay_reports_area_code_areas')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_relay_reports')),
    )
    op.create_index('ix_relay_reports_version', 'relay_reports', ['warning_id', 'version'])
    op.create_table(
        'gap_checks',
        sa.Column('warning_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('gaps', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('warning_id', 'version', name=op.f('pk_gap_checks')),
    )


def downgrade() -> None:
    op.drop_table('gap_checks')
    op.drop_index('ix_relay_reports_version', table_name='relay_reports')
    op.drop_table('relay_reports')
    op.drop_index('ix_reach_version_area', table_name='reach')
    op.drop_table('reach')
