"""Caption styles: cue layout per style, and real libass renders that stay in the safe area, keep
user text literal and use every shipped font."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from autostream_compiler.errors import UserError
from autostream_compiler.render.captions import (
    FONTS_DIR,
    _look,
    _pillow_font,
    caption_ass,
    caption_cues,
    font_digest,
    fonts,
)
from autostream_compiler.render.ffmpeg import ffmpeg_exe
from autostream_compiler.render.timeline import TimedWord, safe_area
from autostream_compiler.specfile.style import Captions

SIZES = {"16:9": (854, 480), "9:16": (480, 854)}
STORY = (
    "Über jagged quays, gypsy fjords glimmer while the quick brown fox jumps over lazy dogs "
    "and nobody remembers 1883 anymore"
).split()
HOSTILE = ["{\\b1}bold", "a\\Nb", "x\\hy", "50%", '"quotes"', "back\\slash", "café", "naïve", "end\\"]


def captions(**changes) -> dict:
    """The captions dict a segment step gets: the style model's defaults, a label, and `changes`."""
    return {**Captions().model_dump(mode="json"), "label": None, **changes}


def timed(texts: list[str], step: float = 0.4) -> list[TimedWord]:
    return [TimedWord(t, i * step, i * step + step * 0.8) for i, t in enumerate(texts)]


def render(tmp_path: Path, ass: str, width: int, height: int) -> np.ndarray:
    """The first frame of a black clip with the ASS burned in, as an RGB array."""
    (tmp_path / "c.ass").write_text(ass, encoding="utf-8")
    if not (tmp_path / "fonts").exists():
        (tmp_path / "fonts").symlink_to(FONTS_DIR, target_is_directory=True)
    out = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
            f"color=black:s={width}x{height}:r=25",
            "-vf",
            "ass=filename=c.ass:fontsdir=fonts",
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(out, np.uint8).reshape(height, width, 3)


def ink(frame: np.ndarray, level: int = 40) -> tuple[int, int, int, int]:
    """Bounding box (left, top, right, bottom) of the pixels brighter than `level`."""
    ys, xs = np.nonzero(frame.max(axis=2) > level)
    assert len(xs), "nothing was drawn"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def caption_frame(tmp_path, words, cap, aspect="16:9"):
    width, height = SIZES[aspect]
    cues = caption_cues(words, cap, width, height, aspect, scene_end=60)
    return cues, render(tmp_path, caption_ass(words, cues, cap, width, height, aspect), width, height)


# --- layout -------------------------------------------------------------------------------------


def test_pop_shows_at_most_words_per_line_on_one_line():
    words = timed(STORY)
    for per_line, most in ((None, 3), (2, 2), (1, 1)):
        cues = caption_cues(words, captions(style="pop", words_per_line=per_line), 1920, 1080, "16:9", 60)
        assert all(len(c.lines) == 1 for c in cues) and max(len(c.lines[0]) for c in cues) == most
        assert [i for c in cues for i in c.lines[0]] == list(range(len(words)))
    karaoke = caption_cues(words, captions(words_per_line=4, max_lines=3), 1920, 1080, "16:9", 60)
    assert max(len(line) for c in karaoke for line in c.lines) == 4


def test_karaoke_highlights_each_word_and_line_shows_cues_plainly():
    words = timed(["One", "two", "three.", "Four", "five."])
    for style, per_cue in (("karaoke", "words"), ("pop", "words"), ("line", "cue")):
        cap = captions(style=style)
        cues = caption_cues(words, cap, 1280, 720, "16:9", 10)
        events = [e for e in caption_ass(words, cues, cap, 1280, 720, "16:9").splitlines() if e.startswith("Dialogue:")]
        assert len(events) == (len(words) if per_cue == "words" else len(cues))
        assert all(("\\1c" in e) == (style != "line") for e in events)
    line = caption_cues(words, captions(style="line"), 1280, 720, "16:9", 10)
    assert [c.lines for c in line] == [[[0, 1, 2]], [[3, 4]]]  # a sentence at a time


def test_none_has_no_cues_and_no_events():
    cap = captions(style="none", label="Ann")
    assert caption_cues(timed(STORY), cap, 1280, 720, "16:9", 60) == []
    doc = caption_ass(timed(STORY), [], cap, 1280, 720, "16:9")
    assert "[Events]" in doc and "Dialogue:" not in doc


def test_a_line_break_in_user_text_cannot_start_an_ass_line():
    words = timed(["one\nDialogue: 0,0:00:00.00,0:00:09.00,Caption,,0,0,0,,{\\b1}evil", "two"])
    cap = captions(style="line", label="Ann\r\nStyle: x")
    doc = caption_ass(words, caption_cues(words, cap, 1280, 720, "16:9", 5), cap, 1280, 720, "16:9")
    assert [line[:9] for line in doc.splitlines()].count("Dialogue:") == 1
    assert "\nStyle: x" not in doc


def test_a_word_too_wide_for_the_frame_is_scaled_to_fit():
    word = "Pneumonoultramicroscopicsilicovolcanoconiosis"
    for aspect, style in (("16:9", "karaoke"), ("9:16", "pop")):
        width, height = SIZES[aspect]
        cap = captions(style=style, size=0.1)
        [cue] = caption_cues(timed([word]), cap, width, height, aspect, 5)
        look = _look(cap, width, height, aspect)
        assert cue.scale < 1
        assert cue.scale * _pillow_font(cap["font"], look.em).getlength(word) <= look.max_width + 0.01


