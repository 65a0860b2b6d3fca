"""scenery: offline illustrations in a style's palette, one of thirteen scene families.

Each family (sea, coast, city, night, space, volcano, forest, desert, mountains, laboratory, weather, maps,
charts) is a composed picture with depth (layers fading into haze), a light source and its own subjects; the
seed varies the composition. Deterministic: the same family, seed, palette and size give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from .base import Palette, finish
from .info import draw_charts, draw_maps
from .land import draw_desert, draw_forest, draw_mountains, draw_volcano
from .made import draw_city, draw_laboratory
from .sky import draw_night, draw_space, draw_weather
from .water import draw_coast, draw_sea

Painter = Callable[[np.random.Generator, Palette, int, int], np.ndarray]

_PAINTERS: dict[str, Painter] = {
    "sea": draw_sea,
    "coast": draw_coast,
    "city": draw_city,
    "night": draw_night,
    "space": draw_space,
    "volcano": draw_volcano,
    "forest": draw_forest,
    "desert": draw_desert,
    "mountains": draw_mountains,
    "laboratory": draw_laboratory,
    "weather": draw_weather,
    "maps": draw_maps,
    "charts": draw_charts,
}

FAMILIES: tuple[str, ...] = tuple(_PAINTERS)

# Film grain (0..255 units) and vignette strength per family; clean graphics get less of both.
_FINISH: dict[str, tuple[float, float]] = {"charts": (1.2, 0.12), "maps": (2.5, 0.3), "laboratory": (2.5, 0.35)}


def draw(family: str, seed: int, palette: list[str], width: int, height: int) -> Image.Image:
    """Draw one picture of a scene family: RGB, exactly width × height, deterministic for its arguments."""
    painter = _PAINTERS.get(family)
    if painter is None:
        raise ValueError(f"unknown scenery family {family!r}; expected one of {', '.join(FAMILIES)}")
    width, height = max(1, int(width)), max(1, int(height))
    rng = np.random.default_rng(int(seed) % 2**64)
    img = painter(rng, Palette(palette), width, height)
    grain, vignette = _FINISH.get(family, (3.0, 0.35))
    return Image.fromarray(finish(img, rng, grain, vignette), "RGB")


__all__ = ["FAMILIES", "draw"]
