"""Subtitle documents: ASS pieces (style, cue events with a per-word highlight) for burning in,
SRT and WebVTT as sidecars."""

from __future__ import annotations

from typing import NamedTuple

from autostream_compiler.render.timeline import Cue, TimedWord

_WORD_JOINER = "\u2060"


def ass_escape(text: str) -> str:
    """Make user text literal in ASS: no override blocks, no \\N or \\h escapes, no line breaks."""
    text = " ".join(text.splitlines()).replace("\\", "\\" + _WORD_JOINER)
    return text.replace("{", "\\{").replace("}", "\\}")


def ass_color(hex_color: str, alpha: int = 0) -> str:
    """#RRGGBB, and an alpha from 0 (opaque) to 255 (clear), to ASS &HAABBGGRR."""
    h = hex_color.lstrip("#")
    return f"&H{alpha:02X}{h[4:6]}{h[2:4]}{h[0:2]}".upper()


def ass_time(seconds: float) -> str:
    """Seconds to ASS h:mm:ss.cc."""
    cs = max(0, round(seconds * 100))
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


class AssStyle(NamedTuple):
    """The one `Caption` style of a script; colours as ASS &HAABBGGRR, sizes in script pixels."""

    font: str
    size: float
    color: str
    highlight: str
    outline_color: str
    back_color: str  # shadow, or the box of border style 4
    border_style: int  # 1: outline and shadow; 4: one box behind each event (libass)
    outline: float  # outline width, or the box's padding
    shadow: float
    alignment: int  # numpad: 2 bottom, 5 middle, 8 top centre
    margins: tuple[int, int, int]  # left, right, vertical


def ass_header(width: int, height: int, style: AssStyle) -> str:
    """Script info (one script pixel per video pixel, no automatic wrapping), the style and the
    events' format line."""
    s = style
    return (
        "[Script Info]\nScriptType: v4.00+\nWrapStyle: 2\nScaledBorderAndShadow: yes\n"
        f"PlayResX: {width}\nPlayResY: {height}\nYCbCr Matrix: TV.601\n\n"
        "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, "
        "Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"Style: Caption,{s.font},{round(s.size, 2):g},{s.color},{s.highlight},{s.outline_color},"
        f"{s.back_color},0,0,0,0,100,100,0,0,{s.border_style},{s.outline:.2f},"
        f"{s.shadow:.2f},{s.alignment},{s.margins[0]},{s.margins[1]},{s.margins[2]},1\n\n"
        "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )


def cue_prefix(scale: float, label: str | None, label_scale: float, tags: str) -> str:
    """Override tags that open a cue's text: `tags`, the cue's size, and the speaker's `label` in a
    line above at `label_scale`."""

    def size(factor: float) -> str:
        return f"\\fscx{factor * 100:.1f}\\fscy{factor * 100:.1f}"

    if label:
        return f"{{{tags}{size(label_scale)}}}{ass_escape(label)}{{{size(scale)}}}\\N"
    return f"{{{tags}{size(scale)}}}" if tags or scale != 1 else ""


def cue_events(words: list[TimedWord], cue: Cue, prefix: str, color: str, highlight: str | None) -> list[str]:
    """Dialogue lines of one cue: one per spoken word with that word in `highlight`, or a single
    one without a highlight when `highlight` is None."""

    def text(current: int | None) -> str:
        hi, base = ass_color(highlight or color), ass_color(color)
        return prefix + "\\N".join(
            " ".join(
                f"{{\\1c{hi}&}}{ass_escape(words[i].text)}{{\\1c{base}&}}"
                if i == current
                else ass_escape(words[i].text)
                for i in line
            )
            for line in cue.lines
        )

    def event(start: float, end: float, current: int | None) -> str:
        return f"Dialogue: 0,{ass_time(start)},{ass_time(end)},Caption,,0,0,0,,{text(current)}"

    if highlight is None:
        return [event(cue.start, cue.end, None)]
    order = [i for line in cue.lines for i in line]
    events = []
    for k, current in enumerate(order):
        start = cue.start if k == 0 else words[current].start
        end = cue.end if k == len(order) - 1 else words[order[k + 1]].start
        if end > start:
            events.append(event(start, end, current))
    return events


def srt_time(seconds: float) -> str:
    """Seconds to SRT HH:MM:SS,mmm."""
    ms = max(0, round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def srt_document(cues: list[tuple[float, float, list[str]]]) -> str:
    """SRT text from (start, end, lines) cues on the final timeline."""
    blocks = [
        f"{n}\n{srt_time(start)} --> {srt_time(end)}\n" + "\n".join(lines) + "\n"
        for n, (start, end, lines) in enumerate(cues, 1)
    ]
    return "\n".join(blocks)


def vtt_document(cues: list[tuple[float, float, list[str]]]) -> str:
    """WebVTT text from the same cues (HH:MM:SS.mmm times; `&`, `<`, `>` escaped)."""

    def text(line: str) -> str:
        return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    blocks = [
        f"{srt_time(start).replace(',', '.')} --> {srt_time(end).replace(',', '.')}\n"
        + "\n".join(text(line) for line in lines)
        + "\n"
        for start, end, lines in cues
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)
