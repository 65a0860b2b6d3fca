"""Cited pages on screen: a PDF printed by Chromium, rendered on the style's background with the passage
highlighted; the citation chip, the sources card and the sources Markdown."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from helpers import print_pdf
from PIL import Image

from autostream_compiler.errors import UserError
from autostream_compiler.render.captions import FONTS_DIR

pytest.importorskip("pypdfium2", reason="needs the docs extra (pip install -e '.[docs]')")

from autostream_compiler.sources.pages import (  # noqa: E402
    citation_chip,
    find_passage,
    render_page,
    sources_card,
    sources_markdown,
)

PALETTE = ["#0B1426", "#1D3557", "#457B9D", "#E76F51", "#F4A261", "#F1FAEE"]
FONT = FONTS_DIR / "Inter-Bold.otf"
PASSAGE = "Crane operators worked in three shifts and the average waiting time for ships fell to four hours."
HTML = """<html><head><style>body{font-family:sans-serif;font-size:14pt} .pb{page-break-after:always}</style>
</head><body>
<div class="pb"><h1>Harbour report</h1><p>The northern harbour handled more cargo than ever before during the
spring season. Crane operators worked in three shifts and the average waiting time for ships fell to four
hours.</p><p>Fishing boats moved to the eastern quay.</p></div>
<div><h1>Budget</h1><p>The city council approved a new budget for dredging the channel so that larger vessels
can enter at low tide without delay.</p><p>Work starts in autumn.</p></div>
</body></html>"""


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    """A 2-page PDF printed by Debian's headless Chromium."""
    return print_pdf(HTML, tmp_path_factory.mktemp("pdf") / "report.pdf")


@pytest.fixture(scope="module")
def plain(pdf) -> Image.Image:
    return render_page(pdf, 1, None, 1920, 1080, PALETTE)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def _yellowness(pixels: np.ndarray) -> np.ndarray:
    """How much more red+green than blue: high for yellow, 0 for white, grey or black."""
    return (pixels[..., 0] + pixels[..., 1]) / 2 - pixels[..., 2]


@pytest.mark.parametrize("width,height", [(1920, 1080), (1080, 1920), (640, 360)])
def test_page_fills_the_frame_on_the_palette(pdf, width, height):
    image = render_page(pdf, 1, None, width, height, PALETTE)
    assert image.size == (width, height) and image.mode == "RGB"
    px = _pixels(image)
    centre = px[
        height // 2 - height // 10 : height // 2 + height // 10, width // 2 - width // 10 : width // 2 + width // 10
    ]
    assert (centre.min(axis=2) > 230).mean() > 0.95  # the page, white where there is no text
    assert np.abs(px[2, 2] - np.array([0x0B, 0x14, 0x26])).max() <= 12  # palette[0] at the top
    assert np.abs(px[-3, 2] - np.array([0x1D, 0x35, 0x57])).max() <= 12  # palette[1] at the bottom
    light = (px.min(axis=2) > 200).any(axis=1 if width >= height else 0)
    extent = light.sum() / (height if width >= height else width)
    assert 0.85 <= extent <= 0.95  # ~92% of the frame's height (of its width, for a portrait page in 9:16)


def test_page_two_is_another_page(pdf, plain):
    second = render_page(pdf, 2, None, 1920, 1080, PALETTE)
    assert np.abs(_pixels(second) - _pixels(plain)).mean() > 0.5


def test_highlight_marks_the_passage_in_yellow(pdf, plain):
    marked = render_page(pdf, 1, PASSAGE, 1920, 1080, PALETTE)
    gain = _yellowness(_pixels(marked)) - _yellowness(_pixels(plain))
    changed = gain > 30
    assert changed.sum() > 2000  # the marker covers the passage's lines
    rows = np.flatnonzero(changed.any(axis=1))
    assert rows.max() - rows.min() < 1080 * 0.15  # only near the passage, not the whole page
    assert rows.min() > 1080 * 0.1  # below the heading


