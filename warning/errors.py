"""Typed domain errors; the web layer maps each class to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal the domain can give."""

    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """A value is missing, malformed or not allowed (HTTP 422)."""

    code = "invalid"


class PermissionDenied(DomainError):
    """The actor may not do this; `rule` names the rule that refused (HTTP 403)."""

    code = "forbidden"

    def __init__(self, message: str, *, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


class InvalidTransition(DomainError):
    """The action is not allowed in the version's current state (HTTP 409)."""

    code = "conflict"


class NotFound(DomainError):
    """The warning, version or user does not exist (HTTP 404)."""

    code = "not_found"
