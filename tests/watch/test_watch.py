"""`autostream watch` as a user runs it: a real process, real edits of the spec, the preview's status."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import yaml
from helpers import Watching, ffprobe, run_cli, small_spec, write_spec
from PIL import Image

from autostream_compiler.specfile.style import builtin_styles_dir


def _built(status: dict) -> set[tuple[str, int | None]]:
    return {(s["kind"], s["scene"]) for s in status["steps"] if s["status"] == "built"}


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".video.")]


def test_edit_break_fix_and_stop(tmp_path):
    spec = small_spec()
    path = write_spec(tmp_path, spec)
    with Watching(path) as watch:
        first = watch.wait_for(1)
        assert (first["state"], first["video"], first["error"]) == ("done", "/video/1/video.draft.mp4", None)
        assert [s["title"] for s in first["scenes"]][0].startswith("The first scene")
        code, body, headers = watch.get(first["video"])
        assert code == 200 and body[4:8] == b"ftyp" and headers["Content-Type"] == "video/mp4"

        spec["scenes"][1]["narration"] = "Then the second one costs $7."  # one word of scene 2
        write_spec(tmp_path, spec)
        second = watch.wait_for(2)
        assert second["state"] == "done" and second["video"] == "/video/2/video.draft.mp4"
        assert _built(second) == {
            ("tts", 1),
            ("align", 1),
            ("level", 1),  # the take's loudness, from which the draft's master takes its gain
            ("segment", 1),
            ("timeline", None),
            ("audio", None),
            ("mux", None),
        }
        assert watch.get(second["video"])[1] == (tmp_path / "out" / "video.draft.mp4").read_bytes()

        write_spec(tmp_path, spec)  # saved again without a change: no build
        (tmp_path / "notes.txt").write_text("not the spec")  # another file in the folder: no build
        time.sleep(1.5)
        assert watch.status()["state"] == "done" and watch.count("watching") == 2

        spec["scenes"][2]["narration"] = "Finally, we stop here."
        swap = tmp_path / ".video.yaml.swp"  # an editor saving by rename-and-replace
        swap.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        os.replace(swap, path)
        third = watch.wait_for(3)
        assert third["state"] == "done" and third["video"] == "/video/3/video.draft.mp4"
        assert ("segment", 2) in _built(third) and ("segment", 1) not in _built(third)

        path.write_text("version: 1\nscenes: [\n", encoding="utf-8")  # a broken save
        broken = watch.wait_for(4)
        assert broken["state"] == "failed" and broken["video"] == third["video"]
        expected = run_cli("build", path).stderr.strip()  # what `build` says about the same file
        assert str(path) in broken["error"] and broken["error"] == expected
        assert expected in "".join(watch.lines)
        assert watch.proc.poll() is None  # still watching

        write_spec(tmp_path, spec)
        fixed = watch.wait_for(5)
        assert fixed["state"] == "done" and fixed["video"] == "/video/5/video.draft.mp4"
        assert _built(fixed) == set()  # the spec is back as it was for build 3

        code, seconds = watch.stop()
    assert code == 0 and seconds < 5
    assert "stopped" in watch.lines[-1]
    assert not _leftovers(tmp_path)
    video = ffprobe(tmp_path / "out" / "video.draft.mp4")
    assert video["streams"][0]["height"] == 360


def _picture(path: Path, colour: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (640, 360), colour).save(path)


def test_files_the_spec_names_are_watched_even_before_they_exist(tmp_path):
    spec = small_spec()
    spec["style"] = "look.yaml"
    spec["scenes"][0]["image"] = "pics/one.png"  # neither the file nor its folder exist yet
    style = (builtin_styles_dir() / "documentary.yaml").read_text(encoding="utf-8")
    (tmp_path / "look.yaml").write_text(style, encoding="utf-8")
    path = write_spec(tmp_path, spec)
    with Watching(path) as watch:
        missing = watch.wait_for(1)
        assert missing["state"] == "failed" and "pics/one.png" in missing["error"]

        _picture(tmp_path / "pics" / "one.png", "#c03020")  # the picture appears
        found = watch.wait_for(2)
        assert found["state"] == "done", found["error"]

        _picture(tmp_path / "pics" / "one.png", "#2040c0")  # the picture is painted over
        repainted = watch.wait_for(3)
        assert ("segment", 0) in _built(repainted) and ("tts", 0) not in _built(repainted)

        (tmp_path / "look.yaml").write_text(style + "\nnot: [valid\n", encoding="utf-8")  # the style breaks
        broken = watch.wait_for(4)
        assert broken["state"] == "failed" and "look.yaml" in broken["error"]
        (tmp_path / "look.yaml").write_text(style.replace("#FFD166", "#FF8800"), encoding="utf-8")  # mended
        mended = watch.wait_for(5)
        assert mended["state"] == "done", mended["error"]
        assert watch.stop()[0] == 0


def test_a_save_during_the_first_build_is_built_next(tmp_path):
    spec = small_spec()
    spec["format"] = {"aspect": "16:9", "resolution": "1080p", "fps": 30}  # the first build takes seconds
    path = write_spec(tmp_path, spec)
    with Watching(path, "--profile", "final") as watch:
        deadline = time.monotonic() + 120
        while not watch.count("built   segment"):
            assert time.monotonic() < deadline and watch.proc.poll() is None, "".join(watch.lines)
            time.sleep(0.05)
        assert watch.status()["state"] == "building"
        spec["scenes"][0]["narration"] = "The first scene starts in 1884."
        write_spec(tmp_path, spec)
        second = watch.wait_for(2)
        assert second["state"] == "done" and ("tts", 0) in _built(second)
        assert watch.stop()[0] == 0


def _ffmpeg_children_in(folder: Path) -> list[int]:
    """ffmpeg processes whose working folder is inside `folder`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if "ffmpeg" in (proc / "comm").read_text() and os.readlink(proc / "cwd").startswith(str(folder)):
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return found


