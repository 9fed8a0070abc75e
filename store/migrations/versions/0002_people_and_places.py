"""People and places: area population and closure, residents with groups, channels,
per-hazard grades and opt-outs, broadcast terminals, officer contact fields on users.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('area_closure',
    sa.Column('ancestor', sa.String(length=20), nullable=False),
    sa.Column('descendant', sa.String(length=20), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('ancestor', 'descendant', name=op.f('pk_area_closure'))
    )
    with op.batch_alter_table('area_closure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_area_closure_descendant'), ['descendant'], unique=False)

    op.create_table('residents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('phone_last4', sa.String(length=4), nullable=True),
    sa.Column('wechat_openid', sa.String(length=64), nullable=True),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('area_code', sa.String(length=20), nullable=False),
    sa.Column('min_grade', sa.Integer(), nullable=False),
    sa.Column('test_recipient', sa.Boolean(), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_residents_area_code_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_residents')),
    sa.UniqueConstraint('external_id', name=op.f('uq_residents_external_id'))
    )
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_residents_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_residents_phone_last4'), ['phone_last4'], unique=False)

    op.create_table('terminals',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('area_code', sa.String(length=20), nullable=False),
    sa.Column('endpoint_id', sa.String(length=64), nullable=False),
    sa.Column('covered_population', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('last_heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_terminals_area_code_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terminals')),
    sa.UniqueConstraint('endpoint_id', name=op.f('uq_terminals_endpoint_id'))
    )
    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_terminals_area_code'), ['area_code'], unique=False)

    op.create_table('channel_optouts',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_channel_optouts_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resident_id', 'channel', name=op.f('pk_channel_optouts'))
    )
    op.create_table('resident_channels',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_resident_channels_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resident_id', 'channel', name=op.f('pk_resident_channels'))
    )
    op.create_table('resident_groups',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('group_code', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_resident_groups_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resident_id', 'group_code', name=op.f('pk_resident_groups'))
    )
    with op.batch_alter_table('resident_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resident_groups_group_code'), ['group_code'], unique=False)

    op.create_table('resident_hazard_grades',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('hazard', sa.String(length=40), nullable=False),
    sa.Column('min_grade', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_resident_hazard_grades_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resident_id', 'hazard', name=op.f('pk_resident_hazard_grades'))
    )
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('population', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('households', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('population_source', sa.String(length=100), server_default='none', nullable=False))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('wecom_id', sa.String(length=64), nullable=True))

    # The closure of the areas already loaded (later loads rebuild it the same way).
    op.execute(
        "INSERT INTO area_closure (ancestor, descendant, depth) "
        "WITH RECURSIVE up(ancestor, descendant, depth) AS ("
        " SELECT code, code, 0 FROM areas"
        " UNION ALL"
        " SELECT a.parent_code, up.descendant, up.depth + 1 FROM up"
        " JOIN areas a ON a.code = up.ancestor"
        " WHERE a.parent_code IN (SELECT code FROM areas)"
        ") SELECT ancestor, descendant, depth FROM up"
    )


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('wecom_id')
        batch_op.drop_column('phone')
        batch_op.drop_column('name')

    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.drop_column('population_source')
        batch_op.drop_column('households')
        batch_op.drop_column('population')

    op.drop_table('resident_hazard_grades')
    with op.batch_alter_table('resident_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resident_groups_group_code'))

    op.drop_table('resident_groups')
    op.drop_table('resident_channels')
    op.drop_table('channel_optouts')
    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_terminals_area_code'))

    op.drop_table('terminals')
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_residents_phone_last4'))
        batch_op.drop_index(batch_op.f('ix_residents_area_code'))

    op.drop_table('residents')
    with op.batch_alter_table('area_closure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_area_closure_descendant'))

    op.drop_table('area_closure')