def test_fonts_are_listed_and_an_unknown_font_names_them():
    assert {"Inter-Bold.otf", "Lato-Black.ttf", "NotoSans-Bold.ttf", "NotoSerif-Bold.ttf"} <= set(fonts())
    assert fonts() == sorted(fonts())
    assert len(font_digest("Inter-Bold.otf")) == 64
    for bad in ("Comic-Sans.ttf", "../fonts/Inter-Bold.otf", "OFL.txt"):
        with pytest.raises(UserError) as err:
            font_digest(bad)
        assert all(name in str(err.value) for name in fonts())


# --- renders ------------------------------------------------------------------------------------


@pytest.mark.parametrize("aspect", ["16:9", "9:16"])
@pytest.mark.parametrize("position", ["bottom", "middle", "top"])
def test_captions_stay_inside_the_safe_area(tmp_path, aspect, position):
    width, height = SIZES[aspect]
    area = safe_area(aspect, width, height, Captions().bottom)
    looks = [  # a grey outline and shadow and a white box count as ink on the black frame
        captions(position=position, max_lines=3, outline="#808080", outline_width=0.006, shadow=1.5, label="Ann"),
        captions(position=position, style="pop", box=True, box_color="#FFFFFF"),
        captions(position=position, size=0.2, max_lines=3, label="Ann"),  # too tall: scaled down
    ]
    for cap in looks:
        left, top, right, bottom = ink(caption_frame(tmp_path, timed(STORY), cap, aspect)[1])
        assert area.left <= left and right <= width - area.right
        assert area.top <= top and bottom <= height - area.bottom
        middle = (top + bottom) / 2 - (area.top + height - area.bottom) / 2
        spot = {"top": top - area.top, "middle": abs(middle), "bottom": height - area.bottom - bottom}
        assert spot[position] <= 0.05 * height  # it sits where it was asked to


def test_a_long_word_never_runs_off_the_frame(tmp_path):
    area = safe_area("9:16", *SIZES["9:16"], Captions().bottom)
    cap = captions(style="pop", position="middle")
    left, _, right, _ = ink(
        caption_frame(tmp_path, timed(["Pneumonoultramicroscopicsilicovolcanoconiosis"]), cap, "9:16")[1]
    )
    assert area.left <= left and right <= SIZES["9:16"][0] - area.right


def _ink_width(tmp_path, texts: list[str], font: str = "Inter-Bold.otf", size: float = 0.1) -> tuple[int, float]:
    """The rendered width of `texts` as one plain line, and Pillow's width of the same line."""
    cap = captions(style="line", position="middle", font=font, size=size, outline_width=0, shadow=0)
    cues, frame = caption_frame(tmp_path, timed(texts), cap)
    assert [len(line) for line in cues[0].lines] == [len(texts)]
    left, _, right, _ = ink(frame, level=100)
    box = _pillow_font(font, _look(cap, *SIZES["16:9"], "16:9").em).getbbox(" ".join(texts))
    return right - left, (box[2] - box[0]) * cues[0].scale


def test_hostile_narration_renders_literally(tmp_path):
    font = _pillow_font("Inter-Bold.otf", _look(captions(size=0.1), *SIZES["16:9"], "16:9").em)
    width = font.getlength
    interpreted = {  # what libass would draw if the text had been taken as tags or escapes
        "{\\b1}bold": width("bold"),
        "a\\Nb": max(width("a"), width("b")),
        "x\\hy": width("x y"),
    }
    for text, wrong in interpreted.items():
        drawn, literal = _ink_width(tmp_path, [text])
        assert abs(drawn - literal) <= max(4, 0.03 * literal)
        assert abs(drawn - wrong) > 4 * max(4, 0.03 * literal)
    drawn, literal = _ink_width(tmp_path, HOSTILE, size=0.05)
    assert abs(drawn - literal) <= 0.03 * literal


def test_karaoke_highlight_next_to_hostile_words_keeps_them_literal(tmp_path):
    cap = captions(size=0.07, outline_width=0, shadow=0, max_lines=1, label="{\\i1}Ann\\")
    for order in (HOSTILE, HOSTILE[::-1]):  # the highlighted first word: `{\b1}bold`, then `end\`
        cues, frame = caption_frame(tmp_path, timed(order), cap)
        doc = caption_ass(timed(order), cues, cap, *SIZES["16:9"], "16:9")
        assert doc.count("Dialogue:") == len(order)
        line = " ".join(order[i] for i in cues[0].lines[0])
        box = _pillow_font(cap["font"], _look(cap, *SIZES["16:9"], "16:9").em).getbbox(line)
        left, _, right, _ = ink(frame[frame.shape[0] // 2 :], level=100)  # below the label
        assert abs((right - left) - (box[2] - box[0]) * cues[0].scale) <= 0.03 * (box[2] - box[0])


@pytest.mark.parametrize("font", fonts())
def test_every_shipped_font_renders_as_itself(tmp_path, font):
    drawn, literal = _ink_width(tmp_path, ["Hamburg", "café", "quickly"], font)
    assert drawn > 50
    assert abs(drawn - literal) <= 0.03 * literal  # libass drew this very font, not a fallback
