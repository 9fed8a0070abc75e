"""The emergency-broadcast platform: one EBD package per batch of terminals, and signed acks.

`send` posts one package (channels/ebd.py) carrying the warning's EBM for every terminal of
the batch as a multipart part `file`, and reads the synchronous EBDResponse back. Its
ResultCode decides every terminal's result at once. ResultCode 1 only means "accepted":
each terminal confirms playback later at POST /webhooks/broadcast/ack, signed with the
shared secret by `ack_signature`, naming the EBMID that is the deliveries' provider id.

The lifecycle (shared/standards/emergency_broadcast_ebd.md §3 and open point 9;
delivery/send.py groups the terminals): a version after the first names, in
RelatedInfo/EBMID, the EBM each terminal was last sent of this warning, one package per EBM
replaced (terminals new to the warning get one without RelatedInfo). A cancel goes only to
terminals that were sent the warning, names the same way, and keeps a new EBMID of its own
unless `broadcast_cancel_ebmid = "original"` (then it re-uses the cancelled EBM's, as one
implementation does; the ack handler takes the newest delivery for a re-used EBMID).
AreaCode lists each area once and drops a village whose township is listed: the platform
plays a township code on every terminal within it. An exercise plays as the drill
`broadcast_drill_msg_type` (3, 4 or 5).

With `broadcast_private_key` set, every package carries ewb's SM2 signature
(`EBDS_EBDB_<EBDID>.xml`, channels/ebd_sign.py). With `broadcast_platform_public_key` set, a
reply whose signature is missing or bad is not believed: it counts as unreadable (retryable).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

import aiohttp

from channels import ebd, ebd_read, ebd_sign
from channels.base import Batch, Outcome, SendResult
from config.providers import Broadcast

log = logging.getLogger("ewb.channels.broadcast")

REPLY_LIMIT = 1 << 20  # bytes; an EBDResponse is about 1 kB
# ResultCodes that mean our package is wrong (2 unparseable, 3 content missing, 4 signature):
# sending the same package again cannot succeed. The others, 0 (received, not processed)
# and 5 (other error), are the platform's trouble and worth another try.
REFUSED = {2, 3, 4}
RETRY_STATUS = {408, 425, 429}
UPLOAD_BYTES_PER_SECOND = 250_000


def ack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of `{timestamp}.` + body, as X-EWB-Signature carries it."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def ack_signature_valid(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether `signature` is the one `ack_signature` makes (never true without a secret)."""
    if not secret:
        return False
    # As bytes: compare_digest refuses str with non-ASCII characters, which headers may carry.
    expected = ack_signature(secret, timestamp, body).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogateescape"))


