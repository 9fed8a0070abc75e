"""Settings: defaults file < EWB_CONFIG TOML file < EWB_* environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("EWB_"):
            monkeypatch.delenv(name)


def test_defaults_give_sqlite_under_var() -> None:
    settings = load_settings()
    assert settings.db_url == "sqlite+aiosqlite:///var/ewb.db"
    assert (settings.host, settings.port, settings.timezone) == ("127.0.0.1", 8080, "Asia/Shanghai")


def test_toml_file_overrides_defaults_and_environment_overrides_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ewb.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\ntoken_ttl_hours = 2\n')
    monkeypatch.setenv("EWB_CONFIG", str(config))
    monkeypatch.setenv("EWB_PORT", "9100")
    settings = load_settings()
    assert settings.port == 9100  # environment wins
    assert settings.host == "0.0.0.0"  # from the file
    assert settings.token_ttl_hours == 2
    assert settings.timezone == "Asia/Shanghai"  # default


def test_postgres_url_switches_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+asyncpg://ewb:secret@db.example:5432/ewb"
    monkeypatch.setenv("EWB_DATABASE_URL", url)
    settings = load_settings()
    assert settings.db_url == url
    assert settings.public()["database_url"] == "postgresql+asyncpg://ewb:***@db.example:5432/ewb"


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(Exception, match="frozen"):
        settings.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EWB_PORT": "eighty"}, "port"),
        ({"EWB_PORT": "70000"}, "port"),
        ({"EWB_TIMEZONE": "Mars/Olympus"}, "unknown time zone"),
        ({"EWB_ISSUER_AREA": "32"}, "issuer_area"),
        ({"EWB_CONFIG": "/nonexistent/ewb.toml"}, "not a readable file"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_unknown_key_in_the_toml_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ewb.toml"
    config.write_text("prot = 9000\n")
    monkeypatch.setenv("EWB_CONFIG", str(config))
    with pytest.raises(SettingsError, match="prot"):
        load_settings()


def test_provider_secrets_are_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EWB_TWILIO_AUTH_TOKEN", "twilio-secret-token")
    monkeypatch.setenv("EWB_BROADCAST_SECRET", "hmac-secret")
    shown = load_settings().public()
    assert shown["twilio_auth_token"] == "***" and shown["broadcast_secret"] == "***"
    assert "twilio-secret-token" not in str(shown) and "hmac-secret" not in str(shown)
    assert shown["wechat_secret"] == ""  # unset stays visibly unset


def test_channels_without_credentials_run_in_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    from config import providers

    assert providers.sandboxed(load_settings()) == ["sms (Twilio)", "wechat", "wecom", "broadcast"]
    monkeypatch.setenv("EWB_TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("EWB_TWILIO_AUTH_TOKEN", "real-token")
    settings = load_settings()
    assert "sms (Twilio)" not in providers.sandboxed(settings)
    assert providers.twilio(settings).base_url == "https://api.twilio.com"
    assert providers.twilio(settings).status_callback == (
        "http://127.0.0.1:8080/webhooks/twilio/status"
    )
