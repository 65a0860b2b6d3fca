"""Caption styles: the shipped fonts, cue layout and the ASS document of karaoke, pop, line or none."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import NamedTuple

from autostream_compiler.errors import UserError
from autostream_compiler.render.subtitles import (
    AssStyle,
    ass_color,
    ass_escape,
    ass_header,
    ass_time,
    cue_events,
    cue_prefix,
)
from autostream_compiler.render.timeline import Cue, SafeArea, TimedWord, layout_cues, safe_area

FONTS_DIR = Path(__file__).resolve().parent.parent / "fonts"
POP_SIZE = 1.5  # pop's words, relative to `size`
POP_WORDS = 3  # pop's words at a time when words_per_line is not set
LABEL_SIZE = 0.7  # the speaker's name, relative to `size`
BOX_PADDING = 0.25  # the least padding of a box, relative to the font size
BOX_ALPHA = 0x66  # the box is 60% opaque
SHADOW_ALPHA = 0x80
FIT = 0.98  # room for libass drawing a line a little wider than Pillow measures it
_ALIGNMENT = {"bottom": 2, "middle": 5, "top": 8}


def fonts() -> list[str]:
    """File names of the fonts shipped with autostream, sorted."""
    return sorted(p.name for p in FONTS_DIR.iterdir() if p.suffix.lower() in (".otf", ".ttf"))


@cache
def font_digest(name: str) -> str:
    """sha256 of a shipped font file; a UserError naming the shipped fonts for any other name."""
    if name not in fonts():
        raise UserError(f"captions.font {name!r} is not shipped with autostream; use one of {', '.join(fonts())}")
    return hashlib.sha256((FONTS_DIR / name).read_bytes()).hexdigest()


class _Face(NamedTuple):
    name: str  # what libass matches, like GDI: the PostScript name of a CFF font, else the full name
    cell: float  # (usWinAscent + usWinDescent) / unitsPerEm: libass's font size per em


@cache
def _face(name: str) -> _Face:
    """Read from the font's sfnt tables: head (unitsPerEm), OS/2 (win metrics) and name."""
    font_digest(name)
    data = (FONTS_DIR / name).read_bytes()
    tables = {
        data[12 + 16 * i : 16 + 16 * i]: struct.unpack_from(">I", data, 20 + 16 * i)[0]
        for i in range(struct.unpack_from(">H", data, 4)[0])
    }
    upem = struct.unpack_from(">H", data, tables[b"head"] + 18)[0]
    ascent, descent = struct.unpack_from(">HH", data, tables[b"OS/2"] + 74)
    at, wanted = tables[b"name"], 6 if data[:4] == b"OTTO" else 4
    count, strings = struct.unpack_from(">2xHH", data, at)
    names = {}
    for r in range(count):
        platform, _, language, name_id, length, offset = struct.unpack_from(">6H", data, at + 6 + 12 * r)
        if platform == 3 and name_id == wanted:
            start = at + strings + offset
            names.setdefault(language == 0x409, data[start : start + length].decode("utf-16-be"))
    return _Face(names.get(True) or names[False], (ascent + descent) / upem)


@cache
def _pillow_font(name: str, em: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(FONTS_DIR / name), em)


def _measure(name: str, em: int) -> Callable[[str], float]:
    """Width of a text in pixels, its line breaks made spaces as ass_escape makes them."""
    font = _pillow_font(name, em)
    return lambda text: font.getlength(" ".join(text.splitlines()))


class _Look(NamedTuple):
    em: int  # pixels per em of the caption text (Pillow's font size)
    size: float  # the same as libass's font size (the line height)
    pad: float  # outline and shadow, or the box's padding, around the text
    area: SafeArea
    max_width: float  # widest a line may be at scale 1
    label: float  # the label's size relative to the text


def _look(captions: dict, width: int, height: int, aspect: str) -> _Look:
    face = _face(captions["font"])
    base = captions["size"] * height
    em = max(1, round(base * (POP_SIZE if captions["style"] == "pop" else 1) / face.cell))
    size = em * face.cell
    outline = captions["outline_width"] * height
    pad = max(outline, BOX_PADDING * size) if captions["box"] else outline * (1 + captions["shadow"])
    area = safe_area(aspect, width, height, captions["bottom"])
    return _Look(em, size, pad, area, FIT * (width - area.left - area.right - 2 * pad), LABEL_SIZE * base / size)


