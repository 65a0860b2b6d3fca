"""The preview page in a real browser: Debian's headless Chromium, driven by Playwright (`browser_page`)."""

from __future__ import annotations

from helpers import Watching, small_spec, write_spec


def test_page_plays_and_picks_up_an_edit_without_a_reload(tmp_path, browser_page):
    from playwright.sync_api import expect  # importable here: browser_page skips where it is not

    page = browser_page
    video = page.locator("#video")
    spec = small_spec()
    path = write_spec(tmp_path, spec)
    with Watching(path) as watch:
        watch.wait_for(1)
        page.goto(watch.url + "/")
        page.wait_for_function("window.autostream && window.autostream.loads === 1")
        # it plays: time moves on in a 640x360 picture
        page.wait_for_function(
            "() => { const v = document.getElementById('video');"
            " return v.currentTime > 0.5 && !v.paused && v.videoWidth === 640 && v.videoHeight === 360; }"
        )
        expect(page.locator("#scenes li")).to_have_count(3)
        expect(page.locator("#state")).to_contain_text("build #1 done")

        # slowed down, so scene 2 is still playing when the edit lands however long the build takes
        page.evaluate("window.notReloaded = true")
        video.evaluate("video => { video.defaultPlaybackRate = video.playbackRate = 0.1; }")
        # the user clicks scene 2 in the list; the video seeks there and plays on
        page.locator("#scenes button").nth(1).click()
        second_start = watch.status()["scenes"][1]["start"]
        page.wait_for_function(
            "start => { const v = document.getElementById('video');"
            " return Math.abs(v.currentTime - start) < 0.5 && !v.paused; }",
            arg=second_start,
        )

        spec["scenes"][1]["narration"] = "Then the second one costs $9."
        write_spec(tmp_path, spec)
        status = watch.wait_for(2)
        page.wait_for_function("window.autostream.loads === 2", timeout=30_000)
        assert video.evaluate("video => video.currentSrc").endswith(status["video"])
        assert page.evaluate("window.notReloaded") is True  # the page updated itself
        # resumed at the scene that was playing, and playing
        start, end = status["scenes"][1]["start"], status["scenes"][1]["end"]
        page.wait_for_function(
            "([start, end]) => { const v = document.getElementById('video');"
            " return v.currentTime >= start - 0.05 && v.currentTime < end && !v.paused; }",
            arg=[start, end],
        )
        expect(page.locator("#state")).to_contain_text("build #2 done: 7 built")
        expect(page.locator("#scenes li.playing")).to_have_attribute("data-index", "1", timeout=5_000)
