"""The camera move, drawn here and piped raw into ffmpeg, which lays the captions on and encodes.

Each frame of a moving shot is its still warped with sub-pixel precision: OpenCV's `warpAffine`
(bilinear) on the picture's YUV 4:2:0 planes, converted once (BT.601, TV range, as ffmpeg's libass
filter blends captions). ffmpeg's `perspective` filter drew the same move at about the encoder's own
cost per frame; this costs a fraction of it. Integer-pixel moves (crop, zoompan) step visibly.

It runs as a process of its own in front of ffmpeg, `python -m autostream_compiler.render.warp PLAN
-- FFMPEG-ARGV`: the step stays one command that its key hashes, the warp runs beside the build's
other work on a core of its own, and ffmpeg's errors reach the build as from ffmpeg alone. PLAN is
JSON: the frame size, the frame count and the shots (a transition stacks its two shots one above the
other in each frame; ffmpeg crops them apart for the crossfade).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
from typing import NamedTuple

import numpy as np

from autostream_compiler.children import DIE_WITH_PARENT

PIPE_BYTES = 1 << 20  # a larger pipe lets the warp run ahead of ffmpeg's reads


class Move(NamedTuple):
    """The part of the picture a frame shows: its top-left corner and its scale (1/zoom), in pixels
    of the picture."""

    x0: float
    y0: float
    scale: float


def move_at(preset: str, strength: float, frames: int, frame: int, width: int, height: int) -> Move | None:
    """The Ken Burns move at scene frame `frame` of `frames`, eased in and out; None for no move."""
    if preset == "none" or strength <= 0:
        return None
    p = frame / max(frames - 1, 1)
    ease = p * p * (3 - 2 * p)
    zoom = {"zoom_in": 1 + strength * ease, "zoom_out": 1 + strength * (1 - ease)}.get(preset, 1 + strength)
    half_w, half_h = width / (2 * zoom), height / (2 * zoom)
    travel_x, travel_y = (width / 2 - half_w) * (1 - 2 * ease), (height / 2 - half_h) * (1 - 2 * ease)
    cx = width / 2 + {"pan_left": travel_x, "pan_right": -travel_x}.get(preset, 0.0)
    cy = height / 2 + {"pan_up": travel_y, "pan_down": -travel_y}.get(preset, 0.0)
    return Move(cx - half_w, cy - half_h, 1 / zoom)


def yuv420(picture: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An RGB picture as BT.601 TV-range Y, U and V planes, chroma averaged over 2x2 pixels."""
    rgb = picture.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    h, w = y.shape

    def half(plane: np.ndarray) -> np.ndarray:
        return plane.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    return tuple(np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in (y, half(u), half(v)))


class Shot(NamedTuple):
    """A run of frames of one scene: its picture file, the scene's length in frames (the move's
    length) and the scene frame of the run's first frame."""

    image: str
    frames: int
    first: int
    preset: str
    strength: float


def load(shot: Shot, width: int | None = None, height: int | None = None) -> tuple[np.ndarray, ...]:
    """A shot's picture as YUV planes, scaled by area to the frame size when one is given."""
    import cv2

    bgr = cv2.imread(shot.image, cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"warp: cannot read the picture {shot.image}")
    if width and bgr.shape[:2] != (height, width):
        bgr = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
    return yuv420(bgr[..., ::-1])


def frames(shots: list[Shot], planes: list[tuple[np.ndarray, ...]], count: int):
    """The `count` frames of the shots (their pictures' `planes`) as a YUV4MPEG stream, each frame's
    shots stacked one above the other: one buffer, drawn afresh for each frame (write it before
    asking for the next)."""
    import cv2

    n, (height, width) = len(shots), planes[0][0].shape
    luma, chroma = width * height, width * height // 4
    head = b"FRAME\n"
    buffer = np.empty(len(head) + n * (luma + 2 * chroma), dtype=np.uint8)
    buffer[: len(head)] = np.frombuffer(head, dtype=np.uint8)
    body = buffer[len(head) :]
    views = []  # per shot: its Y, U and V regions of the frame
    for k in range(n):
        y = body[k * luma : (k + 1) * luma].reshape(height, width)
        u, v = (
            body[n * luma + c * n * chroma + k * chroma :][:chroma].reshape(height // 2, width // 2) for c in (0, 1)
        )
        views.append((y, u, v))
        for dst, src in zip(views[k], planes[k]):
            dst[:] = src  # a still shot stays as drawn here
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    for i in range(count):
        for shot, src, dst in zip(shots, planes, views):
            move = move_at(shot.preset, shot.strength, shot.frames, shot.first + i, width, height)
            if move is None:
                continue
            for plane, (source, target) in enumerate(zip(src, dst)):
                sub = 2 if plane else 1  # chroma planes are half the size
                matrix = np.array([[move.scale, 0, move.x0 / sub], [0, move.scale, move.y0 / sub]])
                size = (target.shape[1], target.shape[0])
                cv2.warpAffine(source, matrix, size, dst=target, flags=flags, borderMode=cv2.BORDER_REPLICATE)
        yield buffer


def main(argv: list[str]) -> int:
    """Feed ffmpeg (the argv after `--`) the frames the plan (the JSON before it) describes; ffmpeg's
    exit code is this process's."""
    import cv2

    cut = argv.index("--")
    plan, encode = json.loads(argv[cut - 1]), argv[cut + 1 :]
    cv2.setNumThreads(1)  # a warp is cheap; ffmpeg's encoder has the cores
    shots = [Shot(**s) for s in plan["shots"]]
    size = plan.get("size")
    planes = [load(shot, *size) if size else load(shot) for shot in shots]
    height, width = planes[0][0].shape
    header = f"YUV4MPEG2 W{width} H{height * len(shots)} F{plan['fps']}:1 Ip A1:1 C420jpeg XCOLORRANGE=LIMITED\n"
    ffmpeg = subprocess.Popen([*DIE_WITH_PARENT, *encode], stdin=subprocess.PIPE)
    try:
        fcntl.fcntl(ffmpeg.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        pass  # a smaller pipe only costs a little speed
    try:
        ffmpeg.stdin.write(header.encode())
        for frame in frames(shots, planes, plan["count"]):
            ffmpeg.stdin.write(frame)
        ffmpeg.stdin.close()
    except BrokenPipeError:  # ffmpeg stopped reading: it failed, and its stderr says why
        pass
    return ffmpeg.wait()


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except BrokenPipeError:
        code = 1
    sys.stderr.flush()
    if code < 0:  # ffmpeg was killed by a signal: die of the same one, so the build names it
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)
