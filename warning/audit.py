"""The audit chain: every entry carries SHA-256 over its content and the previous hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    warning_id: int | None
    version: int | None
    outcome: str
    details: Mapping[str, Any]
    prev_hash: str
    hash: str


def entry_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    warning_id: int | None,
    version: int | None,
    outcome: str,
    details: Mapping[str, Any],
) -> str:
    """SHA-256 over the previous hash and a canonical JSON form of the entry."""
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "warning_id": warning_id,
        "version": version,
        "outcome": outcome,
        "details": details,
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def next_entry(
    head: tuple[int, str],
    *,
    at: datetime,
    actor: str,
    action: str,
    warning_id: int | None,
    version: int | None,
    outcome: str,
    details: Mapping[str, Any],
) -> AuditEntry:
    """The entry that follows the chain's head (seq, hash); (0, GENESIS) starts it."""
    seq, prev_hash = head[0] + 1, head[1]
    digest = entry_hash(prev_hash, seq, at, actor, action, warning_id, version, outcome, details)
    return AuditEntry(
        seq, at, actor, action, warning_id, version, outcome, details, prev_hash, digest
    )


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify(entries: Iterable[AuditEntry], head: tuple[int, str] | None) -> ChainBreak | None:
    """The first break in the chain, or None if it is intact.

    `entries` must come in seq order; `head` is the (seq, hash) the store recorded for
    the last entry written, which catches rows deleted from the end of the log.
    """
    expected_seq, prev_hash = 1, GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            return ChainBreak(
                expected_seq, f"entry {expected_seq} is missing (next is {entry.seq})"
            )
        if entry.prev_hash != prev_hash:
            return ChainBreak(entry.seq, "its previous-hash does not match the entry before it")
        digest = entry_hash(
            prev_hash,
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.warning_id,
            entry.version,
            entry.outcome,
            entry.details,
        )
        if digest != entry.hash:
            return ChainBreak(entry.seq, "its content does not match its hash (edited)")
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    last_seq = expected_seq - 1
    if head is not None and (head[0] != last_seq or head[1] != prev_hash):
        if head[0] > last_seq:
            return ChainBreak(last_seq + 1, f"entries {last_seq + 1}..{head[0]} were deleted")
        return ChainBreak(head[0], "the recorded head does not match the last entry")
    return None
