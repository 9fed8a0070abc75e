"""Demo users for `make run`: one per role and organisation, with known passwords."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime

from ewb.services import Services
from store.db import Store
from subscribers import importer
from subscribers.importer import ImportReport
from subscribers.sample import HEADER, sample_rows
from warning.actors import Actor, Role
from web.passwords import hash_password

COUNTY = "320921"
CHENJIAGANG = "320921101"  # 陈家港镇, the coastal town with the chemical park

# (username, role, organisation, area scope)
DEMO_USERS = [
    ("forecaster", Role.FORECASTER, "weather", COUNTY),
    ("duty_chief", Role.DUTY_CHIEF, "weather", COUNTY),
    ("duty_chief2", Role.DUTY_CHIEF, "weather", COUNTY),
    ("leader", Role.LEADER, "county", COUNTY),
    ("forecaster_cjg", Role.FORECASTER, "weather", CHENJIAGANG),
    ("water", Role.FORECASTER, "water", COUNTY),
    ("water_chief", Role.DUTY_CHIEF, "water", COUNTY),
    ("ocean", Role.FORECASTER, "ocean", COUNTY),
    ("ocean_chief", Role.DUTY_CHIEF, "ocean", COUNTY),
    ("officer_cjg", Role.INFO_OFFICER, "county", CHENJIAGANG),
    ("admin", Role.ADMIN, "county", COUNTY),
]


def demo_password(username: str) -> str:
    return f"ewb-{username}"


async def add_demo_users(store: Store, now: datetime) -> list[tuple[str, str, str, str, bool]]:
    """Create the demo users that do not exist yet; (name, role, org, scope, created) each."""
    report = []
    for username, role, org, scope in DEMO_USERS:
        async with store.write() as tx:
            exists = await tx.users.by_username(username) is not None
            if not exists:
                actor = Actor(username=username, role=role, org=org, areas=frozenset({scope}))
                await tx.users.add(actor, hash_password(demo_password(username)), now)
        report.append((username, role.value, org, scope, not exists))
    return report


async def add_sample_residents(services: Services, count: int) -> ImportReport | None:
    """Import `count` generated residents, unless the database holds residents already."""
    async with services.store.read() as tx:
        if await tx.residents.count() > 0:
            return None
        villages = [
            (f.code, f.population) for f in await tx.areas.figures() if f.level == "village"
        ]
    lines = io.StringIO()
    writer = csv.writer(lines)
    writer.writerow(HEADER)
    writer.writerows(sample_rows(villages, count))

    async def chunks() -> AsyncIterator[bytes]:
        yield lines.getvalue().encode("utf-8")

    known = await importer.known_for(services.store, services.catalog)
    return await importer.import_residents(
        chunks(), known, importer.StoreWriter(services.store, services.clock())
    )
