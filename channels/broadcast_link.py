"""ewb's control packages to the broadcast platform: the heartbeat and state requests.

`PlatformLink.heartbeat()` posts a ConnectionCheck (unsigned, as receivers expect) and
`ask_state(ebm_id, sequence)` an EBMStateRequest (signed when `broadcast_private_key` is
set); both return the ResultCode of the platform's EBDResponse, or None when no usable
answer came (no connection, a timeout, an HTTP error, an unreadable or, with
`broadcast_platform_public_key` set, badly signed reply). The state itself comes later, as
an EBMStateResponse the platform posts to /webhooks/broadcast/ebd (web/webhooks_platform.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import aiohttp

from channels import ebd, ebd_read, ebd_sign, ebd_state
from config.providers import Broadcast

log = logging.getLogger("ewb.channels.broadcast")


class PlatformLink:
    def __init__(
        self,
        config: Broadcast,
        session: aiohttp.ClientSession,
        clock: Callable[[], datetime],
        timeout: float = 10.0,
    ) -> None:
        self.config, self.session, self.clock, self.timeout = config, session, clock, timeout
        self.signer = ebd_sign.signer_for(config.private_key, config.public_key, config.cert_sn)

    async def heartbeat(self) -> int | None:
        name, tar = ebd_state.build_connection_check(
            source_ebrid=self.config.source_ebrid,
            dest_ebrid=self.config.dest_ebrid,
            created=self.clock(),
        )
        return await self._post(name, tar, signed=False)

    async def ask_state(self, ebm_id: str, sequence: int) -> int | None:
        name, tar = ebd_state.build_state_request(
            ebm_id=ebm_id,
            source_ebrid=self.config.source_ebrid,
            dest_ebrid=self.config.dest_ebrid,
            sequence=sequence,
            created=self.clock(),
            signer=self.signer,
        )
        return await self._post(name, tar, signed=True)

    async def _post(self, name: str, tar: bytes, *, signed: bool) -> int | None:
        form = aiohttp.FormData()
        form.add_field("file", tar, filename=name, content_type="application/x-tar")
        try:
            async with self.session.post(
                self.config.url,
                data=form,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                if response.status != 200:
                    log.warning("platform answered HTTP %s to %s", response.status, name)
                    return None
                body = await response.content.read(1 << 20)
        except (aiohttp.ClientError, TimeoutError) as e:
            log.warning("platform unreachable for %s: %s", name, type(e).__name__)
            return None
        try:
            reply = ebd_read.parse_ebd(body)
            if reply.response is None:
                raise ebd.EbdIncomplete(f"the reply is an {reply.ebd_type}, not an EBDResponse")
            key = self.config.platform_public_key
            if key and signed:
                ebd_sign.verify(reply.signature, reply.ebdb, key)
        except ebd.EbdError as e:
            log.warning("platform reply to %s not usable: %s", name, e)
            return None
        return reply.response.result_code
