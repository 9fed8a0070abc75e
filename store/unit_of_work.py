"""Running one command: a transaction, its outbox rows and its audit entry.

A refused command (any DomainError) rolls back and is then audited in a transaction
of its own, so the log shows every attempt and nothing half-done is ever stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from store.db import Store, Tx
from store.outbox import ISSUED_EVENT
from store.warning_rows import version_values
from warning import commands
from warning.actors import Actor
from warning.errors import DomainError, PermissionDenied
from warning.events import Event, WarningIssued
from warning.model import Version, Warning
from warning.rules import Rules

Work = Callable[[Tx, Rules], Awaitable[tuple[Warning, list[Event]]]]


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def event_details(events: list[Event]) -> list[dict[str, Any]]:
    """Events as JSON-ready dicts for the audit log."""
    return [
        {"event": type(e).__name__, **{k: _plain(v) for k, v in dataclasses.asdict(e).items()}}
        for e in events
    ]


def version_digest(version: Version) -> str:
    """SHA-256 of the version's stored content, so the log proves what each step saw."""
    values = {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in version_values(version).items()
    }
    canonical = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def refusal_details(error: DomainError) -> dict[str, Any]:
    details: dict[str, Any] = {"error": error.code, "message": error.message}
    if error.field:
        details["field"] = error.field
    if isinstance(error, PermissionDenied):
        details["rule"] = error.rule
    return details


async def audit_refusal(
    store: Store,
    *,
    now: datetime,
    actor: str,
    action: str,
    warning_id: int | None,
    version: int | None,
    error: DomainError,
) -> None:
    details = refusal_details(error)
    async with store.write() as tx:
        await tx.audit.append(
            at=now,
            actor=actor,
            action=action,
            warning_id=warning_id,
            version=version,
            outcome="refused",
            details=details,
        )


async def run(
    store: Store,
    work: Work,
    *,
    now: datetime,
    actor: Actor,
    action: str,
    warning_id: int | None,
    version: int | None = None,
) -> tuple[Warning, Rules]:
    """Run `work` in one transaction, then audit it; refusals are audited and re-raised.

    Returns the changed warning and the rules it was decided with.
    """
    try:
        async with store.write() as tx:
            rules = await tx.rules()
            warning, events = await work(tx, rules)
            assert warning.id is not None
            for event in events:
                if isinstance(event, WarningIssued):
                    await tx.outbox.add(warning.id, event.version, ISSUED_EVENT, now)
            await tx.audit.append(
                at=now,
                actor=actor.username,
                action=action,
                warning_id=warning.id,
                version=warning.latest.number,
                outcome="ok",
                details={
                    "events": event_details(events),
                    "version_sha256": version_digest(warning.latest),
                },
            )
            return warning, rules
    except DomainError as e:
        await audit_refusal(
            store,
            now=now,
            actor=actor.username,
            action=action,
            warning_id=warning_id,
            version=version,
            error=e,
        )
        raise


async def create(
    store: Store, raw: Mapping[str, Any], *, now: datetime, actor: Actor, action: str
) -> tuple[Warning, Rules]:
    """Draft a new warning from plain data (an API body or an imported CAP alert)."""

    async def work(tx: Tx, rules: Rules) -> tuple[Warning, list[Event]]:
        warning, events = commands.draft(raw, actor, rules, now)
        await tx.warnings.add(warning, now)
        return warning, events

    return await run(store, work, now=now, actor=actor, action=action, warning_id=None)


Decide = Callable[..., list[Event]]


async def change(
    store: Store,
    warning_id: int,
    decide: Decide,
    *,
    now: datetime,
    actor: Actor,
    action: str,
    expected: int | None = None,
    needs_sequence: bool = False,
) -> tuple[Warning, Rules]:
    """Load the warning locked, let `decide(warning, actor, rules, now)` change it, save.

    `expected` refuses the command unless it is the latest version number; with
    `needs_sequence` the next CAP sequence number is passed as `sequence=`.
    """

    async def work(tx: Tx, rules: Rules) -> tuple[Warning, list[Event]]:
        loaded = await tx.warnings.get(warning_id, lock=True)
        commands.require_latest(loaded.warning, expected)
        extra = {"sequence": await tx.next_sequence("cap")} if needs_sequence else {}
        events = decide(loaded.warning, actor, rules, now, **extra)
        await tx.warnings.save(loaded)
        return loaded.warning, events

    return await run(
        store, work, now=now, actor=actor, action=action, warning_id=warning_id, version=expected
    )
