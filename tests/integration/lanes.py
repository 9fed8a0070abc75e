"""What the urgency-lane tests share: a slow county-wide SMS fan-out, and the moments the
loudspeaker simulator receives an urgent warning's package."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from aiohttp import web
from sqlalchemy import select

from ewb.services import Services
from sim import twilio
from sim.broadcast import PACKAGES
from store import tables
from store.residents import IMPORTED
from subscribers.residents import Resident
from subscribers.terminals import Terminal
from tests.integration.conftest import Api
from tests.integration.flows import APPROVERS, approve_all, draft, ok
from tests.support import NOW
from warning.grades import Grade

VILLAGES = ["320921101001", "320921101002", "320921100001", "320921107001"]


async def add_loudspeakers(services: Services, count: int) -> None:
    """`count` more online loudspeakers, one in each of the first villages: a county
    package then serves many terminals, as the sample data's 190 do."""
    a = tables.areas
    async with services.store.write() as tx:
        villages = (
            await tx.conn.execute(
                select(a.c.code).where(a.c.level == "village").order_by(a.c.code).limit(count)
            )
        ).scalars()
        await tx.terminals.upsert(
            [
                Terminal(
                    f"L{n:03d}", f"大喇叭{n}", code, f"3{code}0314{n:02d}0000"[:23], None, "online"
                )
                for n, code in enumerate(villages)
            ]
        )


async def store_sms_residents(services: Services, count: int) -> None:
    """`count` residents in four villages, each reachable by SMS only."""
    people = [
        Resident(
            external_id=f"L{n:06d}",
            name=f"居民{n}",
            phone=f"+86139{n:06d}77",  # the simulator's magic endings (0000, 13, 14) avoided
            wechat_openid=None,
            locale="zh-CN",
            area_code=VILLAGES[n % len(VILLAGES)],
            groups=(),
            channels=("sms",),
            min_grade=Grade.BLUE,
            test_recipient=False,
        )
        for n in range(count)
    ]
    await store_residents(services, people)


async def store_residents(services: Services, people: list[Resident]) -> None:
    """Store `people`, then analyze as `ewb residents import` does."""
    async with services.store.write() as tx:
        await tx.residents.upsert_many(people, NOW)
    async with services.store.write() as tx:  # as `ewb residents import` does: PostgreSQL
        await tx.analyze(*IMPORTED)  # plans on stale figures otherwise (minutes, not seconds)


async def approved(api: Api, **overrides: Any) -> dict[str, Any]:
    """A new warning drafted, submitted and approved, not yet issued."""
    created = await draft(api, **overrides)
    await ok(api.post(f"/warnings/{created['id']}/submit", "forecaster"))
    await approve_all(api, created["id"], APPROVERS[created["grade"]])
    return created


async def approved_cancel(api: Api, warning_id: int) -> None:
    await ok(api.post(f"/warnings/{warning_id}/revisions", "forecaster", {"action": "cancel"}), 201)
    await ok(api.post(f"/warnings/{warning_id}/submit", "forecaster"))
    await approve_all(api, warning_id, ["duty_chief"])


async def issue(api: Api, warning_id: int) -> tuple[float, float]:
    """Issue an approved version; the monotonic times the request was made and answered."""
    started = time.monotonic()
    await ok(api.post(f"/warnings/{warning_id}/issue", "duty_chief"))
    return started, time.monotonic()


async def package_after(sim: web.Application, seen: int, msg_type: int, limit: float) -> float:
    """The monotonic time the first package of `msg_type` after the first `seen` arrived
    at the loudspeaker simulator (polled every 10 ms, for up to `limit` seconds)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for received in sim[PACKAGES][seen:]:
            ebm = received.package.ebm if received.package else None
            if ebm is not None and ebm.msg_type == msg_type:
                return time.monotonic()
        await asyncio.sleep(0.01)
    kinds = [r.package.ebm.msg_type for r in sim[PACKAGES] if r.package and r.package.ebm]
    raise AssertionError(f"no package of MsgType {msg_type} within {limit} s; got {kinds}")


async def sms_sent(sim: web.Application, at_least: int, limit: float = 60) -> None:
    """Wait until the SMS simulator has accepted `at_least` messages."""
    deadline = time.monotonic() + limit
    while _accepted(sim) < at_least:
        assert time.monotonic() < deadline, f"only {_accepted(sim)} SMS in {limit} s"
        await asyncio.sleep(0.05)


def is_resident(phone: str) -> bool:
    return phone.startswith("+86139") and phone.endswith("77")


async def sms_with(sim: web.Application, marker: str, limit: float = 60) -> None:
    """Wait until a resident has been sent an SMS whose text holds `marker`."""
    deadline = time.monotonic() + limit
    while not any(
        m.answer == 201 and marker in m.body and is_resident(m.to) for m in sim[twilio.SENT]
    ):
        assert time.monotonic() < deadline, f"no resident got {marker!r} in {limit} s"
        await asyncio.sleep(0.05)


def _accepted(sim: web.Application) -> int:
    return sum(1 for m in sim[twilio.SENT] if m.answer == 201)


def sms_per_phone(sim: web.Application, marker: str) -> Counter[str]:
    """How many accepted SMS whose text holds `marker` each phone received."""
    return Counter(m.to for m in sim[twilio.SENT] if m.answer == 201 and marker in m.body)
