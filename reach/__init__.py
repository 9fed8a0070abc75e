"""Reach and coverage: who a warning reached, against the plan's targets (DESIGN.md §6)."""
