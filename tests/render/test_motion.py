"""The camera moves, measured on rendered frames: steady, eased, never stepping backwards."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from PIL import Image

from autostream_compiler.render import ffmpeg


def _frames(tmp_path, preset: str, width: int, height: int, count: int = 48) -> np.ndarray:
    picture = np.full((height, width, 3), 40, dtype=np.uint8)
    picture[:, width // 2 - 1 : width // 2 + 1] = 255  # a thin vertical line
    picture[height // 2 - 1 : height // 2 + 1, :] = 255  # and a horizontal one
    Image.fromarray(picture).save(tmp_path / "in.png")
    (tmp_path / "none.ass").write_text("[Script Info]\nScriptType: v4.00+\n\n[Events]\n")
    shot = ffmpeg.Shot("in.png", "none.ass", count, 0, preset, 0.1)
    argv = ffmpeg.segment_argv(shot, count, 24, ".", ffmpeg.X264, "out.mp4")
    subprocess.run(argv, cwd=tmp_path, check=True)
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(tmp_path / "out.mp4"), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(count, height, width).astype(np.float32)


def _line_positions(frames: np.ndarray, axis: int) -> np.ndarray:
    """Sub-pixel position of the bright line along an axis, per frame (intensity centroid)."""
    profile = frames.mean(axis=1 if axis == 1 else 2)  # columns (x) or rows (y)
    weights = np.clip(profile - np.median(profile, axis=1, keepdims=True), 0, None) ** 2
    return (weights * np.arange(profile.shape[1])).sum(axis=1) / weights.sum(axis=1)


@pytest.mark.parametrize(
    "preset,axis,sign", [("pan_right", 1, -1), ("pan_left", 1, 1), ("pan_up", 0, 1), ("pan_down", 0, -1)]
)
@pytest.mark.parametrize("size", [(640, 360), (360, 640)])
def test_pans_move_steadily_one_way(tmp_path, preset, axis, sign, size):
    positions = _line_positions(_frames(tmp_path, preset, *size), axis)
    steps = np.diff(positions) * sign
    assert (steps > -0.1).all(), steps  # never backwards (beyond measurement noise; zoompan steps back 0.3 px)
    assert steps.sum() > 10  # it really moved
    assert np.abs(np.diff(steps)).max() < 0.35  # eased: the speed changes smoothly, no jumps


def test_zoom_in_grows_smoothly(tmp_path):
    frames = _frames(tmp_path, "zoom_in", 640, 360)
    # the vertical line stays centred while the horizontal line's thickness grows
    thickness = (frames[:, :, 100] > 128).sum(axis=1)
    assert thickness[-1] >= thickness[0]
    centre = _line_positions(frames, 1)
    assert np.abs(centre - centre[0]).max() < 0.3
