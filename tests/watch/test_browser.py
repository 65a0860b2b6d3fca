"""The preview page in a real browser: headless Chromium from Debian, driven by the DevTools protocol."""

from __future__ import annotations

import pytest
from cdp import Chromium, chromium_binary
from helpers import Watching, small_spec, write_spec

pytestmark = pytest.mark.skipif(
    chromium_binary() is None, reason="needs Chromium (apt-get install chromium; .ci/run installs it)"
)

VIDEO = "document.getElementById('video')"


def test_page_plays_and_picks_up_an_edit_without_a_reload(tmp_path):
    spec = small_spec()
    path = write_spec(tmp_path, spec)
    with Watching(path) as watch, Chromium(tmp_path / "profile") as browser:
        watch.wait_for(1)
        browser.open(watch.url + "/")
        browser.wait_for("window.autostream && window.autostream.loads === 1")
        # it plays: time moves on in a 640x360 picture
        browser.wait_for(f"{VIDEO}.currentTime > 0.5 && !{VIDEO}.paused && {VIDEO}.videoWidth === 640")
        assert browser.evaluate("document.getElementById('scenes').children.length") == 3
        assert "build #1 done" in browser.evaluate("document.getElementById('state').textContent")

        # the user clicks scene 2 in the list; the video seeks there
        # slowed down, so scene 2 is still playing when the edit lands however long the build takes
        browser.evaluate(
            f"window.notReloaded = true; {VIDEO}.defaultPlaybackRate = {VIDEO}.playbackRate = 0.1;"
            "document.querySelectorAll('#scenes button')[1].click()"
        )
        second_start = watch.status()["scenes"][1]["start"]
        browser.wait_for(f"Math.abs({VIDEO}.currentTime - {second_start}) < 0.5 && !{VIDEO}.paused")

        spec["scenes"][1]["narration"] = "Then the second one costs $9."
        write_spec(tmp_path, spec)
        status = watch.wait_for(2)
        browser.wait_for("window.autostream.loads === 2", timeout=30)
        assert browser.evaluate(f"{VIDEO}.currentSrc").endswith(status["video"])
        assert browser.evaluate("window.notReloaded") is True  # the page updated itself
        # resumed at the scene that was playing, and playing
        start, end = status["scenes"][1]["start"], status["scenes"][1]["end"]
        browser.wait_for(f"{VIDEO}.currentTime >= {start} - 0.05 && {VIDEO}.currentTime < {end} && !{VIDEO}.paused")
        assert "build #2 done: 6 built" in browser.evaluate("document.getElementById('state').textContent")
        browser.wait_for("document.querySelector('#scenes li.playing')?.dataset.index === '1'", timeout=5)
