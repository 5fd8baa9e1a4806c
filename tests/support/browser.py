"""Headless Chromium from the distribution (`/usr/bin/chromium`, installed by
scripts/install.sh), driven by Playwright through `executable_path`: never a browser of
Playwright's own. Each page gets a fresh profile; screenshots go to `build/screenshots/`
(git-ignored, kept as the test run's artefacts)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Page, async_playwright

from tests.support.paths import ROOT

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "build" / "screenshots"
# Without the background-networking flags chromium calls home, which this machine refuses.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}  # the narrowest width the dashboard promises


@asynccontextmanager
async def chromium_page() -> AsyncIterator[Page]:
    """A page of a headless chromium with a fresh profile; confirm dialogs accepted."""
    assert os.access(CHROMIUM, os.X_OK), "chromium is missing: run scripts/install.sh"
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                args=FLAGS,
                viewport=VIEWPORT,  # type: ignore[arg-type]
                headless=True,
            )
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                page.on("dialog", lambda dialog: dialog.accept())
                yield page
            finally:
                await context.close()


async def screenshot(page: Page, name: str) -> Path:
    """The whole page as `build/screenshots/<name>.png`."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
