"""End-to-end fixtures: a real headless Chromium (Debian's, see scripts/ensure-chromium)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


def chromium_path() -> str | None:
    return os.environ.get("MOVIE_RATINGS_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium driven by Playwright's client (no browser download).

    Module-scoped, not session-scoped: Playwright's sync API keeps an asyncio loop running
    in the main thread while it is open, and Prefect's dual sync/async functions
    (``Flow.to_deployment``, ``State.result``...) then return coroutines in every later test.
    """
    executable = chromium_path()
    if executable is None:
        pytest.fail("chromium is missing: run scripts/ensure-chromium (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh page that may only reach loopback: anything else is aborted."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def only_loopback(route: object) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "file:")):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_loopback)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def screenshot_dir() -> Path:
    """Where browser tests save screenshots (git-ignored var/, kept after the run)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
