"""The warnings repository: load a warning with all its versions, save what changed."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from store.tables import approvals, warning_versions, warnings
from store.warning_rows import approval_from_row, version_from_row, version_values
from warning.errors import InvalidTransition, NotFound
from warning.model import Version, Warning

CONCURRENT = "the warning was changed by someone else at the same moment; reload and retry"


@dataclass
class Loaded:
    """A warning as loaded, with what is needed to save only what changed, safely."""

    warning: Warning
    snapshot: list[Version] = field(default_factory=list)
    row_versions: dict[int, int] = field(default_factory=dict)


class WarningRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, warning_id: int, *, lock: bool = False) -> Loaded:
        """The warning with every version; `lock` holds it until the transaction ends."""
        head = select(warnings.c.id).where(warnings.c.id == warning_id)
        if lock:
            head = head.with_for_update()
        if (await self.conn.execute(head)).first() is None:
            raise NotFound(f"no warning {warning_id}")
        rows = (
            (
                await self.conn.execute(
                    select(warning_versions)
                    .where(warning_versions.c.warning_id == warning_id)
                    .order_by(warning_versions.c.number)
                )
            )
            .mappings()
            .all()
        )
        approval_rows = (
            (
                await self.conn.execute(
                    select(approvals)
                    .where(approvals.c.warning_id == warning_id)
                    .order_by(approvals.c.number, approvals.c.round, approvals.c.step)
                )
            )
            .mappings()
            .all()
        )
        versions = []
        for row in rows:
            current = [
                approval_from_row(a)
                for a in approval_rows
                if a["number"] == row["number"] and a["round"] == row["round"]
            ]
            versions.append(version_from_row(row, current))
        warning = Warning(id=warning_id, versions=versions)
        return Loaded(
            warning=warning,
            snapshot=copy.deepcopy(versions),
            row_versions={row["number"]: row["row_version"] for row in rows},
        )

    async def add(self, warning: Warning, created_at: datetime) -> Loaded:
        """Insert a new warning; its id is set on the returned warning."""
        result = await self.conn.execute(
            insert(warnings).values(created_at=created_at, created_by=warning.latest.author)
        )
        warning.id = int(result.inserted_primary_key[0])
        loaded = Loaded(warning=warning)
        await self.save(loaded)
        return loaded

    async def save(self, loaded: Loaded) -> None:
        """Write new and changed versions and new approvals; a lost race raises 409."""
        warning = loaded.warning
        assert warning.id is not None
        try:
            for version in warning.versions:
                before = (
                    loaded.snapshot[version.number - 1]
                    if version.number <= len(loaded.snapshot)
                    else None
                )
                if before is None:
                    await self.conn.execute(
                        insert(warning_versions).values(
                            warning_id=warning.id, row_version=1, **version_values(version)
                        )
                    )
                elif before != version:
                    await self._update(warning.id, version, loaded.row_versions[version.number])
                await self._add_approvals(warning.id, version, before)
        except IntegrityError as e:
            raise InvalidTransition(CONCURRENT) from e

    async def _update(self, warning_id: int, version: Version, row_version: int) -> None:
        result = await self.conn.execute(
            update(warning_versions)
            .where(
                warning_versions.c.warning_id == warning_id,
                warning_versions.c.number == version.number,
                warning_versions.c.row_version == row_version,
            )
            .values(row_version=row_version + 1, **version_values(version))
        )
        if result.rowcount != 1:
            raise InvalidTransition(CONCURRENT)

    async def _add_approvals(
        self, warning_id: int, version: Version, before: Version | None
    ) -> None:
        known = len(before.approvals) if before is not None and before.round == version.round else 0
        for approval in version.approvals[known:]:
            await self.conn.execute(
                insert(approvals).values(
                    warning_id=warning_id,
                    number=version.number,
                    round=version.round,
                    step=approval.step,
                    role=approval.role.value,
                    approved_by=approval.by,
                    at=approval.at,
                    rendering_sha256=approval.rendering,
                    chinese_only=approval.chinese_only,
                )
            )

    async def list_latest(
        self,
        *,
        state: str | None,
        hazard: str | None,
        grade: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[tuple[int, Version]], int]:
        """(warning id, latest version) pairs, newest first, and the total matching."""
        latest = (
            select(
                warning_versions.c.warning_id, func.max(warning_versions.c.number).label("number")
            )
            .group_by(warning_versions.c.warning_id)
            .subquery()
        )
        condition = [
            tuple_(warning_versions.c.warning_id, warning_versions.c.number).in_(
                select(latest.c.warning_id, latest.c.number)
            )
        ]
        for column, value in (("state", state), ("hazard", hazard), ("grade", grade)):
            if value is not None:
                condition.append(warning_versions.c[column] == value)
        where = and_(*condition)
        total = (
            await self.conn.execute(select(func.count()).select_from(warning_versions).where(where))
        ).scalar_one()
        rows = (
            (
                await self.conn.execute(
                    select(warning_versions)
                    .where(where)
                    .order_by(warning_versions.c.warning_id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            )
            .mappings()
            .all()
        )
        keys = [(row["warning_id"], row["number"]) for row in rows]
        approval_rows = (
            (
                await self.conn.execute(
                    select(approvals)
                    .where(tuple_(approvals.c.warning_id, approvals.c.number).in_(keys))
                    .order_by(approvals.c.step)
                )
            )
            .mappings()
            .all()
            if keys
            else []
        )
        pairs = []
        for row in rows:
            current = [
                approval_from_row(a)
                for a in approval_rows
                if (a["warning_id"], a["number"], a["round"])
                == (row["warning_id"], row["number"], row["round"])
            ]
            pairs.append((row["warning_id"], version_from_row(row, current)))
        return pairs, int(total)

    async def in_force(self, warning_ids: Sequence[int]) -> dict[int, Version]:
        """The version in force (issued, not ended) of each of these warnings that has one;
        without its approvals, for lists."""
        if not warning_ids:
            return {}
        rows = (
            (
                await self.conn.execute(
                    select(warning_versions).where(
                        warning_versions.c.warning_id.in_(list(warning_ids)),
                        warning_versions.c.state == "issued",
                    )
                )
            )
            .mappings()
            .all()
        )
        return {row["warning_id"]: version_from_row(row, []) for row in rows}

    async def ids_with_release_due(self, now: datetime) -> list[int]:
        """Warnings whose latest version was approved for release at a time now passed."""
        rows = await self.conn.execute(
            select(warning_versions.c.warning_id)
            .distinct()
            .where(
                warning_versions.c.state == "approved",
                warning_versions.c.release_at <= now,
            )
        )
        return [row[0] for row in rows]

    async def ids_in_force(self) -> list[int]:
        """Warnings with a version issued and not ended (cancelled, superseded, expired)."""
        rows = await self.conn.execute(
            select(warning_versions.c.warning_id)
            .distinct()
            .where(warning_versions.c.state == "issued")
            .order_by(warning_versions.c.warning_id)
        )
        return [row[0] for row in rows]

    async def ids_with_expired(self, now: datetime) -> list[int]:
        """Warnings with an issued version whose expiry time has passed."""
        rows = await self.conn.execute(
            select(warning_versions.c.warning_id)
            .distinct()
            .where(warning_versions.c.state == "issued", warning_versions.c.expires <= now)
        )
        return [row[0] for row in rows]
