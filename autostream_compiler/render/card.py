"""The thumbnail's title card: the first picture, darkened towards the bottom, with the title set in
the caption font and an accent bar in the highlight colour."""

from __future__ import annotations

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
    for n, line in enumerate(lines):
        draw.text(
            (margin, top + n * line_height),
            line,
            font=face,
            fill=color,
            stroke_width=max(1, size // 28),
            stroke_fill="#000000",
        )
    image.save(out, format="PNG")


def _wrap(text: str, face: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and face.getlength(f"{lines[-1]} {word}") <= max_width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines or [""]
