"""Mapping between `warning_versions` / `approvals` rows and domain versions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warning.actors import Role
from warning.grades import Grade
from warning.model import Approval, Kind, Mode, Rejection, State, Version

_PLAIN = (
    "number",
    "hazard",
    "onset",
    "expires",
    "author",
    "created_at",
    "round",
    "submitted_at",
    "approved_at",
    "issued_at",
    "issued_by",
    "ended_at",
    "cap_identifier",
    "release_at",
    "release_by",
)


def version_values(version: Version) -> dict[str, Any]:
    """Column values of a version (without warning_id and row_version)."""
    values: dict[str, Any] = {name: getattr(version, name) for name in _PLAIN}
    rejection = version.rejection
    values.update(
        kind=version.kind.value,
        state=version.state.value,
        grade=version.grade.value,
        mode=version.mode.value,
        areas=list(version.areas),
        groups=list(version.groups),
        editors=list(version.editors),
        headline=dict(version.headline),
        description=dict(version.description),
        instruction=dict(version.instruction),
        cap_references=version.references,
        rejected_by=rejection.by if rejection else None,
        rejected_reason=rejection.reason if rejection else None,
        rejected_at=rejection.at if rejection else None,
    )
    return values


def version_from_row(row: Mapping[str, Any], approvals: list[Approval]) -> Version:
    rejection = (
        Rejection(by=row["rejected_by"], reason=row["rejected_reason"], at=row["rejected_at"])
        if row["rejected_by"]
        else None
    )
    return Version(
        **{name: row[name] for name in _PLAIN},
        kind=Kind(row["kind"]),
        state=State(row["state"]),
        grade=Grade(row["grade"]),
        mode=Mode(row["mode"]),
        areas=tuple(row["areas"]),
        groups=tuple(row["groups"]),
        editors=tuple(row["editors"]),
        headline=dict(row["headline"]),
        description=dict(row["description"]),
        instruction=dict(row["instruction"]),
        references=row["cap_references"],
        rejection=rejection,
        approvals=approvals,
    )


def approval_from_row(row: Mapping[str, Any]) -> Approval:
    return Approval(
        step=row["step"],
        role=Role(row["role"]),
        by=row["approved_by"],
        at=row["at"],
        rendering=row["rendering_sha256"],
        chinese_only=row["chinese_only"],
    )
