"""Provider credentials and endpoints from the settings, or the simulators' (sandbox mode).

A channel whose credentials are not set runs in sandbox mode: its adapter talks to ewb's
own simulator on `sim_host`, with the fixed sandbox credentials below, which the
simulators accept. `ewb serve` says loudly which channels are in sandbox mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from config.settings import Settings

SANDBOX_TWILIO_SID = "AC" + "0" * 31 + "1"
SANDBOX_TWILIO_TOKEN = "ewb-sandbox-twilio-token"
SANDBOX_TWILIO_FROM = "+15005550006"  # Twilio's own magic "valid from" test number
SANDBOX_WECHAT_APPID = "wxewbsandbox0001"
SANDBOX_WECHAT_SECRET = "ewb-sandbox-wechat-secret"
SANDBOX_WECHAT_TEMPLATE = "ewb-sandbox-warning-template"
SANDBOX_WECOM_CORPID = "wwewbsandbox0001"
SANDBOX_WECOM_SECRET = "ewb-sandbox-wecom-secret"
SANDBOX_WECOM_AGENTID = "1000002"
SANDBOX_BROADCAST_SECRET = "ewb-sandbox-broadcast-secret"


@dataclass(frozen=True)
class Twilio:
    account_sid: str
    auth_token: str
    from_number: str
    base_url: str
    status_callback: str  # the public URL Twilio posts status changes to (and signs)
    sandbox: bool


@dataclass(frozen=True)
class Wechat:
    appid: str
    secret: str
    template_id: str
    base_url: str
    sandbox: bool


@dataclass(frozen=True)
class Wecom:
    corpid: str
    secret: str
    agentid: str
    base_url: str
    sandbox: bool


@dataclass(frozen=True)
class Broadcast:
    url: str  # where EBD packages are posted
    secret: str  # signs terminal playback confirmations
    source_ebrid: str
    dest_ebrid: str
    tts: bool
    sandbox: bool
    # SM2 signing (channels/ebd_sign.py), hex; empty: packages go unsigned, replies unchecked.
    private_key: str = field(default="", repr=False)
    public_key: str = ""
    cert_sn: str = ""
    platform_public_key: str = ""  # verifies the platform's replies when set
    drill_msg_type: int = 3  # MsgType of an exercise: 3, 4 or 5 (channels/ebd.py)


def _sim(settings: Settings, port: int) -> str:
    return f"http://{settings.sim_host}:{port}"


def webhook_url(settings: Settings, path: str) -> str:
    return settings.public_base_url.rstrip("/") + path


def twilio(settings: Settings) -> Twilio:
    sandbox = not (settings.twilio_account_sid and settings.twilio_auth_token)
    callback = webhook_url(settings, "/webhooks/twilio/status")
    if sandbox:
        return Twilio(
            SANDBOX_TWILIO_SID,
            SANDBOX_TWILIO_TOKEN,
            SANDBOX_TWILIO_FROM,
            _sim(settings, settings.sim_twilio_port),
            callback,
            True,
        )
    return Twilio(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        settings.twilio_from,
        settings.twilio_base_url,
        callback,
        False,
    )


def wechat(settings: Settings) -> Wechat:
    if not (settings.wechat_appid and settings.wechat_secret):
        return Wechat(
            SANDBOX_WECHAT_APPID,
            SANDBOX_WECHAT_SECRET,
            SANDBOX_WECHAT_TEMPLATE,
            _sim(settings, settings.sim_wechat_port),
            True,
        )
    return Wechat(
        settings.wechat_appid,
        settings.wechat_secret,
        settings.wechat_template_id,
        settings.wechat_base_url,
        False,
    )


def wecom(settings: Settings) -> Wecom:
    if not (settings.wecom_corpid and settings.wecom_secret):
        return Wecom(
            SANDBOX_WECOM_CORPID,
            SANDBOX_WECOM_SECRET,
            SANDBOX_WECOM_AGENTID,
            _sim(settings, settings.sim_wechat_port),
            True,
        )
    return Wecom(
        settings.wecom_corpid,
        settings.wecom_secret,
        settings.wecom_agentid,
        settings.wecom_base_url,
        False,
    )


def broadcast(settings: Settings) -> Broadcast:
    sandbox = not settings.broadcast_url
    return Broadcast(
        url=(_sim(settings, settings.sim_broadcast_port) + "/ebd")
        if sandbox
        else settings.broadcast_url,
        secret=settings.broadcast_secret or (SANDBOX_BROADCAST_SECRET if sandbox else ""),
        source_ebrid=settings.broadcast_source_ebrid,
        dest_ebrid=settings.broadcast_dest_ebrid,
        tts=settings.broadcast_tts,
        sandbox=sandbox,
        private_key=settings.broadcast_private_key,
        public_key=settings.broadcast_public_key,
        cert_sn=settings.broadcast_cert_sn,
        platform_public_key=settings.broadcast_platform_public_key,
        drill_msg_type=settings.broadcast_drill_msg_type,
    )


def sandboxed_channels(settings: Settings) -> list[str]:
    """The channels (settings.CHANNELS) that would run against the local simulators."""
    checks = {
        "sms": twilio(settings).sandbox,
        "wechat": wechat(settings).sandbox,
        "wecom": wecom(settings).sandbox,
        "broadcast": broadcast(settings).sandbox,
    }
    return [name for name, sandbox in checks.items() if sandbox]


def sandboxed(settings: Settings) -> list[str]:
    """The channels running against simulators, for the start-up warning."""
    return ["sms (Twilio)" if name == "sms" else name for name in sandboxed_channels(settings)]


def refused_sandboxes(settings: Settings) -> list[str]:
    """The channels `require_live_channels` names that would still be sandboxed."""
    sandboxed = sandboxed_channels(settings)
    return [name for name in settings.require_live_channels if name in sandboxed]
