"""How far a version's fan-out has come, and who could not be reached."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, case, cast, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.residents import under
from store.tables import deliveries, delivery_events, outbox, reach, residents

OPEN = ("pending", "sending")
REACHED = ("sent", "delivered")
WINDOW = timedelta(seconds=30)  # the rate is measured over the last half minute


def lost(warning_id: int, version: int) -> Select[Any]:
    """Ids of the version's residents none of whose deliveries went out or can still go,
    and who are not on record as reached some other way."""
    alive = func.sum(case((deliveries.c.state.in_(OPEN + REACHED), 1), else_=0))
    return (
        select(cast(deliveries.c.recipient_id, Integer))
        .where(
            deliveries.c.warning_id == warning_id,
            deliveries.c.version == version,
            deliveries.c.recipient_kind == "resident",
            ~exists().where(
                reach.c.warning_id == warning_id,
                reach.c.version == version,
                reach.c.resident_id == cast(deliveries.c.recipient_id, Integer),
            ),
        )
        .group_by(deliveries.c.recipient_id)
        .having(alive == 0)
    )


@dataclass
class Progress:
    planned: bool = False
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)
    resent_after_crash: int = 0
    recent: int = 0  # attempts finished within WINDOW
    first_at: datetime | None = None

    @property
    def open(self) -> int:
        return sum(
            n for states in self.by_channel.values() for state, n in states.items() if state in OPEN
        )

    @property
    def total(self) -> int:
        return sum(sum(states.values()) for states in self.by_channel.values())


@dataclass(frozen=True)
class Unreached:
    resident_id: int
    external_id: str
    name: str
    area_code: str
    phone: str | None
    channels: tuple[str, ...]
    last_error: str | None


class ProgressRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def progress(self, warning_id: int, version: int, now: datetime) -> Progress:
        found = Progress()
        # Planned: its outbox rows (relays, then residents) are all processed.
        processed, waiting = (
            await self.conn.execute(
                select(
                    func.count(outbox.c.processed_at),
                    func.count() - func.count(outbox.c.processed_at),
                ).where(outbox.c.warning_id == warning_id, outbox.c.version == version)
            )
        ).one()
        found.planned = processed > 0 and waiting == 0
        of_version = (deliveries.c.warning_id == warning_id, deliveries.c.version == version)
        for channel, state, count in await self.conn.execute(
            select(deliveries.c.channel, deliveries.c.state, func.count())
            .where(*of_version)
            .group_by(deliveries.c.channel, deliveries.c.state)
        ):
            found.by_channel.setdefault(channel, {})[state] = int(count)
        found.resent_after_crash = int(
            (
                await self.conn.execute(
                    select(func.count())
                    .select_from(deliveries)
                    .where(*of_version, deliveries.c.resent_after_crash.is_(True))
                )
            ).scalar_one()
        )
        found.recent = int(
            (
                await self.conn.execute(
                    select(func.count())
                    .select_from(
                        delivery_events.join(
                            deliveries, deliveries.c.id == delivery_events.c.delivery_id
                        )
                    )
                    .where(
                        *of_version,
                        delivery_events.c.event.in_(("sent", "failed")),
                        delivery_events.c.at >= now - WINDOW,
                    )
                )
            ).scalar_one()
        )
        return found

    async def unreached(self, warning_id: int, version: int, scope: list[str]) -> list[Unreached]:
        """Residents of the version none of whose deliveries went out or can still go,
        and whom nobody reached otherwise (an officer in person, for one)."""
        people = (
            await self.conn.execute(
                select(residents)
                .where(residents.c.id.in_(lost(warning_id, version)), under(scope))
                .order_by(residents.c.area_code, residents.c.id)
            )
        ).all()
        tried: dict[str, list[tuple[str, str | None]]] = {}
        for rid, channel, error in await self.conn.execute(
            select(deliveries.c.recipient_id, deliveries.c.channel, deliveries.c.last_error)
            .where(
                deliveries.c.warning_id == warning_id,
                deliveries.c.version == version,
                deliveries.c.recipient_kind == "resident",
                deliveries.c.recipient_id.in_([str(p.id) for p in people]),
            )
            .order_by(deliveries.c.id)
        ):
            tried.setdefault(rid, []).append((channel, error))
        return [
            Unreached(
                p.id,
                p.external_id,
                p.name,
                p.area_code,
                p.phone,
                tuple(c for c, _ in tried.get(str(p.id), []) if c != "none"),
                next((e for _, e in reversed(tried.get(str(p.id), [])) if e), None),
            )
            for p in people
        ]