def caption_cues(
    words: list[TimedWord], captions: dict, width: int, height: int, aspect: str, scene_end: float
) -> list[Cue]:
    """A scene's caption cues in the captions' style (pop: a few words on one line; karaoke and line:
    up to max_lines), fitting the safe area; a cue too wide or too tall gets a scale below 1."""
    if captions["style"] == "none":
        return []
    look = _look(captions, width, height, aspect)
    pop = captions["style"] == "pop"
    cues = layout_cues(
        words,
        _measure(captions["font"], look.em),
        look.max_width,
        1 if pop else captions["max_lines"],
        scene_end,
        max_words=captions.get("words_per_line") or (POP_WORDS if pop else None),
    )
    room = height - look.area.top - look.area.bottom - 2 * look.pad
    label = look.label if captions.get("label") else 0
    return [c._replace(scale=min(c.scale, room / ((len(c.lines) + label) * look.size))) for c in cues]


def caption_ass(words: list[TimedWord], cues: list[Cue], captions: dict, width: int, height: int, aspect: str) -> str:
    """A scene's ASS captions: karaoke and pop highlight the spoken word, line shows each cue as a
    whole, none has no events; the speaker's `label`, when given, is a smaller line above."""
    look = _look(captions, width, height, aspect)
    cues = [] if captions["style"] == "none" else cues
    area, position = look.area, captions["position"]
    outline = captions["outline_width"] * height
    if captions["box"]:  # one translucent box behind each event (libass BorderStyle 4), no glyph outline
        border = (ass_color("#000000", 0xFF), ass_color(captions["box_color"], BOX_ALPHA), 4, look.pad, 0.0)
    else:
        border = (
            ass_color(captions["outline"]),
            ass_color(captions["outline"], SHADOW_ALPHA),
            1,
            outline,
            outline * captions["shadow"],
        )
    margin = round((area.top if position == "top" else area.bottom) + look.pad)
    style = AssStyle(
        _face(captions["font"]).name,
        look.size,
        ass_color(captions["color"]),
        ass_color(captions["highlight"]),
        *border,
        _ALIGNMENT[position],
        (area.left, area.right, margin),
    )
    tags = ""
    if position == "middle":  # the centre of the safe area, which is not the frame's on 9:16
        tags = f"\\pos({(width + area.left - area.right) / 2:.0f},{(height + area.top - area.bottom) / 2:.0f})"
    label = captions.get("label")
    measure = _measure(captions["font"], look.em)
    highlight = None if captions["style"] == "line" else captions["highlight"]
    events = []
    for cue in cues:
        label_scale = min(cue.scale * look.label, look.max_width / max(measure(label), 1)) if label else 0.0
        events += cue_events(words, cue, cue_prefix(cue.scale, label, label_scale, tags), captions["color"], highlight)
    return ass_header(width, height, style) + "\n".join(events) + "\n"


CHIP_SIZE = 0.03  # a citation chip's line height, of the frame's short side


def chip_events(text: str, captions: dict, width: int, height: int, aspect: str, until: float) -> list[str]:
    """A citation chip ("report.pdf, p. 12") at the top left of the safe area (bottom left under top
    captions) for the whole segment: a box in the captions' highlight colour (an ASS drawing) and the
    text on it in their colour."""
    face, font = _face(captions["font"]), captions["font"]
    em = max(1, round(CHIP_SIZE * min(width, height) / face.cell))
    size = em * face.cell
    pad = 0.4 * size
    area = safe_area(aspect, width, height, captions["bottom"])
    room = 0.6 * (width - area.left - area.right) - 2 * pad
    scale = min(1.0, room / max(_measure(font, em)(text), 1))
    box_w, box_h = _measure(font, em)(text) * scale + 2 * pad, size * scale + pad
    x, y, end = area.left, area.top, ass_time(until)
    if captions["position"] == "top":  # out of the captions' way
        y = height - area.bottom - box_h
    box = f"m 0 0 l {box_w:.0f} 0 {box_w:.0f} {box_h:.0f} 0 {box_h:.0f}"
    accent, color = ass_color(captions["highlight"]), ass_color(captions["color"])
    scaled = f"\\fscx{scale * 100:.1f}\\fscy{scale * 100:.1f}"
    return [
        f"Dialogue: 2,0:00:00.00,{end},Caption,,0,0,0,,{{\\an7\\pos({x:.0f},{y:.0f})\\bord0\\shad0"
        f"\\1c{accent}\\1a&H28&\\p1}}{box}",
        f"Dialogue: 3,0:00:00.00,{end},Caption,,0,0,0,,{{\\an7\\pos({x + pad:.0f},{y + pad / 2:.0f})\\bord0\\shad0"
        f"\\fs{size:.1f}{scaled}\\1c{color}\\1a&H00&}}{ass_escape(text)}",
    ]
