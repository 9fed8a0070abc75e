"""Every channel's message of a version, with SMS segments and the limits it breaks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from config.settings import Settings
from templates import sms_length
from templates.render import CHANNELS, SEGMENTED, Options, render
from warning.catalog import LOCALES
from warning.model import Version, Warning
from warning.rules import Rules

# Loudspeakers speak Chinese to everyone: an English broadcast text is shown, not sent.
SENT_LOCALES = {"broadcast": ("zh-CN",)}


@dataclass(frozen=True)
class PreviewMessage:
    channel: str
    locale: str
    groups: tuple[str, ...]
    title: str
    text: str
    segments: int | None
    violations: tuple[str, ...]
    sent: bool  # False for texts shown but never sent (English loudspeaker text)


def _violations(channel: str, text: str, segments: int | None, limits: Options) -> list[str]:
    found = []
    if segments is not None and segments > limits.sms_max_segments:
        found.append(
            f"the SMS needs {segments} segments; at most {limits.sms_max_segments}"
            " are allowed (setting sms_max_segments)"
        )
    if channel == "wechat" and len(text) > limits.wechat_chars:
        found.append(f"the WeChat text has {len(text)} characters; at most {limits.wechat_chars}")
    if channel == "officer" and len(text.encode()) > limits.wecom_bytes:
        found.append(f"the WeCom text has {len(text.encode())} bytes; at most {limits.wecom_bytes}")
    if channel == "broadcast" and len(text) > limits.broadcast_chars:
        found.append(
            f"the broadcast text has {len(text)} characters; at most {limits.broadcast_chars}"
        )
    return found


def preview(
    warning: Warning, version: Version, rules: Rules, at: datetime, options: Options
) -> list[PreviewMessage]:
    """Every channel × locale × (no group, each named group)."""
    group_sets = [(), *((g,) for g in version.groups)]
    messages = []
    for channel in CHANNELS:
        for locale in LOCALES:
            for groups in group_sets:
                out = render(warning, version, channel, locale, groups, rules, at, options)
                segments = sms_length.segments(out.text) if channel in SEGMENTED else None
                messages.append(
                    PreviewMessage(
                        channel,
                        locale,
                        groups,
                        out.title,
                        out.text,
                        segments,
                        tuple(_violations(channel, out.text, segments, options)),
                        locale in SENT_LOCALES.get(channel, LOCALES),
                    )
                )
    return messages


def blocking(messages: list[PreviewMessage]) -> list[str]:
    """Violations of messages that would be sent: these stop an approval."""
    return [
        f"{m.channel} ({m.locale}{', ' + ', '.join(m.groups) if m.groups else ''}): {v}"
        for m in messages
        if m.sent
        for v in m.violations
    ]


def from_settings(settings: Settings) -> Options:
    """The text options in force: settings, and the limits the adapters declare."""
    from channels.broadcast import BroadcastAdapter
    from channels.wechat import WECOM_MAX_BYTES, WechatAdapter

    return Options(
        sms_max_segments=settings.sms_max_segments,
        broadcast_repeats=dict(settings.broadcast_repeats),
        wechat_chars=WechatAdapter.max_body,
        wecom_bytes=WECOM_MAX_BYTES,
        broadcast_chars=BroadcastAdapter.max_body,
    )
