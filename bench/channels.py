"""Adapter throughput against the local simulators, and rendering speed.

Sends N SMS through the real twilio client to the Twilio simulator, N WeChat template
messages and N WeCom messages (batched 1,000 a call) to the WeChat simulator, and one
broadcast package per 200 terminals to the broadcast simulator; renders every channel ×
locale of a red typhoon warning many times. Prints figures:

    .venv/bin/python -m bench.channels --messages 2000
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta

import aiohttp

from channels.base import Alert, Batch, Message
from channels.broadcast import BroadcastAdapter
from channels.sms import SmsAdapter
from channels.wechat import WechatAdapter, WecomAdapter
from config import providers
from config.data import DIVISIONS_CSV, read_divisions
from config.settings import load_settings
from sim.run import simulators
from subscribers.areas import parse_divisions
from templates.render import CHANNELS, Options, render
from warning import commands
from warning.actors import Actor, Role
from warning.areas import AreaTree
from warning.catalog import LOCALES


def _sockets() -> dict[str, socket.socket]:
    out = {}
    for name in ("twilio", "wechat", "broadcast"):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        out[name] = sock
    return out


async def _timed(label: str, count: int, unit: str, work: object) -> None:
    started = time.perf_counter()
    results = await work  # type: ignore[misc]
    elapsed = time.perf_counter() - started
    accepted = sum(1 for r in results if r.outcome.value == "accepted")
    print(
        f"  {label}: {count:,} {unit} in {elapsed:.2f} s = {count / elapsed:,.0f}/s"
        f" ({accepted:,} accepted)"
    )


async def adapters(count: int) -> None:
    sockets = _sockets()
    settings = load_settings(
        sim_twilio_port=sockets["twilio"].getsockname()[1],
        sim_wechat_port=sockets["wechat"].getsockname()[1],
        sim_broadcast_port=sockets["broadcast"].getsockname()[1],
        public_base_url="http://127.0.0.1:9",  # callbacks are not the point here
    )
    now = datetime.now(UTC)
    async with (
        simulators(settings, sockets=sockets, terminals=[]),
        aiohttp.ClientSession() as session,
    ):
        sms = SmsAdapter(providers.twilio(settings), concurrency=50)
        texts = [
            Message(n, f"+86139{n:08d}", "【响水县气象台】台风红色预警信号：请立即回港避风。")
            for n in range(count)
        ]
        await _timed(
            "SMS via twilio client", count, "messages", sms.send(Batch("sms", tuple(texts)))
        )
        await sms.close()
        wechat = WechatAdapter(providers.wechat(settings), session)
        openids = [
            Message(n, f"oBench{n:022d}", "台风红色预警：请立即回港避风。", "台风红色预警")
            for n in range(count)
        ]
        await _timed(
            "WeChat template messages",
            count,
            "messages",
            wechat.send(Batch("wechat", tuple(openids))),
        )
        wecom = WecomAdapter(providers.wecom(settings), session)
        officers = [Message(n, f"officer_{n}", "请立即通知辖区群众。") for n in range(count)]
        await _timed(
            "WeCom (1,000 users a call)",
            count,
            "messages",
            wecom.send(Batch("wecom", tuple(officers))),
        )
        broadcast = BroadcastAdapter(providers.broadcast(settings), session, lambda: now)
        alert = Alert(
            1, 1, "11B01", 4, "响水县气象台", "32092141600000", now, now, now + timedelta(hours=12)
        )
        packages = max(count // 200, 1)
        accepted = 0
        started = time.perf_counter()
        for n in range(packages):
            terminals = tuple(
                Message(
                    i,
                    f"3320921101{i:03d}0314010000",
                    "台风预警，台风预警。",
                    "响水县气象台发布台风红色预警信号",
                )
                for i in range(200)
            )
            results = await broadcast.send(
                Batch("broadcast", terminals, alert=alert, areas=("320921101000",), sequence=n + 1)
            )
            accepted += sum(1 for r in results if r.outcome.value == "accepted")
        elapsed = time.perf_counter() - started
        print(
            f"  broadcast packages (200 terminals each): {packages} in {elapsed:.2f} s"
            f" = {packages / elapsed:,.1f}/s ({accepted:,} terminal messages accepted)"
        )


def render_speed(rounds: int) -> None:
    from config.data import load_catalog, load_policy
    from warning.rules import Rules

    settings = load_settings()
    areas, _ = parse_divisions(read_divisions(DIVISIONS_CSV), AreaTree([]))
    rules = Rules(
        load_catalog(settings), load_policy(settings), AreaTree(areas), "320921", settings.tz
    )
    now = datetime.now(settings.tz)
    raw = {
        "hazard": "typhoon",
        "grade": "red",
        "areas": ["320921101", "320921100"],
        "groups": ["fisherman"],
        "onset": now.isoformat(),
        "expires": (now + timedelta(hours=12)).isoformat(),
    }
    warning, _ = commands.draft(
        raw, Actor("bench", Role.FORECASTER, "weather", frozenset({"320921"})), rules, now
    )
    options = Options(broadcast_repeats={"red": 3})
    started = time.perf_counter()
    for _ in range(rounds):
        for channel in CHANNELS:
            for locale in LOCALES:
                render(
                    warning, warning.latest, channel, locale, ("fisherman",), rules, now, options
                )
    count = rounds * len(CHANNELS) * len(LOCALES)
    elapsed = time.perf_counter() - started
    print(
        f"  rendering: {count:,} messages in {elapsed:.2f} s = {count / elapsed:,.0f}/s"
        " (each rendered once per version, channel, locale and group set, never per person)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--renders", type=int, default=200)
    args = parser.parse_args()
    print("channel adapters against the local simulators (one process, 2 cores)")
    asyncio.run(adapters(args.messages))
    render_speed(args.renders)


if __name__ == "__main__":
    main()
