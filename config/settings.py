"""One frozen settings object: defaults.toml < the EWB_CONFIG TOML file < EWB_* variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULTS_FILE = CONFIG_DIR / "defaults.toml"


SECRETS = (
    "twilio_auth_token",
    "wechat_secret",
    "wecom_secret",
    "broadcast_secret",
    "link_secret",
    "broadcast_private_key",
    "sim_broadcast_private_key",
)


CHANNELS = ("sms", "wechat", "wecom", "broadcast")  # the channels a provider carries


class SettingsError(Exception):
    """The settings could not be loaded; the message names the setting and the source."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EWB_", frozen=True, extra="forbid")

    var_dir: Path
    database_url: str
    host: str
    port: int = Field(ge=1, le=65535)
    timezone: str
    issuer_area: str = Field(pattern=r"^\d{6}$")
    token_ttl_hours: float = Field(gt=0)
    session_ttl_hours: float = Field(gt=0)
    login_max_failures: int = Field(ge=1)
    login_window_minutes: float = Field(gt=0)
    login_backoff_seconds: float = Field(gt=0)
    expiry_check_seconds: float = Field(gt=0)
    log_level: str
    log_format: Literal["text", "json"]
    hazards_file: str
    policy_file: str
    groups_file: str
    sms_max_segments: int = Field(ge=1, le=10)
    broadcast_repeats: dict[str, int]
    public_base_url: str
    webhook_grace_seconds: float = Field(ge=0)
    callback_match_seconds: float = Field(gt=0)
    callback_store_seconds: float = Field(gt=0)
    record_retry_seconds: float = Field(gt=0)
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_from: str
    twilio_base_url: str
    wechat_appid: str
    wechat_secret: str
    wechat_template_id: str
    wechat_base_url: str
    wecom_corpid: str
    wecom_secret: str
    wecom_agentid: str
    wecom_base_url: str
    broadcast_url: str
    broadcast_secret: str
    link_secret: str
    broadcast_source_ebrid: str = Field(pattern=r"^\d{23}$")
    broadcast_dest_ebrid: str = Field(pattern=r"^\d{23}$")
    broadcast_tts: bool
    broadcast_audio_format: str = Field(pattern=r"^(mp3|wav)$")
    broadcast_private_key: str = Field(pattern=r"^([0-9a-fA-F]{64})?$")
    broadcast_public_key: str = Field(pattern=r"^([0-9a-fA-F]{128})?$")
    broadcast_cert_sn: str = Field(pattern=r"^([0-9a-fA-F]{12})?$")
    broadcast_platform_public_key: str = Field(pattern=r"^([0-9a-fA-F]{128})?$")
    broadcast_drill_msg_type: int = Field(ge=3, le=5)
    broadcast_cancel_ebmid: str = Field(pattern=r"^(new|original)$")
    broadcast_state_poll_seconds: float = Field(gt=0)
    broadcast_heartbeat_seconds: float = Field(gt=0)
    sim_broadcast_private_key: str = Field(pattern=r"^([0-9a-fA-F]{64})?$")
    sim_broadcast_fail_share: float = Field(ge=0, le=1)
    sim_terminal_offline_share: float = Field(ge=0, le=1)
    sim_host: str
    sim_twilio_port: int = Field(ge=1, le=65535)
    sim_wechat_port: int = Field(ge=1, le=65535)
    sim_broadcast_port: int = Field(ge=1, le=65535)
    sim_latency_ms: float = Field(ge=0)
    sim_invalid_share: float = Field(ge=0, le=1)
    sim_rate_429: float = Field(ge=0, le=1)
    sim_rate_500: float = Field(ge=0, le=1)
    batch_size: int = Field(ge=1, le=10000)
    plan_slice_residents: int = Field(ge=1)
    claim_chunk: int = Field(ge=1, le=1000)
    chunks_in_flight: int = Field(ge=1, le=16)
    runner_batches: int = Field(ge=1, le=64)
    runner_urgent_batches: int = Field(ge=1, le=64)
    preempt_grace_seconds: float = Field(ge=0)
    runner_poll_seconds: float = Field(gt=0)
    retry_base_seconds: float = Field(gt=0)
    retry_max_seconds: float = Field(gt=0)
    retry_max_age_seconds: float = Field(gt=0)
    rate_limits: dict[str, float]
    broker_url: str
    celery_visibility_timeout: int = Field(ge=60)
    sweep_seconds: float = Field(gt=0)
    batch_stale_seconds: float = Field(gt=0)
    batch_requeue_seconds: float = Field(gt=0)
    scheduler_lock_seconds: float = Field(ge=1)
    timer_seconds: float = Field(gt=0)
    red_repeat_minutes: float = Field(ge=0)
    officer_ack_minutes: float = Field(ge=0)
    gap_check_minutes: float = Field(ge=0)
    require_live_channels: list[str]

    @field_validator("require_live_channels")
    @classmethod
    def _known_channels(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in CHANNELS]
        if unknown:
            raise ValueError(
                f"unknown channel {', '.join(unknown)}; channels are {', '.join(CHANNELS)}"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        user_file = os.environ.get("EWB_CONFIG")
        if user_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(user_file)))
        sources.append(TomlConfigSettingsSource(settings_cls, toml_file=DEFAULTS_FILE))
        return tuple(sources)

    @property
    def db_url(self) -> str:
        """The database URL in force: the SQLite file under var_dir unless one is set."""
        return self.database_url or f"sqlite+aiosqlite:///{self.var_dir / 'ewb.db'}"

    @property
    def distributed(self) -> bool:
        """Celery workers send (a broker is set), not the runner inside `ewb serve`."""
        return bool(self.broker_url)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def data_file(self, name: str) -> Path:
        """A data file: the configured path, or the copy shipped in config/."""
        configured: str = getattr(self, f"{name}_file")
        return Path(configured) if configured else CONFIG_DIR / f"{name}.toml"

    def public(self) -> dict[str, Any]:
        """Settings safe to print: secrets and passwords in the database URL are masked."""
        values = self.model_dump(mode="json")
        values["database_url"] = _mask_password(self.db_url)
        values["broker_url"] = _mask_password(self.broker_url)
        for name in SECRETS:
            if values[name]:
                values[name] = "***"
        return values


def _mask_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" not in rest or ":" not in rest.split("@", 1)[0]:
        return url
    credentials, host = rest.split("@", 1)
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings once at start-up; raises SettingsError with a readable message."""
    user_file = os.environ.get("EWB_CONFIG")
    if user_file and not Path(user_file).is_file():
        raise SettingsError(f"EWB_CONFIG names {user_file}, which is not a readable file")
    try:
        return Settings(**overrides)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in e.errors()
        )
        raise SettingsError(f"bad settings: {problems}") from e
