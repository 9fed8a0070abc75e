"""Sandbox mode end to end: render → adapter → simulator → signed callback → events.

One resident (SMS), one information officer (WeCom) and one loudspeaker terminal get a
red typhoon warning through the real adapters, the three simulators over HTTP, and the
callbacks the simulators sign and post back to a running ewb.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from config.settings import Settings, load_settings
from delivery.adapters import build_adapters
from delivery.send import send_deliveries
from ewb.bootstrap import build_services, make_app
from ewb.services import Services
from sim import twilio, wechat
from sim.broadcast import PACKAGES
from sim.run import simulators
from subscribers.residents import Resident
from subscribers.terminals import Terminal
from tests.integration.conftest import FakeClock, token_of
from tests.integration.servers import bound_socket, serve
from tests.support import TZ
from warning.grades import Grade

VILLAGE = "320921101001"  # a village of 陈家港镇
PHONE = "+8613912345678"
ENDPOINT = "33209211010010314010000"


async def issue_red_typhoon(http: aiohttp.ClientSession, api: str, now: datetime) -> int:
    async def call(user: str, path: str, body: Any = None) -> dict[str, Any]:
        async with http.post(
            f"{api}{path}", json=body, headers={"Authorization": f"Bearer {token_of(user)}"}
        ) as reply:
            data: dict[str, Any] = await reply.json()
            assert reply.status in (200, 201), data
            return data

    created = await call(
        "forecaster",
        "/warnings",
        {
            "hazard": "typhoon",
            "grade": "red",
            "areas": ["320921101"],
            "groups": ["fisherman"],
            "onset": now.isoformat(),
            "expires": (now + timedelta(hours=12)).isoformat(),
        },
    )
    wid = int(created["id"])
    for user, action in (
        ("forecaster", "submit"),
        ("duty_chief", "approve"),
        ("leader", "approve"),
        ("duty_chief", "issue"),
    ):
        await call(user, f"/warnings/{wid}/{action}")
    return wid


async def states(services: Services, ids: dict[str, int]) -> dict[str, str]:
    async with services.store.read() as tx:
        found = {name: await tx.deliveries.get(i) for name, i in ids.items()}
    return {name: d.state for name, d in found.items() if d is not None}


async def test_one_resident_one_officer_and_one_terminal_are_reached(settings: Settings) -> None:
    app_sock = bound_socket()
    sims = {name: bound_socket() for name in ("twilio", "wechat", "broadcast")}
    now = datetime.now(TZ).replace(microsecond=0)
    wired = load_settings(
        database_url=settings.database_url,
        var_dir=settings.var_dir,
        public_base_url=f"http://127.0.0.1:{app_sock.getsockname()[1]}",
        sim_twilio_port=sims["twilio"].getsockname()[1],
        sim_wechat_port=sims["wechat"].getsockname()[1],
        sim_broadcast_port=sims["broadcast"].getsockname()[1],
        webhook_grace_seconds=2,
    )
    clock = FakeClock(now)  # the simulators sign acks with the real time
    services = build_services(wired, clock)
    try:
        await reach_all_three(wired, services, clock, now, app_sock, sims)
    finally:
        await services.store.close()


async def reach_all_three(
    wired: Settings,
    services: Services,
    clock: FakeClock,
    now: datetime,
    app_sock: socket.socket,
    sims: dict[str, socket.socket],
) -> None:
    async with (
        serve(make_app(wired, clock, scheduler=False), app_sock),
        simulators(wired, terminals=[(ENDPOINT, "320921101001", True)], sockets=sims) as apps,
        aiohttp.ClientSession() as http,
    ):
        wid = await issue_red_typhoon(http, f"{wired.public_base_url}/api/v1", now)
        async with services.store.write() as tx:
            await tx.residents.upsert_many(
                [
                    Resident(
                        "SANDBOX-1",
                        "张建国",
                        PHONE,
                        None,
                        "zh-CN",
                        VILLAGE,
                        ("fisherman",),
                        ("sms", "wechat"),
                        Grade.BLUE,
                        False,
                    )
                ],
                now,
            )
            resident = await tx.residents.by_external_id("SANDBOX-1")
            assert resident is not None
            await tx.terminals.upsert(
                [Terminal("T-SANDBOX", "东园大喇叭", VILLAGE, ENDPOINT, None, "online")]
            )
            common = {"warning_id": wid, "version": 1, "now": now}
            ids = {
                "resident": await tx.deliveries.add(
                    recipient_kind="resident",
                    recipient_id=str(resident.id),
                    channel="sms",
                    address=PHONE,
                    **common,
                ),
                "officer": await tx.deliveries.add(
                    recipient_kind="officer",
                    recipient_id="officer",
                    channel="wecom",
                    address="officer_cjg_wecom",
                    **common,
                ),
                "terminal": await tx.deliveries.add(
                    recipient_kind="terminal",
                    recipient_id="T-SANDBOX",
                    channel="broadcast",
                    address=ENDPOINT,
                    **common,
                ),
            }

        adapters = build_adapters(wired, clock)
        try:
            results = await send_deliveries(services, adapters, ids.values())
        finally:
            await adapters.close()
        assert [r.outcome.value for r in results] == ["accepted"] * 3, results

        expected = {"resident": "delivered", "officer": "sent", "terminal": "delivered"}
        for _ in range(200):  # the callbacks arrive on their own; poll the database for them
            if await states(services, ids) == expected:
                break
            await asyncio.sleep(0.1)
        assert await states(services, ids) == expected

        sms = apps["twilio"][twilio.SENT]
        assert len(sms) == 1 and sms[0].to == PHONE
        assert sms[0].body.startswith("【响水县气象台】台风红色预警信号")
        assert "立即回港避风" in sms[0].body  # the fisherman's own instruction
        wecom = apps["wechat"][wechat.SIM].received
        assert len(wecom) == 1 and "灾害信息员" in str(wecom[0])
        [package] = apps["broadcast"][PACKAGES]
        assert package.result_code == 1 and package.package is not None
        assert package.package.ebm is not None
        assert package.package.ebm.desc.startswith("台风预警，台风预警。")
        assert package.package.ebm.area_codes == ("320921101001",)

        async with services.store.read() as tx:
            events = {
                name: [e.event for e in await tx.deliveries.events(i)] for name, i in ids.items()
            }
        assert events["resident"] == ["queued", "sent", "sent", "delivered"]
        assert events["officer"] == ["queued", "sent"]
        # The simulator's JSON ack is a note; its EBMStateResponse plays the terminal.
        assert events["terminal"] == ["queued", "sent", "terminal-ack", "played"]
