"""The channels that reach a resident personally, in their default preference order.

Broadcast is not here: loudspeakers reach people through their area, not one by one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResidentChannel:
    id: str
    address: str  # the residents column that must be set for the channel to be usable
    voice_only: bool  # hearing-impaired people never get a voice-only channel


CHANNELS = (
    ResidentChannel("sms", address="phone", voice_only=False),
    ResidentChannel("wechat", address="wechat_openid", voice_only=False),
)
BY_ID = {c.id: c for c in CHANNELS}
DEFAULT_ORDER = tuple(c.id for c in CHANNELS)


def complete_order(listed: tuple[str, ...]) -> tuple[str, ...]:
    """The listed channels first, then the others in default order (the fallbacks)."""
    return listed + tuple(c for c in DEFAULT_ORDER if c not in listed)
