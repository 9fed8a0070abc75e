"""JSON views of warnings and audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from warning import texts
from warning.audit import AuditEntry
from warning.model import State, Version, Warning
from warning.rules import Rules


def iso(moment: datetime | None, tz: ZoneInfo) -> str | None:
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None


def version_json(warning_id: int, version: Version, rules: Rules) -> dict[str, Any]:
    """One version as the API shows it, with the effective text in every locale."""
    tz = rules.tz
    hazard = rules.catalog.hazard(version.hazard)
    steps = rules.policy.approval_steps(version.grade, cancel=version.is_cancel)
    pending = None
    if version.state is State.SUBMITTED and len(version.approvals) < len(steps):
        step = len(version.approvals) + 1
        pending = {"step": step, "role": steps[step - 1].value}
    rejection = version.rejection
    return {
        "id": warning_id,
        "version": version.number,
        "kind": version.kind.value,
        "state": version.state.value,
        "hazard": version.hazard,
        "hazard_name": dict(hazard.name),
        "grade": version.grade.value,
        "grade_name": {"zh-CN": version.grade.name_zh, "en": version.grade.name_en},
        "areas": list(version.areas),
        "area_names": {code: rules.areas.name(code) for code in version.areas},
        "groups": list(version.groups),
        "onset": iso(version.onset, tz),
        "expires": iso(version.expires, tz),
        "mode": version.mode.value,
        **texts.all_texts(version, rules),
        "author": version.author,
        "editors": list(version.editors),
        "created_at": iso(version.created_at, tz),
        "submitted_at": iso(version.submitted_at, tz),
        "approvals_required": [role.value for role in steps],
        "approvals": [
            {"step": a.step, "role": a.role.value, "by": a.by, "at": iso(a.at, tz)}
            for a in version.approvals
        ],
        "pending_approval": pending,
        "approved_at": iso(version.approved_at, tz),
        "rejection": {"by": rejection.by, "reason": rejection.reason, "at": iso(rejection.at, tz)}
        if rejection
        else None,
        "issued_at": iso(version.issued_at, tz),
        "issued_by": version.issued_by,
        "release_at": iso(version.release_at, tz),
        "release_by": version.release_by,
        "ended_at": iso(version.ended_at, tz),
        "cap_identifier": version.cap_identifier,
        "references": version.references,
    }


def warning_json(warning: Warning, version: Version, rules: Rules) -> dict[str, Any]:
    """A version plus a summary of every version of the warning."""
    assert warning.id is not None
    body = version_json(warning.id, version, rules)
    body["latest_version"] = warning.latest.number
    body["versions"] = [
        {
            "version": v.number,
            "kind": v.kind.value,
            "state": v.state.value,
            "grade": v.grade.value,
            "issued_at": iso(v.issued_at, rules.tz),
            "cap_identifier": v.cap_identifier,
        }
        for v in warning.versions
    ]
    return body


def audit_json(entry: AuditEntry, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": iso(entry.at, tz),
        "actor": entry.actor,
        "action": entry.action,
        "warning_id": entry.warning_id,
        "version": entry.version,
        "outcome": entry.outcome,
        "details": entry.details,
        "hash": entry.hash,
    }
