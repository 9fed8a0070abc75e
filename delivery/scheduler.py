"""Timers (APScheduler 3): expiry, release at onset, loudspeaker repeats, reminders of
officers who have not acknowledged, the coverage gap check (reach/gaps.py), and in
distributed mode the sweep that finds lost work.

Jobs only write to the database and wake the senders; anything far in the future lives in
the database and is found by a job, never held in a broker. Embedded: the jobs run inside
`ewb serve`. Distributed: `ewb scheduler` runs them, one active instance at a time
(`single_instance`, a Redis lock that a second instance waits on).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels.broadcast_link import PlatformLink
from config.settings import Settings
from delivery import platform
from delivery.dispatch import Queue, sweep
from delivery.fanout import priority
from ewb.services import Services
from reach.gaps import check_gaps
from store import unit_of_work
from store.db import Tx
from store.timers import Unacknowledged
from subscribers.officers import serves
from templates import approval, preview
from warning import commands
from warning.actors import SYSTEM
from warning.model import State

log = logging.getLogger("ewb.delivery.scheduler")
LOCK = "ewb:scheduler"


class Waker(Protocol):
    def wake(self) -> None:
        """There is new work for the senders."""


async def expire_due(services: Services) -> int:
    """Mark issued versions past their expiry as expired; returns how many warnings changed."""
    now = services.clock()
    async with services.store.read() as tx:
        due = await tx.warnings.ids_with_expired(now)
    for warning_id in due:
        await unit_of_work.change(
            services.store,
            warning_id,
            lambda warning, _actor, _rules, now: commands.expire(warning, now),
            now=now,
            actor=SYSTEM,
            action="expire",
        )
    if due:
        log.info("expired %d warning(s): %s", len(due), due)
    return len(due)


async def release_due(services: Services, waker: Waker) -> int:
    """Issue the versions approved for release whose onset has come; wake the senders."""
    now = services.clock()
    async with services.store.read() as tx:
        due = await tx.warnings.ids_with_release_due(now)
    release = approval.release_checked(preview.from_settings(services.settings))
    for warning_id in due:
        await unit_of_work.change(
            services.store,
            warning_id,
            release,
            now=now,
            actor=SYSTEM,
            action="release",
            needs_sequence=True,
        )
    if due:
        log.info("released %d scheduled warning(s) at their onset: %s", len(due), due)
        waker.wake()
    return len(due)


async def repeat_broadcasts(services: Services, waker: Waker) -> int:
    """Play issued red warnings on the loudspeakers again every `red_repeat_minutes`,
    until they are cancelled, superseded or expired; returns how many repeats started."""
    settings = services.settings
    if not settings.red_repeat_minutes:
        return 0
    now = services.clock()
    async with services.store.read() as tx:
        due = await tx.timers.repeats_due(now - timedelta(minutes=settings.red_repeat_minutes))
    for warning_id, number, repeats in due:
        async with services.store.write() as tx:
            version = (await tx.warnings.get(warning_id)).warning.version(number)
            if version.state is not State.ISSUED:
                continue  # ended since the look
            repeat = repeats + 1
            added = await tx.fanout.add_terminals(
                warning_id, number, version.areas, priority(version, True), now, repeat
            )
            await tx.fanout.queue_events(warning_id, number, now, repeat, "terminal")
            await tx.fanout.make_batches(
                warning_id, number, settings.batch_size, now, repeat, "terminal"
            )
        log.info(
            "red warning %s v%s: loudspeaker repeat %d to %d terminals",
            warning_id,
            number,
            repeat,
            added,
        )
    if due:
        waker.wake()
    return len(due)


async def remind_officers(services: Services, waker: Waker) -> int:
    """Officers who have not acknowledged an issued version (actual or exercise) within
    `officer_ack_minutes` of its sending are reminded once; those who still have not
    within as long again are named to the duty chiefs serving its areas, once per version.
    Returns how many deliveries were added (the runner's due path sends them)."""
    settings = services.settings
    if not settings.officer_ack_minutes:
        return 0
    now = services.clock()
    wait = timedelta(minutes=settings.officer_ack_minutes)
    added = 0
    async with services.store.write() as tx:
        overdue: dict[tuple[int, int], list[Unacknowledged]] = defaultdict(list)
        for officer in await tx.timers.unacknowledged_officers(now - wait):
            if officer.reminded_at is None:
                await tx.timers.add_reminder(officer.latest_first, now)
                added += 1
                log.info(
                    "warning %s v%s: officer %s has not acknowledged it: reminded",
                    officer.warning_id,
                    officer.version,
                    officer.username,
                )
            elif officer.reminded_at <= now - wait:
                overdue[(officer.warning_id, officer.version)].append(officer)
        if overdue:
            added += await _tell_chiefs(tx, overdue, now, settings)
    if added:
        waker.wake()
    return added


async def _tell_chiefs(
    tx: Tx,
    overdue: dict[tuple[int, int], list[Unacknowledged]],
    now: datetime,
    settings: Settings,
) -> int:
    """One message to each duty chief serving the version's areas, naming the overdue
    officers not named to the chiefs before; returns how many were queued."""
    rules = await tx.rules()
    chiefs = await tx.timers.duty_chiefs()
    added = 0
    for (warning_id, number), officers in overdue.items():
        reported = await tx.timers.reported_officers(warning_id, number)
        fresh = [o for o in officers if o.username not in reported]
        if not fresh:
            continue
        names = [o.username for o in fresh]
        version = (await tx.warnings.get(warning_id)).warning.version(number)
        told = []
        for chief in chiefs:
            if not serves(chief.areas, version.areas, rules.areas):
                continue
            channel, address = (
                ("wecom", chief.wecom_id) if chief.wecom_id else ("sms", chief.phone or "")
            )
            await tx.timers.add_chief_message(
                warning_id,
                number,
                chief.username,
                channel,
                address,
                priority(version, True),
                names,
                now,
            )
            told.append(chief.username)
        added += len(told)
        if told:
            log.warning(
                "warning %s v%s: officers %s have not acknowledged it after a reminder;"
                " told duty chiefs %s",
                warning_id,
                number,
                names,
                told,
            )
            continue
        # Nothing records that no chief could be told, so these officers come up on every
        # run: say so on the first run after they became overdue only.
        wait = timedelta(minutes=settings.officer_ack_minutes)
        since = now - timedelta(seconds=settings.timer_seconds)
        if any(o.reminded_at is not None and o.reminded_at + wait > since for o in fresh):
            log.warning(
                "warning %s v%s: officers %s have not acknowledged it after a reminder, and"
                " no duty chief serving its areas has a WeCom id or a phone to be told",
                warning_id,
                number,
                names,
            )
    return added


def _every(
    scheduler: AsyncIOScheduler, job: Callable[[], Awaitable[object]], seconds: float, name: str
) -> None:
    async def run() -> None:
        try:
            await job()
        except Exception:
            log.exception("timer %s failed; it runs again in %s s", name, seconds)

    scheduler.add_job(run, "interval", seconds=seconds, id=name, max_instances=1, coalesce=True)


def build(
    services: Services,
    waker: Waker,
    queue: Queue | None = None,
    link: PlatformLink | None = None,
) -> AsyncIOScheduler:
    """The timers of one process; with a `queue` (distributed mode) also the sweep; with a
    `link` the platform's heartbeat and state requests (delivery/platform.py)."""
    settings = services.settings
    scheduler = AsyncIOScheduler(timezone=settings.timezone)
    _every(scheduler, lambda: expire_due(services), settings.expiry_check_seconds, "expire")
    _every(scheduler, lambda: release_due(services, waker), settings.timer_seconds, "release")
    _every(scheduler, lambda: repeat_broadcasts(services, waker), settings.timer_seconds, "repeat")
    _every(scheduler, lambda: remind_officers(services, waker), settings.timer_seconds, "remind")
    _every(scheduler, lambda: check_gaps(services, waker), settings.timer_seconds, "gaps")
    if queue is not None:
        _every(scheduler, lambda: sweep(services, queue), settings.sweep_seconds, "sweep")
    if link is not None:
        beat, poll = settings.broadcast_heartbeat_seconds, settings.broadcast_state_poll_seconds
        _every(scheduler, lambda: platform.heartbeat(services, link), beat, "heartbeat")
        _every(scheduler, lambda: platform.poll_states(services, link), poll, "states")
    return scheduler


# What an unreachable Redis raises (refused, reset, timed out).
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
BACKOFF_MAX_SECONDS = 30.0


async def single_instance(
    redis: Redis, run: Callable[[], Awaitable[None]], lock_seconds: float
) -> None:
    """Run `run` while holding the scheduler lock; a second instance waits for it.

    The lock lapses `lock_seconds` after its holder dies; the holder renews it every third
    of that. A Redis outage of any length stops nothing: the timers go on (no other
    instance can take the lock from an unreachable Redis either), the renewal is tried
    again, and once Redis answers the lock is renewed, or taken again if it lapsed. Only
    if another instance took it meanwhile does this one stop its timers and wait to take
    over. Waiting for the lock, an outage is retried with back-off (up to 30 s).
    """
    lock = redis.lock(LOCK, timeout=lock_seconds, sleep=min(1.0, lock_seconds / 3))
    while True:
        await _acquire(lock)
        log.info("scheduler lock taken: this instance runs the timers")
        work = asyncio.create_task(run())
        try:
            if await _hold(lock, work, lock_seconds):
                await work
                return
        finally:
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            with contextlib.suppress(LockError, *REDIS_DOWN):  # lapsed, or Redis away
                await lock.release()
        log.error("the scheduler lock was lost to another instance: waiting to take over")


async def _acquire(lock: Lock) -> None:
    """Until this instance holds the lock, through any Redis outage."""
    delay, told = 1.0, False
    while True:
        try:
            if await lock.acquire(blocking=False):
                return
            if not told:
                log.warning("another ewb scheduler holds the lock: waiting to take over")
                told = True
            await asyncio.sleep(lock.sleep)
            delay = 1.0
        except REDIS_DOWN as e:
            log.warning("Redis unreachable (%s): trying again in %.0f s", e, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_SECONDS)


async def _hold(lock: Lock, work: asyncio.Task[None], lock_seconds: float) -> bool:
    """Renew the lock while `work` runs: True once it is done, False if the lock was lost."""
    away = False
    while not work.done():
        await asyncio.wait({work}, timeout=lock_seconds / 3)
        if work.done():
            break
        outcome = await _renew(lock)
        if outcome == "lost":
            return False
        if outcome == "down":
            if not away:
                log.warning("Redis unreachable: the timers go on; renewing the lock again")
            away = True
        elif away or outcome == "taken again":
            log.warning("Redis reachable again: scheduler lock %s", outcome)
            away = False
    return True


async def _renew(lock: Lock) -> str:
    """ "renewed", "taken again" (it lapsed while Redis was away), "lost" or "down"."""
    try:
        try:
            await lock.reacquire()
            return "renewed"
        except LockError:  # lapsed: a restarted Redis forgot it, or the outage outlasted it
            return "taken again" if await lock.acquire(blocking=False) else "lost"
    except REDIS_DOWN:
        return "down"
