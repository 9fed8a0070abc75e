"""docker-compose.yml is valid (checked by docker-compose itself; there is no engine here)
and runs every role of the distributed mode."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is missing: apt-get install docker-compose (make test does)")
    return subprocess.run(
        [binary, "--profile", "sandbox", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_the_compose_file_is_valid() -> None:
    checked = compose("config", "-q")
    assert checked.returncode == 0, checked.stderr


def test_every_role_runs_from_one_image_in_distributed_mode() -> None:
    resolved = yaml.safe_load(compose("config").stdout)
    services = resolved["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "scheduler"} <= set(services)
    commands = {name: services[name].get("command") for name in services}
    assert commands["migrate"] == ["ewb", "db", "upgrade"]
    assert commands["web"][:2] == ["ewb", "serve"]
    assert commands["worker"] == ["ewb", "worker"]
    assert commands["scheduler"] == ["ewb", "scheduler"]
    for role in ("migrate", "web", "worker", "scheduler"):
        env = services[role]["environment"]
        assert env["EWB_BROKER_URL"].startswith("redis://redis:")
        assert env["EWB_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert services[role]["build"]["context"] == str(ROOT)
    for role in ("web", "worker", "scheduler"):
        after = services[role]["depends_on"]
        assert after["migrate"]["condition"] == "service_completed_successfully"
    # Workers sign the WeChat acknowledgement links the web checks: one key for both.
    # (docker-compose 1.x prints short "source:target:mode" volume entries)
    shared = [
        {v.rsplit(":", 1)[0] for v in services[role]["volumes"]} for role in ("web", "worker")
    ]
    assert "ewbvar:/var/lib/ewb" in shared[0] & shared[1]
