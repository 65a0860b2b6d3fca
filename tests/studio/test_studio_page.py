"""The studio in a real browser (Debian's Chromium under Playwright): fill the form, draft, build, watch."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("gradio_client", reason="needs the studio extra (pip install -e '.[test]')")

SCRIPT = "A lighthouse stands on the cliff.\n\nIts lamp turns all night over the sea."


def test_fill_the_form_draft_build_and_watch(studio, browser_page):
    from playwright.sync_api import expect

    expect.set_options(timeout=90_000)
    page = browser_page
    page.set_default_timeout(90_000)
    page.goto(studio.url)
    page.get_by_label("Title").fill("Lighthouse night")
    page.get_by_label("…or a script (split into scenes by sentences)").fill(SCRIPT)
    page.get_by_role("button", name="Draft", exact=True).click()
    expect(page.get_by_text("2 scenes drafted")).to_be_visible()
    expect(page.get_by_label("Job")).to_have_value("lighthouse-night")
    expect(page.locator(".cm-content")).to_contain_text("Its lamp turns all night over the sea.")

    page.get_by_label("draft", exact=True).check()
    page.get_by_role("button", name="Build", exact=True).click()
    expect(page.get_by_text("built", exact=True)).to_be_visible()
    video = page.locator("#studio-video video")
    expect(video).to_have_attribute("src", re.compile(r"lighthouse-night\.draft\.mp4$"))
    page.evaluate("""() => { const v = document.querySelector('#studio-video video'); v.muted = true; v.play(); }""")
    page.wait_for_function(
        "() => { const v = document.querySelector('#studio-video video'); return v.currentTime > 0.5 && !v.paused; }"
    )
    assert page.evaluate("() => document.querySelector('#studio-video video').videoHeight") == 360
    assert (studio.workspace / "lighthouse-night" / "out" / "lighthouse-night.draft.mp4").is_file()

    page.get_by_role("tab", name="Jobs").click()
    expect(page.get_by_role("gridcell", name="lighthouse-night")).to_be_visible()
