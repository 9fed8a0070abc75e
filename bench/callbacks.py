"""Twilio status callbacks at fan-out scale: how fast ewb answers them, and applies them.

Stores N sent SMS deliveries (each with its MessageSid), serves ewb's app on a local port,
and posts one signed `delivered` callback per message with C at once, as Twilio does in a
county fan-out. Prints the answers per second and their latency (p50, p99, max), every
status code seen, and how long until the receipts loop had applied them all (each
delivery `delivered`, counted in the database afterwards).

    .venv/bin/python -m bench.callbacks                          # SQLite and PostgreSQL
    .venv/bin/python -m bench.callbacks --callbacks 50000 --concurrency 400 --databases pg

PostgreSQL: default postgresql+asyncpg://postgres@127.0.0.1/ewb_bench (must exist; its
tables are emptied). SQLite: a file in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import delete, func, insert, select
from twilio.request_validator import RequestValidator

from config import providers
from config.settings import load_settings
from ewb.bootstrap import build_services, make_app
from store import migrate, tables
from store.engine import create_engine

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1/ewb_bench"
STATUS_PATH = "/webhooks/twilio/status"
NOW = datetime.now(UTC)


async def _prepare(url: str, count: int) -> list[str]:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    sids = [f"SM{n:032x}" for n in range(count)]
    async with engine.begin() as conn:
        for table in (tables.provider_callbacks, tables.delivery_events, tables.deliveries):
            await conn.execute(delete(table))
        rows = [
            {
                "warning_id": 1,
                "version": 1,
                "recipient_kind": "resident",
                "recipient_id": str(n),
                "channel": "sms",
                "address": f"+86138{n:08d}",
                "state": "sent",
                "attempts": 1,
                "provider_id": sid,
                "created_at": NOW,
                "updated_at": NOW,
            }
            for n, sid in enumerate(sids)
        ]
        for start in range(0, len(rows), 5000):
            await conn.execute(insert(tables.deliveries), rows[start : start + 5000])
    await engine.dispose()
    return sids


async def _run(url: str, count: int, concurrency: int, var_dir: Path) -> None:
    sids = await _prepare(url, count)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = load_settings(database_url=url, var_dir=var_dir, public_base_url=base)
    runner = web.AppRunner(make_app(settings, scheduler=False))
    await runner.setup()
    await web.SockSite(runner, sock).start()
    validator = RequestValidator(providers.twilio(settings).auth_token)
    latencies: list[float] = []
    answers: Counter[int] = Counter()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for sid in sids:
        queue.put_nowait(sid)

    async def poster(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            sid = queue.get_nowait()
            params = {"MessageSid": sid, "MessageStatus": "delivered", "To": "+8613800000000"}
            signature = validator.compute_signature(base + STATUS_PATH, params)
            started = time.perf_counter()
            headers = {"X-Twilio-Signature": signature}
            async with http.post(base + STATUS_PATH, data=params, headers=headers) as reply:
                answers[reply.status] += 1
            latencies.append(time.perf_counter() - started)

    services = build_services(settings)
    try:
        started = time.perf_counter()
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as http:
            await asyncio.gather(*(poster(http) for _ in range(concurrency)))
        answered = time.perf_counter() - started
        while True:
            async with services.store.read() as tx:
                if await tx.callbacks.waiting() == 0:
                    break
            await asyncio.sleep(0.05)
        applied = time.perf_counter() - started
        async with services.store.read() as tx:
            delivered = (
                await tx.conn.execute(
                    select(func.count())
                    .select_from(tables.deliveries)
                    .where(tables.deliveries.c.state == "delivered")
                )
            ).scalar_one()
    finally:
        await services.store.close()
        await runner.cleanup()
    latencies.sort()
    name = url.split(":", 1)[0]
    print(
        f"{name}: {count:,} callbacks, {concurrency} at once: answered in {answered:.1f} s"
        f" ({count / answered:,.0f}/s; latency p50 {statistics.median(latencies) * 1000:.0f} ms,"
        f" p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms,"
        f" max {latencies[-1] * 1000:.0f} ms); answers {dict(answers)};"
        f" all applied after {applied:.1f} s ({count / applied:,.0f}/s);"
        f" {delivered:,} deliveries delivered"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--callbacks", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--databases", default="sqlite,pg", help="sqlite, pg, or both")
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for which in args.databases.split(","):
            url = args.pg_url if which == "pg" else f"sqlite+aiosqlite:///{tmp}/bench.db"
            asyncio.run(_run(url, args.callbacks, args.concurrency, Path(tmp)))


if __name__ == "__main__":
    main()
