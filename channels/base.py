"""What every channel adapter is: a batch of messages in, one result per message out.

Adapters convert their provider's answers at the edge: `accepted` (with the provider's id),
`retryable` (timeouts, 5xx, rate limits; with `retry_after` when the provider says) or
`permanent` (bad or unsubscribed address; with the provider's code and reason). A batch
may carry a `stop` event: once it is set, an adapter starts no more of its messages and
answers `unsent` for each of them (never handed to the provider, safe to send later).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Protocol


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"
    UNSENT = "unsent"  # not started: the batch was stopped first


@dataclass(frozen=True)
class Message:
    """One message to one address: a phone, an openid, a WeCom user or a terminal."""

    delivery_id: int
    address: str
    text: str
    title: str = ""
    url: str = ""  # a page the message opens (WeChat: the acknowledgement link)


@dataclass(frozen=True)
class Alert:
    """What a broadcast package says about the warning besides its text."""

    warning_id: int
    version: int
    event_code: str  # national event type, e.g. 11B01
    grade_rank: int  # 1 blue … 4 red
    sender_name: str
    sender_code: str
    sent: datetime
    start: datetime
    end: datetime
    cancel: bool = False
    exercise: bool = False
    sequence: int = 1  # the EBM's number of the day at the sender (EBMID's last 4 digits)


@dataclass(frozen=True)
class Audio:
    """Spoken audio for loudspeakers: MP3 (AuxiliaryType 2) or WAV (3)."""

    data: bytes = field(repr=False)
    format: str  # "mp3" or "wav"

    @property
    def auxiliary_type(self) -> int:
        return 2 if self.format == "mp3" else 3


@dataclass(frozen=True)
class Batch:
    """Messages of one channel for one warning version (a few hundred at most)."""

    channel: str
    messages: tuple[Message, ...]
    alert: Alert | None = None
    areas: tuple[str, ...] = ()  # 12-digit area codes, for the broadcast package
    audio: Audio | None = None  # spoken audio for loudspeakers
    sequence: int = 1  # unique per package at the sender (the EBDID's last 16 digits)
    related_ebm_id: str | None = None  # the EBM this package replaces or cancels
    ebm_id: str | None = None  # a re-used EBMID (a cancel that keeps the original's)
    # Set when the batch yields to more urgent work: messages not yet started stay unsent.
    stop: asyncio.Event | None = field(default=None, compare=False)

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()


@dataclass(frozen=True)
class SendResult:
    delivery_id: int
    outcome: Outcome
    provider_id: str | None = None
    code: str | None = None
    detail: str | None = None
    retry_after: float | None = None

    @classmethod
    def accepted(cls, delivery_id: int, provider_id: str) -> SendResult:
        return cls(delivery_id, Outcome.ACCEPTED, provider_id=provider_id)

    @classmethod
    def retryable(
        cls, delivery_id: int, code: str, detail: str, retry_after: float | None = None
    ) -> SendResult:
        return cls(
            delivery_id, Outcome.RETRYABLE, code=code, detail=detail, retry_after=retry_after
        )

    @classmethod
    def permanent(cls, delivery_id: int, code: str, detail: str) -> SendResult:
        return cls(delivery_id, Outcome.PERMANENT, code=code, detail=detail)

    @classmethod
    def unsent(cls, delivery_id: int) -> SendResult:
        return cls(delivery_id, Outcome.UNSENT)


class ChannelAdapter(Protocol):
    """The protocol every adapter implements; limits are declared, not discovered."""

    channel: ClassVar[str]
    max_body: ClassVar[int]  # characters per message the provider accepts
    messages_per_second: ClassVar[float]  # the provider's rate limit
    # True when the whole batch goes in one request (one EBD package for all its
    # terminals): the rate limit then counts requests, not messages.
    one_request_per_batch: ClassVar[bool]

    async def send(self, batch: Batch) -> list[SendResult]:
        """Send every message of the batch; exactly one result per message, in order."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
