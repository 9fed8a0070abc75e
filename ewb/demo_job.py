"""`ewb demo`: the main job end to end, on the embedded default, against the simulators.

Seeds the Xiangshui areas, sample terminals, officers, demo users and N sample residents
into a database of its own (`var/demo.db` unless `--database-url`), then through the HTTP
API: a forecaster drafts a red typhoon warning for the three coastal towns, the duty chief
and the leader approve it, the duty chief issues it. The fan-out runs in this process
(the embedded runner) against the three simulators, shown as a live progress bar; then
the gap check runs at once (the timer would wait `gap_check_minutes`), and the coverage
per town against 95 % is printed with the path of the HTML report.

Providers are always the simulators here: real credentials in the settings are ignored,
and so are the providers' rate limits.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from config.data import (
    DIVISIONS_CSV,
    EXTRA_AREAS_CSV,
    OFFICERS_SAMPLE_CSV,
    POPULATION_SAMPLE_CSV,
    TERMINALS_SAMPLE_CSV,
)
from config.settings import Settings, load_settings
from ewb import people, report, watch
from ewb.admin import AdminError
from ewb.bootstrap import build_services, make_app
from ewb.demo import add_demo_users, add_sample_residents, demo_password
from reach import html
from reach.gaps import check_version
from reach.report import build
from sim.run import simulators
from store import migrate
from store.engine import create_engine
from warning import texts
from web.keys import RUNNER

COASTAL = ["320921101", "320921102", "320921105"]  # 陈家港镇, 小尖镇, 双港镇
SETTLE_SECONDS = 2.0  # callbacks (SMS delivered, loudspeaker played) have stopped arriving
SETTLE_LIMIT = 60.0
LISTED_GAPS = 15  # villages below target and actions printed; the report has all


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_settings(settings: Settings, database_url: str | None) -> Settings:
    """The settings with the simulators as providers on free ports, embedded mode."""
    app_port = _free_port()
    return load_settings(
        var_dir=settings.var_dir,
        database_url=database_url or f"sqlite+aiosqlite:///{settings.var_dir / 'demo.db'}",
        broker_url="",
        public_base_url=f"http://127.0.0.1:{app_port}",
        twilio_account_sid="",
        twilio_auth_token="",
        wechat_appid="",
        wechat_secret="",
        wecom_corpid="",
        wecom_secret="",
        broadcast_url="",
        sim_twilio_port=_free_port(),
        sim_wechat_port=_free_port(),
        sim_broadcast_port=_free_port(),
        gap_check_minutes=0,  # the demo checks at once, below
        # The simulators take whatever comes: the providers' limits (SMS 50/s, one
        # broadcast package a second) would only make the demo wait.
        rate_limits={"sms": 1e6, "wechat": 1e6, "wecom": 1e6, "broadcast": 1e6},
        log_level="WARNING",
    )


async def _seed(settings: Settings, residents: int) -> None:
    engine = create_engine(settings.db_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    services = build_services(settings)
    try:
        async with services.store.read() as tx:
            empty = await tx.areas.count() == 0
        if empty:
            for run, path in (
                (people.areas_load, DIVISIONS_CSV),
                (people.areas_load, EXTRA_AREAS_CSV),
                (people.areas_population, POPULATION_SAMPLE_CSV),
                (people.terminals_load, TERMINALS_SAMPLE_CSV),
                (people.officers_load, OFFICERS_SAMPLE_CSV),
            ):
                if await run(settings, argparse.Namespace(csv=path)) != 0:
                    raise AdminError(f"could not load {path}")
        await add_demo_users(services.store, services.clock())
        imported = await add_sample_residents(services, residents)
        if imported is not None:
            print(f"{imported.inserted:,} sample residents generated (not real people)")
    finally:
        await services.store.close()


@asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[web.Application]:
    """ewb (API, webhooks, runner, timers) and the three simulators, in this process."""
    app = make_app(settings)
    runner = web.AppRunner(app)
    port = int(settings.public_base_url.rsplit(":", 1)[1])
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(simulators(settings))
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield app


class _Api:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base, self.tokens = http, f"{base}/api/v1", {}  # type: ignore[var-annotated]

    async def call(self, user: str, method: str, path: str, body: Any = None) -> Any:
        if user not in self.tokens:
            auth = {"username": user, "password": demo_password(user)}
            async with self.http.post(f"{self.base}/auth/token", json=auth) as answer:
                self.tokens[user] = (await answer.json())["token"]
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        async with self.http.request(
            method, self.base + path, json=body, headers=headers
        ) as answer:
            found = await answer.json()
            if answer.status >= 400:
                raise AdminError(f"{method} {path} as {user}: {found.get('message')}")
            return found


async def _release(api: _Api, now: Any) -> int:
    body = {
        "hazard": "typhoon",
        "grade": "red",
        "areas": COASTAL,
        "onset": (now + timedelta(minutes=30)).isoformat(),
        "expires": (now + timedelta(hours=24)).isoformat(),
    }
    warning = await api.call("forecaster", "POST", "/warnings", body)
    wid = warning["id"]
    print(f"forecaster drafted warning {wid}: {warning['headline']['zh-CN']}")
    await api.call("forecaster", "POST", f"/warnings/{wid}/submit")
    for approver in ("duty_chief", "leader"):
        await api.call(approver, "POST", f"/warnings/{wid}/approve")
        print(f"{approver} approved it")
    await api.call("duty_chief", "POST", f"/warnings/{wid}/issue")
    print("duty_chief issued it")
    return int(wid)


async def _settle(settings: Settings, warning_id: int) -> None:
    """Wait until no more reach arrives (callbacks come after the sends)."""
    services = build_services(settings)
    loop = asyncio.get_running_loop()
    try:
        last, quiet_since, started = -1, loop.time(), loop.time()
        while loop.time() - started < SETTLE_LIMIT:
            async with services.store.read() as tx:
                progress = await tx.progress.progress(warning_id, 1, services.clock())
                counted = sum(b.reached for b in await tx.reach.by_channel(warning_id, 1))
            if progress.open == 0 and counted == last:
                if loop.time() - quiet_since >= SETTLE_SECONDS:
                    return
            else:
                last, quiet_since = counted, loop.time()
            await asyncio.sleep(0.5)
    finally:
        await services.store.close()


async def run(settings: Settings, args: argparse.Namespace) -> int:
    wired = demo_settings(settings, args.database_url)
    print(f"ewb demo: database {wired.public()['database_url']}; providers: the simulators")
    await _seed(wired, args.residents)
    async with _running(wired) as app, aiohttp.ClientSession() as http:
        api = _Api(http, wired.public_base_url)
        services = build_services(wired)
        try:
            wid = await _release(api, services.clock())
            follow = argparse.Namespace(warning_id=wid, version=1, interval=0.5, json=False)
            await watch.watch(wired, follow)
            await _settle(wired, wid)
            await check_version(services, app[RUNNER], wid, 1)
            await _settle(wired, wid)
            await _summary(wired, services, wid, args.html)
        finally:
            await services.store.close()
    return 0


async def _summary(settings: Settings, services: Any, warning_id: int, path: Path | None) -> None:
    async with services.store.read() as tx:
        warning = (await tx.warnings.get(warning_id)).warning
        version = warning.version(1)
        tree = await tx.areas.tree()
        rules = await tx.rules()
        found = await build(tx, warning, version, tree, services.clock())
        gaps = await html.gap_views(tx, found, tree)
        actions = [
            e for e in await tx.audit.entries(warning_id=warning_id) if e.action.startswith("gaps.")
        ]
    print()
    print(report.table(found))
    for gap in gaps[:LISTED_GAPS]:
        print(
            f"  below target: {gap.area.name} ({gap.town_name}) {gap.area.estimated:.1%},"
            f" {gap.area.unreachable:,} unreachable; officers: {', '.join(gap.officers) or 'none'}"
        )
    if len(gaps) > LISTED_GAPS:
        print(f"  … and {len(gaps) - LISTED_GAPS} more villages below target (see the report)")
    for entry in actions[:LISTED_GAPS]:
        print(f"  done: {entry.action} {dict(entry.details)}")
    if len(actions) > LISTED_GAPS:
        print(f"  … and {len(actions) - LISTED_GAPS} more actions (GET /api/v1/audit)")
    target = path or settings.var_dir / "reports" / f"coverage-{warning_id}.html"
    title = texts.headline(version, rules, "zh-CN")
    print(f"HTML report: {report.write(target, html.render(found, title, gaps, settings.tz))}")
