"""`ewb broadcast status`: is the broadcast platform answering, and how are the terminals.

Prints the heartbeat link as the scheduler last recorded it (delivery/platform.py: a
ConnectionCheck every `broadcast_heartbeat_seconds`) and the terminals per status, as the
platform's EBRDTState reports left them (off or faulty: offline). Exit status 0 while the
platform answers, 1 once it has missed MISSED_ALERT heartbeats in a row (the console's
live page shows the same alert), so a monitoring script can act on it.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from config.settings import Settings
from delivery.platform import is_down
from ewb.admin import services_for
from subscribers.terminals import STATUSES


async def status(settings: Settings, args: argparse.Namespace) -> int:
    async with services_for(settings) as services, services.store.read() as tx:
        link = await tx.platform.link()
        counts = await tx.terminals.count_by_status()
    tz = settings.tz

    def when(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment else "never"

    down = is_down(link)
    if down:
        print(f"platform: DOWN (no answer to the last {link.missed} heartbeats)")
    elif link.last_beat_at is None:
        print("platform: unknown (no heartbeat sent yet: is `ewb serve` or the scheduler running?)")
    else:
        print(f"platform: up ({link.missed} heartbeats unanswered in a row)")
    print(f"last heartbeat: {when(link.last_beat_at)}; last answer: {when(link.last_answer_at)}")
    listed = ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)
    print(f"terminals: {listed}")
    return 1 if down else 0
