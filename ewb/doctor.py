"""`ewb doctor`: what is misconfigured or unwell, one line per check; exit 1 on a failure.

Checks: the database answers and is migrated; Redis answers (distributed mode); each
channel is live or sandboxed (a sandboxed one that `require_live_channels` names fails);
the public base URL answers (providers call back there); the broadcast platform answers
its heartbeats; terminals offline; this machine's clock against the database server's;
villages without an information officer. A failure says what to do.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from redis.asyncio import Redis
from sqlalchemy import text

from config import providers
from config.settings import CHANNELS, Settings
from delivery.platform import MISSED_ALERT, is_down
from ewb.bootstrap import build_services
from ewb.services import Services
from store import migrate

CHECK_SECONDS = 5.0
CLOCK_TOLERANCE_SECONDS = 2.0  # EBD packages and CAP carry times; receivers compare them


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str
    warn: bool = False  # worth a look, not a failure


Check = Callable[[Settings, Services], Awaitable[Finding]]


async def doctor(settings: Settings, args: argparse.Namespace) -> int:
    services = build_services(settings)
    failed = 0
    try:
        database_ok = True
        for name, check in CHECKS:
            if check in NEED_DATABASE and not database_ok:
                print(f"skip {name}: needs the database", flush=True)
                continue
            finding = await _bounded(check, settings, services)
            if check is _database:
                database_ok = finding.ok
            mark = "ok  " if finding.ok and not finding.warn else ("warn" if finding.ok else "FAIL")
            print(f"{mark} {name}: {finding.text}", flush=True)
            failed += not finding.ok
    finally:
        await services.store.close()
    print(f"{failed} check{'s' if failed != 1 else ''} failed" if failed else "all checks passed")
    return 1 if failed else 0


async def _bounded(check: Check, settings: Settings, services: Services) -> Finding:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            return await check(settings, services)
    except TimeoutError:
        return Finding(False, f"no answer within {CHECK_SECONDS:.0f} s")
    except Exception as e:  # what is unreachable says so in its own words
        first = (str(getattr(e, "orig", None) or e).splitlines() or [""])[0]
        return Finding(False, f"{type(e).__name__}: {first}"[:300])


async def _database(settings: Settings, services: Services) -> Finding:
    current, head = await migrate.status(services.store.engine)
    if current != head:
        return Finding(
            False, f"at schema revision {current or 'none'}, needs {head}: ewb db upgrade"
        )
    return Finding(True, f"{settings.public()['database_url']} at schema revision {current}")


async def _redis(settings: Settings, services: Services) -> Finding:
    if not settings.distributed:
        return Finding(True, "not used (embedded mode: no broker_url)")
    redis = Redis.from_url(settings.broker_url, socket_timeout=CHECK_SECONDS)
    try:
        await redis.ping()
    finally:
        await redis.aclose()
    return Finding(True, f"{settings.public()['broker_url']} answers")


async def _channels(settings: Settings, services: Services) -> Finding:
    sandboxed = providers.sandboxed_channels(settings)
    refused = providers.refused_sandboxes(settings)
    live = [c for c in CHANNELS if c not in sandboxed]
    listed = f"live: {', '.join(live) or 'none'}; sandbox: {', '.join(sandboxed) or 'none'}"
    if refused:
        return Finding(False, f"{listed} (require_live_channels names {', '.join(refused)})")
    return Finding(True, listed, warn=bool(sandboxed))


async def _public_url(settings: Settings, services: Services) -> Finding:
    url = f"{settings.public_base_url.rstrip('/')}/healthz"
    timeout = aiohttp.ClientTimeout(total=CHECK_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as reply:
        if reply.status != 200:
            return Finding(False, f"{url} answered {reply.status}: is this ewb's public address?")
    return Finding(True, f"{url} answers (providers can call back)")


async def _platform(settings: Settings, services: Services) -> Finding:
    async with services.store.read() as tx:
        link = await tx.platform.link()
    if is_down(link):
        return Finding(False, f"DOWN: the last {link.missed} heartbeats went unanswered")
    if link.last_beat_at is None:
        return Finding(
            True, "no heartbeat sent yet (is `ewb serve` or `ewb scheduler` running?)", warn=True
        )
    return Finding(True, f"answers ({link.missed} of {MISSED_ALERT} allowed misses in a row)")


async def _terminals(settings: Settings, services: Services) -> Finding:
    async with services.store.read() as tx:
        counts = await tx.terminals.count_by_status()
    offline = sum(n for status, n in counts.items() if status != "online")
    total = sum(counts.values())
    return Finding(True, f"{offline} of {total} offline", warn=offline > 0)


async def _clock(settings: Settings, services: Services) -> Finding:
    async with services.store.read() as tx:
        raw = (await tx.conn.execute(text("SELECT CURRENT_TIMESTAMP"))).scalar_one()
    here = datetime.now(UTC)
    theirs = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    if theirs.tzinfo is None:
        theirs = theirs.replace(tzinfo=UTC)  # SQLite: UTC without a zone
    offset = (here - theirs).total_seconds()
    line = f"{offset:+.1f} s from the database server's"
    if abs(offset) > CLOCK_TOLERANCE_SECONDS:
        return Finding(False, f"{line}: set up NTP (over {CLOCK_TOLERANCE_SECONDS:.0f} s)")
    return Finding(True, line)


async def _officers(settings: Settings, services: Services) -> Finding:
    async with services.store.read() as tx:
        tree = await tx.areas.tree()
        officers = await tx.users.officers()
    covered = [code for o in officers for code in o.areas]
    villages = [c for c in tree.codes() if tree.level(c) == "village"]
    alone = [c for c in villages if not tree.is_within(c, covered)]
    if not alone:
        return Finding(True, f"every one of {len(villages)} villages has one")
    named = ", ".join(tree.name(c) for c in alone[:5]) + (" …" if len(alone) > 5 else "")
    return Finding(True, f"{len(alone)} of {len(villages)} villages have none: {named}", warn=True)


CHECKS: list[tuple[str, Check]] = [
    ("database", _database),
    ("redis", _redis),
    ("channels", _channels),
    ("public base URL", _public_url),
    ("broadcast platform", _platform),
    ("terminals", _terminals),
    ("clock", _clock),
    ("officers", _officers),
]
NEED_DATABASE = {_platform, _terminals, _clock, _officers}
