"""Subtitle documents: ASS with a per-word highlight for burning in, SRT as a sidecar."""

from __future__ import annotations

from autostream_compiler.render.timeline import Cue, TimedWord

_WORD_JOINER = "\u2060"


def ass_escape(text: str) -> str:
    """Make user text literal in ASS: no override blocks, no \\N or \\h escapes."""
    text = text.replace("\\", "\\" + _WORD_JOINER)
    return text.replace("{", "\\{").replace("}", "\\}")


def ass_color(hex_color: str) -> str:
    """#RRGGBB to ASS &H00BBGGRR."""
    h = hex_color.lstrip("#")
    return f"&H00{h[4:6]}{h[2:4]}{h[0:2]}".upper()


def ass_time(seconds: float) -> str:
    """Seconds to ASS h:mm:ss.cc."""
    cs = max(0, round(seconds * 100))
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def ass_document(
    words: list[TimedWord],
    cues: list[Cue],
    *,
    width: int,
    height: int,
    font_family: str,
    font_px: int,
    color: str,
    highlight: str,
    outline: str,
    outline_px: float,
    margins: tuple[int, int, int],
    label: str | None = None,
) -> str:
    """An ASS file with one event per spoken word: the cue's lines, the current word highlighted, and
    the speaker's `label` in a smaller line above when given."""
    left, right, bottom = margins
    head = (
        "[Script Info]\nScriptType: v4.00+\nWrapStyle: 2\nScaledBorderAndShadow: yes\n"
        f"PlayResX: {width}\nPlayResY: {height}\nYCbCr Matrix: TV.709\n\n"
        "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, "
        "Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"Style: Caption,{font_family},{font_px},{ass_color(color)},{ass_color(highlight)},"
        f"{ass_color(outline)},&H80000000,-1,0,0,0,100,100,0,0,1,{outline_px:.1f},{outline_px * 0.6:.1f},"
        f"2,{left},{right},{bottom},1\n\n"
        "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    events = []
    hi, base = ass_color(highlight), ass_color(color)
    for cue in cues:
        order = [i for line in cue.lines for i in line]
        size = "" if cue.scale >= 1 else f"{{\\fscx{cue.scale * 100:.0f}\\fscy{cue.scale * 100:.0f}}}"
        if label:
            small, full = round(min(cue.scale, 1) * 70), round(min(cue.scale, 1) * 100)
            size += f"{{\\fscx{small}\\fscy{small}}}{ass_escape(label)}{{\\fscx{full}\\fscy{full}}}\\N"
        for k, current in enumerate(order):
            start = cue.start if k == 0 else words[current].start
            end = cue.end if k == len(order) - 1 else words[order[k + 1]].start
            if end <= start:
                continue
            text = "\\N".join(
                " ".join(
                    f"{{\\1c{hi}&}}{ass_escape(words[i].text)}{{\\1c{base}&}}" if i == current
                    else ass_escape(words[i].text)
                    for i in line
                )
                for line in cue.lines
            )
            events.append(f"Dialogue: 0,{ass_time(start)},{ass_time(end)},Caption,,0,0,0,,{size}{text}")
    return head + "\n".join(events) + "\n"


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
