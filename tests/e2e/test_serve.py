"""The running service, set up exactly as `make run` does, driven over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from config.data import cap_validator
from tests.support import TZ

ROOT = Path(__file__).resolve().parents[2]


def _make_run_steps() -> list[list[str]]:
    """The `ewb` commands of the Makefile's `run` target before `serve`, in order."""
    recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    commands = [line for line in recipe.splitlines() if line.startswith("\t$(BIN)/ewb ")]
    steps = [line.split("/ewb ", 1)[1].split() for line in commands]
    assert steps[-1] == ["serve"], steps
    return steps[:-1]


MAKE_RUN_STEPS = _make_run_steps()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ewb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "ewb", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`make run`'s steps on a fresh SQLite database in a temporary var/; (url, demo output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EWB_")}
    env["EWB_VAR_DIR"] = str(tmp_path_factory.mktemp("var"))
    env["EWB_PORT"] = str(_free_port())
    demo = ""
    for step in MAKE_RUN_STEPS:
        demo = _ewb(env, *step).stdout
    log = Path(env["EWB_VAR_DIR"]) / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ewb", "serve"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{env['EWB_PORT']}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", int(env["EWB_PORT"])), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
    yield url, demo
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0, log.read_text()


async def _call(
    session: aiohttp.ClientSession, method: str, url: str, token: str | None = None, **kw: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(method, url, headers=headers, **kw) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.read()


async def test_the_readme_walkthrough_issues_a_red_typhoon_warning(
    server: tuple[str, str],
) -> None:
    url, demo = server
    assert "forecaster      ewb-forecaster" in demo
    assert "Sample residents: 5,000 generated" in demo
    api = f"{url}/api/v1"
    async with aiohttp.ClientSession() as session:
        tokens = {}
        for user in ("forecaster", "duty_chief", "leader"):
            status, body = await _call(
                session,
                "POST",
                f"{api}/auth/token",
                json={"username": user, "password": f"ewb-{user}"},
            )
            assert status == 200, body
            tokens[user] = body["token"]

        now = datetime.now(TZ).replace(microsecond=0)
        status, warning = await _call(
            session,
            "POST",
            f"{api}/warnings",
            tokens["forecaster"],
            json={
                "hazard": "typhoon",
                "grade": "red",
                "areas": ["320921101", "320921100"],
                "onset": (now + timedelta(hours=1)).isoformat(),
                "expires": (now + timedelta(hours=25)).isoformat(),
                "mode": "actual",
            },
        )
        assert status == 201, warning
        wid = warning["id"]
        steps = [
            ("forecaster", "submit", 200, "submitted"),
            ("forecaster", "approve", 403, "own_draft"),
            ("duty_chief", "approve", 200, "submitted"),
            ("leader", "approve", 200, "approved"),
            ("duty_chief", "issue", 200, "issued"),
        ]
        for user, action, expected, outcome in steps:
            status, body = await _call(
                session, "POST", f"{api}/warnings/{wid}/{action}", tokens[user]
            )
            assert status == expected, body
            assert (body.get("rule") if status == 403 else body["state"]) == outcome

        status, cap = await _call(session, "GET", f"{api}/warnings/{wid}/cap", tokens["leader"])
        assert status == 200
        cap_validator()(cap)
        status, audience = await _call(
            session, "GET", f"{api}/warnings/{wid}/audience", tokens["leader"]
        )
        assert status == 200 and audience["people"] > 0 and audience["terminals"] > 0
        status, health = await _call(session, "GET", f"{url}/healthz")
        assert (status, health) == (200, {"status": "ok"})
