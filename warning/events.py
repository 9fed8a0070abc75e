"""Facts the workflow records; the store turns `WarningIssued` into an outbox row."""

from __future__ import annotations

from dataclasses import dataclass

from warning.grades import Grade
from warning.model import Kind


@dataclass(frozen=True)
class Event:
    version: int


@dataclass(frozen=True)
class WarningDrafted(Event):
    kind: Kind


@dataclass(frozen=True)
class WarningEdited(Event):
    fields: tuple[str, ...]


@dataclass(frozen=True)
class WarningSubmitted(Event):
    round: int


@dataclass(frozen=True)
class WarningApproved(Event):
    step: int
    role: str
    final: bool


@dataclass(frozen=True)
class WarningRejected(Event):
    reason: str


@dataclass(frozen=True)
class WarningRedrafted(Event):
    pass


@dataclass(frozen=True)
class WarningIssued(Event):
    kind: Kind
    grade: Grade
    cap_identifier: str


@dataclass(frozen=True)
class ReleaseScheduled(Event):
    at: str  # ISO 8601


@dataclass(frozen=True)
class ReleaseFailed(Event):
    reason: str


@dataclass(frozen=True)
class WarningSuperseded(Event):
    by_version: int


@dataclass(frozen=True)
class WarningCancelled(Event):
    by_version: int


@dataclass(frozen=True)
class WarningExpired(Event):
    pass
