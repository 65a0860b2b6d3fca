"""Documents on screen: a cited page rendered on the style's background with the passage highlighted,
the citation chip, the closing sources card and the `<stem>.sources.md` text."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFilter, ImageFont

from autostream_compiler.errors import UserError
from autostream_compiler.render.card import _wrap

PAGE_FILL = 0.92  # the page's height, relative to the frame's (its width too, for a wide page)
MARKER = (255, 212, 0, 90)  # the highlight: a warm yellow at alpha ~0.35
SHADOW = (0, 0, 0, 110)  # the page's drop shadow at its darkest
SAFE = 0.05  # the chip's margin from the frame's edges
SEARCH_WORDS = (8, 5, 3)  # the passage's first words searched on the page, longest first
CARD_ROWS = 8  # sources listed on the card before "… and N more"


def render_page(
    pdf: Path, page: int, highlight: str | None, width: int, height: int, palette: list[str]
) -> Image.Image:
    """The 1-based `page` of `pdf` filling ~92% of a width x height frame on the palette's background,
    with the passage `highlight` marked where it is found on the page (nothing marked otherwise)."""
    document = _open(pdf)
    try:
        pdf_page = _page(document, pdf, page)
        page_w, page_h = pdf_page.get_size()
        scale = min(PAGE_FILL * height / page_h, PAGE_FILL * width / page_w)
        picture = pdf_page.render(scale=scale, may_draw_forms=True).to_pil().convert("RGB")
        if highlight:
            boxes = _passage_boxes(pdf_page, highlight, picture.size)
            if boxes:
                marks = Image.new("RGBA", picture.size, (0, 0, 0, 0))
                draw = ImageDraw.Draw(marks)
                for box in boxes:
                    draw.rectangle(box, fill=MARKER)
                picture = Image.alpha_composite(picture.convert("RGBA"), marks).convert("RGB")
    finally:
        document.close()
    return _framed(picture, palette, width, height)


def render_figure(pdf: Path, page: int, width: int, height: int, palette: list[str]) -> Image.Image | None:
    """The largest picture embedded in the 1-based `page` of `pdf`, at most ~92% of the frame, on the
    palette's background; None when the page holds no picture."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    document = _open(pdf)
    try:
        pdf_page = _page(document, pdf, page)
        images = list(pdf_page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=4))
        if not images:
            return None

        def area(obj) -> float:
            left, bottom, right, top = obj.get_bounds()
            return (right - left) * (top - bottom)

        try:
            picture = max(images, key=area).get_bitmap(render=True).to_pil().convert("RGB")
        except pdfium.PdfiumError:
            return None
    finally:
        document.close()
    scale = min(PAGE_FILL * height / picture.height, PAGE_FILL * width / picture.width)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return _framed(picture.resize(size, Image.Resampling.LANCZOS), palette, width, height)


def _open(pdf: Path):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(pdf))
    except pdfium.PdfiumError as e:
        raise UserError(f"{pdf.name}: cannot open it as a PDF ({e}); check the file") from None


def _page(document, pdf: Path, page: int):
    if not 1 <= page <= len(document):
        raise UserError(
            f"{pdf.name}: page {page} does not exist (it has {len(document)}); cite pages 1-{len(document)}"
        )
    return document[page - 1]


def _framed(picture: Image.Image, palette: list[str], width: int, height: int) -> Image.Image:
    """A picture centred on the palette's background with a soft shadow under it."""
    frame = _background(palette, width, height)
    left, top = (width - picture.width) // 2, (height - picture.height) // 2
    _drop_shadow(frame, (left, top, left + picture.width, top + picture.height))
    frame.paste(picture, (left, top))
    return frame


def _background(palette: list[str], width: int, height: int) -> Image.Image:
    """A soft vertical gradient from palette[0] to palette[1]."""
    colors = [np.array(ImageColor.getrgb(c)[:3], dtype=np.float32) for c in (palette or ["#303030"])]
    start, end = colors[0], colors[1] if len(colors) > 1 else colors[0]
    t = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    column = (start * (1 - t) + end * t).round().astype(np.uint8)  # (height, 3)
    return Image.fromarray(np.broadcast_to(column[:, None, :], (height, width, 3)).copy())


