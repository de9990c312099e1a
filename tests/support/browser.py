"""What every browser test shares: Debian's Chromium driven by playwright (never `playwright
install`), the two screen sizes, and where screenshots go."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.live import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the machine
        return "the playwright package is not installed (pip install playwright==1.65.2)"
    if not CHROMIUM.exists() or not shutil.which(str(CHROMIUM)):
        return "/usr/bin/chromium is missing (apt-get install -y chromium)"
    return None


# `pytestmark = NEEDS_CHROMIUM` in a browser test module.
NEEDS_CHROMIUM = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or ""),
]
