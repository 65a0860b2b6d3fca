"""Pictures from Hugging Face and Pollinations through their real clients against fakes on 127.0.0.1,
with the fallback chain proven by failures (500, timeout, bad image bytes) and reported per step."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from fake_images import FakeImages, Reply
from helpers import run_cli, write_spec

HF_TOKEN = "hf_fakeTokenDoNotPrint_123456"
POLL_TOKEN = "pollToken_secret_abcdef"
RED, BLUE = (200, 30, 30), (30, 30, 200)


def _spec(providers=None) -> dict:
    spec = {
        "version": 1,
        "title": "Pictures",
        "format": {"resolution": "720p", "fps": 24},
        "pacing": {"words_per_minute": 200, "pause": 0.2},
        "images": {"timeout": 1.5, "retries": 1},
        "scenes": [{"narration": "A red sky at dawn.", "visual": "a red sky"}],
    }
    if providers:
        spec["images"]["providers"] = providers
    return spec


@pytest.fixture
def fake(monkeypatch):
    with FakeImages() as server:
        monkeypatch.setenv("AUTOSTREAM_HF_BASE_URL", server.hf_url)
        monkeypatch.setenv("AUTOSTREAM_POLLINATIONS_URL", server.pollinations_url)
        monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
        monkeypatch.setenv("POLLINATIONS_API_TOKEN", POLL_TOKEN)
        yield server


def _build(tmp_path, spec: dict, report: str = "r.json"):
    path = write_spec(tmp_path, spec)
    result = run_cli("build", path, "--report", tmp_path / report)
    steps = json.loads((tmp_path / report).read_text())["steps"] if (tmp_path / report).exists() else []
    return result, next((s for s in steps if s["kind"] == "image"), None)


def _mean_color(video) -> np.ndarray:
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-ss",
            "0.5",
            "-i",
            str(video),
            "-frames:v",
            "1",
            "-vf",
            "crop=iw:ih*0.6:0:0,scale=8:4",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).mean(axis=0)


def test_default_chain_with_a_token_uses_hugging_face(tmp_path, fake):
    result, image = _build(tmp_path, _spec())
    assert result.exit_code == 0, result.stderr
    assert image["provider"] == "hf" and image["status"] == "built" and "warnings" not in image
    [request] = fake.hf.requests
    assert request["headers"]["authorization"] == f"Bearer {HF_TOKEN}"
    assert request["body"]["inputs"].startswith("a red sky, documentary photograph")
    params = request["body"]["parameters"]
    assert (params["width"], params["height"]) == (1344, 768) and isinstance(params["seed"], int)
    assert np.allclose(_mean_color(tmp_path / "out" / "video.mp4"), RED, atol=25)  # the picture is in the video
    assert fake.pollinations.requests == []
    assert request["body"]["parameters"]["num_inference_steps"] == 6  # SDXL-Flash wants few steps

    again, image = _build(tmp_path, _spec(), "r2.json")
    assert image["status"] == "cached" and image["provider"] == "hf" and len(fake.hf.requests) == 1


def test_a_failing_provider_falls_back_with_a_warning_and_is_tried_again_next_build(tmp_path, fake):
    fake.hf.replies.extend([Reply(500, b'{"error": "boom"}'), Reply(500, b'{"error": "boom"}')])
    result, image = _build(tmp_path, _spec())
    assert result.exit_code == 0, result.stderr
    assert image["provider"] == "pollinations" and len(fake.hf.requests) == 2  # one try and one retry
    [warning] = image["warnings"]
    assert "hf" in warning and "HTTP 500" in warning and "falling back" in warning
    assert "warning" in result.stderr and "HTTP 500" in result.stderr
    [request] = fake.pollinations.requests
    assert request["prompt"].startswith("a red sky, documentary photograph")
    assert request["query"]["width"] == "1344" and request["headers"]["authorization"] == f"Bearer {POLL_TOKEN}"
    assert request["query"]["model"] == "flux"  # its own model, not the Hugging Face one
    assert np.allclose(_mean_color(tmp_path / "out" / "video.mp4"), BLUE, atol=25)

    again, image = _build(tmp_path, _spec(), "r2.json")  # Hugging Face is back: it is asked again
    assert image["status"] == "built" and image["provider"] == "hf" and "warnings" not in image
    assert np.allclose(_mean_color(tmp_path / "out" / "video.mp4"), RED, atol=25)


def test_timeouts_and_bad_image_bytes_fall_through_to_procedural(tmp_path, fake):
    fake.hf.replies.extend([Reply(delay=3), Reply(delay=3)])
    fake.pollinations.replies.extend([Reply(body=b"<html>not an image</html>")] * 2)
    result, image = _build(tmp_path, _spec())
    assert result.exit_code == 0, result.stderr
    assert image["provider"] == "procedural" and len(image["warnings"]) == 2
    assert "hf" in image["warnings"][0] and "Timeout" in image["warnings"][0]
    assert "pollinations" in image["warnings"][1] and "UnidentifiedImageError" in image["warnings"][1]


def test_a_chain_that_runs_out_fails_the_image_step_only(tmp_path, fake):
    fake.hf.replies.extend([Reply(503, b"{}")] * 2)
    result, image = _build(tmp_path, _spec(["hf"]))
    assert result.exit_code == 1 and image["status"] == "failed"
    assert "no image provider delivered" in image["error"] and "HTTP 503" in image["error"]
    assert "Traceback" not in result.output and not (tmp_path / "out" / "video.mp4").exists()


def test_a_refused_token_is_named_and_never_printed(tmp_path, fake):
    fake.hf.replies.append(Reply(401, b'{"error": "Invalid credentials in Authorization header"}'))
    fake.pollinations.replies.extend([Reply(502, b"{}")] * 2)
    result, image = _build(tmp_path, _spec(["hf", "pollinations", "procedural"]))
    assert result.exit_code == 0 and image["provider"] == "procedural"
    assert "refused the token (HTTP 401)" in image["warnings"][0] and len(fake.hf.requests) == 1  # not retried
    assert "HTTP 502" in image["warnings"][1]
    for file in tmp_path.rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert HF_TOKEN.encode() not in data and POLL_TOKEN.encode() not in data, file
    assert HF_TOKEN not in result.output


def test_without_a_token_the_default_chain_is_offline(tmp_path, fake, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    result, image = _build(tmp_path, _spec())
    assert result.exit_code == 0 and image["provider"] == "procedural"
    assert fake.hf.requests == [] and fake.pollinations.requests == []


def test_keys_from_a_dotenv_beside_the_spec(tmp_path, fake, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    (tmp_path / ".env").write_text(f"HF_TOKEN={HF_TOKEN}\n")
    result, image = _build(tmp_path, _spec())
    assert result.exit_code == 0 and image["provider"] == "hf"
    assert fake.hf.requests[0]["headers"]["authorization"] == f"Bearer {HF_TOKEN}"
