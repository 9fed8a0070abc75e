"""Integration fixtures: every test runs once on SQLite and once on PostgreSQL.

Each database is created, migrated and given the Xiangshui areas and the test users once
per session; between tests the warning tables and the audit log are emptied.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, insert, text

from config.data import (
    DIVISIONS_CSV,
    EXTRA_AREAS_CSV,
    POPULATION_SAMPLE_CSV,
    read_csv,
    read_divisions,
)
from config.settings import Settings, load_settings
from ewb.bootstrap import build_services, make_app
from ewb.services import Services
from store import migrate, tables
from store.areas import AreaRepository
from store.engine import create_engine
from store.tables import users as users_table
from store.users import UserRepository
from subscribers.areas import POPULATION_COLUMNS, parse_divisions, parse_population
from tests.support import CHENJIAGANG, COUNTY, NOW
from warning.actors import Actor, Role
from warning.areas import AreaTree
from warning.audit import GENESIS
from web.passwords import hash_password, token_hash

PG_SERVER = os.environ.get("EWB_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
PASSWORD = "ewb-test-password"

# username: (role, organisation, scope)
USERS = {
    "forecaster": (Role.FORECASTER, "weather", COUNTY),
    "forecaster2": (Role.FORECASTER, "weather", COUNTY),
    "duty_chief": (Role.DUTY_CHIEF, "weather", COUNTY),
    "duty_chief2": (Role.DUTY_CHIEF, "weather", COUNTY),
    "leader": (Role.LEADER, "county", COUNTY),
    "forecaster_cjg": (Role.FORECASTER, "weather", CHENJIAGANG),
    "water": (Role.FORECASTER, "water", COUNTY),
    "water_chief": (Role.DUTY_CHIEF, "water", COUNTY),
    "officer": (Role.INFO_OFFICER, "county", CHENJIAGANG),
    "admin": (Role.ADMIN, "county", COUNTY),
}


def token_of(username: str) -> str:
    return f"test-token-{username}"


async def _prepare(url: str) -> None:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    areas, errors = parse_divisions(read_divisions(DIVISIONS_CSV), AreaTree([]))
    assert not errors
    extras, errors = parse_divisions(read_divisions(EXTRA_AREAS_CSV), AreaTree(areas))
    assert not errors
    figures, errors = parse_population(
        read_csv(POPULATION_SAMPLE_CSV, POPULATION_COLUMNS), AreaTree(areas + extras)
    )
    assert not errors
    password_hash = hash_password(PASSWORD)
    forever = datetime(2100, 1, 1, tzinfo=NOW.tzinfo)
    async with engine.begin() as conn:
        await AreaRepository(conn).upsert(areas + extras)
        await AreaRepository(conn).set_population(figures)
        await conn.execute(delete(tables.tokens))
        await conn.execute(delete(users_table))
        users = UserRepository(conn)
        for username, (role, org, scope) in USERS.items():
            actor = Actor(username=username, role=role, org=org, areas=frozenset({scope}))
            user_id = await users.add(actor, password_hash, NOW)
            await users.add_token(user_id, token_hash(token_of(username)), NOW, forever)
    await engine.dispose()


async def _create_pg(name: str) -> None:
    conn = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_pg(name: str) -> None:
    conn = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database with areas and users, on each of the two backends."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "ewb.db"
        url = f"sqlite+aiosqlite:///{path}"
        asyncio.run(_prepare(url))
        yield url
        return
    name = f"ewb_test_{os.getpid()}"
    asyncio.run(_create_pg(name))
    url = f"postgresql+asyncpg://{PG_SERVER.split('://', 1)[1]}/{name}"
    asyncio.run(_prepare(url))
    yield url
    asyncio.run(_drop_pg(name))


async def _reset(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        for table in (
            tables.reach,
            tables.relay_reports,
            tables.delivery_events,
            tables.deliveries,
            tables.delivery_batches,
            tables.resident_groups,
            tables.resident_channels,
            tables.resident_hazard_grades,
            tables.channel_optouts,
            tables.residents,
            tables.terminals,
            tables.approvals,
            tables.warning_versions,
            tables.warnings,
            tables.audit_log,
            tables.outbox,
            tables.sequences,
            tables.login_throttle,
            tables.broadcast_states,
            tables.platform_link,
            tables.provider_callbacks,
        ):
            await conn.execute(delete(table))
        await conn.execute(delete(tables.audit_head))  # a test may have deleted the row
        await conn.execute(insert(tables.audit_head).values(id=1, seq=0, hash=GENESIS))
        # Officers a test created (the session's own users stay).
        await conn.execute(delete(users_table).where(users_table.c.username.not_in(list(USERS))))
    await engine.dispose()


class FakeClock:
    """The services' clock, moved forward by tests that need time to pass."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def settings(database_url: str, tmp_path: Path) -> Settings:
    await _reset(database_url)
    return load_settings(database_url=database_url, var_dir=tmp_path, webhook_grace_seconds=0.3)


@pytest.fixture
async def services(settings: Settings, clock: FakeClock) -> AsyncIterator[Services]:
    """Direct access to the same database, for checks the API does not expose."""
    built = build_services(settings, clock)
    yield built
    await built.store.close()


@dataclass
class Reply:
    status: int
    body: Any


class Api:
    """The HTTP API as a given user sees it."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def call(
        self,
        method: str,
        path: str,
        user: str | None = None,
        json: Any = None,
        data: bytes | None = None,
    ) -> Reply:
        headers = {"Authorization": f"Bearer {token_of(user)}"} if user else {}
        async with self.client.request(
            method, f"/api/v1{path}", headers=headers, json=json, data=data
        ) as response:
            if response.content_type == "application/json":
                body: Any = await response.json()
            else:
                body = await response.read()
            return Reply(response.status, body)

    async def get(self, path: str, user: str = "forecaster") -> Reply:
        return await self.call("GET", path, user)

    async def post(self, path: str, user: str, json: Any = None) -> Reply:
        return await self.call("POST", path, user, json=json)

    async def patch(self, path: str, user: str, json: Any = None) -> Reply:
        return await self.call("PATCH", path, user, json=json)


@pytest.fixture
async def api(aiohttp_client: Any, settings: Settings, clock: FakeClock) -> Api:
    client = await aiohttp_client(make_app(settings, clock, scheduler=False))
    return Api(client)


async def table_snapshot(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a command may change (all but the audit log)."""
    snapshot = {}
    async with services.store.read() as tx:
        for table in (
            tables.warnings,
            tables.warning_versions,
            tables.approvals,
            tables.outbox,
            tables.sequences,
        ):
            rows = await tx.conn.execute(text(f"SELECT * FROM {table.name}"))
            snapshot[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return snapshot
