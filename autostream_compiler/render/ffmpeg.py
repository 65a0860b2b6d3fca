"""FFmpeg: finding the binary, argv builders (pure, never a shell string) and the runner."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from concurrent.futures import Future
from functools import cache
from pathlib import Path
from typing import NamedTuple

from autostream_compiler import children
from autostream_compiler.errors import ToolError, UserError

# Pictures become YUV with the BT.601 matrix, the one ffmpeg's libass filter blends captions with, and
# the stream says so: untagged HD video is shown with BT.709 by browsers, shifting every colour.
TO_YUV = "scale=out_color_matrix=bt601:out_range=tv"
COLOUR_TAGS = ["-colorspace", "smpte170m", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"]
X264 = [
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-crf",
    "20",
    "-pix_fmt",
    "yuv420p",
    "-profile:v",
    "high",
    "-threads",
    "2",
]
TIMESCALE = ["-video_track_timescale", "90000"]


@cache
def ffmpeg_exe() -> str:
    """The system's ffmpeg, else IMAGEIO_FFMPEG_EXE or the one inside the imageio-ffmpeg wheel; UserError
    when none is there to run."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    override = os.environ.get("IMAGEIO_FFMPEG_EXE")
    if override:  # imageio-ffmpeg returns it untested
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise UserError(
                f"no ffmpeg found: none on PATH, and IMAGEIO_FFMPEG_EXE={override!r} is not an executable file; "
                "install ffmpeg (apt-get install ffmpeg) or fix IMAGEIO_FFMPEG_EXE"
            )
        return override
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # noqa: BLE001 - any failure means the same thing to the user
        raise UserError("no ffmpeg found; install it (apt-get install ffmpeg) or pip install imageio-ffmpeg") from None


def probe_version() -> None:
    """Start asking ffmpeg its version (ffmpeg_version waits for the answer)."""
    _version_probe()


def ffmpeg_version() -> str:
    """The first line of `ffmpeg -version` without its copyright: what step keys record of the binary."""
    return _version_probe().result()


@cache
def _version_probe() -> Future:
    """`ffmpeg -version`, asked once per process on a thread of its own: a build starts it before
    reading the spec, so the answer is there when the first key needs it."""
    future: Future = Future()

    def ask() -> None:
        try:
            future.set_result(_read_version())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever asks for the version
            future.set_exception(exc)

    threading.Thread(target=ask, daemon=True).start()
    return future


