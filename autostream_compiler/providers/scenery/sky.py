"""sky: pictures ruled by the sky — a moonlit night, outer space with a ringed planet, and weather."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .base import (
    F32,
    Layer,
    Palette,
    bezier,
    cirrus,
    cloud_mass,
    cumulus_blobs,
    fill_below,
    glow,
    mist,
    mix,
    ridge,
    scale,
    smoothstep,
    stars,
    tone_to,
    value_noise,
    vertical_gradient,
)


def _sparkles(
    img: np.ndarray, rng: np.random.Generator, count: int, y_max: float, color: np.ndarray, size: float
) -> None:
    """A few bright stars with a soft halo and thin cross-shaped spikes."""
    h, w = img.shape[:2]
    spikes = Layer(h, w)
    spots = []
    for _ in range(count):
        x, y = rng.uniform(0, w), rng.uniform(0, y_max)
        r = size * rng.uniform(0.5, 1.2)
        spots.append((x, y, r * 2.5, color, 0.5))
        spikes.line([(x - r * 4, y), (x + r * 4, y)], color, max(1.0, r * 0.18), 0.55)
        spikes.line([(x, y - r * 4), (x, y + r * 4)], color, max(1.0, r * 0.18), 0.55)
        spikes.circle(x, y, max(0.8, r * 0.35), color)
    spikes.composite(img, blur=max(0.4, size * 0.08), mode="screen")
    glow(img, spots, mode="add")


def _sphere(
    img: np.ndarray,
    cx: float,
    cy: float,
    r: float,
    light: np.ndarray,
    surface: np.ndarray,
    rim: np.ndarray,
    night: np.ndarray,
) -> None:
    """Shade a sphere's disc into img: a surface (colour, or H×W×3 over its box) lit from a direction, with a rim."""
    h, w = img.shape[:2]
    x0, x1 = int(max(0, np.floor(cx - r - 1))), int(min(w, np.ceil(cx + r + 2)))
    y0, y1 = int(max(0, np.floor(cy - r - 1))), int(min(h, np.ceil(cy + r + 2)))
    if x1 <= x0 or y1 <= y0:
        return
    nx = ((np.arange(x0, x1, dtype=F32) + 0.5 - cx) / r)[None, :]
    ny = ((np.arange(y0, y1, dtype=F32) + 0.5 - cy) / r)[:, None]
    d2 = nx * nx + ny * ny
    nz = np.sqrt(np.clip(1 - d2, 0, 1))
    lam = nx * light[0] + ny * light[1] + nz * light[2]
    lit = smoothstep(-0.08, 0.45, lam)[..., None]
    sub = surface[: y1 - y0, : x1 - x0] if surface.ndim == 3 else surface
    col = night + (sub * (0.35 + 0.75 * lit) - night) * lit
    col = col + rim * (((1 - nz) ** 3) * smoothstep(-0.2, 0.5, lam))[..., None] * F32(0.9)
    a = np.clip((1 - np.sqrt(d2)) * r + 0.5, 0, 1)[..., None]
    tgt = img[y0:y1, x0:x1]
    tgt += (col - tgt) * a


def _sphere_coords(
    cx: float, cy: float, r: float, h: int, w: int
) -> tuple[int, int, int, int, np.ndarray, np.ndarray, np.ndarray]:
    """The disc's clipped box and per-pixel unit-sphere coordinates (nx, ny, nz) over it."""
    x0, x1 = int(max(0, np.floor(cx - r - 1))), int(min(w, np.ceil(cx + r + 2)))
    y0, y1 = int(max(0, np.floor(cy - r - 1))), int(min(h, np.ceil(cy + r + 2)))
    nx = ((np.arange(x0, max(x1, x0 + 1), dtype=F32) + 0.5 - cx) / r)[None, :]
    ny = ((np.arange(y0, max(y1, y0 + 1), dtype=F32) + 0.5 - cy) / r)[:, None]
    nz = np.sqrt(np.clip(1 - nx * nx - ny * ny, 0, 1))
    return x0, x1, y0, y1, nx, ny, nz


# --- night --------------------------------------------------------------------------------------------------------


