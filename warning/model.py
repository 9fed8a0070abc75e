"""A warning and its versions: the aggregate every workflow command acts on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from warning.actors import Role
from warning.errors import NotFound
from warning.grades import Grade


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    ISSUED = "issued"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Mode(StrEnum):
    """CAP status of the message: only `actual` warnings reach the public."""

    ACTUAL = "actual"
    EXERCISE = "exercise"
    TEST = "test"

    @property
    def cap_status(self) -> str:
        return self.value.capitalize()


class Kind(StrEnum):
    """Why a version exists: the first alert, or a revision of an issued one."""

    ALERT = "alert"
    UPDATE = "update"
    ESCALATE = "escalate"
    DOWNGRADE = "downgrade"
    CANCEL = "cancel"

    @property
    def cap_msg_type(self) -> str:
        return {Kind.ALERT: "Alert", Kind.CANCEL: "Cancel"}.get(self, "Update")


# Custom text per locale ("zh-CN", "en"); a missing locale falls back to the catalog text.
Texts = dict[str, str]


@dataclass
class Approval:
    step: int
    role: Role
    by: str
    at: datetime
    rendering: str | None = None  # SHA-256 of the messages the approver saw and approved
    chinese_only: bool = False  # confirmed: the English says "translation pending"


@dataclass
class Rejection:
    by: str
    reason: str
    at: datetime


@dataclass
class Version:
    """One version of a warning; a published (issued) version is never edited."""

    number: int
    kind: Kind
    state: State
    hazard: str
    grade: Grade
    areas: tuple[str, ...]
    groups: tuple[str, ...]
    onset: datetime
    expires: datetime
    mode: Mode
    author: str
    created_at: datetime
    headline: Texts = field(default_factory=dict)
    description: Texts = field(default_factory=dict)
    instruction: Texts = field(default_factory=dict)
    editors: tuple[str, ...] = ()
    round: int = 1  # approval round; each redraft after a rejection starts a new one
    approvals: list[Approval] = field(default_factory=list)
    rejection: Rejection | None = None
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    issued_at: datetime | None = None
    issued_by: str | None = None
    ended_at: datetime | None = None
    # Approved for release at its onset: when, and who asked (the issue is theirs).
    release_at: datetime | None = None
    release_by: str | None = None
    cap_identifier: str | None = None
    references: str | None = None

    @property
    def is_cancel(self) -> bool:
        return self.kind is Kind.CANCEL

    @property
    def was_issued(self) -> bool:
        return self.issued_at is not None

    def wrote(self, username: str) -> bool:
        """True for the author and for anyone who edited this version's draft."""
        return username == self.author or username in self.editors


@dataclass
class Warning:
    """A warning keeps one id for its whole life; versions are numbered from 1."""

    id: int | None
    versions: list[Version]

    @property
    def latest(self) -> Version:
        return self.versions[-1]

    def version(self, number: int | None = None) -> Version:
        """The given version, or the latest when `number` is None."""
        if number is None:
            return self.latest
        if 1 <= number <= len(self.versions):
            return self.versions[number - 1]
        raise NotFound(f"warning {self.id} has no version {number}", field="version")

    def live_version(self) -> Version | None:
        """The issued version currently in force, if any."""
        for version in reversed(self.versions):
            if version.state is State.ISSUED:
                return version
        return None