def _read_version() -> str:
    exe = ffmpeg_exe()
    try:
        proc = children.run([exe, "-version"], timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolError(f"{exe} does not run ({exc}); reinstall ffmpeg") from None
    first = proc.stdout.decode(errors="replace").partition("\n")[0]
    if proc.returncode != 0:
        raise ToolError(
            f"{exe} does not run ({failure(proc.returncode, proc.stderr.decode(errors='replace'))}); reinstall ffmpeg"
        )
    if not first.startswith("ffmpeg version"):
        raise ToolError(f"{exe} -version printed no version; is it ffmpeg? Reinstall ffmpeg")
    return first.split(" Copyright")[0]


def motion_corners(preset: str, strength: float, frames: int, offset: int = 0) -> list[str] | None:
    """perspective-filter corner expressions for a Ken Burns move, eased in and out; None for no move.

    The source rectangle shrinks or slides with sub-pixel precision, so the move never steps. The
    move spans `frames` frames; `offset` is the scene frame of the filter's first output frame.
    """
    if preset == "none" or strength <= 0:
        return None
    p = f"((on-1+{offset})/{max(frames - 1, 1)})"  # the perspective filter counts `on` from 1
    ease = f"({p}*{p}*(3-2*{p}))"
    if preset == "zoom_in":
        scale = f"(1+{strength}*{ease})"
    elif preset == "zoom_out":
        scale = f"(1+{strength}*(1-{ease}))"
    else:
        scale = f"{1 + strength}"
    hw, hh = f"(W/(2*{scale}))", f"(H/(2*{scale}))"
    travel_x, travel_y = f"(W/2-{hw})", f"(H/2-{hh})"
    cx = {"pan_left": f"(W/2+{travel_x}*(1-2*{ease}))", "pan_right": f"(W/2-{travel_x}*(1-2*{ease}))"}.get(
        preset, "(W/2)"
    )
    cy = {"pan_up": f"(H/2+{travel_y}*(1-2*{ease}))", "pan_down": f"(H/2-{travel_y}*(1-2*{ease}))"}.get(preset, "(H/2)")
    x0, x1, y0, y1 = f"{cx}-{hw}", f"{cx}+{hw}", f"{cy}-{hh}", f"{cy}+{hh}"
    return [x0, y0, x1, y0, x0, y1, x1, y1]


class Shot(NamedTuple):
    """A run of frames of one scene: its picture and captions, the move over its whole length."""

    image: str
    ass: str | None  # None: no captions on these frames
    frames: int  # frames the scene spans (the move's length)
    first: int  # scene frame of the shot's first frame
    preset: str
    strength: float
    size: tuple[int, int] | None = None  # scale the picture to this first (drafts)


def _shot_chain(shot: Shot, count: int, fps: int, fontsdir: str) -> str:
    # yuv420p before the move: the warp then touches 1.5 planes instead of 3 (about 25% faster)
    scale = [f"{TO_YUV}:w={shot.size[0]}:h={shot.size[1]}" if shot.size else TO_YUV]
    chain = [*scale, "format=yuv420p", f"loop=loop={count - 1}:size=1:start=0", f"settb=expr=1/{fps}", "setpts=N"]
    corners = motion_corners(shot.preset, shot.strength, shot.frames, shot.first)
    if corners:
        names = ["x0", "y0", "x1", "y1", "x2", "y2", "x3", "y3"]
        args = ":".join(f"{n}='{e}'" for n, e in zip(names, corners))
        chain.append(f"perspective={args}:interpolation=linear:eval=frame")
    if shot.ass:
        chain += [f"setpts=N+{shot.first}", f"ass=filename={shot.ass}:fontsdir={fontsdir}", "setpts=N"]
    chain.append("format=yuv420p")
    return ",".join(chain)


def segment_argv(shot: Shot, count: int, fps: int, fontsdir: str, codec: list[str], out: str) -> list[str]:
    """Encode `count` frames of one scene from `shot.first`: the still with its camera move and captions."""
    graph = f"[0:v]{_shot_chain(shot, count, fps, fontsdir)}[v]"
    return _encode(["-framerate", str(fps), "-i", shot.image], graph, count, fps, codec, out)


def transition_argv(
    a: Shot, b: Shot, count: int, fps: int, xfade: str, fontsdir: str, codec: list[str], out: str
) -> list[str]:
    """Encode a join: the last `count` frames of shot `a` giving way to the first of shot `b`."""
    graph = (
        f"[0:v]{_shot_chain(a, count, fps, fontsdir)}[a];[1:v]{_shot_chain(b, count, fps, fontsdir)}[b];"
        f"[a][b]xfade=transition={xfade}:duration={count / fps:.6f}:offset=0,format=yuv420p[v]"
    )
    inputs = ["-framerate", str(fps), "-i", a.image, "-framerate", str(fps), "-i", b.image]
    return _encode(inputs, graph, count, fps, codec, out)


def _encode(inputs: list[str], graph: str, count: int, fps: int, codec: list[str], out: str) -> list[str]:
    """`count` frames of a filter graph's [v] from these inputs, encoded (a keyframe every 2 s), no audio."""
    head = [ffmpeg_exe(), "-nostdin", "-y", "-v", "error", *inputs, "-filter_complex", graph, "-map", "[v]"]
    return [*head, "-frames:v", str(count), *codec, "-g", str(fps * 2), *TIMESCALE, "-an", out]


DRAFT_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", "-pix_fmt", "yuv420p", "-threads", "2"]
_HARDWARE = ("h264_nvenc", "h264_qsv", "h264_videotoolbox", "h264_amf")


def video_codec(encoder: str, profile: str) -> list[str]:
    """ffmpeg codec options for an encoder name and profile."""
    if encoder == "libx264":
        return [*(DRAFT_X264 if profile == "draft" else X264), *COLOUR_TAGS]
    quality = "28" if profile == "draft" else "21"
    return [
        "-c:v",
        encoder,
        "-pix_fmt",
        "yuv420p",
        "-b:v",
        "0",
        "-cq" if encoder == "h264_nvenc" else "-q:v",
        quality,
        *COLOUR_TAGS,
    ]


@cache
def hardware_encoder() -> tuple[str | None, tuple[str, ...]]:
    """A hardware H.264 encoder that works here (it encodes a test frame), and the ones tried."""
    try:
        listed = children.run([ffmpeg_exe(), "-hide_banner", "-encoders"], timeout=20).stdout.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired, ToolError):
        return None, ()
    tried = tuple(name for name in _HARDWARE if f" {name} " in listed)
    for name in tried:
        try:
            probe = children.run(
                [
                    ffmpeg_exe(),
                    "-v",
                    "error",
                    "-f",
                    "lavfi",
                    "-i",
                    "color=s=256x256:d=0.2",
                    "-frames:v",
                    "2",
                    "-c:v",
                    name,
                    "-f",
                    "null",
                    "-",
                ],
                timeout=20,
            )
        except (OSError, subprocess.TimeoutExpired, ToolError):
            continue
        if probe.returncode == 0:
            return name, tried
    return None, tried


