"""Persistence: SQLAlchemy tables, repositories, the unit of work and Alembic migrations.

All SQL in ewb lives in this package.
"""