def _moon(
    img: np.ndarray, rng: np.random.Generator, cx: float, cy: float, r: float, color: np.ndarray, phase: float
) -> None:
    """A moon disc with grey seas, a few craters, limb darkening and (if phase > 0) a crescent shadow."""
    h, w = img.shape[:2]
    x0, x1, y0, y1, nx, ny, nz = _sphere_coords(cx, cy, r, h, w)
    if x1 <= x0 or y1 <= y0:
        return
    bh, bw = y1 - y0, x1 - x0
    seas = value_noise(rng, bh, bw, cells=3, octaves=4)
    tone = 1 - 0.2 * smoothstep(0.5, 0.62, seas) - 0.12 * (1 - nz)
    for _ in range(6):
        px, py, pr = rng.uniform(-0.7, 0.7), rng.uniform(-0.7, 0.7), rng.uniform(0.05, 0.14)
        dd = np.sqrt((nx - px) ** 2 + (ny - py) ** 2) / pr
        tone = (
            tone
            - 0.1 * smoothstep(0.6, 1.0, dd) * (1 - smoothstep(1.0, 1.25, dd))
            + 0.05 * (1 - smoothstep(0.0, 0.9, dd))
        )
    a = np.clip((1 - np.sqrt(nx * nx + ny * ny)) * r + 0.5, 0, 1)
    if phase > 0:  # the unlit part (a disc offset sideways) lets the sky through, with a faint earthshine
        off = phase * 1.2 * (1 if rng.random() < 0.5 else -1)
        lit = smoothstep(1.0 - 0.04, 1.0 + 0.04, np.sqrt((nx + off) ** 2 + ny**2))
        a = a * (0.12 + 0.88 * lit)
    col = np.asarray(color, F32) * tone[..., None]
    a = a[..., None]
    tgt = img[y0:y1, x0:x1]
    tgt += (col - tgt) * a