class BroadcastAdapter:
    channel: ClassVar[str] = "broadcast"
    # MsgDesc limit, ours rather than the platform's (the sources name none). The rendered
    # text already holds its repetitions (red is said 3 times, see broadcast_repeats), and
    # espeak-ng speaks about 4 characters a second (38 → 9.7 s measured): 1,500 characters
    # are 6 minutes of loudspeaker, 2 per playback of a red warning. Past that, villagers
    # stop listening; the templates fit their text to this figure.
    max_body: ClassVar[int] = 1500
    # Packages, not messages: one package serves a whole batch of terminals, so a county
    # needs only a handful. No platform publishes a figure; one a second is gentle on a
    # county server and still puts every batch of a warning out within seconds.
    messages_per_second: ClassVar[float] = 1.0
    one_request_per_batch: ClassVar[bool] = True

    def __init__(
        self,
        config: Broadcast,
        session: aiohttp.ClientSession,
        clock: Callable[[], datetime],
        *,
        timeout: float = 30.0,
    ) -> None:
        self.config = config
        self.session = session
        self.clock = clock
        self.timeout = timeout
        self.signer, self.platform_key = _keys(config)

    async def send(self, batch: Batch) -> list[SendResult]:
        """Post one package for all terminals of the batch; one result per terminal."""
        if not batch.messages:
            return []
        try:
            return await self._send(batch)
        except Exception as e:  # a bug here must not lose the batch: try it again later
            log.exception("broadcast batch %s failed unexpectedly", _ids(batch))
            return _all(batch, Outcome.RETRYABLE, "internal", f"{type(e).__name__}: {e}")

    async def close(self) -> None:
        """Nothing to release: the session is shared and closed by its owner."""

    async def _send(self, batch: Batch) -> list[SendResult]:
        alert = batch.alert
        problem = "the batch carries no alert" if alert is None else _unsendable(batch)
        if alert is None or problem is not None:
            log.error("broadcast batch %s refused: %s", _ids(batch), problem)
            return _all(batch, Outcome.PERMANENT, "ebd-invalid", str(problem))
        first = batch.messages[0]
        try:
            tar_name, tar = ebd.build_ebd(
                alert=alert,
                title=first.title,
                desc=first.text,
                areas=batch.areas,
                source_ebrid=self.config.source_ebrid,
                dest_ebrid=self.config.dest_ebrid,
                sequence=batch.sequence,
                created=self.clock(),
                audio=batch.audio,
                related_ebm_id=batch.related_ebm_id,
                signer=self.signer,
                drill=self.config.drill_msg_type,
                own_ebm_id=batch.ebm_id,
            )
        except ValueError as e:
            log.error("broadcast batch %s: cannot build the package: %s", _ids(batch), e)
            return _all(batch, Outcome.PERMANENT, "ebd-invalid", str(e))
        ebm_id = batch.ebm_id or ebd.ebm_id(self.config.source_ebrid, alert.sent, alert.sequence)
        return await self._post(batch, tar_name, tar, ebm_id)

    async def _post(self, batch: Batch, tar_name: str, tar: bytes, ebm_id: str) -> list[SendResult]:
        form = aiohttp.FormData()
        form.add_field("file", tar, filename=tar_name, content_type="application/x-tar")
        try:
            async with self.session.post(
                self.config.url, data=form, timeout=self._timeout(len(tar)), allow_redirects=False
            ) as response:
                status = response.status
                retry_after = _seconds(response.headers.get("Retry-After"))
                body = await _read(response)
        except TimeoutError:
            return _all(batch, Outcome.RETRYABLE, "timeout", "no reply (it may have arrived)")
        except aiohttp.ClientError as e:
            return _all(batch, Outcome.RETRYABLE, "connection", f"{type(e).__name__}: {e}")
        if status >= 500 or status in RETRY_STATUS:
            detail = f"HTTP {status} from the broadcast platform"
            return _all(batch, Outcome.RETRYABLE, f"http-{status}", detail, retry_after)
        if status != 200:
            # 3xx/4xx: a wrong URL or a refused request; retrying the same cannot help.
            detail = f"HTTP {status} from the broadcast platform (check broadcast_url)"
            return _all(batch, Outcome.PERMANENT, f"http-{status}", detail)
        return self._answer(batch, body, tar_name, ebm_id)

    def _timeout(self, size: int) -> aiohttp.ClientTimeout:
        # Six minutes of WAV are 16 MB: give the upload time at 2 Mbit/s, a slow county link,
        # so a spoken package is not cut off and retried forever.
        return aiohttp.ClientTimeout(total=self.timeout + size / UPLOAD_BYTES_PER_SECOND)

    def _answer(
        self, batch: Batch, body: bytes | None, tar_name: str, ebm_id: str
    ) -> list[SendResult]:
        sent_id = tar_name.removeprefix("EBDT_").removesuffix(".tar")
        try:
            if body is None:
                raise ebd.EbdUnreadable("the reply is larger than 1 MiB")
            reply = ebd_read.parse_ebd(body)
            if reply.response is None:
                raise ebd.EbdIncomplete(f"the reply is an {reply.ebd_type}, not an EBDResponse")
            if reply.related_ebd_id not in (None, sent_id):
                raise ebd.EbdIncomplete(f"the reply answers {reply.related_ebd_id}")
            if self.platform_key is not None:  # anyone on the path could forge a ResultCode 1
                ebd_sign.verify(reply.signature, reply.ebdb, self.platform_key)
        except ebd.EbdError as e:
            log.warning("broadcast batch %s: unreadable reply: %s", _ids(batch), e)
            return _all(batch, Outcome.RETRYABLE, "ebd-reply", f"unreadable reply: {e}")
        code, desc = reply.response.result_code, reply.response.result_desc[:300]
        if code == 1:
            log.info("broadcast batch %s accepted as EBM %s", _ids(batch), ebm_id)
            return [SendResult.accepted(m.delivery_id, ebm_id) for m in batch.messages]
        detail = desc or ebd.RESULT_TEXT[code]
        if code == 4 and self.signer is None:
            detail = f"signature refused ({detail}); ewb does not sign: set broadcast_private_key"
        elif code == 4:
            detail = f"signature refused ({detail}); does the platform hold ewb's public key?"
        log.warning("broadcast batch %s: ResultCode %s: %s", _ids(batch), code, detail)
        outcome = Outcome.PERMANENT if code in REFUSED else Outcome.RETRYABLE
        return _all(batch, outcome, f"ebd-{code}", detail)


def _keys(config: Broadcast) -> tuple[ebd_sign.Signer | None, str | None]:
    """ewb's signer and the platform's public key, when set; BadKey names the wrong setting."""
    signer: ebd_sign.Signer | None = None
    platform: str | None = None
    try:
        if config.private_key:
            signer = ebd_sign.Signer(config.private_key, config.public_key, config.cert_sn)
    except ebd_sign.BadKey as e:
        raise ebd_sign.BadKey(f"broadcast_private_key/public_key/cert_sn: {e}") from e
    try:
        if config.platform_public_key:
            platform = ebd_sign.check_public_key(config.platform_public_key)
    except ebd_sign.BadKey as e:
        raise ebd_sign.BadKey(f"broadcast_platform_public_key: {e}") from e
    return signer, platform


def _unsendable(batch: Batch) -> str | None:
    """Why this batch cannot become one package, if it cannot."""
    texts = {(m.title, m.text) for m in batch.messages}
    if len(texts) > 1:
        return "the batch's messages differ, but a package carries one text"
    if len(batch.messages[0].text) > BroadcastAdapter.max_body:
        return f"the text is longer than {BroadcastAdapter.max_body} characters"
    return None


def _all(
    batch: Batch, outcome: Outcome, code: str, detail: str, retry_after: float | None = None
) -> list[SendResult]:
    """The same result for every terminal of the batch: they share one package."""
    return [
        SendResult(m.delivery_id, outcome, code=code, detail=detail, retry_after=retry_after)
        for m in batch.messages
    ]


async def _read(response: aiohttp.ClientResponse) -> bytes | None:
    """The reply body, or None when it is larger than any EBDResponse can be."""
    body = bytearray()
    async for chunk in response.content.iter_any():
        body += chunk
        if len(body) > REPLY_LIMIT:
            return None
    return bytes(body)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: leave the back-off to the retry policy


def _ids(batch: Batch) -> str:
    alert = batch.alert
    where = f"warning_id={alert.warning_id} version={alert.version}" if alert else "no alert"
    return f"({where} sequence={batch.sequence} terminals={len(batch.messages)})"
