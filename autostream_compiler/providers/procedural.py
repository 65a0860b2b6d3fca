"""procedural: offline pictures drawn from the style's palette and the scene's seed.

A layered landscape with atmospheric depth: a graded sky with a light source, soft bokeh, ridges
that fade into haze with distance, film grain and a vignette. Deterministic for a seed and size.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

NAME = "procedural"


def _rgb(hex_color: str) -> np.ndarray:
    h = hex_color.lstrip("#")
    return np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)


def _ridge(rng: np.random.Generator, width: int, base: float, amplitude: float) -> np.ndarray:
    """A 1-D mountain profile: a sum of sines at doubling frequencies with falling amplitudes."""
    x = np.linspace(0, 1, width, dtype=np.float32)
    y = np.zeros(width, dtype=np.float32)
    amp, freq = amplitude, rng.uniform(1.2, 2.4)
    for _ in range(6):
        y += amp * np.sin(2 * np.pi * (freq * x + rng.uniform(0, 1)))
        amp *= 0.5
        freq *= 2.03
    return base + y


def draw(prompt: str, seed: int, palette: list[str], width: int, height: int) -> Image.Image:
    """Draw the picture for a scene (the prompt only varies the composition through the seed)."""
    rng = np.random.default_rng(seed)
    colors = [_rgb(c) for c in palette]
    dark, light = colors[0], colors[-1]
    accent = colors[int(rng.integers(2, len(colors)))]
    sky_top = colors[int(rng.integers(0, 2))]
    yy = np.arange(height, dtype=np.float32)[:, None]  # broadcast grids: no full-frame index arrays
    xx = np.arange(width, dtype=np.float32)[None, :]
    ny, nx = yy / height, xx / width

    # Sky: vertical gradient toward a warm horizon, plus a glow around the light source.
    horizon = colors[int(rng.integers(1, len(colors) - 1))]
    t = np.clip(ny / 0.75, 0, 1)[..., None] ** 1.4
    img = np.broadcast_to(sky_top * (1 - t) + (0.55 * horizon + 0.45 * accent) * t, (height, width, 3))
    sun_x, sun_y = rng.uniform(0.2, 0.8), rng.uniform(0.22, 0.5)
    aspect = width / height
    d = np.sqrt(((nx - sun_x) * aspect) ** 2 + (ny - sun_y) ** 2)
    glow = np.exp(-((d / rng.uniform(0.18, 0.32)) ** 2))[..., None]
    img = img * (1 - 0.75 * glow) + (0.6 * light + 0.4 * accent) * 0.75 * glow
    disc = np.clip((0.045 - d) / 0.006, 0, 1)[..., None]
    img = img * (1 - disc) + light * disc

    # Bokeh: soft translucent orbs drawn small, blurred, scaled up.
    small = (max(width // 4, 1), max(height // 4, 1))
    orbs = Image.new("RGBA", small, (0, 0, 0, 0))
    orb_px = np.zeros((small[1], small[0], 4), dtype=np.float32)
    oy = np.arange(small[1], dtype=np.float32)[:, None]
    ox = np.arange(small[0], dtype=np.float32)[None, :]
    for _ in range(int(rng.integers(6, 14))):
        cx, cy = rng.uniform(0, small[0]), rng.uniform(0, small[1] * 0.6)
        r = rng.uniform(0.02, 0.07) * small[0]
        c = 0.5 * colors[int(rng.integers(2, len(colors)))] + 0.5 * light
        mask = np.clip((r - np.sqrt((ox - cx) ** 2 + (oy - cy) ** 2)) / 1.5, 0, 1) * rng.uniform(0.08, 0.22)
        orb_px[..., :3] = np.where(mask[..., None] > 0, c, orb_px[..., :3])
        orb_px[..., 3] = np.maximum(orb_px[..., 3], mask * 255)
    orbs = Image.fromarray(orb_px.astype(np.uint8), "RGBA").filter(ImageFilter.GaussianBlur(2))
    orbs = np.asarray(orbs.resize((width, height), Image.BILINEAR), dtype=np.float32)
    alpha = orbs[..., 3:4] / 255
    img = img * (1 - alpha) + orbs[..., :3] * alpha

    # Ridges: near layers darker and sharper, far layers melt into the haze (depth).
    layers = int(rng.integers(3, 6))
    haze = 0.5 * horizon + 0.5 * light
    for k in range(layers):
        depth = k / max(layers - 1, 1)  # 0 = far, 1 = near
        base = 0.48 + 0.42 * depth + rng.uniform(-0.03, 0.03)
        profile = _ridge(rng, width, base, amplitude=0.07 - 0.03 * depth) * height
        edge = np.clip((yy - profile[None, :]) / (1.5 + 3 * (1 - depth)), 0, 1)[..., None]
        tone = dark * (0.35 + 0.65 * depth) + haze * (1 - depth) * 0.65
        shade = np.clip((yy - profile[None, :]) / (height * 0.35), 0, 1)[..., None]
        layer = tone * (1 - 0.35 * shade) + accent * 0.08 * (1 - depth)
        img = img * (1 - edge) + layer * edge

    # Grain and vignette.
    img += rng.normal(0, 3.5, size=(height, width, 1)).astype(np.float32)
    vignette = 1 - 0.45 * np.clip(np.sqrt(((nx - 0.5) * 1.1) ** 2 + ((ny - 0.5) * 1.3) ** 2) - 0.25, 0, 1)
    img *= vignette[..., None]
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


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
