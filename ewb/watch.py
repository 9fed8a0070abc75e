"""`ewb watch WARNING_ID`: a warning's fan-out as a live progress bar, read from the database."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from tqdm import tqdm

from config.settings import Settings
from delivery.progress import report
from ewb.admin import AdminError, services_for
from ewb.services import Services
from warning.errors import NotFound
from warning.model import Version


async def _version(services: Services, warning_id: int, number: int | None) -> Version:
    """The version asked for, or else the latest issued one."""
    async with services.store.read() as tx:
        try:
            warning = (await tx.warnings.get(warning_id)).warning
        except NotFound as e:
            raise AdminError(str(e)) from e
    if number is not None:
        if not 1 <= number <= len(warning.versions):
            raise AdminError(f"warning {warning_id} has no version {number}")
        chosen = warning.version(number)
    else:
        issued = [v for v in warning.versions if v.was_issued]
        if not issued:
            raise AdminError(f"warning {warning_id} has not been issued: nothing is sent yet")
        chosen = issued[-1]
    if not chosen.was_issued:
        raise AdminError(f"version {number} of warning {warning_id} was never issued")
    return chosen


async def _read(services: Services, warning_id: int, version: int) -> dict[str, object]:
    async with services.store.read() as tx:
        found = await tx.progress.progress(warning_id, version, services.clock())
    return report(warning_id, version, found)


def _postfix(now: dict[str, object]) -> str:
    by_channel = now["by_channel"]
    assert isinstance(by_channel, dict)
    parts = [
        f"{channel} {sum(n for s, n in states.items() if s in ('sent', 'delivered')):,}"
        for channel, states in sorted(by_channel.items())
        if channel != "none"
    ]
    parts.append(f"unreachable {now['unreachable']:,}")
    if now["resent_after_crash"]:
        parts.append(f"resent after crash {now['resent_after_crash']:,}")
    return ", ".join(parts)


def summary(now: dict[str, object]) -> str:
    by_state = now["by_state"]
    assert isinstance(by_state, dict)
    states = ", ".join(f"{n:,} {state}" for state, n in sorted(by_state.items()))
    line = (
        f"warning {now['warning_id']} version {now['version']}:"
        f" {now['total']:,} deliveries: {states or 'none'}"
    )
    if now["resent_after_crash"]:
        line += f"; {now['resent_after_crash']:,} resent after a crash"
    return line


async def watch(settings: Settings, args: argparse.Namespace) -> int:
    """Poll the progress until the version is done; a newer issued version is followed."""
    async with services_for(settings) as services:
        version = (await _version(services, args.warning_id, args.version)).number
        bar: tqdm | None = None  # type: ignore[type-arg]
        try:
            while True:
                now = await _read(services, args.warning_id, version)
                if args.json:
                    print(json.dumps(now, ensure_ascii=False), flush=True)
                else:
                    total, left = now["total"], now["open"]
                    assert isinstance(total, int) and isinstance(left, int)
                    if bar is None:
                        bar = tqdm(
                            desc=f"warning {args.warning_id} v{version}",
                            unit="msg",
                            file=sys.stderr,
                            dynamic_ncols=True,
                        )
                    bar.total = total
                    bar.n = total - left
                    bar.set_postfix_str(_postfix(now), refresh=False)
                    bar.refresh()
                if now["done"]:
                    if args.version is None:
                        newest = (await _version(services, args.warning_id, None)).number
                        if newest != version:
                            if bar is not None:
                                bar.close()
                                bar = None
                            print(f"version {version} was superseded by version {newest}")
                            version = newest
                            continue
                    break
                await asyncio.sleep(args.interval)
        finally:
            if bar is not None:
                bar.close()
    if not args.json:
        print(summary(now))
    return 0
