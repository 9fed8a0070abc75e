"""The `ewb` command line against a real database."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path

from channels import ebd_sign
from config.data import cap_validator
from config.settings import Settings, load_settings
from ewb.bootstrap import make_app
from ewb.services import Services
from tests.integration.cli import ROOT, ewb, start_ewb
from tests.integration.conftest import Api
from tests.integration.flows import draft, issue_new, ok
from tests.integration.servers import bound_socket, serve
from tests.integration.test_fanout import add_relays
from tests.support import NOW, TZ
from warning.identifiers import cap_time

DIVISIONS = str(ROOT / "config" / "xiangshui_divisions.csv")


async def test_fresh_sqlite_database_is_migrated_and_loaded(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path, database_url="")
    before = ewb(settings, "db", "status", database=False)
    assert before.returncode == 1 and "database revision: none" in before.stdout

    upgraded = ewb(settings, "db", "upgrade", database=False)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "ewb.db").is_file()

    for _ in range(2):  # loading twice is idempotent
        loaded = ewb(settings, "areas", "load", DIVISIONS, database=False)
        assert loaded.returncode == 0, loaded.stderr
        assert "loaded 179 areas" in loaded.stdout and "179 areas in the database" in loaded.stdout


async def test_commands_refuse_an_unmigrated_database(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path, database_url="")
    result = ewb(settings, "audit", "verify", database=False)
    assert result.returncode == 1
    assert "run `ewb db upgrade`" in result.stderr


async def test_bad_area_rows_are_listed_and_nothing_is_loaded(
    settings: Settings, tmp_path: Path
) -> None:
    csv = tmp_path / "areas.csv"
    csv.write_text(
        "code,name,parent_code,level\n"
        "320921900,新港社区,320921,township\n"
        "320921901,某地,320921,planet\n"
        "320921900,重复,320921,township\n"
        "320921902001,某村,320921999,village\n",
        encoding="utf-8",
    )
    result = ewb(settings, "areas", "load", str(csv))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert any("line 3: level 'planet'" in line for line in lines), result.stderr
    assert any("line 4: code 320921900 appears again" in line for line in lines), result.stderr
    assert any("line 5: parent '320921999'" in line for line in lines), result.stderr
    assert "3 bad row(s); nothing was loaded" in result.stderr
    status = ewb(settings, "areas", "load", DIVISIONS)
    assert "181 areas in the database" in status.stdout  # 320921900 was not written (179 + 2 extra)


async def test_user_add_creates_a_user_who_can_sign_in(api: Api, settings: Settings) -> None:
    added = ewb(
        settings,
        "user",
        "add",
        "wang.forecaster",
        "--role",
        "forecaster",
        "--org",
        "weather",
        "--areas",
        "320921101,320921102",
        "--password-stdin",
        stdin="typhoon-season-2026\n",
    )
    assert added.returncode == 0, added.stderr
    login = await api.call(
        "POST",
        "/auth/token",
        json={"username": "wang.forecaster", "password": "typhoon-season-2026"},
    )
    assert login.status == 200
    assert login.body["user"] == {
        "username": "wang.forecaster",
        "role": "forecaster",
        "org": "weather",
        "areas": ["320921101", "320921102"],
    }

    again = ewb(
        settings,
        "user",
        "add",
        "wang.forecaster",
        "--role",
        "forecaster",
        "--org",
        "weather",
        "--areas",
        "320921101",
        "--password-stdin",
        stdin="another-password\n",
    )
    assert again.returncode == 1 and "already exists" in again.stderr


async def test_user_add_refuses_bad_input(settings: Settings) -> None:
    cases = [
        (["--org", "army", "--areas", "320921"], "unknown organisation 'army'"),
        (["--org", "weather", "--areas", "999"], "unknown area codes: 999"),
    ]
    for extra, message in cases:
        result = ewb(
            settings,
            "user",
            "add",
            "li",
            "--role",
            "forecaster",
            *extra,
            "--password-stdin",
            stdin="long-enough-password\n",
        )
        assert result.returncode == 1 and message in result.stderr, result.stderr
    short = ewb(
        settings,
        "user",
        "add",
        "li",
        "--role",
        "forecaster",
        "--org",
        "weather",
        "--areas",
        "320921",
        "--password-stdin",
        stdin="short\n",
    )
    assert short.returncode == 1 and "at least 8 characters" in short.stderr


async def test_cap_export_prints_valid_cap(api: Api, settings: Settings, tmp_path: Path) -> None:
    issued = await issue_new(api, grade="orange")
    result = ewb(settings, "cap", "export", str(issued["id"]))
    assert result.returncode == 0, result.stderr
    cap_validator()(result.stdout.encode())
    assert issued["cap_identifier"] in result.stdout

    out = tmp_path / "alert.xml"
    to_file = ewb(settings, "cap", "export", str(issued["id"]), "1", "-o", str(out))
    assert to_file.returncode == 0 and out.read_bytes().strip() == result.stdout.encode().strip()

    drafted = await draft(api)
    refused = ewb(settings, "cap", "export", str(drafted["id"]))
    assert refused.returncode == 1 and "has not been issued" in refused.stderr


def upstream_alert(path: Path, onset: datetime, hours: int = 24) -> Path:
    """The sample upstream alert with times around `onset` (the CLI runs on the real clock)."""
    template = (ROOT / "tests" / "data" / "upstream_alert.xml").read_text(encoding="utf-8")
    filled = template.format(
        sent=cap_time(onset, TZ),
        onset=cap_time(onset, TZ),
        expires=cap_time(onset + timedelta(hours=hours), TZ),
    )
    path.write_text(filled, encoding="utf-8")
    return path


async def test_cap_import_turns_an_alert_into_a_draft(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    alert = upstream_alert(tmp_path / "upstream.xml", datetime.now(TZ))

    imported = ewb(settings, "cap", "import", str(alert))
    assert imported.returncode == 0, imported.stderr
    new_id = int(imported.stdout.split("draft warning ")[1].split()[0])
    shown = await ok(api.get(f"/warnings/{new_id}"))
    assert (shown["state"], shown["author"], shown["mode"]) == ("draft", "cap-import", "actual")
    assert (shown["hazard"], shown["grade"], shown["areas"]) == ("typhoon", "orange", ["320921101"])
    assert shown["headline"] == {
        "zh-CN": "盐城市气象台发布台风橙色预警信号",
        "en": "Yancheng Meteorological Observatory issues an orange typhoon warning",
    }

    as_water = ewb(settings, "cap", "import", str(alert), "--as", "water")
    assert as_water.returncode == 1 and "[organisation]" in as_water.stderr

    broken = tmp_path / "broken.xml"
    broken.write_bytes(alert.read_bytes().replace(b"<scope>Public</scope>", b""))
    invalid = ewb(settings, "cap", "import", str(broken))
    assert invalid.returncode == 1
    assert "line 11" in invalid.stderr and "scope )" in invalid.stderr

    stale = upstream_alert(tmp_path / "stale.xml", datetime.now(TZ) - timedelta(days=2))
    expired = ewb(settings, "cap", "import", str(stale))
    assert expired.returncode == 1 and "(expires)" in expired.stderr


async def test_cap_import_over_http_makes_a_draft_of_the_caller(api: Api, tmp_path: Path) -> None:
    alert = upstream_alert(tmp_path / "upstream.xml", NOW)
    reply = await api.call("POST", "/cap", "forecaster", data=alert.read_bytes())
    assert reply.status == 201, reply.body
    assert (reply.body["author"], reply.body["grade"]) == ("forecaster", "orange")

    refused = await api.call("POST", "/cap", "water", data=alert.read_bytes())
    assert (refused.status, refused.body["rule"]) == (403, "organisation")
    invalid = await api.call("POST", "/cap", "forecaster", data=b"<alert>nope</alert>")
    assert (invalid.status, invalid.body["error"], invalid.body["field"]) == (
        422,
        "invalid_cap",
        "cap",
    )


async def test_broadcast_keygen_prints_a_usable_key_pair(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path, database_url="")
    made = ewb(settings, "broadcast", "keygen", database=False)
    assert made.returncode == 0, made.stderr
    keys = tomllib.loads(made.stdout)
    assert set(keys) == {"broadcast_private_key", "broadcast_public_key", "broadcast_cert_sn"}
    keyed = load_settings(var_dir=tmp_path, database_url="", **keys)  # the settings take them
    signer = ebd_sign.Signer(
        keyed.broadcast_private_key, keyed.broadcast_public_key, keyed.broadcast_cert_sn
    )
    ebd_sign.verify(signer.sign(b"<EBD/>", "1", NOW), b"<EBD/>", keyed.broadcast_public_key)
    again = tomllib.loads(ewb(settings, "broadcast", "keygen", database=False).stdout)
    assert again["broadcast_private_key"] != keys["broadcast_private_key"]


async def test_broadcast_keygen_out_writes_a_private_file_and_never_overwrites(
    tmp_path: Path,
) -> None:
    settings = load_settings(var_dir=tmp_path, database_url="")
    out = tmp_path / "keys.toml"
    made = ewb(settings, "broadcast", "keygen", "--out", str(out), database=False)
    assert made.returncode == 0, made.stderr
    assert made.stdout == "" and "wrote" in made.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    written = out.read_text(encoding="utf-8")
    assert "broadcast_private_key" in tomllib.loads(written)

    refused = ewb(settings, "broadcast", "keygen", "--out", str(out), database=False)
    assert refused.returncode == 1
    assert "exists" in refused.stderr
    assert out.read_text(encoding="utf-8") == written

    sim = tmp_path / "sim.toml"
    made = ewb(settings, "broadcast", "keygen", "--simulator", "--out", str(sim), database=False)
    assert made.returncode == 0, made.stderr
    pair = tomllib.loads(sim.read_text(encoding="utf-8"))
    assert set(pair) == {"sim_broadcast_private_key", "broadcast_platform_public_key"}
    private = pair["sim_broadcast_private_key"]
    assert ebd_sign.public_key_of(private) == pair["broadcast_platform_public_key"]


async def test_broadcast_status_says_when_the_platform_is_down(
    settings: Settings, services: Services
) -> None:
    await add_relays(services)  # two terminals online, one offline
    never = ewb(settings, "broadcast", "status")
    assert never.returncode == 0, never.stderr
    assert "platform: unknown" in never.stdout and "2 online, 1 offline" in never.stdout

    at = datetime(2026, 7, 1, 2, 0, tzinfo=TZ)
    async with services.store.write() as tx:
        await tx.platform.beat(at, answered=True)
        for n in range(1, 3):
            await tx.platform.beat(at + timedelta(minutes=n), answered=False)
    up = ewb(settings, "broadcast", "status")
    assert up.returncode == 0, up.stderr
    assert "platform: up (2 heartbeats unanswered" in up.stdout
    assert "last heartbeat: 2026-07-01 02:02:00; last answer: 2026-07-01 02:00:00" in up.stdout

    async with services.store.write() as tx:
        await tx.platform.beat(at + timedelta(minutes=3), answered=False)
    down = ewb(settings, "broadcast", "status")
    assert down.returncode == 1  # a monitoring script acts on it
    assert "platform: DOWN (no answer to the last 3 heartbeats)" in down.stdout


def test_serve_and_worker_refuse_to_start_while_a_required_channel_is_sandboxed(
    settings: Settings,
) -> None:
    required = {"EWB_REQUIRE_LIVE_CHANNELS": '["sms", "broadcast"]'}
    for command in ("serve", "worker"):
        refused = ewb(settings, command, env=required, broker="redis://127.0.0.1:6379/13")
        assert refused.returncode == 1, refused.stdout
        assert "require_live_channels names sms, broadcast" in refused.stderr
    # With Twilio's credentials SMS is live: only the broadcast platform is named now.
    live_sms = {
        **required,
        "EWB_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "EWB_TWILIO_AUTH_TOKEN": "t" * 32,
    }
    refused = ewb(settings, "serve", env=live_sms)
    assert refused.returncode == 1 and "names broadcast, but it would" in refused.stderr
    unknown = ewb(settings, "serve", env={"EWB_REQUIRE_LIVE_CHANNELS": '["fax"]'})
    assert unknown.returncode == 1 and "unknown channel fax" in unknown.stderr


async def _doctor(settings: Settings, **env: str) -> tuple[int, str]:
    process = await start_ewb(settings, "doctor", env=env)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode() + err.decode()


async def test_doctor_says_what_is_wrong_one_line_each(settings: Settings) -> None:
    code, out = await _doctor(settings, EWB_PUBLIC_BASE_URL="http://127.0.0.1:9")
    assert code == 1, out
    lines = {line.split(":")[0] for line in out.splitlines() if ":" in line}
    for check in ("database", "redis", "channels", "public base URL", "broadcast platform"):
        assert any(check in line for line in lines), out
    assert "FAIL public base URL: ClientConnectorError" in out
    assert "ok   database:" in out and "ok   clock:" in out
    assert "warn channels: live: none; sandbox: sms, wechat, wecom, broadcast" in out
    assert "warn officers:" in out and "villages have none" in out
    assert out.rstrip().endswith("1 check failed")

    sock = bound_socket()
    async with serve(make_app(settings, scheduler=False), sock):
        public = f"http://127.0.0.1:{sock.getsockname()[1]}"
        code, out = await _doctor(settings, EWB_PUBLIC_BASE_URL=public)
        assert code == 0 and "ok   public base URL" in out and "all checks passed" in out, out
        code, out = await _doctor(
            settings, EWB_PUBLIC_BASE_URL=public, EWB_REQUIRE_LIVE_CHANNELS='["wechat"]'
        )
        assert code == 1 and "(require_live_channels names wechat)" in out, out


async def test_doctor_on_an_empty_database_says_to_upgrade_and_skips_what_needs_it(
    settings: Settings,
) -> None:
    empty = f"sqlite+aiosqlite:///{settings.var_dir / 'empty.db'}"
    code, out = await _doctor(settings, EWB_DATABASE_URL=empty)
    assert code == 1
    assert "FAIL database: at schema revision none" in out and "ewb db upgrade" in out, out
    assert "skip officers: needs the database" in out
