"""Sending a set of deliveries: render once per message kind, send per channel, record.

This is the step both run modes share (the fan-out engine cuts deliveries into batches
and calls it): reload the rows, skip those already final, render each distinct message
once, hand the channel's adapter one batch, store every result at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from channels import ebd
from channels.base import Alert, Audio, Batch, Message, Outcome, SendResult
from channels.speech import SpeechError, spoken
from delivery import lanes
from delivery.adapters import Adapters
from delivery.fallback import fall_back
from delivery.ratelimit import Limiter
from delivery.retry import retry_at
from ewb.services import Services
from reach.links import ack_url
from store.db import Tx
from store.deliveries import Delivery
from store.outage import retried
from store.timers import GAP, gap_areas_in, reported_in
from templates.preview import from_settings
from templates.render import TEMPLATE_DIR, Options, Rendered, render
from templates.sms_length import plain
from warning import texts
from warning.model import Mode, Version, Warning
from warning.rules import Rules

log = logging.getLogger("ewb.delivery")
_RNG = random.Random()

Key = tuple[int, int, str]  # warning id, version, channel

# Notices about a warning rather than the warning itself: the line put before an officer's
# reminder, and the message naming to a duty chief the officers who have not acknowledged.
_NOTICES = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    undefined=StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _notice(name: str, **values: Any) -> str:
    return plain(_NOTICES.get_template(f"{name}/zh-CN/default.j2").render(values).strip())


class Renderer:
    """Renders each (version, template, locale, groups) once, whoever it is for."""

    def __init__(self, rules: Rules, options: Options, at: datetime) -> None:
        self.rules, self.options, self.at = rules, options, at
        self._done: dict[tuple[int | None, int, str, str, tuple[str, ...]], Rendered] = {}
        self._warnings: dict[int, Warning] = {}

    def __call__(
        self,
        warning: Warning,
        version: Version,
        template: str,
        locale: str,
        groups: tuple[str, ...],
    ) -> Rendered:
        key = (warning.id, version.number, template, locale, groups)
        if key not in self._done:
            self._done[key] = render(
                warning, version, template, locale, groups, self.rules, self.at, self.options
            )
        return self._done[key]

    async def warning(self, tx: Tx, warning_id: int) -> Warning:
        """The warning (its issued versions never change), read once."""
        if warning_id not in self._warnings:
            self._warnings[warning_id] = (await tx.warnings.get(warning_id)).warning
        return self._warnings[warning_id]

    @property
    def renders(self) -> int:
        return len(self._done)


async def new_renderer(tx: Tx, services: Services, now: datetime) -> Renderer:
    """A renderer for one batch, with the area names as they are now (read again only
    after the area tree changed: Tx.cached_rules)."""
    return Renderer(await tx.cached_rules(), from_settings(services.settings), now)


async def send_deliveries(
    services: Services,
    adapters: Adapters,
    delivery_ids: Iterable[int],
    limiter: Limiter | None = None,
) -> list[SendResult]:
    """Claim the given deliveries that are still pending, send them, store the results."""
    async with services.store.write() as tx:
        pending = [
            d.id for d in await tx.deliveries.many(list(delivery_ids)) if d.state == "pending"
        ]
        claimed = await tx.batches.claim_ids(pending, services.clock())
    return await send_claimed(services, adapters, claimed, limiter)


async def send_claimed(
    services: Services,
    adapters: Adapters,
    delivery_ids: list[int],
    limiter: Limiter | None = None,
    renderer: Renderer | None = None,
    stop: asyncio.Event | None = None,
) -> list[SendResult]:
    """Send deliveries already marked `sending`: render each kind of message once, one
    adapter batch per channel, results (retries, fallbacks) stored per batch. A batch
    passes the same `renderer` for all its chunks (what it rendered, it renders once).
    When `stop` is set (its batch yields to urgent work) while a channel waits for its
    pace, that channel's deliveries go back to pending unsent; set while a resident channel
    sends, the messages it has not started yet go back to pending (no result is returned
    for them)."""
    if not delivery_ids:
        return []
    now = services.clock()
    async with services.store.read() as tx:
        rows = await tx.deliveries.many(delivery_ids)
        groups: dict[Key, list[Delivery]] = defaultdict(list)
        for d in rows:
            groups[(d.warning_id, d.version, d.channel)].append(d)
        if renderer is None:
            renderer = await new_renderer(tx, services, now)
        to_speak = {
            key: await _broadcast_text(tx, key, renderer) for key in groups if key[2] == "broadcast"
        }
    # Speech takes seconds: it is made (or read from its cache) before any transaction opens.
    speech = {key: await _speech(services, key, text) for key, text in to_speak.items()}
    async with services.store.write() as tx:
        batches = [
            (key, batch)
            for key, items in groups.items()
            for batch in await _batches(tx, key, items, renderer, services, now, speech.get(key))
        ]
    by_id = {d.id: d for d in rows}
    urgent = {
        key
        for key, items in groups.items()
        if any(lanes.lane_of(d.recipient_kind) != lanes.RESIDENT for d in items)
    }

    async def send(key: Key, batch: Batch) -> list[SendResult]:
        if limiter is not None and not await _paced(limiter, adapters, batch, stop, key in urgent):
            sent = [SendResult.unsent(m.delivery_id) for m in batch.messages]
        else:
            if stop is not None and key not in urgent:
                batch = replace(batch, stop=stop)  # started messages finish; the rest unsent
            sent = await adapters[batch.channel].send(batch)
        note = speech[key].note if key in speech else None
        if note:  # the package went out text-only: say so in each delivery's `sent` event
            sent = [
                replace(r, detail=note) if r.outcome is Outcome.ACCEPTED and not r.detail else r
                for r in sent
            ]
        await record(services, sent, by_id)
        return [r for r in sent if r.outcome is not Outcome.UNSENT]

    # The channels side by side: each provider at its own pace and concurrency.
    sent = await asyncio.gather(*(send(key, batch) for key, batch in batches))
    return [result for results in sent for result in results]


async def _paced(
    limiter: Limiter, adapters: Adapters, batch: Batch, stop: asyncio.Event | None, urgent: bool
) -> bool:
    """Wait for the channel's pace; False if `stop` is set first (nothing is sent then)."""
    count = 1 if adapters[batch.channel].one_request_per_batch else len(batch.messages)
    pacing = asyncio.ensure_future(limiter.acquire(batch.channel, count, urgent))
    if stop is None:
        await pacing
        return True
    stopping = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({pacing, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (pacing, stopping):
            task.cancel()
    if pacing in done:
        pacing.result()
        return True
    return False


@dataclass(frozen=True)
class Speech:
    """A broadcast version's spoken audio, or why it has none (`note`, for its events)."""

    audio: Audio | None = None
    note: str | None = None


async def _broadcast_text(tx: Tx, key: Key, renderer: Renderer) -> str:
    warning = await renderer.warning(tx, key[0])
    return renderer(warning, warning.version(key[1]), "broadcast", "zh-CN", ()).text


async def _speech(services: Services, key: Key, text: str) -> Speech:
    """The audio of a loudspeaker text when speech is on, made once per version and locale
    and cached under var_dir/speech; on failure the package goes text-only (the platform
    then speaks MsgDesc itself)."""
    settings = services.settings
    if not settings.broadcast_tts:
        return Speech()
    try:
        audio = await spoken(text, settings.var_dir / "speech", settings.broadcast_audio_format)
    except SpeechError as e:
        log.error("no speech for warning %s v%s: %s", key[0], key[1], e)
        return Speech(note=f"text only, no speech: {e}")
    return Speech(audio)


async def record(services: Services, results: list[SendResult], by_id: dict[int, Delivery]) -> None:
    """Store results: retryable ones come back later, a permanent failure moves the
    person to their next channel; nobody left is then on the unreachable list. Messages
    an adapter never started (`unsent`: its batch was stopped) are pending again."""
    tries = 0

    async def once() -> None:
        nonlocal tries
        tries += 1
        async with services.store.write() as tx:
            # A try after a lost connection: its commit may have landed before the loss.
            todo = results if tries == 1 else await _still_sending(tx, results)
            await _record(tx, services, todo, by_id)

    # What a provider accepted is stored through a database restart, never sent again.
    patience = services.settings.record_retry_seconds
    await retried(once, patience, f"recording {len(results)} send results")


async def _still_sending(tx: Tx, results: list[SendResult]) -> list[SendResult]:
    """The results whose deliveries are still `sending` (not yet recorded)."""
    found = await tx.deliveries.many([r.delivery_id for r in results])
    sending = {d.id for d in found if d.state == "sending"}
    return [r for r in results if r.delivery_id in sending]


async def _record(
    tx: Tx, services: Services, results: list[SendResult], by_id: dict[int, Delivery]
) -> None:
    settings = services.settings
    now = services.clock()
    await tx.deliveries.record_accepted([r for r in results if r.outcome is Outcome.ACCEPTED], now)
    unsent = [r.delivery_id for r in results if r.outcome is Outcome.UNSENT]
    if unsent:
        await tx.batches.unclaim(unsent, now)
    for result in results:
        if result.outcome in (Outcome.ACCEPTED, Outcome.UNSENT):
            continue
        delivery = by_id[result.delivery_id]
        retry = None
        if result.outcome is Outcome.RETRYABLE:
            retry = retry_at(
                now,
                await _created(tx, delivery.id),
                delivery.attempts + 1,
                base=settings.retry_base_seconds,
                cap=settings.retry_max_seconds,
                max_age=settings.retry_max_age_seconds,
                rng=_RNG,
                hint=result.retry_after,
            )
        await tx.deliveries.record_result(result, now, retry)
        gave_up = result.outcome is Outcome.PERMANENT or (
            result.outcome is Outcome.RETRYABLE and retry is None
        )
        if gave_up and await fall_back(tx, delivery, now) is None:
            log.info(
                "delivery %s (%s %s) failed; no channel left",
                delivery.id,
                delivery.recipient_kind,
                delivery.channel,
            )


async def _created(tx: Tx, delivery_id: int) -> datetime:
    return (await tx.deliveries.created_at([delivery_id]))[delivery_id]


async def _batches(
    tx: Tx,
    key: Key,
    items: list[Delivery],
    renderer: Renderer,
    services: Services,
    now: datetime,
    speech: Speech | None,
) -> list[Batch]:
    """One adapter batch of these deliveries; loudspeakers: one package per EBM replaced."""
    warning = await renderer.warning(tx, key[0])
    version = warning.version(key[1])
    channel = key[2]
    if channel == "broadcast":
        audio = speech.audio if speech else None
        replaced: dict[str, str] = {}
        if version.number > 1:
            replaced = await tx.deliveries.earlier_provider_ids(
                key[0], version.number, "terminal", [d.recipient_id for d in items]
            )
        by_ebm: dict[str | None, list[Delivery]] = defaultdict(list)
        for d in items:
            by_ebm[replaced.get(d.recipient_id)].append(d)
        reuse = version.is_cancel and services.settings.broadcast_cancel_ebmid == "original"
        return [
            await _broadcast(tx, warning, version, group, renderer, audio, now, related, reuse)
            for related, group in by_ebm.items()
        ]
    profiles = await tx.residents.profiles(
        [int(d.recipient_id) for d in items if d.recipient_kind == "resident"]
    )
    messages = []
    for d in items:
        if d.recipient_kind == "chief":
            messages.append(await _to_chief(tx, d, version, renderer.rules))
            continue
        if d.recipient_kind == GAP:
            messages.append(await _to_gap_officer(tx, d, version, renderer.rules))
            continue
        if d.recipient_kind == "officer":
            template, locale, groups = "officer", "zh-CN", tuple(version.groups)
        else:
            template = channel
            locale, groups = profiles.get(int(d.recipient_id), ("zh-CN", ()))
        out = renderer(warning, version, template, locale, groups)
        text = out.text
        if d.recipient_kind == "officer" and d.repeat >= 1:  # not acknowledged: a reminder
            text = _notice("officer_reminder") + text
        url = ""
        if channel == "wechat" and d.recipient_kind == "resident":  # tap to acknowledge
            url = ack_url(services.settings.public_base_url, d.id, services.link_key)
        messages.append(Message(d.id, d.address, text, out.title, url))
    return [Batch(channel, tuple(messages))]


async def _to_chief(tx: Tx, delivery: Delivery, version: Version, rules: Rules) -> Message:
    """The duty chief's message: the warning, and the officers its `queued` event names
    (reminded, still not acknowledged) with their areas."""
    named: list[str] = []
    for event in await tx.deliveries.events(delivery.id):
        if event.event == "queued" and (named := reported_in(event.detail)):
            break
    officers = []
    for username in named:
        officer = await tx.users.officer(username)
        areas = sorted(officer.areas) if officer else []
        officers.append(
            {
                "name": (officer.name if officer else None) or username,
                "areas": "、".join(_place(code, rules) for code in areas),
            }
        )
    text = _notice("chief", headline=texts.headline(version, rules, "zh-CN"), officers=officers)
    return Message(delivery.id, delivery.address, text)


GAP_LISTED = 10  # unreachable residents named per village in a relay request


async def _to_gap_officer(tx: Tx, delivery: Delivery, version: Version, rules: Rules) -> Message:
    """An officer's relay request: their villages below target (the `queued` event names
    them) with the residents still unreachable at the moment of sending."""
    figures: dict[str, float] = {}
    for event in await tx.deliveries.events(delivery.id):
        if event.event == "queued" and (figures := gap_areas_in(event.detail)):
            break
    areas = []
    for code in sorted(figures):
        people = await tx.progress.unreached(delivery.warning_id, delivery.version, [code])
        areas.append(
            {
                "name": _place(code, rules),
                "estimated": f"{figures[code]:.0%}",
                "residents": [{"name": p.name, "phone": p.phone} for p in people[:GAP_LISTED]],
                "more": max(0, len(people) - GAP_LISTED),
            }
        )
    text = _notice("officer_gaps", headline=texts.headline(version, rules, "zh-CN"), areas=areas)
    return Message(delivery.id, delivery.address, text)


def _place(code: str, rules: Rules) -> str:
    """An area's name, after its town's for a village (村 names repeat across towns)."""
    area = rules.areas.get(code)
    if area is None:
        return code
    if area.level == "village" and area.parent:
        return rules.areas.name(area.parent) + area.name
    return area.name


async def _broadcast(
    tx: Tx,
    warning: Warning,
    version: Version,
    items: list[Delivery],
    renderer: Renderer,
    audio: Audio | None,
    now: datetime,
    related: str | None = None,
    reuse: bool = False,
) -> Batch:
    """One package for these terminals, addressed to their own areas only, naming the EBM
    it replaces or cancels (`related`); a cancel with `reuse` keeps that EBM's EBMID."""
    rules = renderer.rules
    out = renderer(warning, version, "broadcast", "zh-CN", ())
    areas_of = await tx.terminals.areas_of([d.recipient_id for d in items])
    areas = sorted(
        {
            ebd.area_code_12(_division(areas_of[d.recipient_id], rules))
            for d in items
            if d.recipient_id in areas_of
        }
    )
    hazard = rules.catalog.hazard(version.hazard)
    org = rules.catalog.organisation(hazard.org)
    sent = version.issued_at or now
    local_day = sent.astimezone(rules.tz).strftime("%Y%m%d")
    alert = Alert(
        warning_id=warning.id or 0,
        version=version.number,
        event_code=hazard.event_code,
        grade_rank=version.grade.rank,
        sender_name=org.name["zh-CN"],
        sender_code=f"{rules.issuer_area}{org.cap_code}",
        sent=sent,
        start=version.onset,
        end=version.expires,
        cancel=version.is_cancel,
        exercise=version.mode is not Mode.ACTUAL,
        sequence=await tx.next_sequence(f"ebm-{local_day}"),
    )
    messages = tuple(Message(d.id, d.address, out.text, out.title) for d in items)
    return Batch(
        "broadcast",
        messages,
        alert=alert,
        areas=tuple(areas),
        audio=audio,
        sequence=await tx.next_sequence("ebd"),
        related_ebm_id=related,
        ebm_id=related if reuse else None,
    )


def _division(code: str, rules: Rules) -> str:
    """The nearest administrative division of an area (an extra area's parent)."""
    for candidate in rules.areas.ancestors(code):
        if candidate.isdigit():
            return candidate
    return code
