"""Which delivery events show that a resident was reached, and as what kind of reach.

A message counts when it arrived, not when it was handed to the provider: an SMS when the
carrier reports it `delivered`; a WeChat template message when WeChat accepted it for
the follower (WeChat reports no per-message delivery). A resident's answer (`1`/`收到`
by SMS, the link in WeChat) counts whatever the channel. Officers relaying in person
are counted from their reports (`RELAY`). Loudspeakers reach places, not persons: their
`played` acknowledgements count towards broadcast coverage.
"""

from __future__ import annotations

# event → the channels on which it counts (None: any channel)
REACHING: dict[str, frozenset[str] | None] = {
    "delivered": frozenset({"sms"}),
    "sent": frozenset({"wechat"}),
    "read": None,
    "acknowledged": None,
}
ACK = "ack"
RELAY = "relay"
WAYS = ("sms", "wechat", ACK, RELAY)


def via(event: str, channel: str) -> str | None:
    """The kind of reach an event on a resident's delivery shows, or None."""
    if event not in REACHING:
        return None
    channels = REACHING[event]
    if channels is not None and channel not in channels:
        return None
    return ACK if event == "acknowledged" else channel


def reaching_channels(event: str) -> frozenset[str] | None:
    """For set-based recording: the channels on which `event` counts (None: all)."""
    return REACHING[event]