def test_highlight_follows_a_turned_page(pdf, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    reader, writer = pypdf.PdfReader(pdf), pypdf.PdfWriter()
    writer.add_page(reader.pages[0].rotate(90))
    turned = tmp_path / "turned.pdf"
    writer.write(turned)
    plain = render_page(turned, 1, None, 1920, 1080, PALETTE)
    marked = render_page(turned, 1, PASSAGE, 1920, 1080, PALETTE)
    changed = (_yellowness(_pixels(marked)) - _yellowness(_pixels(plain))) > 30
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    assert changed.sum() > 2000
    assert rows.max() - rows.min() > 3 * (cols.max() - cols.min())  # the marked lines run down the frame


def test_highlight_tolerates_line_breaks_case_and_hyphenation():
    page = "The north-\r\nern harbour. Crane opera-\r\ntors worked in three\r\nshifts and more."
    start, end = find_passage(page, "crane operators worked in THREE shifts")
    assert page[start:end].replace("-\r\n", "").replace("\r\n", " ") == "Crane operators worked in three shifts"
    assert find_passage(page, "Nothing like this is here at all") is None


def test_highlight_not_on_the_page_changes_nothing(pdf, plain):
    missing = render_page(pdf, 1, "The city council approved a new budget for dredging", 1920, 1080, PALETTE)
    assert missing.tobytes() == plain.tobytes()


def test_same_inputs_give_identical_bytes(pdf):
    def png() -> bytes:
        buffer = io.BytesIO()
        render_page(pdf, 1, PASSAGE, 1280, 720, PALETTE).save(buffer, format="PNG")
        return buffer.getvalue()

    assert png() == png()


def test_page_out_of_range_is_one_line(pdf):
    with pytest.raises(UserError, match=r"report\.pdf: page 3 does not exist \(it has 2\)"):
        render_page(pdf, 3, None, 640, 360, PALETTE)


@pytest.mark.parametrize("width,height", [(1920, 1080), (1080, 1920)])
def test_chip_sits_top_left_inside_the_safe_margin(plain, width, height):
    frame = plain.resize((width, height))
    out = citation_chip(frame, "report.pdf, p. 12", FONT, "#FFFFFF", "#E76F51", width, height)
    assert out.size == (width, height)
    diff = np.abs(_pixels(out) - _pixels(frame)).max(axis=2) > 0
    rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
    margin = min(width, height) * 0.05
    assert rows.min() >= margin - 1 and cols.min() >= margin - 1
    assert rows.max() < height * 0.2 and cols.max() < width * 0.6
    overlay = citation_chip(None, "report.pdf, p. 12", FONT, "#FFFFFF", "#E76F51", width, height)
    assert overlay.mode == "RGBA" and overlay.getpixel((width - 1, height - 1))[3] == 0


def _text_lines(image: Image.Image) -> int:
    """Lines of text on a card: bands of rows with pixels far from the row's background colour."""
    px = _pixels(image)
    inked = (np.abs(px - np.median(px, axis=1, keepdims=True)).max(axis=2) > 80).any(axis=1)
    return int(np.count_nonzero(np.diff(inked.astype(np.int8)) == 1))


@pytest.mark.parametrize("width,height", [(1920, 1080), (1080, 1920)])
def test_sources_card_lists_the_files_and_fits(width, height):
    two = [("report.pdf", [3, 1, 3]), ("notes.md", [1])]
    card = sources_card("Harbour report", two, FONT, PALETTE, "#F1FAEE", width, height)
    assert card.size == (width, height)
    assert _text_lines(card) == 5  # the title, the accent bar, "Sources", one line per file
    three = sources_card("Harbour report", [*two, ("budget.pdf", [2])], FONT, PALETTE, "#F1FAEE", width, height)
    assert _text_lines(three) == 6
    many = [(f"file{n}.pdf", [n]) for n in range(30)]
    crowded = sources_card("A long title " * 8, many, FONT, PALETTE, "#F1FAEE", width, height)
    assert crowded.size == (width, height)
    assert _text_lines(crowded) == 2 + 2 + 8  # two title lines, bar and "Sources", 7 files and "… and 23 more"
    px = _pixels(crowded)
    inked = (np.abs(px - np.median(px, axis=1, keepdims=True)).max(axis=2) > 80).any(axis=1)
    assert not inked[: height // 40].any() and not inked[-height // 40 :].any()  # inside the frame


def test_sources_markdown():
    text = sources_markdown(
        "Harbour *report*",
        [
            (
                "The northern harbour handled more cargo than ever before this spring",
                [
                    {"file": "report_2024.pdf", "page": 12, "text": "Crane operators worked [in]\nthree shifts"},
                    {"file": "notes.md", "page": 1, "text": "Quay"},
                ],
            ),
            ("Budget talk", [{"file": "report_2024.pdf", "page": 3, "text": "approved"}]),
            ("Closing", []),
        ],
    )
    assert text.startswith("# Harbour \\*report\\*")
    assert "## Scene 1: The northern harbour handled more cargo than ever…" in text
    assert "- report\\_2024.pdf, p. 12: “Crane operators worked \\[in\\] three shifts”" in text
    assert "## Scene 3: Closing" in text
    sources = text.split("## Sources")[1]
    assert "- report\\_2024.pdf — pp. 3, 12" in sources and "- notes.md — p. 1" in sources
    assert sources.count("report\\_2024.pdf") == 1


def test_the_largest_figure_of_a_page_fills_the_frame(tmp_path):
    from autostream_compiler.sources.pages import render_figure

    red = io.BytesIO()
    Image.new("RGB", (320, 200), (220, 30, 30)).save(red, "PNG")
    small = io.BytesIO()
    Image.new("RGB", (40, 40), (30, 30, 220)).save(small, "PNG")
    import base64

    def img(data: io.BytesIO, w: int) -> str:
        return f'<img style="width:{w}px" src="data:image/png;base64,{base64.b64encode(data.getvalue()).decode()}">'

    html = f"""<html><body><div style="page-break-after:always"><h1>Text only</h1><p>No pictures here.</p></div>
    <div><h1>Figures</h1><p>A chart follows.</p>{img(small, 40)}{img(red, 320)}</div></body></html>"""
    pdf = print_pdf(html, tmp_path / "figures.pdf")
    assert render_figure(pdf, 1, 1280, 720, PALETTE) is None
    picture = _pixels(render_figure(pdf, 2, 1280, 720, PALETTE))
    assert picture.shape == (720, 1280, 3)
    reds = (picture[..., 0] > 180) & (picture[..., 1] < 80) & (picture[..., 2] < 80)
    blues = (picture[..., 2] > 180) & (picture[..., 0] < 80)
    assert reds.mean() > 0.5, "the largest picture (red) fills most of the frame"
    assert blues.sum() == 0, "the smaller one is not shown"
