"""The audit hash chain: an intact chain verifies; edits and deletions are found."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta

import pytest

from tests.support import NOW
from warning.audit import GENESIS, AuditEntry, ChainBreak, entry_hash, next_entry, verify

ACTIONS = ["draft", "submit", "approve", "approve", "issue"]


def build_chain() -> list[AuditEntry]:
    """Five entries for one warning, one minute apart."""
    entries: list[AuditEntry] = []
    head = (0, GENESIS)
    for i, action in enumerate(ACTIONS):
        entry = next_entry(
            head,
            at=NOW + timedelta(minutes=i),
            actor=f"user{i}",
            action=action,
            warning_id=7,
            version=1,
            outcome="ok",
            details={"step": i, "note": "台风"},
        )
        entries.append(entry)
        head = (entry.seq, entry.hash)
    return entries


def head_of(entries: list[AuditEntry]) -> tuple[int, str]:
    return entries[-1].seq, entries[-1].hash


def tampered(entry: AuditEntry) -> AuditEntry:
    return dataclasses.replace(entry, details={**entry.details, "note": "forged"})


def rehashed(entry: AuditEntry) -> AuditEntry:
    """The entry with its own hash recomputed, as a careful forger would."""
    digest = entry_hash(
        entry.prev_hash,
        entry.seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.warning_id,
        entry.version,
        entry.outcome,
        entry.details,
    )
    return dataclasses.replace(entry, hash=digest)


def test_chain_links_each_entry_to_the_one_before() -> None:
    entries = build_chain()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    assert len({e.hash for e in entries}) == 5
    assert all(len(e.hash) == 64 for e in entries)


def test_intact_chain_verifies() -> None:
    entries = build_chain()
    assert verify(entries, head_of(entries)) is None
    assert verify(entries, None) is None


def test_empty_log_verifies_against_genesis_head() -> None:
    assert verify([], None) is None
    assert verify([], (0, GENESIS)) is None


@pytest.mark.parametrize("index", range(5), ids=lambda i: f"entry-{i + 1}")
def test_edited_details_break_at_that_entry(index: int) -> None:
    entries = build_chain()
    head = head_of(entries)
    entries[index] = tampered(entries[index])
    broken = verify(entries, head)
    assert isinstance(broken, ChainBreak)
    assert broken.seq == index + 1
    assert "edited" in broken.reason


@pytest.mark.parametrize(
    "field",
    [
        pytest.param({"actor": "someone-else"}, id="actor"),
        pytest.param({"outcome": "refused"}, id="outcome"),
        pytest.param({"at": NOW + timedelta(hours=5)}, id="at"),
        pytest.param({"warning_id": 8}, id="warning_id"),
    ],
)
def test_any_edited_field_breaks_the_chain(field: dict[str, object]) -> None:
    entries = build_chain()
    head = head_of(entries)
    entries[2] = dataclasses.replace(entries[2], **field)
    assert verify(entries, head) == ChainBreak(3, "its content does not match its hash (edited)")


def test_deleted_middle_entry_breaks_at_the_missing_seq() -> None:
    entries = build_chain()
    head = head_of(entries)
    del entries[2]
    broken = verify(entries, head)
    assert broken == ChainBreak(3, "entry 3 is missing (next is 4)")


def test_deleted_first_entry_breaks_at_one() -> None:
    entries = build_chain()
    head = head_of(entries)
    broken = verify(entries[1:], head)
    assert broken is not None
    assert broken.seq == 1


def test_deleted_last_entry_is_caught_by_the_head() -> None:
    entries = build_chain()
    head = head_of(entries)
    broken = verify(entries[:-1], head)
    assert broken == ChainBreak(5, "entries 5..5 were deleted")
    # Without the recorded head, a truncated log cannot be told from a shorter one.
    assert verify(entries[:-1], None) is None


def test_rehashing_an_edited_entry_breaks_at_the_next_one() -> None:
    entries = build_chain()
    head = head_of(entries)
    entries[1] = rehashed(tampered(entries[1]))
    assert entries[1].hash != build_chain()[1].hash
    broken = verify(entries, head)
    assert broken is not None
    assert broken.seq == 3
    assert "previous-hash" in broken.reason


def test_rehashing_the_last_entry_is_caught_by_the_head() -> None:
    entries = build_chain()
    head = head_of(entries)
    entries[-1] = rehashed(tampered(entries[-1]))
    assert verify(entries, None) is None  # the chain alone looks consistent
    broken = verify(entries, head)
    assert broken is not None
    assert broken.seq == 5
    assert "head" in broken.reason
