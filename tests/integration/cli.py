"""Running the real `ewb` command in a subprocess against a test database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _env(settings: Settings, database: bool, broker: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EWB_")}
    env["EWB_VAR_DIR"] = str(settings.var_dir)
    if database:
        env["EWB_DATABASE_URL"] = settings.database_url
    if broker:
        env["EWB_BROKER_URL"] = broker
    return env


def ewb(
    settings: Settings,
    *args: str,
    stdin: str = "",
    database: bool = True,
    broker: str = "",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m ewb ARGS` with the test settings; `database=False` uses var_dir's SQLite,
    `broker` sets EWB_BROKER_URL (the distributed mode), `env` adds variables."""
    return subprocess.run(
        [sys.executable, "-m", "ewb", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**_env(settings, database, broker), **(env or {})},
        cwd=ROOT,
        timeout=120,
        check=False,
    )


async def start_ewb(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """`python -m ewb ARGS` running beside the test's event loop (stdout, stderr piped)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ewb",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**_env(settings, True), **(env or {})},
        cwd=ROOT,
    )
