"""FFmpeg: finding the binary, argv builders (pure, never a shell string) and the runner."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from autostream_compiler.errors import ToolError, UserError

X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-profile:v", "high", "-threads", "2"]
TIMESCALE = ["-video_track_timescale", "90000"]


@lru_cache(maxsize=None)
def ffmpeg_exe() -> str:
    """The system's ffmpeg, else the one inside the imageio-ffmpeg wheel."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # noqa: BLE001 - any failure means the same thing to the user
        raise UserError("no ffmpeg found; install it (apt-get install ffmpeg) or pip install imageio-ffmpeg") from None


def motion_corners(preset: str, strength: float, frames: int) -> list[str] | None:
    """perspective-filter corner expressions for a Ken Burns move, eased in and out; None for no move.

    The source rectangle shrinks or slides with sub-pixel precision, so the move never steps.
    """
    if preset == "none" or strength <= 0:
        return None
    p = f"(on/{max(frames - 1, 1)})"
    ease = f"({p}*{p}*(3-2*{p}))"
    if preset == "zoom_in":
        scale = f"(1+{strength}*{ease})"
    elif preset == "zoom_out":
        scale = f"(1+{strength}*(1-{ease}))"
    else:
        scale = f"{1 + strength}"
    hw, hh = f"(W/(2*{scale}))", f"(H/(2*{scale}))"
    travel = f"(W/2-{hw})"
    cx = {"pan_left": f"(W/2+{travel}*(1-2*{ease}))", "pan_right": f"(W/2-{travel}*(1-2*{ease}))"}.get(preset, "(W/2)")
    cy = "(H/2)"
    x0, x1, y0, y1 = f"{cx}-{hw}", f"{cx}+{hw}", f"{cy}-{hh}", f"{cy}+{hh}"
    return [x0, y0, x1, y0, x0, y1, x1, y1]


def segment_argv(image: str, ass: str, fontsdir: str, frames: int, fps: int,
                 preset: str, strength: float, out: str) -> list[str]:
    """Encode one scene: the still image with its camera move and burned-in captions, video only."""
    chain = [f"loop=loop={frames - 1}:size=1:start=0", f"settb=expr=1/{fps}", "setpts=N"]
    corners = motion_corners(preset, strength, frames)
    if corners:
        names = ["x0", "y0", "x1", "y1", "x2", "y2", "x3", "y3"]
        args = ":".join(f"{n}='{e}'" for n, e in zip(names, corners))
        chain.append(f"perspective={args}:interpolation=linear:eval=frame")
    chain += [f"ass=filename={ass}:fontsdir={fontsdir}", "format=yuv420p"]
    graph = "[0:v]" + ",".join(chain) + "[v]"
    return [ffmpeg_exe(), "-nostdin", "-y", "-v", "error", "-framerate", str(fps), "-i", image,
            "-filter_complex", graph, "-map", "[v]", "-frames:v", str(frames),
            *X264, "-g", str(fps * 2), *TIMESCALE, "-an", out]


def audio_argv(wav: str, out: str) -> list[str]:
    """Encode the master narration WAV once into one continuous AAC track."""
    return [ffmpeg_exe(), "-nostdin", "-y", "-v", "error", "-i", wav,
            "-c:a", "aac", "-b:a", "160k", "-ar", "48000", "-ac", "2", out]


def concat_list(paths: list[Path]) -> str:
    """An ffconcat file naming each segment."""
    lines = ["ffconcat version 1.0"]
    for p in paths:
        quoted = str(p).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
    return "\n".join(lines) + "\n"


def mux_argv(concat: str, audio: str, out: str) -> list[str]:
    """Join the segments by stream copy and add the audio track."""
    return [ffmpeg_exe(), "-nostdin", "-y", "-v", "error", "-f", "concat", "-safe", "0", "-i", concat,
            "-i", audio, "-map", "0:v:0", "-map", "1:a:0", "-c", "copy", "-movflags", "+faststart",
            "-f", "mp4", out]


def run(argv: list[str], cwd: Path | None = None, what: str = "ffmpeg") -> None:
    """Run an ffmpeg argv; raise ToolError with the end of its stderr when it fails."""
    proc = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:]) or f"exit code {proc.returncode}"
        raise ToolError(f"{what} failed: {tail}")
