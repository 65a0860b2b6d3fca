"""FFmpeg: finding the binary, argv builders (pure, never a shell string) and the runner."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from functools import cache
from pathlib import Path
from typing import NamedTuple

from autostream_compiler import children
from autostream_compiler.errors import ToolError, UserError
from autostream_compiler.render import clips

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
WARP = "autostream_compiler.render.warp"  # the module that draws moving shots


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


class Shot(NamedTuple):
    """A run of frames of one scene: its picture and captions, the move over its whole length."""

    image: str
    ass: str | None  # None: no captions on these frames
    frames: int  # frames the scene spans (the move's length)
    first: int  # scene frame of the shot's first frame
    preset: str
    strength: float
    size: tuple[int, int] | None = None  # scale the picture to this first (drafts; a clip: always)
    clip: tuple[float, bool] | None = None  # `image` is a video clip, cut so (render/clips.py Cut)

    @property
    def moves(self) -> bool:
        return self.clip is None and self.preset != "none" and self.strength > 0


def _warped(shots: list[Shot], count: int, fps: int) -> list[str]:
    """The argv head of a run whose frames the warp process draws (render/warp.py) and pipes to ffmpeg."""
    keep = ("image", "frames", "first", "preset", "strength")
    plan = {"shots": [{k: getattr(s, k) for k in keep} for s in shots], "count": count, "fps": fps}
    if shots[0].size:
        plan["size"] = list(shots[0].size)
    spec = json.dumps(plan, sort_keys=True, separators=(",", ":"))
    return [sys.executable, "-m", WARP, spec, "--", *_plain([])]


def _still(shot: Shot, count: int) -> str:
    """A still picture as `count` identical frames (decoded and converted once, then repeated)."""
    scale = f"{TO_YUV}:w={shot.size[0]}:h={shot.size[1]}" if shot.size else TO_YUV
    return f"{scale},format=yuv420p,loop=loop={count - 1}:size=1:start=0"


def _captioned(shot: Shot, fps: int, fontsdir: str) -> str:
    """Frame timestamps from 0, and the captions laid on at the scene's own times."""
    chain = [f"settb=expr=1/{fps}", "setpts=N"]
    if shot.ass:
        chain += [f"setpts=N+{shot.first}", f"ass=filename={shot.ass}:fontsdir={fontsdir}", "setpts=N"]
    return ",".join([*chain, "format=yuv420p"])


def _input(shot: Shot, fps: int) -> list[str]:
    """ffmpeg's input options for a shot: the warp process's pipe, a clip, or a still picture."""
    if shot.moves:
        return ["-f", "yuv4mpegpipe", "-i", "pipe:0"]
    if shot.clip:
        return clips.input_args(clips.Cut(*shot.clip), shot.image)
    return ["-framerate", str(fps), "-i", shot.image]


def _frames(shot: Shot, count: int, fps: int) -> str:
    """The filters that make a shot's input its `count` frames (none for warped frames)."""
    if shot.moves:
        return ""
    if shot.clip:
        width, height = shot.size
        return clips.video_filter(clips.Cut(*shot.clip), fps, shot.first, count, width, height, TO_YUV) + ","
    return _still(shot, count) + ","


def segment_argv(shot: Shot, count: int, fps: int, fontsdir: str, codec: list[str], out: str) -> list[str]:
    """Encode `count` frames of one scene from `shot.first`: the still with its camera move (or the
    clip's frames) and captions."""
    head = [*(_warped([shot], count, fps) if shot.moves else _plain([])), *_input(shot, fps)]
    return _encode(
        head, f"[0:v]{_frames(shot, count, fps)}{_captioned(shot, fps, fontsdir)}[v]", count, fps, codec, out
    )


def transition_argv(
    a: Shot, b: Shot, count: int, fps: int, xfade: str, fontsdir: str, codec: list[str], out: str
) -> list[str]:
    """Encode a join: the last `count` frames of shot `a` giving way to the first of shot `b`."""
    join = f"xfade=transition={xfade}:duration={count / fps:.6f}:offset=0,format=yuv420p[v]"
    if (a.moves or b.moves) and not (a.clip or b.clip):  # one stream, the two shots stacked in each frame
        head = [*_warped([a, b], count, fps), "-f", "yuv4mpegpipe", "-i", "pipe:0"]
        graph = (
            f"[0:v]split[p][q];[p]crop=iw:ih/2:0:0,{_captioned(a, fps, fontsdir)}[a];"
            f"[q]crop=iw:ih/2:0:ih/2,{_captioned(b, fps, fontsdir)}[b];[a][b]{join}"
        )
    else:  # stills and clips are files; a clip's partner may be warped (on the pipe)
        movers = [s for s in (a, b) if s.moves]
        head = [*(_warped(movers, count, fps) if movers else _plain([])), *_input(a, fps), *_input(b, fps)]
        graph = (
            f"[0:v]{_frames(a, count, fps)}{_captioned(a, fps, fontsdir)}[a];"
            f"[1:v]{_frames(b, count, fps)}{_captioned(b, fps, fontsdir)}[b];[a][b]{join}"
        )
    return _encode(head, graph, count, fps, codec, out)


def _plain(inputs: list[str]) -> list[str]:
    return [ffmpeg_exe(), "-nostdin", "-y", "-v", "error", *inputs]


def _encode(head: list[str], graph: str, count: int, fps: int, codec: list[str], out: str) -> list[str]:
    """`count` frames of a filter graph's [v], encoded (a keyframe every 2 s), no audio."""
    body = ["-filter_complex", graph, "-map", "[v]", "-frames:v", str(count), *codec, "-g", str(fps * 2)]
    return [*head, *body, *TIMESCALE, "-an", out]


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
