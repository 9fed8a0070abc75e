"""The SMS adapter's requests against Twilio's published contract (OpenAPI, mocked by Prism).

Prism answers a request that conforms with the spec's example (201) and one that breaks it
with 422, so an accepted send proves the request has the shape Twilio documents.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from channels.base import Batch, Message, Outcome
from channels.sms import BaseUrlHttpClient, SmsAdapter, result_for_error
from config import providers

ROOT = Path(__file__).resolve().parents[2]
PRISM = ROOT / ".tools" / "node_modules" / ".bin" / "prism"
SPEC = ROOT / "tests" / "data" / "twilio_api_v2010.json"
MESSAGES = "/2010-04-01/Accounts/{AccountSid}/Messages.json"


def example_sid() -> str:
    """The sid in the spec's example answer to a created message."""
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    created = spec["paths"][MESSAGES]["post"]["responses"]["201"]["content"]
    return str(created["application/json"]["examples"]["create"]["value"]["sid"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _listening(port: int, prism: asyncio.subprocess.Process) -> None:
    while prism.returncode is None:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return


@pytest.fixture
async def prism_url(tmp_path: Path) -> AsyncIterator[str]:
    """Prism mocking the Twilio spec on a free port, for one test."""
    if not PRISM.exists():
        pytest.fail(
            f"Prism is not installed at {PRISM}: run `make test`, which installs it "
            "(npm install --prefix .tools @stoplight/prism-cli@5)"
        )
    port = free_port()
    log = tmp_path / "prism.log"
    with log.open("wb") as out:
        prism = await asyncio.create_subprocess_exec(
            str(PRISM),
            *("mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC)),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        try:  # a bound on the wait (Prism starts in about a second), not a check on time
            await asyncio.wait_for(_listening(port, prism), timeout=60)
        except TimeoutError:
            pytest.fail(f"Prism did not listen on {port}:\n{log.read_text()[-2000:]}")
        if prism.returncode is not None:
            pytest.fail(f"Prism exited with {prism.returncode}:\n{log.read_text()[-2000:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        if prism.returncode is None:
            prism.terminate()
        await prism.wait()


def config_for(url: str) -> providers.Twilio:
    return providers.Twilio(
        account_sid=providers.SANDBOX_TWILIO_SID,
        auth_token=providers.SANDBOX_TWILIO_TOKEN,
        from_number=providers.SANDBOX_TWILIO_FROM,
        base_url=url,
        status_callback="https://ewb.xiangshui.example/webhooks/twilio/status",
        sandbox=True,
    )


async def test_the_adapter_keeps_to_twilios_contract(prism_url: str) -> None:
    config = config_for(prism_url)
    batch = Batch("sms", (Message(1, "+8613812345678", "台风红色预警：渔船立即回港"),))
    adapter = SmsAdapter(config, timeout=30)
    try:
        [result] = await adapter.send(batch)
        # A status callback URL that is not a URI breaks the contract: Prism refuses it.
        broken = SmsAdapter(dataclasses.replace(config, status_callback="not a url"), timeout=30)
        try:
            [refused] = await broken.send(batch)
        finally:
            await broken.close()
    finally:
        await adapter.close()
    assert (result.outcome, result.provider_id) == (Outcome.ACCEPTED, example_sid())
    assert (refused.outcome, refused.code) == (Outcome.PERMANENT, "422")

    # A message without `To`, through the same HTTP client: 422, which counts as permanent.
    http = BaseUrlHttpClient(prism_url, timeout=30)
    client = Client(config.account_sid, config.auth_token, http_client=http, environment={})
    try:
        with pytest.raises(TwilioRestException) as raised:
            await client.messages.create_async(
                to=None, from_=config.from_number, body="no recipient"
            )
    finally:
        await http.close()
    error = raised.value
    assert error.status == 422
    rejected = result_for_error(2, error.status, error.code, error.msg)
    assert (rejected.outcome, rejected.code) == (Outcome.PERMANENT, "422")
