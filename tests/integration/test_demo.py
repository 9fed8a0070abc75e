"""`ewb demo --residents 2000`: the main job end to end, as a newcomer runs it."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest

from config.settings import load_settings
from ewb.bootstrap import build_services
from ewb.demo import CHENJIAGANG, add_demo_users
from ewb.services import Services
from store.users import OfficerRow
from tests.integration.cli import ewb
from tests.support import NOW
from warning.actors import Actor, Role
from web.acks_api import acknowledge_warning
from web.passwords import hash_password

OFFICER = "officer_cjg"
OFFICER_PHONE, OFFICER_WECOM = "+8613852101101", "wx_officer_cjg"


def test_the_demo_warns_the_coastal_towns_and_reports_their_coverage(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path)
    done = ewb(settings, "demo", "--residents", "2000", database=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "2,000 sample residents generated" in out
    assert "duty_chief approved it" in out and "leader approved it" in out
    assert "duty_chief issued it" in out
    assert re.search(r"warning \d+ v1", done.stderr)  # the live progress bar
    for town in ("陈家港镇 (320921101)", "小尖镇 (320921102)", "双港镇 (320921105)"):
        line = next(x for x in out.splitlines() if x.startswith(town))
        assert line.endswith(("ok", "BELOW")), line
    assert re.search(r"county 响水县 +[\d,]+ +[\d,]+ +[\d.]+% +[\d.]+%", out)
    # Some sample residents have no channel or a refused number: the output says where,
    # and what was done about it.
    assert "unreachable" in out and "below target:" in out
    assert "done: gaps.check" in out and "done: gaps.relay_request" in out
    report = Path(out.split("HTML report: ")[1].split()[0])
    assert report.is_file() and report.parent == tmp_path / "reports"
    assert "<svg" in report.read_text(encoding="utf-8")
    assert (tmp_path / "demo.db").is_file()

    # The demo officer of 陈家港镇 has a phone and a WeCom id: the warning reached them on
    # WeCom (the simulator accepted it), and they can acknowledge it.
    wid = int(out.split("drafted warning ")[1].split(":")[0])
    with sqlite3.connect(tmp_path / "demo.db") as db:
        contact = db.execute(
            "SELECT phone, wecom_id FROM users WHERE username = ?", (OFFICER,)
        ).fetchone()
        sent = db.execute(
            "SELECT channel, address, state FROM deliveries"
            " WHERE warning_id = ? AND recipient_kind = 'officer' AND recipient_id = ?",
            (wid, OFFICER),
        ).fetchall()
    assert contact == (OFFICER_PHONE, OFFICER_WECOM)
    assert [(c, a) for c, a, _ in sent] == [("wecom", OFFICER_WECOM)]
    assert sent[0][2] in ("sent", "delivered"), sent
    assert asyncio.run(_acknowledge(tmp_path, wid)) == 1


async def _acknowledge(var_dir: Path, warning_id: int) -> int:
    """The demo officer acknowledges the warning in the demo's database; its version."""
    url = f"sqlite+aiosqlite:///{var_dir / 'demo.db'}"
    services = build_services(load_settings(var_dir=var_dir, database_url=url))
    try:
        officer = Actor(OFFICER, Role.INFO_OFFICER, "county", frozenset({CHENJIAGANG}))
        version, _ = await acknowledge_warning(services, officer, warning_id)
        return version
    finally:
        await services.store.close()


@pytest.mark.parametrize("phone", [None, "+8613912340011"], ids=["no-phone", "phone-set"])
async def test_an_officer_from_an_earlier_demo_gets_the_contact_details_it_lacks(
    services: Services, phone: str | None
) -> None:
    """Created by a demo before officers had contact details: the missing ones are filled
    in, a phone someone set since is kept, and so is the password."""
    async with services.store.write() as tx:
        actor = Actor(OFFICER, Role.INFO_OFFICER, "county", frozenset({CHENJIAGANG}))
        await tx.users.add(actor, hash_password("ewb-officer_cjg"), NOW, phone=phone)
        before = await tx.users.by_username(OFFICER)
    report = await add_demo_users(services.store, NOW)
    assert (OFFICER, "info_officer", "county", CHENJIAGANG, False) in report
    async with services.store.read() as tx:
        officer = await tx.users.officer(OFFICER)
        after = await tx.users.by_username(OFFICER)
    assert officer == OfficerRow(
        OFFICER, "陈家港镇信息员", phone or OFFICER_PHONE, OFFICER_WECOM, frozenset({CHENJIAGANG})
    )
    assert before is not None and after is not None
    assert after.password_hash == before.password_hash

    await add_demo_users(services.store, NOW)  # again: nothing left to fill in, none changed
    async with services.store.read() as tx:
        assert await tx.users.officer(OFFICER) == officer