def _drop_shadow(frame: Image.Image, box: tuple[int, int, int, int]) -> None:
    """Darken a soft, slightly offset shadow under `box` on `frame` (blurred at quarter size: cheap)."""
    q = 4
    radius = max(2, round(min(frame.size) * 0.012))
    offset = max(1, radius // 2)
    small = (max(1, frame.width // q), max(1, frame.height // q))
    mask = Image.new("L", small, 0)
    left, top, right, bottom = (v + offset for v in box)
    ImageDraw.Draw(mask).rectangle([left // q, top // q, right // q, bottom // q], fill=SHADOW[3])
    mask = mask.filter(ImageFilter.GaussianBlur(radius / q)).resize(frame.size, Image.Resampling.BILINEAR)
    frame.paste(Image.new("RGB", frame.size, SHADOW[:3]), (0, 0), mask)


def _normalised(text: str) -> tuple[str, list[int]]:
    """`text` folded to lower-case letters and digits only, with each folded char's index in `text`
    (so whitespace, line breaks, hyphenation, punctuation and ligatures do not matter)."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if c.isalnum():
                out.append(c)
                index.append(i)
    return "".join(out), index


def find_passage(page_text: str, passage: str) -> tuple[int, int] | None:
    """The char range [start, end) of `passage` in `page_text`: found by its first 8 words (then 5,
    then 3) and extended as far as the passage keeps matching; None when not on the page."""
    hay, where = _normalised(page_text)
    words = passage.split()
    for n in SEARCH_WORDS:
        needle, _ = _normalised(" ".join(words[:n]))
        if len(needle) < 6 and n < len(words):
            continue
        at = hay.find(needle) if needle else -1
        if at < 0:
            continue
        full, _ = _normalised(passage)
        length = 0
        while at + length < len(hay) and length < len(full) and hay[at + length] == full[length]:
            length += 1
        return where[at], where[at + length - 1] + 1
    return None


def _passage_boxes(pdf_page, passage: str, size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Marker rectangles (image pixels, one per line) over `passage` on a page rendered at `size`."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    text_page = pdf_page.get_textpage()
    try:
        count = text_page.count_chars()
        span = find_passage(text_page.get_text_range(0, count), passage)
        if span is None:
            return []
        lines: list[list[float]] = []  # [left, top, right, bottom] in image pixels
        for i in range(span[0], min(span[1], count)):
            left, bottom, right, top = text_page.get_charbox(i, loose=True)
            if right - left <= 0 or top - bottom <= 0:
                continue  # a generated space or line break
            corners = [_to_device(pdfium_c, ctypes, pdf_page, size, x, y) for x in (left, right) for y in (bottom, top)]
            xs, ys = [c[0] for c in corners], [c[1] for c in corners]
            box = [min(xs), min(ys), max(xs), max(ys)]
            line = lines[-1] if lines else None
            if line and _same_line(line, box):
                line[0], line[1] = min(line[0], box[0]), min(line[1], box[1])
                line[2], line[3] = max(line[2], box[2]), max(line[3], box[3])
            else:
                lines.append(box)
        pad = 2
        return [(round(a) - pad, round(b), round(c) + pad, round(d)) for a, b, c, d in lines]
    finally:
        text_page.close()


def _same_line(line: list[float], box: list[float]) -> bool:
    """Whether a char's box continues the line: level with it, across (or down, on a turned page)."""
    across = line[1] <= (box[1] + box[3]) / 2 <= line[3] and box[0] >= line[0] - (line[3] - line[1])
    down = line[0] <= (box[0] + box[2]) / 2 <= line[2] and box[1] >= line[1] - (line[2] - line[0])
    return across or down


def _to_device(pdfium_c, ctypes, pdf_page, size: tuple[int, int], x: float, y: float) -> tuple[int, int]:
    """A point in page space to image pixels (pdfium's own mapping: crop box and /Rotate included)."""
    dx, dy = ctypes.c_int(), ctypes.c_int()
    pdfium_c.FPDF_PageToDevice(pdf_page.raw, 0, 0, size[0], size[1], 0, x, y, dx, dy)
    return dx.value, dy.value


def citation_chip(
    image: Image.Image | None, text: str, font: Path, color: str, accent: str, width: int, height: int
) -> Image.Image:
    """A rounded label `text` ("report.pdf, p. 12") at the top left, inside a 5% safe margin, drawn on
    a copy of `image` (the width x height frame); with `image` None, on a transparent RGBA overlay."""
    base = Image.new("RGBA", (width, height), (0, 0, 0, 0)) if image is None else image.convert("RGBA")
    if base.size != (width, height):
        base = base.resize((width, height), Image.Resampling.LANCZOS)
    margin = round(min(width, height) * SAFE)
    size = max(10, round(min(width, height) * 0.032))
    face = ImageFont.truetype(str(font), size)
    text = _fit(text, face, width - 2 * margin - 2 * size)
    pad_x, pad_y = round(size * 0.7), round(size * 0.4)
    left, top, right, bottom = face.getbbox(text)
    box = (margin, margin, margin + (right - left) + 2 * pad_x, margin + (bottom - top) + 2 * pad_y)
    chip = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(chip)
    draw.rounded_rectangle(box, radius=round(size * 0.5), fill=(*ImageColor.getrgb(accent)[:3], 215))
    draw.text((margin + pad_x - left, margin + pad_y - top), text, font=face, fill=color)
    out = Image.alpha_composite(base, chip)
    return out if image is None else out.convert(image.mode if image.mode in ("RGB", "RGBA") else "RGB")


def _fit(text: str, face: ImageFont.FreeTypeFont, max_width: float) -> str:
    """`text`, cut with "…" to fit `max_width`."""
    if face.getlength(text) <= max_width:
        return text
    while text and face.getlength(text + "…") > max_width:
        text = text[:-1]
    return text.rstrip() + "…"


def pages_label(pages: list[int]) -> str:
    """ "p. 12" or "pp. 3, 7, 12" (sorted, without repeats)."""
    unique = sorted(set(pages))
    return f"p. {unique[0]}" if len(unique) == 1 else "pp. " + ", ".join(map(str, unique))


def sources_card(
    title: str,
    citations: list[tuple[str, list[int]]],
    font: Path,
    palette: list[str],
    color: str,
    width: int,
    height: int,
) -> Image.Image:
    """The closing card: `title` over "Sources" and one line per file with its cited pages, shrunk
    to fit the frame, the rest summed up as "… and N more"."""
    image = _background(palette, width, height)
    draw = ImageDraw.Draw(image)
    margin = round(min(width, height) * 0.08)
    inner = width - 2 * margin
    rows = [f"{file} — {pages_label(pages)}" if pages else file for file, pages in citations]
    if len(rows) > CARD_ROWS:
        rows = rows[: CARD_ROWS - 1] + [f"… and {len(rows) - CARD_ROWS + 1} more"]
    size = round(min(width, height) * (0.05 if width >= height else 0.042))
    while True:
        head_face = ImageFont.truetype(str(font), round(size * 1.4))
        face = ImageFont.truetype(str(font), size)
        head = _wrap(title, head_face, inner) if title else []
        if len(head) > 2:  # the rest of a long title goes after the second line, cut with "…"
            head = [head[0], _fit(" ".join(head[1:]), head_face, inner)]
        total = len(head) * round(size * 1.4 * 1.2) + round(size * 2.0) + len(rows) * round(size * 1.35)
        if total <= height - 2 * margin or size <= 12:
            break
        size = round(size * 0.9)
    accent = palette[3] if len(palette) > 3 else color
    y = (height - total) // 2
    for line in head:
        draw.text((margin, y), line, font=head_face, fill=color)
        y += round(size * 1.4 * 1.2)
    bar = max(3, round(size * 0.1))
    draw.rectangle(
        [margin, y + round(size * 0.3), margin + round(size * 2.2), y + round(size * 0.3) + bar], fill=accent
    )
    draw.text((margin, y + round(size * 0.5)), "Sources", font=face, fill=accent)
    y += round(size * 2.0)
    for row in rows:
        draw.text((margin, y), _fit(row, face, inner), font=face, fill=color)
        y += round(size * 1.35)
    return image


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _escape(text: str) -> str:
    """`text` on one line with Markdown's inline markup characters escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _first_words(text: str, n: int) -> str:
    words = text.split()
    return " ".join(words[:n]) + ("…" if len(words) > n else "")


def sources_markdown(title: str, scenes: list[tuple[str, list[dict]]]) -> str:
    """The `<stem>.sources.md` text: per scene (its number and first words of narration) the cited
    passages as "file, p. N: “text”", then every file once with its cited pages."""
    out = [f"# {_escape(title)}: sources", ""]
    pages: dict[str, list[int]] = {}
    for number, (narration, citations) in enumerate(scenes, start=1):
        out.append(f"## Scene {number}: {_escape(_first_words(narration, 8))}")
        out.append("")
        if not citations:
            out.append("- (no citation)")
        for c in citations:
            file, page = str(c["file"]), int(c["page"])
            pages.setdefault(file, []).append(page)
            quote = _escape(_first_words(str(c.get("text", "")), 40))
            out.append(f"- {_escape(file)}, p. {page}: “{quote}”" if quote else f"- {_escape(file)}, p. {page}")
        out.append("")
    out += ["## Sources", ""]
    out += [f"- {_escape(file)} — {pages_label(p)}" for file, p in pages.items()] or ["- (none)"]
    return "\n".join(out) + "\n"
