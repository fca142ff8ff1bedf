"""The node tests' fleet (a real anvil and real node processes), reused here; Chromium from Debian, driven by
Playwright with that executable (Playwright's own browser downloads are never used)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium context with a fresh profile. A missing browser fails the test: `./dev test` installs it."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`./dev test` does, with apt-get)")

    with tempfile.TemporaryDirectory(prefix="v2v-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            ignore_https_errors=True,  # the nodes' self-signed certificates; peers pin them, the browser cannot
            viewport={"width": 1360, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()