def test_stopping_mid_build_ends_children_and_leaves_nothing_half_written(tmp_path):
    spec = small_spec()
    spec["format"] = {"aspect": "16:9", "resolution": "1080p", "fps": 30}  # segments take seconds
    path = write_spec(tmp_path, spec)
    with Watching(path, "--profile", "final") as watch:
        deadline = time.monotonic() + 120
        steps = tmp_path / ".autostream" / "cache" / "tmp"  # not `ffmpeg -version`, asked while the spec is read
        while not _ffmpeg_children_in(steps):  # wait until segments are being encoded
            assert time.monotonic() < deadline and watch.proc.poll() is None, "".join(watch.lines)
            time.sleep(0.05)
        code, seconds = watch.stop(signal.SIGINT)
    assert code == 0 and seconds < 5, "".join(watch.lines)
    time.sleep(0.2)
    assert not _ffmpeg_children_in(tmp_path)
    assert not _leftovers(tmp_path)
    assert not list((tmp_path / ".autostream" / "cache" / "tmp").iterdir())  # step folders removed
    assert not (tmp_path / "out" / "video.mp4").exists()
    # the cache holds only whole results: the next build uses them and makes a sound video
    result = run_cli("build", path, "--report", tmp_path / "report.json")
    assert result.exit_code == 0, result.stderr
    assert ffprobe(tmp_path / "out" / "video.mp4")["streams"][0]["height"] == 1080


def test_watch_keeps_its_cache_under_the_cap_and_the_latest_build_whole(tmp_path):
    spec = small_spec()
    path = write_spec(tmp_path, spec)
    with Watching(path, "--cache-max-size", "1KB") as watch:
        watch.wait_for(1)
        assert watch.count("cache: removed") == 0  # everything is the latest build's
        spec["scenes"][1]["narration"] = "Then the second one costs $7."
        write_spec(tmp_path, spec)
        watch.wait_for(2)
        deadline = time.monotonic() + 10
        while watch.count("cache: removed") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert watch.count("cache: removed") == 1, "".join(watch.lines)  # the first narration of scene 2 went
        watch.stop()
    again = run_cli("build", path, "--profile", "draft")
    assert again.exit_code == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr
