"""Fixtures for the real-browser tests: one JupyterLab server and one Chromium per session."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import labcheck  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
# The fixture notebooks are inputs for the browser checker, not tests for nbval.
collect_ignore_glob = ["fixtures/*"]

NO_BROWSER = """
########################################################################
#  SKIPPING THE REAL-BROWSER TEST: Chromium could not be launched.     #
#  {reason}
#  Fix: apt-get install chromium (Debian), or                          #
#  .venv/bin/python -m playwright install --with-deps chromium         #
########################################################################
"""


@pytest.fixture(scope="session")
def lab() -> Iterator[labcheck.LabServer]:
    with labcheck.jupyter_lab(REPO) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a test dependency
        pytest.skip(NO_BROWSER.format(reason=f"playwright missing: {exc}"))
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(
                executable_path=labcheck.chromium_executable(),
                args=labcheck.CHROMIUM_ARGS,
                headless=True,
            )
        except Error as exc:
            message = NO_BROWSER.format(reason=str(exc).splitlines()[0][:200])
            print(message, file=sys.stderr)
            if os.environ.get("ROLLOUT_LABS_REQUIRE_BROWSER"):
                pytest.fail(message)
            pytest.skip(message)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    yield context.new_page()
    context.close()
