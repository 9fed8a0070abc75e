"""A permanent failure moves the person to their next channel, if they have one."""

from __future__ import annotations

from datetime import datetime

from store.db import Tx
from store.deliveries import Delivery
from subscribers import channels

ADDRESS = {"sms": "phone", "wechat": "wechat_openid"}
OFFICER_ORDER = ("wecom", "sms")


async def next_channel(tx: Tx, failed: Delivery) -> tuple[str, str] | None:
    """(channel, address) not yet tried for this person and version, in their order."""
    tried = await tx.deliveries.channels_tried(
        failed.warning_id, failed.version, failed.recipient_kind, failed.recipient_id
    )
    if failed.recipient_kind == "resident":
        if not failed.recipient_id.isdigit():
            return None  # not one of our residents (recipient ids are their row ids)
        stored = await tx.residents.get(int(failed.recipient_id))
        if stored is None:
            return None
        person = stored.resident
        for channel in person.channels:
            address = getattr(person, ADDRESS[channel], None)
            spec = channels.BY_ID.get(channel)
            if (
                channel not in tried
                and address
                and spec is not None
                and channel not in stored.opted_out
            ):
                return channel, address
        return None
    if failed.recipient_kind == "officer":
        officer = await tx.users.officer(failed.recipient_id)
        if officer is None:
            return None
        addresses = {"wecom": officer.wecom_id, "sms": officer.phone}
        for channel in OFFICER_ORDER:
            if channel not in tried and addresses[channel]:
                return channel, str(addresses[channel])
    return None


async def fall_back(tx: Tx, failed: Delivery, now: datetime) -> int | None:
    """Queue the person's next channel after a failure; None when nothing is left."""
    following = await next_channel(tx, failed)
    if following is None:
        return None
    return await tx.deliveries.add_fallback(failed, *following, failed.priority, now)
