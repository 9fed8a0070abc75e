"""Release-workflow throughput over HTTP: draft → submit → review → sign-off → issue.

Runs the real app on 127.0.0.1 (aiohttp TestServer) against a fresh SQLite file or, with
--database-url, a PostgreSQL database (its tables are emptied first), and prints figures:

    .venv/bin/python -m bench.workflow --warnings 200 --concurrency 8
    .venv/bin/python -m bench.workflow --database-url postgresql+asyncpg://postgres@127.0.0.1/ewb_bench
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import delete, update

from config.data import DIVISIONS_CSV, read_divisions
from config.settings import load_settings
from ewb.bootstrap import build_services, make_app
from store import migrate, tables
from store.areas import AreaRepository
from store.engine import create_engine
from store.users import UserRepository
from subscribers.areas import parse_divisions
from warning import audit
from warning.actors import Actor, Role
from warning.areas import AreaTree
from web.passwords import hash_password, token_hash

USERS = {
    "forecaster": (Role.FORECASTER, "weather"),
    "duty_chief": (Role.DUTY_CHIEF, "weather"),
    "leader": (Role.LEADER, "county"),
}


async def prepare(url: str) -> None:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    areas, _ = parse_divisions(read_divisions(DIVISIONS_CSV), AreaTree([]))
    now = datetime.now().astimezone()
    async with engine.begin() as conn:
        for table in (
            tables.approvals,
            tables.warning_versions,
            tables.warnings,
            tables.audit_log,
            tables.outbox,
            tables.sequences,
            tables.tokens,
            tables.users,
        ):
            await conn.execute(delete(table))
        await conn.execute(update(tables.audit_head).values(seq=0, hash=audit.GENESIS))
        await AreaRepository(conn).upsert(areas)
        users = UserRepository(conn)
        for name, (role, org) in USERS.items():
            user_id = await users.add(
                Actor(name, role, org, frozenset({"320921"})), hash_password("bench-password"), now
            )
            await users.add_token(
                user_id, token_hash(f"bench-{name}"), now, now + timedelta(days=1)
            )
    await engine.dispose()


async def cycle(session: aiohttp.ClientSession, base: str, timings: dict[str, list[float]]) -> None:
    """One red typhoon warning from draft to issued, timing each step."""
    now = datetime.now().astimezone()
    body = {
        "hazard": "typhoon",
        "grade": "red",
        "areas": ["320921101", "320921100"],
        "onset": now.isoformat(),
        "expires": (now + timedelta(days=1)).isoformat(),
    }
    wid = await call(session, base, "draft", "forecaster", "/warnings", body, timings)
    for step, user, action in (
        ("submit", "forecaster", "submit"),
        ("review", "duty_chief", "approve"),
        ("sign_off", "leader", "approve"),
        ("issue", "duty_chief", "issue"),
    ):
        await call(session, base, step, user, f"/warnings/{wid}/{action}", None, timings)


async def call(
    session: aiohttp.ClientSession,
    base: str,
    step: str,
    user: str,
    path: str,
    payload: Any,
    timings: dict[str, list[float]],
) -> int:
    started = time.perf_counter()
    async with session.post(
        f"{base}{path}", json=payload, headers={"Authorization": f"Bearer bench-{user}"}
    ) as response:
        data = await response.json()
        if response.status not in (200, 201):
            raise RuntimeError(f"{step}: {response.status} {data}")
    timings.setdefault(step, []).append(time.perf_counter() - started)
    return int(data["id"])


async def run(url: str, count: int, concurrency: int) -> None:
    await prepare(url)
    settings = load_settings(database_url=url)
    server = TestServer(make_app(settings, scheduler=False), host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("/api/v1"))
    timings: dict[str, list[float]] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            queue.get_nowait()
            await cycle(session, base, timings)

    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await server.close()

    backend = url.split(":", 1)[0]
    print(f"backend {backend}, {count} warnings, {concurrency} concurrent clients")
    print(f"  full release cycles: {count / elapsed:.1f}/s ({count * 5 / elapsed:.0f} commands/s)")
    for step, values in timings.items():
        ordered = sorted(values)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        print(
            f"  {step:<9} median {statistics.median(values) * 1000:6.1f} ms"
            f"   p95 {p95 * 1000:6.1f} ms"
        )

    services = build_services(settings)
    started = time.perf_counter()
    async with services.store.read() as tx:
        head = await tx.audit.head()
        entries = [e async for e in tx.audit.all_entries()]
    broken = audit.verify(entries, head)
    verify_s = time.perf_counter() - started
    await services.store.close()
    print(
        f"  audit verify: {len(entries)} entries in {verify_s * 1000:.0f} ms"
        f" ({'intact' if broken is None else broken})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warnings", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(run(url, args.warnings, args.concurrency))


if __name__ == "__main__":
    main()
