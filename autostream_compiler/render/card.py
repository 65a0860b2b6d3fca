"""The thumbnail's title card: the first picture, darkened towards the bottom, with the title set in
the caption font and an accent bar in the highlight colour."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def title_card(picture: Path, title: str, font: Path, color: str, accent: str, out: Path) -> None:
    """Write a PNG title card the size of `picture`."""
    with Image.open(picture) as src:
        image = src.convert("RGB")
    width, height = image.size
    shade = np.linspace(0.15, 0.85, height, dtype=np.float32)[:, None, None] ** 1.5  # darker at the bottom
    pixels = np.asarray(image, dtype=np.float32) * (1 - shade)
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    margin = round(min(width, height) * 0.08)
    size = round(min(width, height) * (0.11 if width >= height else 0.085))
    while True:
        face = ImageFont.truetype(str(font), size)
        lines = _wrap(title, face, width - 2 * margin)
        if len(lines) <= 3 or size <= 12:
            break
        size = round(size * 0.85)
    line_height = round(size * 1.15)
    top = height - margin - line_height * len(lines)
    bar = max(4, round(size * 0.12))
    draw.rectangle([margin, top - bar * 3, margin + round(size * 2.2), top - bar * 2], fill=accent)
    _outlined(draw, [(margin, top + n * line_height) for n in range(len(lines))], lines, face, color, size // 28)
    image.save(out, format="PNG")


def _outlined(draw: ImageDraw.ImageDraw, origins: list[tuple[float, float]], lines: list[str], face, color, stroke):
    """Lines of text at their origins, each with a black outline (at least 1 px) that keeps it legible."""
    for origin, line in zip(origins, lines, strict=True):
        draw.text(origin, line, font=face, fill=color, stroke_width=max(1, stroke), stroke_fill="#000000")


def _wrap(text: str, face: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and face.getlength(f"{lines[-1]} {word}") <= max_width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines or [""]


# --- typographic cards ---------------------------------------------------------------------------

_LEAD = {"and", "but", "so", "or", "then", "yet", "because", "which", "that", "while", "when", "where", "as"}
_TAIL = {"the", "a", "an", "of", "to", "in", "on", "at", "and", "or", "with", "for", "by", "from", "its", "their"}


def key_phrase(narration: str, most: int = 7) -> str:
    """A scene's key phrase: the first clause of its first sentence that is three to `most` words long
    (leading conjunctions dropped), else its longest clause cut before a small word near `most`; no
    dangling article or preposition; capitalised."""
    sentence = re.split(r"(?<=[.!?])\s+", narration.strip())[0].rstrip(".!?")
    clauses = []
    for clause in re.split(r"[,;:]\s+|\s*[\u2014\u2013]\s*|\s+-\s+", sentence):  # not inside 4,800
        words = clause.split()
        while words and words[0].lower() in _LEAD:
            words = words[1:]
        if words:
            clauses.append(words)
    words = next((c for c in clauses if 3 <= len(c) <= most), None)
    if words is None:
        words = max(clauses, key=len, default=sentence.split())
        if len(words) > most:
            cuts = [n for n in range(2, most + 1) if words[n].lower() in _TAIL]
            words = words[: cuts[-1] if cuts else most]
    while len(words) > 1 and words[-1].lower() in _TAIL:
        words = words[:-1]
    phrase = " ".join(words)
    return phrase[:1].upper() + phrase[1:]


def card_band(position: str, height: int, area) -> tuple[int, int]:
    """The rows (top, bottom) a card's phrase may use: the safe area's part the captions leave free."""
    top, bottom = area.top, height - area.bottom
    span = bottom - top
    if position == "top":
        return top + round(span * 0.4), bottom
    if position == "middle":
        return top, top + round(span * 0.38)
    return top + round(span * 0.05), top + round(span * 0.62)


def phrase_card(picture: Image.Image, text: str, font: Path, color: str, area: list[int]) -> Image.Image:
    """The picture with `text` set large in the middle of the band `area` = [left, right margins, top,
    bottom rows], on a soft shade that keeps it legible; at most three lines, as large as fits."""
    image = picture.convert("RGB")
    width, height = image.size
    left, right, top, bottom = area
    box_w, box_h = width - left - right, bottom - top
    size = max(8, round(min(box_h / 2.2, min(width, height) * 0.12)))
    while True:
        face = ImageFont.truetype(str(font), size)
        lines = _wrap(text, face, box_w * 0.92)
        line_height = round(size * 1.12)
        fits = all(face.getlength(line) <= box_w * 0.92 for line in lines) and line_height * len(lines) <= box_h
        if (fits and len(lines) <= 3) or size <= 8:
            break
        size = max(8, round(size * 0.9))
    block = line_height * len(lines)
    y0 = top + (box_h - block) // 2
    centre = (y0 + block / 2) / height
    rows = np.abs(np.linspace(0, 1, height, dtype=np.float32) - centre)[:, None, None]
    shade = 0.55 * np.clip(1 - rows / (block / height * 0.75 + 0.05), 0, 1)  # darkest behind the text
    pixels = np.asarray(image, dtype=np.float32) * (1 - shade)
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    origins = [(left + (box_w - face.getlength(line)) / 2, y0 + n * line_height) for n, line in enumerate(lines)]
    _outlined(draw, origins, lines, face, color, size // 24)
    return image
