"""Video clips as a scene's picture: what a clip holds, how it is cut to the scene, and the ffmpeg
filters that cut its frames and its sound the same way.

A clip at least as long as its scene is trimmed; one a little short (down to 1/SLOW_LIMIT of the
scene) is slowed to fit exactly, so no frame freezes; a shorter one loops.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

SLOW_LIMIT = 1.25  # a clip may play at 80 % speed to fill its scene


class ClipInfo(NamedTuple):
    """What a clip holds."""

    duration: float  # seconds of its video stream
    width: int
    height: int
    audio: bool  # whether it has a sound track


class Cut(NamedTuple):
    """How a clip fills its scene: played at `speed` (below 1: slowed), looped or not."""

    speed: float
    loop: bool


def probe(path: Path) -> ClipInfo:
    """The duration of the video track (its last frame's end, not the file's, whose sound may run
    longer), frame size and sound of a video file (PyAV); ValueError when it holds no moving video."""
    import av

    try:
        with av.open(str(path)) as container:
            video = next((s for s in container.streams if s.type == "video"), None)
            if video is None:
                raise ValueError("it holds no video stream")
            sound = any(s.type == "audio" for s in container.streams)
            width, height = video.codec_context.width, video.codec_context.height
            end, frames = 0.0, 0
            for packet in container.demux(video):  # packets only: nothing is decoded
                if packet.pts is None:
                    continue
                frames += 1
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
            start = float(video.start_time * video.time_base) if video.start_time is not None else 0.0
    except av.error.FFmpegError as exc:
        raise ValueError(f"it is not a video ffmpeg can read ({type(exc).__name__})") from None
    if frames < 2 or end - start <= 0:
        raise ValueError("it holds a single picture, not a moving video (use `image:` for a still)")
    return ClipInfo(round(end - start, 4), width, height, sound)


def poster(path: Path, at: float):
    """The clip's frame at `at` seconds (or its last before) as a PIL image; ValueError when it cannot
    be decoded."""
    import av

    try:
        with av.open(str(path)) as container:
            frame = None
            for frame in container.decode(container.streams.video[0]):
                if frame.time is not None and frame.time >= at:
                    break
            if frame is None:
                raise ValueError("it holds no frame")
            return frame.to_image()
    except av.error.FFmpegError as exc:
        raise ValueError(f"its frames cannot be decoded ({type(exc).__name__})") from None


def write_info(path: Path, info: ClipInfo) -> Path:
    path.write_text(json.dumps(info._asdict(), sort_keys=True), encoding="utf-8")
    return path


def read_info(path: Path) -> ClipInfo:
    return ClipInfo(**json.loads(path.read_text(encoding="utf-8")))


def cut(clip_seconds: float, scene_seconds: float) -> Cut:
    """Trim a clip that is long enough, slow one that is a little short, loop one that is shorter."""
    if clip_seconds <= 0 or clip_seconds >= scene_seconds:
        return Cut(1.0, False)
    if clip_seconds * SLOW_LIMIT >= scene_seconds:
        return Cut(round(clip_seconds / scene_seconds, 6), False)
    return Cut(1.0, True)


def video_filter(c: Cut, fps: int, first: int, count: int, width: int, height: int, to_yuv: str) -> str:
    """The clip's frames `first` to `first + count` of the scene, at the scene's rate, scaled to cover
    the frame and cropped to it (centred), in the caption chain's colours."""
    return ",".join(
        [
            f"setpts=(PTS-STARTPTS)/{c.speed:g}",
            f"fps={fps}",
            "tpad=stop_mode=clone:stop=-1",  # never short of frames, whatever a container claims
            f"trim=start_frame={first}:end_frame={first + count}",
            "setpts=PTS-STARTPTS",
            f"{to_yuv}:w={width}:h={height}:force_original_aspect_ratio=increase",
            f"crop={width}:{height}",
            "setsar=1",
            "format=yuv420p",
        ]
    )


def input_args(c: Cut, path: str) -> list[str]:
    """ffmpeg's input options for the clip (looped without end when it loops)."""
    return [*(["-stream_loop", "-1"] if c.loop else []), "-i", path]


def audio_filter(c: Cut, seconds: float, rate: int) -> str:
    """The clip's sound cut like its frames: slowed with it, `seconds` long, mono at `rate`, faded in
    and out over 0.3 s so a cut never clicks."""
    fade = min(0.3, seconds / 4)
    chain = [f"atempo={max(0.5, c.speed):g}"] if c.speed != 1 else []
    chain += [
        "asetpts=PTS-STARTPTS",
        f"aresample={rate}",
        "aformat=channel_layouts=mono",
        f"atrim=end={seconds:.6f}",
        f"apad=whole_dur={seconds:.6f}",
        f"afade=t=in:d={fade:.3f}",
        f"afade=t=out:st={max(0.0, seconds - fade):.6f}:d={fade:.3f}",
    ]
    return ",".join(chain)