def draw_night(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """A starry night: a large moon with its halo, the Milky Way, and hills (with firs or a lake) in silhouette."""
    s = min(w, h)
    horizon = rng.uniform(0.64, 0.72) * h
    top = tone_to(mix(pal.dark, pal.deep, 0.5), 28)
    low = tone_to(mix(mix(pal.dark, pal.deep, 0.6), pal.cool, 0.4), 62)
    img = vertical_gradient(
        h, w, [(0, top), (0.45 * horizon / h, tone_to(mix(top, low, 0.5), 28)), (horizon / h, low), (1, low)]
    )
    star_c = mix(pal.sunlight, pal.light, 0.3)

    if rng.random() < 0.6:  # the Milky Way: a hazy diagonal band of light and dust
        lh, lw = max(2, h // 4), max(2, w // 4)
        ys, xs = (np.arange(lh, dtype=F32) / lh)[:, None] * h, (np.arange(lw, dtype=F32) / lw)[None, :] * w
        ang = rng.uniform(-0.9, 0.9) + np.pi / 2
        px, py = rng.uniform(0.3, 0.7) * w, 0.35 * h
        dist = (xs - px) * np.cos(ang) + (ys - py) * np.sin(ang)
        band = np.exp(-((dist / (0.16 * s)) ** 2))
        n1, n2 = value_noise(rng, lh, lw, 6, 5), value_noise(rng, lh, lw, 5, 5)
        lum = band * (0.5 + n1) * (1 - 0.7 * smoothstep(0.5, 0.7, n2) * band)
        lum *= 1 - smoothstep(horizon * 0.8, horizon, ys)
        up = cv2.resize((lum * 0.3).astype(F32), (w, h), interpolation=cv2.INTER_LINEAR)
        img += up[..., None] * mix(star_c, pal.accent, 0.35)
        stars(img, rng, int(w * h / 2500), horizon, star_c, 0.8)
    stars(img, rng, int(w * h / 250), horizon, star_c, 1.5)
    _sparkles(img, rng, int(rng.integers(5, 10)), horizon * 0.8, star_c, 0.004 * s)

    mx, my = rng.uniform(0.2, 0.8) * w, rng.uniform(0.15, 0.3) * h
    mr = rng.uniform(0.055, 0.08) * s
    moon_c = mix(pal.sunlight, pal.warm, 0.08)
    glow(img, [(mx, my, mr * 3.2, moon_c, 0.45), (mx, my, mr * 10, mix(moon_c, pal.cool, 0.4), 0.22)])
    _moon(img, rng, mx, my, mr, moon_c, rng.uniform(0.5, 0.75) if rng.random() < 0.3 else 0.0)

    # Hills in silhouette across a still lake, far ones hazy blue; a wooded bank rises on one side of the shore.
    haze = mix(low, moon_c, 0.12)
    far = ridge(rng, w, horizon - 0.1 * h, 0.06 * min(h, 0.5625 * w), sharp=0.3)
    fill_below(img, far, mix(mix(pal.dark, pal.deep, 0.5), haze, 0.4), mix(pal.dark, haze, 0.25), span=0.3 * h)
    mist(img, rng, horizon - 0.02 * h, 0.03 * h, haze, 0.35)
    mid = ridge(rng, w, horizon - 0.03 * h, 0.035 * h, octaves=4)
    fill_below(img, mid, mix(pal.dark, pal.deep, 0.55), scale(pal.dark, 0.9), span=0.3 * h)
    water_top = np.full(w, horizon + 0.004 * h, F32)
    fill_below(
        img, water_top, mix(low, moon_c, 0.12), tone_to(mix(pal.deep, low, 0.5), 32), span=0.5 * h, relative=False
    )
    glow(
        img,
        [(mx, horizon + (h - horizon) * f, mr * (1 + 3 * f), moon_c, 0.3 - 0.2 * f) for f in np.linspace(0.05, 0.8, 6)],
    )
    ripples = Layer(h, w)
    for _ in range(int(50 * h / 1080) + 8):
        yy = horizon + (h - horizon) * rng.uniform(0.01, 0.85) ** 1.4
        xx = mx + rng.normal(0, mr * (0.6 + 3 * (yy - horizon) / h))
        ln = rng.uniform(0.01, 0.05) * w * (1 + (yy - horizon) / h)
        ripples.line([(xx - ln / 2, yy), (xx + ln / 2, yy)], moon_c, max(1.0, 1.5 * s / 1080), rng.uniform(0.3, 0.8))
    ripples.composite(img)
    bank = -1 if rng.random() < 0.5 else 1
    u = (np.arange(w, dtype=F32) / w) if bank < 0 else (1 - np.arange(w, dtype=F32) / w)
    reach = rng.uniform(0.3, 0.45)
    near = horizon + 0.06 * h + (0.55 * h) * smoothstep(0.2 * reach, reach, u) + ridge(rng, w, 0, 0.015 * h, octaves=4)
    trees = Layer(h, w)
    edge = np.stack([np.arange(w), near], 1)[:: max(1, w // 400)]
    hill = tone_to(mix(pal.dark, pal.deep, 0.4), 10)
    trees.poly(np.concatenate([edge, [[w + 2, near[-1]], [w + 2, h + 2], [-2, h + 2]]]), hill)
    x = rng.uniform(0, 0.01) * w
    while x < w:
        uu = x / w if bank < 0 else 1 - x / w
        if uu < reach * 0.9 and rng.random() < 0.85:
            th = rng.uniform(0.1, 0.22) * h * (1.2 - uu / reach)
            gy = near[int(np.clip(x, 0, w - 1))] + 0.01 * h
            tw = th * rng.uniform(0.3, 0.4)
            pts = [(x, gy - th)]
            for k in range(1, 6):
                t = k / 5
                pts.append((x + tw / 2 * t * rng.uniform(0.8, 1.1), gy - th + th * 0.9 * t))
                if k < 5:
                    pts.append((x + tw / 2 * t * 0.5, gy - th + th * 0.9 * t - th * 0.03))
            pts = (
                pts
                + [(x + tw * 0.05, gy + 2), (x - tw * 0.05, gy + 2)]
                + [(2 * x - px_, py_) for px_, py_ in pts[:0:-1]]
            )
            trees.poly(pts, scale(hill, 0.8))
        x += rng.uniform(0.01, 0.025) * w
    trees.line(edge, mix(moon_c, pal.deep, 0.5), max(1.0, 1.5 * s / 1080), 0.35)
    trees.composite(img)
    if rng.random() < 0.5:  # a lit cabin window on the far shore
        cx = rng.uniform(0.25, 0.75) * w
        cy = float(mid[int(cx)]) + 0.01 * h
        cab = Layer(h, w)
        cw = 0.02 * s
        cab.rect(cx - cw, cy - cw, cx + cw, cy + 2, scale(pal.dark, 0.5))
        cab.poly([(cx - cw * 1.25, cy - cw), (cx, cy - cw * 1.9), (cx + cw * 1.25, cy - cw)], scale(pal.dark, 0.5))
        win = pal.tone((255, 196, 110), 0.2)
        cab.rect(cx - cw * 0.5, cy - cw * 0.7, cx - cw * 0.05, cy - cw * 0.25, win)
        cab.composite(img)
        glow(img, [(cx - cw * 0.3, cy - cw * 0.5, cw * 2, win, 0.5)], mode="add")
    return img


# --- space --------------------------------------------------------------------------------------------------------


def draw_space(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """Deep space: a banded (often ringed) planet lit from one side, small moons, a nebula and a starfield."""
    s = min(w, h)
    base = tone_to(pal.dark, 3)
    img = vertical_gradient(h, w, [(0, base), (1, tone_to(mix(pal.dark, pal.deep, 0.4), 5))])

    # Nebula: coloured noise clouds along a sweeping band, with darker dust lanes.
    lh, lw = max(2, h // 4), max(2, w // 4)
    ys, xs = (np.arange(lh, dtype=F32) / lh)[:, None] * h, (np.arange(lw, dtype=F32) / lw)[None, :] * w
    ang = rng.uniform(0, np.pi)
    px, py = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
    dist = (xs - px) * np.cos(ang) + (ys - py) * np.sin(ang)
    along = -(xs - px) * np.sin(ang) + (ys - py) * np.cos(ang)
    band = np.exp(-(((dist + 0.1 * s * np.sin(along / (0.3 * s))) / (0.28 * s)) ** 2))
    n1, n2, n3 = (value_noise(rng, lh, lw, 3, 6) for _ in range(3))
    c1 = mix(pal.accent, pal.deep, 0.2)
    c2 = pal.warm if luminance_gap(pal.warm, pal.accent) > 40 else pal.light
    neb = (smoothstep(0.3, 0.85, n1) * band)[..., None] * c1 * 0.55
    neb += (smoothstep(0.5, 0.9, n2) * band**2)[..., None] * mix(c2, pal.light, 0.3) * 0.45
    neb *= (1 - 0.7 * smoothstep(0.55, 0.72, n3) * band)[..., None]
    img += cv2.resize(neb.astype(F32), (w, h), interpolation=cv2.INTER_LINEAR)
    star_c = mix(pal.sunlight, pal.light, 0.3)
    stars(img, rng, int(w * h / 200), h, star_c, 1.5)
    stars(img, rng, int(w * h / 2500), h, mix(star_c, pal.accent, 0.5), 2.0)

    # The light: a star off one side of the planet.
    side = -1 if rng.random() < 0.5 else 1
    R = rng.uniform(0.25, 0.34) * s
    cx = w * (0.5 + side * rng.uniform(0.1, 0.2))
    cy = h * rng.uniform(0.44, 0.54)
    sun = np.array([w * (0.5 - side * 0.55), h * rng.uniform(0.1, 0.35)])
    ldir = np.array([sun[0] - cx, sun[1] - cy, 0.6 * s], F32)
    ldir /= np.linalg.norm(ldir)
    glow(
        img,
        [
            (sun[0], sun[1], 0.1 * s, pal.sunlight, 0.9),
            (sun[0], sun[1], 0.6 * s, mix(pal.sunlight, pal.warm, 0.4), 0.35),
        ],
    )
    _sparkles(img, rng, int(rng.integers(4, 8)), h, star_c, 0.005 * s)

    gas = rng.random() < 0.65
    ringed = gas and rng.random() < 0.8
    tilt = np.deg2rad(rng.uniform(-22, 22))
    ratio = rng.uniform(0.2, 0.34)
    ring_in, ring_out = 1.3, rng.uniform(2.0, 2.3)
    ring_c = mix(mix(pal.sunlight, pal.warm, 0.35), pal.light, 0.2)

    def ring_layer(front: bool) -> None:
        ext = ring_out * R
        bx = ext * abs(np.cos(tilt)) + ext * ratio * abs(np.sin(tilt)) + 2
        by = ext * abs(np.sin(tilt)) + ext * ratio * abs(np.cos(tilt)) + 2
        x0, x1 = int(max(0, cx - bx)), int(min(w, cx + bx))
        y0, y1 = int(max(0, cy - by)), int(min(h, cy + by))
        if x1 <= x0 or y1 <= y0:
            return
        dx = np.arange(x0, x1, dtype=F32)[None, :] + 0.5 - cx
        dy = np.arange(y0, y1, dtype=F32)[:, None] + 0.5 - cy
        u = dx * np.cos(tilt) + dy * np.sin(tilt)
        v = -dx * np.sin(tilt) + dy * np.cos(tilt)
        rho = np.sqrt(u * u + (v / ratio) ** 2) / R
        dens = smoothstep(ring_in, ring_in + 0.06, rho) * (1 - smoothstep(ring_out - 0.08, ring_out, rho))
        dens *= 0.6 + 0.4 * np.sin(rho * 37 + 1.3) * np.sin(rho * 11)
        dens *= 1 - 0.9 * np.exp(-(((rho - (ring_in + ring_out) * 0.52) / 0.035) ** 2))
        dens *= (v > 0) if front else (v <= 0)
        shade = 0.55 + 0.45 * np.clip((u * ldir[0] * np.cos(tilt) + 0.5) / R, 0, 1)
        a = np.clip(dens * 0.85, 0, 1)[..., None]
        tgt = img[y0:y1, x0:x1]
        tgt += (ring_c * shade[..., None] - tgt) * a

    if ringed:
        ring_layer(front=False)
    x0, x1, y0, y1, nx, ny, nz = _sphere_coords(cx, cy, R, h, w)
    if gas:
        lat = ny * np.cos(tilt) - nx * np.sin(tilt)
        wob = value_noise(rng, y1 - y0, x1 - x0, 3, 4)
        freq = rng.uniform(9, 16)
        bands = 0.5 + 0.5 * np.sin(lat * freq + 3 * wob + rng.uniform(0, 6)) * np.sin(lat * freq * 0.37 + 1)
        ca, cb = mix(pal.warm, pal.sunlight, 0.35), mix(mix(pal.accent, pal.mid, 0.4), pal.warm, 0.2)
        surface = ca + (cb - ca) * bands[..., None]
        spot = np.exp(-(((nx - rng.uniform(-0.4, 0.4)) / 0.16) ** 2 + ((lat - rng.uniform(-0.5, 0.5)) / 0.07) ** 2))
        surface = surface + (mix(cb, pal.dark, 0.3) - surface) * spot[..., None] * 0.8
    else:
        land = value_noise(rng, y1 - y0, x1 - x0, 3, 5)
        clouds = value_noise(rng, y1 - y0, x1 - x0, 3, 5, stretch=2.0)
        ocean, ground = pal.tone((40, 90, 150), 0.4), pal.tone((120, 140, 80), 0.4)
        surface = ocean + (ground - ocean) * smoothstep(0.5, 0.54, land)[..., None]
        surface = surface + (pal.sunlight - surface) * (smoothstep(0.55, 0.75, clouds) * 0.8)[..., None]
    _sphere(img, cx, cy, R, ldir, surface.astype(F32), mix(pal.accent, pal.sunlight, 0.4) * 0.8, scale(base, 1.2))
    glow(img, [(cx + ldir[0] * R * 0.6, cy + ldir[1] * R * 0.6, R * 1.2, mix(pal.accent, pal.sunlight, 0.5), 0.18)])
    if ringed:
        ring_layer(front=True)
    for _ in range(int(rng.integers(1, 3))):
        mr = rng.uniform(0.025, 0.05) * s
        mxp = cx - side * rng.uniform(0.55, 0.9) * w * 0.5
        myp = rng.uniform(0.2, 0.75) * h
        _sphere(
            img,
            mxp,
            myp,
            mr,
            ldir,
            mix(pal.mid, pal.light, rng.uniform(0.2, 0.6)),
            pal.sunlight * 0.3,
            scale(base, 1.3),
        )
    return img


def luminance_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between two colours in RGB (0..441)."""
    return float(np.linalg.norm(np.asarray(a, F32) - np.asarray(b, F32)))


# --- weather ------------------------------------------------------------------------------------------------------


def _jagged(
    rng: np.random.Generator, p0: Sequence[float], p1: Sequence[float], levels: int, rough: float
) -> np.ndarray:
    """A path from p0 to p1 made jagged at every scale: each segment's midpoint pushed sideways, level by level
    (gently on the first levels, so the path keeps its course, and harder on the fine ones)."""
    pts = np.array([p0, p1], np.float64)
    for level in range(levels):
        d = pts[1:] - pts[:-1]
        k = rough * (0.4 + 0.6 * level / max(levels - 1, 1))
        mid = (pts[1:] + pts[:-1]) / 2 + np.stack([-d[:, 1], d[:, 0]], 1) * rng.normal(0, k, (len(d), 1))
        out = np.empty((2 * len(pts) - 1, 2))
        out[0::2], out[1::2] = pts, mid
        pts = out
    return pts


def _bolt(rng: np.random.Generator, x: float, y0: float, y1: float) -> list[tuple[np.ndarray, float]]:
    """A lightning bolt from the cloud base (x, y0) down to row y1: a jagged main channel with forks and twigs,
    as (path, weight) pairs — weight 1 for the channel, less for each generation of branches."""
    span = y1 - y0
    main = _jagged(rng, (x, y0), (x + rng.normal(0, 0.12) * span, y1), 6, 0.24)
    out = [(main, 1.0)]

    def forks(path: np.ndarray, weight: float, count: int, reach: float) -> None:
        n = len(path)
        for _ in range(count):
            j = int(rng.integers(int(n * 0.08), max(int(n * 0.7), int(n * 0.08) + 1)))
            p = path[j]
            d = path[min(j + max(2, n // 12), n - 1)] - p
            ang = np.arctan2(d[1], d[0]) + rng.choice([-1, 1]) * rng.uniform(0.3, 0.7)
            ang = float(np.clip(ang, 0.45, np.pi - 0.45))  # branches run downward and out
            ln = max(y1 - p[1], 0.1 * span) * reach * rng.uniform(0.6, 1.2)
            q = p + ln * np.array([np.cos(ang), np.sin(ang)])
            branch = _jagged(rng, p, q, 5 if weight > 0.3 else 4, 0.26)
            out.append((branch, weight))
            if weight > 0.3:
                forks(branch, weight * 0.5, int(rng.integers(0, 3)), 0.45)

    forks(main, 0.5, int(rng.integers(2, 5)), 0.4)
    return out


def _strike(img: np.ndarray, rng: np.random.Generator, x: float, y0: float, y1: float, color: np.ndarray) -> None:
    """Draw one bolt: a white-hot core tapering along each branch inside a wide coloured glow."""
    h, w = img.shape[:2]
    s = min(w, h)
    core, halo = Layer(h, w), Layer(h, w, 0.5)
    paths = _bolt(rng, x, y0, y1)
    for path, weight in paths:
        n = len(path)
        parts = 4
        for k in range(parts):
            seg = path[k * (n - 1) // parts : (k + 1) * (n - 1) // parts + 1]
            taper = 1 - 0.55 * k / parts
            white = mix(color, np.full(3, 255, F32), 0.75)
            core.line(seg, white, max(1.0, 0.0035 * s * weight * taper), min(1.0, 0.45 + weight))
            halo.line(seg, color, 0.008 * s * weight * taper + 1, 0.3 * weight + 0.1)
    halo.composite(img, blur=0.006 * s, mode="add")
    core.composite(img, blur=0.0004 * s)
    ex, ey = paths[0][0][-1]
    glow(img, [(x, y0, 0.2 * s, color, 0.25), (ex, ey, 0.05 * s, color, 0.25)], mode="add")


def _storm_blobs(rng: np.random.Generator, w: int, h: int, base: float) -> list[tuple[float, float, float, float]]:
    """Puffs for a storm's cloud mass: a heavy shelf along row `base` and great heaps piled above it to the top."""
    out = []
    big = max(w, 0.9 * h)  # in a tall picture the heaps must still fill the sky
    n = 10
    for i in range(n):  # the shelf
        u = (i + rng.uniform(0.2, 0.8)) / n
        r = rng.uniform(0.06, 0.09) * w
        ry = max(r * 0.5, rng.uniform(0.03, 0.045) * big)
        out.append((u * w * 1.1 - 0.05 * w, base - ry + rng.normal(0, 0.015) * h, r * 1.5, ry))
    for _ in range(int(rng.integers(9, 14))):  # heaps piled up to the top
        x = rng.uniform(-0.1, 1.1) * w
        r = rng.uniform(0.09, 0.16) * big
        out.append((x, rng.uniform(0.05, 0.9) * (base - 0.5 * r), min(r * 1.2, 0.35 * big), min(r, 0.25 * h)))
    return out


def draw_weather(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """Weather over open country: a sky piled with sunlit cumulus, or a thunderstorm with rain and lightning."""
    s = min(w, h)
    storm = rng.random() < 0.5
    ground_y = rng.uniform(0.76, 0.8) * h
    if storm:
        top, low = scale(mix(pal.dark, pal.deep, 0.5), 0.75), mix(mix(pal.mid, pal.light, 0.4), pal.warm, 0.2)
    else:
        top = mix(pal.tone((60, 125, 200), 0.4), pal.deep, 0.2)
        low = mix(pal.light, pal.tone((180, 215, 240), 0.3), 0.4)
    img = vertical_gradient(h, w, [(0, top), (ground_y / h * 0.75, mix(top, low, 0.6)), (ground_y / h, low), (1, low)])
    sun_x, sun_y = rng.uniform(0.2, 0.8) * w, rng.uniform(0.1, 0.25) * h
    glow(
        img, [(sun_x, sun_y, 0.25 * s, pal.sunlight, 0.2 if storm else 0.5), (sun_x, sun_y, 0.8 * s, pal.sunlight, 0.2)]
    )
    far = ridge(rng, w, ground_y - 0.02 * h, 0.015 * h, octaves=4)
    cirrus(img, rng, 0.0, 0.45 * h, mix(top, low, 0.5) if storm else pal.sunlight, 0.45, 0.45, rng.uniform(-0.3, 0.3))

    if storm:
        shadow = scale(mix(pal.dark, pal.deep, 0.45), 0.85)
        lit = mix(shadow, mix(mix(pal.mid, pal.light, 0.45), pal.sunlight, 0.2), 0.6)
        bolt_c = mix(pal.sunlight, pal.tone((190, 170, 255), 0.3), 0.4)
        cx = rng.uniform(0.35, 0.65) * w
        base = rng.uniform(0.46, 0.54) * h
        width = min(0.85 * w, 1.3 * h) * rng.uniform(0.9, 1.05)
        cloud_mass(
            img,
            rng,
            _storm_blobs(rng, w, h, base),
            shadow,
            lit,
            (sun_x - cx, -0.6 * h),
            rough=0.6,
            under=scale(shadow, 0.7),
            glow_from=(bolt_c, 0.2),
        )
        # Rain: shafts of grey falling from the shelf, slanting with the wind, combed into streaks.
        lean = rng.uniform(-0.06, 0.06) * w
        curtain = Layer(h, w, 0.25)
        x0, x1 = cx - width * 0.45, cx + width * 0.4
        x = x0
        while x < x1:
            sw = rng.uniform(0.02, 0.07) * w
            curtain.poly(
                [
                    (x, base),
                    (x + sw, base),
                    (x + sw * rng.uniform(0.8, 1.3) + lean, ground_y + 0.02 * h),
                    (x + lean, ground_y + 0.02 * h),
                ],
                mix(shadow, low, rng.uniform(0.3, 0.6)),
                rng.uniform(0.3, 0.75),
            )
            x += sw * rng.uniform(1.0, 1.8)
        curtain.composite(img, blur=0.008 * s)
        rain = Layer(h, w)
        streaks = []
        for _ in range(int(700 * w / 1920) + 40):
            rx = rng.uniform(x0, x1)
            ry = rng.uniform(base, ground_y)
            ln = rng.uniform(0.04, 0.1) * h
            rx += lean * (ry - base) / max(ground_y - base, 1)
            streaks.append(np.array([(rx, ry), (rx + lean * ln / h, ry + ln)]))
        rain.lines(streaks, mix(low, pal.light, 0.3), max(1.0, 1.5 * s / 1080), 0.3)
        rain.composite(img)
        for slot in rng.permutation([-0.22, 0.18])[: int(rng.integers(1, 3))]:  # bolts kept apart
            bx = cx + (slot + rng.uniform(-0.05, 0.05)) * width
            _strike(img, rng, bx, base - 0.01 * h, far[int(np.clip(bx, 0, w - 1))] + 0.01 * h, bolt_c)
    else:
        shadow = tone_to(mix(mix(pal.mid, top, 0.55), low, 0.25), 135)
        lit = mix(pal.sunlight, np.full(3, 255, F32), 0.3)
        sky_mid = mix(top, low, 0.5)
        # Three layers: a far bank along the horizon, a middle row, and towering heaps in front.
        bank = []
        for _ in range(int(rng.integers(8, 13))):
            r = rng.uniform(0.02, 0.04) * w
            bank.append((rng.uniform(-0.05, 1.05) * w, ground_y - rng.uniform(0.05, 0.11) * h, r * 1.8, r * 0.55))
        cloud_mass(img, rng, bank, shadow, lit, (sun_x - w / 2, -0.5 * h), 0.9, haze=(low, 0.45), rough=0.6)
        count = int(rng.integers(3, 6))
        for k in range(count):  # spread across the sky, not bunched
            cw = rng.uniform(0.08, 0.15) * w
            bx, by = (k + rng.uniform(0.1, 0.9)) / count * w, rng.uniform(0.3, 0.5) * h
            cloud_mass(
                img,
                rng,
                cumulus_blobs(rng, bx, by, cw, cw * 0.35),
                shadow,
                lit,
                (sun_x - bx, sun_y - by),
                0.95,
                base=by,
                haze=(sky_mid, 0.25),
            )
        if rng.random() < 0.5:  # a rainbow behind a shower
            bow = Layer(h, w, 0.5)
            rx, rr = rng.uniform(0.3, 0.7) * w, rng.uniform(0.35, 0.5) * w
            for k, c in enumerate(
                [(230, 70, 60), (240, 160, 60), (240, 230, 90), (90, 200, 110), (70, 140, 230), (130, 90, 200)]
            ):
                r = rr - k * 0.008 * s
                bow.ellipse(rx, ground_y, r, r, pal.tone(c, 0.2), 0.5, start=180, end=360, thickness=0.009 * s)
            bow.composite(img, blur=0.006 * s, mode="screen", opacity=0.5)
        count = int(rng.integers(2, 4))
        for k in range(count):  # overhead, big and cut off by the top of the frame
            cw = rng.uniform(0.25, 0.4) * w
            bx, by = (k + rng.uniform(0.2, 0.8)) / count * w, rng.uniform(0.1, 0.2) * h
            cloud_mass(
                img,
                rng,
                cumulus_blobs(rng, bx, by, cw, cw * 0.3),
                shadow,
                lit,
                (sun_x - bx, sun_y - by),
                base=by,
                under=shadow,
            )
        xs = (np.sort(rng.uniform(0.1, 0.9, int(rng.integers(2, 4)))) + rng.uniform(-0.1, 0.1)) * w
        for x in xs:
            width = rng.uniform(0.22, 0.36) * w
            base = rng.uniform(0.56, 0.64) * h
            height = min(rng.uniform(0.32, 0.5) * h, width * 1.2)
            blobs = cumulus_blobs(rng, x, base, width, height)
            cloud_mass(img, rng, blobs, shadow, lit, (sun_x - x, sun_y - base + height), base=base, under=shadow)
        shafts = Layer(h, w, 0.25)
        for _ in range(int(rng.integers(4, 8))):
            a = rng.uniform(-0.6, 0.6)
            sp = rng.uniform(0.02, 0.05)
            L = 1.3 * h
            shafts.poly(
                [
                    (sun_x, sun_y),
                    (sun_x + np.sin(a - sp) * L, sun_y + np.cos(a - sp) * L),
                    (sun_x + np.sin(a + sp) * L, sun_y + np.cos(a + sp) * L),
                ],
                pal.sunlight,
                0.15,
            )
        shafts.composite(img, blur=0.015 * s, mode="screen")

    # Open country beneath.
    fill_below(img, far, mix(pal.deep, low, 0.5), mix(pal.deep, low, 0.35), span=0.1 * h)
    fields = ridge(rng, w, ground_y + 0.02 * h, 0.01 * h, octaves=3)
    green = tone_to(pal.tone((70, 110, 60), 0.45), 60 if storm else 110)
    fill_below(img, fields, green, scale(green, 0.8), span=0.2 * h)
    strips = Layer(h, w)  # a patchwork of fields converging on the horizon
    wheat = tone_to(mix(pal.tone((214, 178, 96), 0.35), green, 0.2), 70 if storm else 150)
    vx = rng.uniform(0.2, 0.8) * w
    for k in range(-12, 13):
        if k % 2:
            x0, x1 = vx + k * 0.09 * w, vx + (k + 1) * 0.09 * w
            strips.poly(
                [
                    (vx + k * 0.012 * w, ground_y),
                    (vx + (k + 1) * 0.012 * w, ground_y),
                    (x1 * 3 - vx * 2, h * 1.5),
                    (x0 * 3 - vx * 2, h * 1.5),
                ],
                wheat if rng.random() < 0.45 else scale(green, 1.3 if rng.random() < 0.5 else 0.75),
                0.42 if not storm else 0.3,
            )
    strips.composite(img)
    rows = Layer(h, w)
    for k in range(1, 6):
        y = ground_y + 0.02 * h + (h - ground_y) * (k / 6) ** 1.6
        rows.line(
            bezier([(-0.1 * w, y), (0.5 * w, y - 0.02 * h * k), (1.1 * w, y)], 24),
            scale(green, 0.35),
            max(1.0, 2 * s / 1080),
            0.35,
        )
    for k in range(1, 3):  # hedgerows and copses along the far field boundaries
        y = ground_y + 0.02 * h + (h - ground_y) * (k / 6) ** 1.6 - 0.01 * h * k
        size = (0.004 + 0.003 * k) * s
        x = rng.uniform(-0.05, 0.1) * w
        while x < w * 1.05:
            run = int(rng.integers(3, 12))
            for _ in range(run):
                rows.circle(x, y - size * 0.7, size * rng.uniform(0.8, 1.3), scale(green, 0.5))
                x += size * rng.uniform(0.8, 1.4)
            x += size * rng.uniform(4, 14)
    rows.composite(img)
    if storm:
        mist(img, rng, ground_y, 0.03 * h, mix(low, pal.mid, 0.5), 0.35)
    return img


__all__ = ["draw_night", "draw_space", "draw_weather"]
