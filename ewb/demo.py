"""Demo users for `make run`: one per role and organisation, with known passwords."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime

from ewb.services import Services
from store.db import Store, Tx
from subscribers import importer
from subscribers.importer import ImportReport
from subscribers.officers import Officer
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

# Contact details of the demo users who receive warnings: (name, phone, WeCom id). The
# officer gets the warning on WeCom (SMS if that fails), so the demo can show it being
# acknowledged and relayed. Sample values, like config/officers_sample.csv: no real person.
DEMO_CONTACTS = {
    "officer_cjg": ("陈家港镇信息员", "+8613852101101", "wx_officer_cjg"),
}


def demo_password(username: str) -> str:
    return f"ewb-{username}"


async def add_demo_users(store: Store, now: datetime) -> list[tuple[str, str, str, str, bool]]:
    """Create the demo users that do not exist yet; (name, role, org, scope, created) each.

    A demo officer that exists already (from an earlier demo) is given the contact details
    of DEMO_CONTACTS it lacks; the details it has are kept.
    """
    report = []
    for username, role, org, scope in DEMO_USERS:
        contact = DEMO_CONTACTS.get(username)
        async with store.write() as tx:
            exists = await tx.users.by_username(username) is not None
            if not exists:
                actor = Actor(username=username, role=role, org=org, areas=frozenset({scope}))
                name, phone, wecom_id = contact or (None, None, None)
                password_hash = hash_password(demo_password(username))
                await tx.users.add(
                    actor, password_hash, now, name=name, phone=phone, wecom_id=wecom_id
                )
            elif contact is not None:
                await _complete_officer(tx, username, contact, now)
        report.append((username, role.value, org, scope, not exists))
    return report


async def _complete_officer(
    tx: Tx, username: str, contact: tuple[str, str, str], now: datetime
) -> None:
    """Fill in the name, phone and WeCom id the officer lacks; a user of another role is
    left alone."""
    officer = await tx.users.officer(username)
    if officer is None or (officer.name and officer.phone and officer.wecom_id):
        return
    name, phone, wecom_id = contact
    await tx.users.upsert_officer(
        Officer(
            username,
            officer.name or name,
            officer.phone or phone,
            officer.wecom_id or wecom_id,
            officer.areas,
        ),
        now,
    )


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