def concat_list(paths: list[Path]) -> str:
    """An ffconcat file naming each segment."""
    lines = ["ffconcat version 1.0"]
    for p in paths:
        quoted = str(p).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
    return "\n".join(lines) + "\n"


def chapters_metadata(chapters: list[tuple[float, float, str]], title: str) -> str:
    """An FFMETADATA file with the video's title and one chapter per (start, end, title) in seconds."""

    def esc(text: str) -> str:
        return "".join("\\" + c if c in "=;#\\\n" else c for c in text)

    lines = [";FFMETADATA1", f"title={esc(title)}"]
    for start, end, name in chapters:
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={round(start * 1000)}",
            f"END={round(end * 1000)}",
            f"title={esc(name)}",
        ]
    return "\n".join(lines) + "\n"


def mux_argv(concat: str, audio: str, metadata: str, out: str) -> list[str]:
    """Join the pieces by stream copy, add the audio track, the title and the chapters."""
    return [
        ffmpeg_exe(),
        "-nostdin",
        "-y",
        "-v",
        "error",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        concat,
        "-i",
        audio,
        "-f",
        "ffmetadata",
        "-i",
        metadata,
        "-map",
        "0:v:0",
        "-map",
        "1:a:0",
        "-map_metadata",
        "2",
        "-map_chapters",
        "2",
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        out,
    ]


def run(
    argv: list[str], cwd: Path | None = None, what: str = "ffmpeg", input: bytes | None = None
) -> subprocess.CompletedProcess:
    """Run an ffmpeg argv (stdout as bytes, stderr as text); ToolError with the end of its stderr
    when it fails."""
    try:
        proc = children.run(argv, cwd=cwd, input=input)
    except OSError as exc:  # ffmpeg vanished or is not runnable since it was found
        raise ToolError(f"{what} could not start {argv[0]!r}: {exc.strerror or exc}; reinstall ffmpeg") from None
    proc.stderr = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise ToolError(f"{what} failed: {failure(proc.returncode, proc.stderr)}")
    return proc


def failure(returncode: int, stderr: str) -> str:
    """Why a tool's run failed, on one short printable line: the signal that killed it or its exit code,
    and the end of what it printed (when that is text)."""
    if returncode < 0:
        try:
            how = f"crashed ({signal.Signals(-returncode).name})"
        except ValueError:
            how = f"crashed (signal {-returncode})"
    else:
        how = f"exit code {returncode}"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()][-3:]
    text = " | ".join(lines)
    readable = sum(c.isprintable() and c != "\ufffd" for c in text)
    if not text or readable < 0.8 * len(text):
        return how if not text else f"{how}; its output is not text"
    text = "".join(c if c.isprintable() else "?" for c in text)
    return f"{how}: {text if len(text) <= 300 else '…' + text[-299:]}"
