"""procedural: offline pictures of what a scene shows, and fitting any picture to the frame.

The picture is one of the scene families (providers/scenery: sea, volcano, city, laboratory...),
chosen by meaning (providers/families) and drawn in the style's palette; the seed varies its
composition. Deterministic for a family, seed, palette and size.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from autostream_compiler.providers import scenery

NAME = "procedural"


def draw(family: str, seed: int, palette: list[str], width: int, height: int) -> Image.Image:
    """The offline picture of a scene family (see providers/scenery), in the style's palette."""
    return scenery.draw(family, seed, palette, width, height)


def cover(image: Image.Image, width: int, height: int) -> Image.Image:
    """Scale an image to fill width × height and crop the rest, keeping its subject in frame: the
    window slides along the cropped axis towards where the picture has most detail (edges), held
    halfway between that and the centre so a crop never runs to an extreme."""
    image = image.convert("RGB")
    scale = max(width / image.width, height / image.height)
    size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    image = image.resize(size, Image.LANCZOS)
    spare_x, spare_y = size[0] - width, size[1] - height
    left, top = spare_x // 2, spare_y // 2
    if spare_x > 1 or spare_y > 1:
        small = np.asarray(image.convert("L").resize((max(1, size[0] // 8), max(1, size[1] // 8))), dtype=np.float32)
        detail = np.abs(np.diff(small, axis=0))[:, :-1] + np.abs(np.diff(small, axis=1))[:-1, :]
        profile = detail.sum(axis=0 if spare_x > 1 else 1)
        window = max(1, round(len(profile) * (width / size[0] if spare_x > 1 else height / size[1])))
        sums = np.convolve(profile, np.ones(window), mode="valid")
        best = int(np.argmax(sums)) * 8 if sums.size else 0
        if spare_x > 1:
            left = min(spare_x, max(0, (best + spare_x // 2) // 2))
        else:
            top = min(spare_y, max(0, (best + spare_y // 2) // 2))
    return image.crop((left, top, left + width, top + height))
