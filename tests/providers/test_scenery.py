"""Scenery families: exact sizes, determinism, seed variety and pictures that differ from family to family."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from autostream_compiler.providers.scenery import FAMILIES, draw

EXPLAINER = ["#14213D", "#2A9D8F", "#8AB17D", "#E9C46A", "#F4F1DE", "#FFFFFF"]
DOCUMENTARY = ["#0B0C10", "#1F2833", "#45A29E", "#66FCF1", "#C5C6C7"]


def _gray256(image: Image.Image) -> np.ndarray:
    """The picture as a 256-pixel-wide grayscale float array."""
    height = max(1, round(image.height * 256 / image.width))
    return np.asarray(image.convert("L").resize((256, height), Image.BILINEAR), dtype=np.float64)


def _blur(a: np.ndarray) -> np.ndarray:
    """Gaussian window (sigma 1.5, 11 taps) along both axes."""
    radius, sigma = 5, 1.5
    x = np.arange(-radius, radius + 1)
    k = np.exp(-(x**2) / (2 * sigma**2))
    k /= k.sum()
    p = np.pad(a, radius, mode="reflect")
    rows = sum(k[i] * p[:, i : i + a.shape[1]] for i in range(2 * radius + 1))
    return sum(k[i] * rows[i : i + a.shape[0], :] for i in range(2 * radius + 1))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity of two grayscale images (0..255), gaussian window, standard constants."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ma, mb = _blur(a), _blur(b)
    va, vb = _blur(a * a) - ma * ma, _blur(b * b) - mb * mb
    cov = _blur(a * b) - ma * mb
    num = (2 * ma * mb + c1) * (2 * cov + c2)
    den = (ma * ma + mb * mb + c1) * (va + vb + c2)
    return float((num / den).mean())


def test_families_are_the_thirteen_in_order():
    assert FAMILIES == (
        "sea", "coast", "city", "night", "space", "volcano", "forest",
        "desert", "mountains", "laboratory", "weather", "maps", "charts",
    )  # fmt: skip


@pytest.mark.parametrize("family", FAMILIES)
def test_exact_size_rgb_for_every_shape(family):
    for width, height in ((320, 180), (180, 320), (64, 36), (7, 5)):
        image = draw(family, 3, EXPLAINER, width, height)
        assert image.mode == "RGB"
        assert image.size == (width, height)


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_bytes_other_seed_other_picture(family):
    a = draw(family, 11, DOCUMENTARY, 240, 135)
    b = draw(family, 11, DOCUMENTARY, 240, 135)
    c = draw(family, 12, DOCUMENTARY, 240, 135)
    assert a.tobytes() == b.tobytes()
    diff = np.abs(np.asarray(a, np.int16) - np.asarray(c, np.int16)).mean()
    assert diff > 4, f"{family}: seeds 11 and 12 look alike (mean difference {diff:.1f})"


def test_ssim_helper_sanity():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 255, (64, 96))
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, rng.uniform(0, 255, (64, 96))) < 0.1


@pytest.mark.parametrize("palette", [EXPLAINER, DOCUMENTARY], ids=["explainer", "documentary"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_families_differ_from_each_other(palette, seed):
    """Every pair of families differs in its global structure (where the horizon, the masses, the light and dark
    areas lie), not only in small subjects: grayscale SSIM at 256 pixels wide stays under 0.5."""
    grays = {f: _gray256(draw(f, seed, palette, 480, 270)) for f in FAMILIES}
    worst = max((ssim(grays[a], grays[b]), a, b) for a, b in itertools.combinations(FAMILIES, 2))
    assert worst[0] < 0.5, f"{worst[1]} and {worst[2]} look alike (SSIM {worst[0]:.2f})"


def test_unknown_family_raises():
    with pytest.raises(ValueError, match="unknown scenery family"):
        draw("underwater", 1, EXPLAINER, 64, 36)
