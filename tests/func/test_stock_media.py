"""Stock photos and clips from Pexels through the real HTTP client against a fake on 127.0.0.1: the
picture or clip in the video, its credit in `<stem>.credits.md`, fallback down the chain on a refused
key, a rate limit that outlasts the retries or no result, and the key never written anywhere."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from fake_pexels import FakePexels, Reply, color
from helpers import ffprobe, report_statuses, run_cli, write_spec

KEY = "pexelsKeyDoNotPrint_987654"


@pytest.fixture
def fake(monkeypatch):
    with FakePexels(key=KEY) as server:
        monkeypatch.setenv("AUTOSTREAM_PEXELS_URL", server.url)
        monkeypatch.setenv("PEXELS_API_KEY", KEY)
        yield server


def _spec(stock: str = "photo") -> dict:
    return {
        "version": 1,
        "title": "Stock",
        "encoder": "libx264",
        "format": {"resolution": "720p", "fps": 24},
        "pacing": {"words_per_minute": 200, "pause": 0.3},
        "images": {"providers": ["pexels", "procedural"], "stock": stock, "timeout": 5, "retries": 1},
        "scenes": [{"narration": "Fishing boats leave the harbour.", "visual": "fishing boats in a harbour at dawn"}],
    }


def _build(folder, spec, report="r.json"):
    path = write_spec(folder, spec)
    result = run_cli("build", path, "--report", folder / report)
    assert result.exit_code == 0, result.stderr
    data = json.loads((folder / report).read_text())
    return path, result, data, next(s for s in data["steps"] if s["kind"] == "image")


def _middle_colour(video) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", "0.5", "-i", str(video), "-frames:v", "1", "-vf", "crop=200:100:540:200",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).mean(axis=0)


def _everything_written(folder) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file() and p.stat().st_size < 5e6)


def test_a_stock_photo_is_shown_and_credited(tmp_path, fake):
    path, result, report, image = _build(tmp_path, _spec())
    request = fake.requests[0]
    assert request["path"] == "/v1/search" and request["headers"]["authorization"] == KEY
    assert request["query"]["orientation"] == "landscape" and "fishing boats harbour" in request["query"]["query"]
    assert image["provider"] == "pexels" and image["details"]["kind"] == "photo"
    chosen = image["details"]["asset"]
    assert np.abs(_middle_colour(tmp_path / "out" / "video.mp4") - color(chosen)).max() < 30
    credits = (tmp_path / "out" / "video.credits.md").read_text()
    assert f"Photo by [Photographer {chosen}]" in credits and f"fake-{chosen}" in credits
    assert KEY not in result.output + result.stderr + _everything_written(tmp_path)
    again = run_cli("build", path, "--report", tmp_path / "r2.json")  # cached by the chosen asset
    assert again.exit_code == 0 and set(report_statuses(tmp_path / "r2.json").values()) == {"cached"}
    assert len(fake.requests) == 1


def test_a_stock_clip_plays_when_the_spec_asks_for_footage(tmp_path, fake):
    _, _, report, image = _build(tmp_path, _spec("video"))
    assert fake.requests[0]["path"] == "/videos/search"
    assert image["provider"] == "pexels" and image["details"]["kind"] == "video"
    assert "Video by [Videographer" in (tmp_path / "out" / "video.credits.md").read_text()
    video = tmp_path / "out" / "video.mp4"
    frames = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(video), "-map", "0:v", "-f", "framemd5", "-"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    hashes = [line.rsplit(",", 1)[-1] for line in frames if not line.startswith("#")]
    assert len(set(hashes)) > 0.9 * len(hashes)  # footage moves in every frame, it is no still
    stream = next(s for s in ffprobe(video)["streams"] if s["codec_type"] == "video")
    assert (stream["width"], stream["height"]) == (1280, 720)


@pytest.mark.parametrize(
    ("replies", "warning"),
    [
        ([Reply(401)], "pexels refused the key (HTTP 401); check PEXELS_API_KEY; falling back to procedural"),
        ([Reply(429, {"Retry-After": "0"})] * 2, "HTTP 429"),
        ([Reply(results=[])], "pexels found no photo for 'fishing boats harbour dawn'"),
    ],
)
def test_a_failure_falls_back_down_the_chain(tmp_path, fake, replies, warning):
    fake.search_replies.extend(replies)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "video.credits.md").write_text("from an earlier build")
    _, result, report, image = _build(tmp_path, _spec())
    assert image["provider"] == "procedural" and image["details"]["family"] == "coast"
    assert any(warning in w for w in image["warnings"]), image["warnings"]
    assert not (tmp_path / "out" / "video.credits.md").exists()  # no stock media: no credits
    assert KEY not in result.output + result.stderr + _everything_written(tmp_path)


def test_without_a_key_pexels_says_so_and_falls_back(tmp_path, fake, monkeypatch):
    monkeypatch.delenv("PEXELS_API_KEY")
    _, _, _, image = _build(tmp_path, _spec())
    assert image["provider"] == "procedural"
    assert any("pexels needs PEXELS_API_KEY" in w for w in image["warnings"])
    assert fake.requests == []


def test_pexels_after_another_provider_gets_what_it_reads(tmp_path, fake, monkeypatch):
    """A chain where pexels is a fallback: it still searches by the scene's visual."""
    from fake_images import FakeImages
    from fake_images import Reply as ImageReply

    with FakeImages() as images:
        monkeypatch.setenv("AUTOSTREAM_POLLINATIONS_URL", images.pollinations_url)
        images.pollinations.replies.extend([ImageReply(500), ImageReply(500)])
        spec = _spec()
        spec["images"]["providers"] = ["pollinations", "pexels", "procedural"]
        _, _, _, image = _build(tmp_path, spec)
    assert image["provider"] == "pexels" and "fishing boats harbour" in fake.requests[0]["query"]["query"]
    assert any("falling back to pexels" in w for w in image["warnings"])


def test_changing_the_stock_kind_changes_what_a_scene_shows(tmp_path, fake):
    _, _, _, image = _build(tmp_path, _spec("video"))
    assert image["details"]["kind"] == "video"
    _, _, _, image = _build(tmp_path, _spec("photo"), "r2.json")
    assert image["details"]["kind"] == "photo"
