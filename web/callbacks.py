"""The broadcast ack webhook: waiting briefly for a package's send result to be stored (the
Twilio status callbacks wait durably instead: web/intake.py, delivery/receipts.py)."""

from __future__ import annotations

import asyncio

from store.db import Store

STEP = 0.1


async def provider_id_arrives(store: Store, provider_id: str, grace: float) -> bool:
    """True once a delivery carries `provider_id`, waiting up to `grace` seconds.

    A provider may call back before the batch that sent the message has stored the
    results (Twilio does not retry callbacks): waiting a moment keeps that callback.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while True:
        async with store.read() as tx:
            if await tx.deliveries.provider_id_known(provider_id):
                return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(STEP)
