"""The warp process that draws moving shots: its geometry, its colours against ffmpeg's own
conversion, and how its failures reach the build."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from PIL import Image

from autostream_compiler.errors import ToolError
from autostream_compiler.render import ffmpeg
from autostream_compiler.render.warp import move_at, yuv420


def test_moves_start_and_end_where_the_presets_say():
    assert move_at("none", 0.1, 48, 5, 640, 360) is None
    assert move_at("zoom_in", 0.0, 48, 5, 640, 360) is None
    assert move_at("zoom_in", 0.1, 48, 0, 640, 360) == (0.0, 0.0, 1.0)  # the whole picture first
    x0, y0, scale = move_at("zoom_in", 0.1, 48, 47, 640, 360)
    assert scale == pytest.approx(1 / 1.1) and x0 == pytest.approx(320 - 320 / 1.1)  # centred, 10% closer
    left, right = move_at("pan_left", 0.1, 48, 0, 640, 360), move_at("pan_left", 0.1, 48, 47, 640, 360)
    assert left.x0 == pytest.approx(640 - 640 / 1.1) and right.x0 == pytest.approx(0)  # right edge to left edge
    assert left.y0 == right.y0 == pytest.approx(180 - 180 / 1.1)
    mid = [move_at("zoom_out", 0.1, 48, f, 640, 360).scale for f in range(48)]
    assert all(b >= a for a, b in zip(mid, mid[1:]))  # zooming out: the view only grows


def test_colours_match_ffmpegs_conversion(tmp_path):
    rng = np.random.default_rng(7)
    blocks = rng.integers(0, 256, (9, 16, 3), dtype=np.uint8)  # flat 40x40 patches of random colours
    picture = np.kron(blocks, np.ones((40, 40, 1), dtype=np.uint8))
    Image.fromarray(picture).save(tmp_path / "p.png")
    argv = [ffmpeg.ffmpeg_exe(), "-v", "error", "-i", str(tmp_path / "p.png"), "-vf", f"{ffmpeg.TO_YUV},format=yuv420p"]
    raw = subprocess.run([*argv, "-f", "rawvideo", "-"], capture_output=True, check=True).stdout
    theirs = np.frombuffer(raw, dtype=np.uint8)
    ours = np.concatenate([p.ravel() for p in yuv420(picture)])
    assert ours.shape == theirs.shape
    # inside the patches (away from chroma filtering at their edges) the levels agree within one step
    luma = 640 * 360
    y_ours, y_theirs = ours[:luma].reshape(360, 640), theirs[:luma].reshape(360, 640)
    assert np.abs(y_ours.astype(int) - y_theirs).max() <= 1
    u_ours, u_theirs = ours[luma : luma * 5 // 4].reshape(180, 320), theirs[luma : luma * 5 // 4].reshape(180, 320)
    inner = (slice(3, None, 20), slice(3, None, 20))
    assert np.abs(u_ours[inner].astype(int) - u_theirs[inner]).max() <= 1


def test_a_picture_it_cannot_read_fails_in_one_line(tmp_path):
    (tmp_path / "in.png").write_bytes(b"not a picture")
    shot = ffmpeg.Shot("in.png", None, 24, 0, "zoom_in", 0.1)
    with pytest.raises(ToolError) as failed:
        ffmpeg.run(ffmpeg.segment_argv(shot, 24, 24, ".", ffmpeg.X264, "out.mp4"), cwd=tmp_path, what="ffmpeg (x)")
    assert "cannot read the picture in.png" in str(failed.value) and "\n" not in str(failed.value)
    assert not (tmp_path / "out.mp4").exists()


def test_an_ffmpeg_failure_behind_the_warp_is_ffmpegs_message(tmp_path):
    Image.new("RGB", (64, 36), "navy").save(tmp_path / "in.png")
    shot = ffmpeg.Shot("in.png", "missing.ass", 24, 0, "pan_left", 0.1)
    with pytest.raises(ToolError) as failed:
        ffmpeg.run(ffmpeg.segment_argv(shot, 24, 24, ".", ffmpeg.X264, "out.mp4"), cwd=tmp_path, what="ffmpeg (x)")
    assert "ffmpeg (x) failed: exit code" in str(failed.value) and "missing.ass" in str(failed.value)


def test_a_draft_shot_is_scaled_to_its_size(tmp_path):
    Image.new("RGB", (1280, 720), "teal").save(tmp_path / "in.png")
    shot = ffmpeg.Shot("in.png", None, 30, 0, "zoom_in", 0.1, (640, 360))
    ffmpeg.run(ffmpeg.segment_argv(shot, 30, 30, ".", ffmpeg.X264, "out.mp4"), cwd=tmp_path)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-count_frames", "-show_entries",
         "stream=width,height,nb_read_frames", "-of", "csv=p=0", str(tmp_path / "out.mp4")],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert probe == "640,360,30"
