"""One adapter per channel for this process, sharing one HTTP session."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from channels.base import ChannelAdapter
from channels.broadcast import BroadcastAdapter
from channels.sms import SmsAdapter
from channels.wechat import WechatAdapter, WecomAdapter
from config import providers
from config.settings import Settings
from ewb.services import Clock


@dataclass
class Adapters:
    by_channel: dict[str, ChannelAdapter]
    session: aiohttp.ClientSession

    def __getitem__(self, channel: str) -> ChannelAdapter:
        return self.by_channel[channel]

    def rates(self, settings: Settings) -> dict[str, float]:
        """Messages per second per channel: the settings, else what each adapter declares."""
        declared = {name: a.messages_per_second for name, a in self.by_channel.items()}
        return {**declared, **settings.rate_limits}

    async def close(self) -> None:
        for adapter in self.by_channel.values():
            await adapter.close()
        await self.session.close()


def build_adapters(settings: Settings, clock: Clock) -> Adapters:
    """The adapters for sms, wechat, wecom and broadcast (call inside the event loop)."""
    session = aiohttp.ClientSession()
    adapters: dict[str, ChannelAdapter] = {
        "sms": SmsAdapter(providers.twilio(settings)),
        "wechat": WechatAdapter(providers.wechat(settings), session, tz=settings.tz),
        "wecom": WecomAdapter(providers.wecom(settings), session),
        "broadcast": BroadcastAdapter(providers.broadcast(settings), session, clock),
    }
    return Adapters(adapters, session)
