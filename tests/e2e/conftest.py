"""Browser tests: Debian's Chromium driven by Playwright (never `playwright install`).

Playwright's sync API runs an event loop in this thread while it is open; it is opened
per module and closed after it, so the asyncio tests that run later find no loop running.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=CHROMIUM_ARGS,
        )
        yield chromium
        chromium.close()
