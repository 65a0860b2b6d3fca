"""Every test starts from a clean environment: no developer keys or endpoints leak into a build, and
no digest of code a test patched outlives it. Browser tests get a page of Debian's headless Chromium."""

from __future__ import annotations

import os
import shutil

import pytest
from helpers import OUTSIDE

from autostream_compiler.engine.recipe import forget

_CHROMIUMS = ("chromium", "chromium-browser")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith(OUTSIDE):
            monkeypatch.delenv(name)
    yield
    forget()  # a test that patched a constant leaves no digest of the patched code behind


@pytest.fixture(scope="module")
def chromium_browser():
    """Debian's Chromium, headless under Playwright, for one test module (no browser downloads); skipped,
    with the reason, where there is no Chromium on PATH or no Playwright."""
    binary = next((found for name in _CHROMIUMS if (found := shutil.which(name))), None)
    if binary is None:
        pytest.skip("needs Chromium (apt-get install chromium; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright (pip install -e '.[test]')")
    # module scope, not session: Playwright's event loop is gone before the next module's tests run
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium_browser):
    """A fresh page (its own cookies and storage) in the module's headless Chromium."""
    context = chromium_browser.new_context()
    yield context.new_page()
    context.close()
